"""Safe evaluator for analysis `successCondition` / `failureCondition` expressions.

Cluster users write these conditions in Argo Rollouts' expression language (expr-lang/expr). This module
reads them without Python's `eval`/`exec`/`compile`: a tokenizer and a Pratt parser build an AST of frozen
dataclasses, and a tree-walking evaluator runs it over an explicit environment. Nothing reaches Python
attributes: member access only reads `Mapping` keys; only the builtins in `BUILTIN_FUNCTIONS` are callable.

Worked examples (the tests mirror them)::

    evaluate_condition("result[0] >= 0.95", result=[0.97])                      -> True
    evaluate_condition("len(result) == 0 || result[0] >= 0.95", result=[])      -> True
    evaluate_condition("all(result, {# > 0})", result=[1.0, 0.0])               -> False
    evaluate_condition("isNaN(result) || result >= 0.95", result=math.nan)      -> True
    evaluate_condition("default(result, 0) < 5", result=None)                   -> True
    evaluate_condition("result >= 0.95", result=[0.97])
        -> EvaluationError: invalid operation: >= (mismatched types array and float64); ...
    evaluate_condition("result[0] >= 0.95", result=[])
        -> EvaluationError: index 0 out of range: result has 0 elements
    evaluate_condition("result[0]", result=[0.97])
        -> EvaluationError: expected bool, but got float64
    evaluate("7 / 2", {})        -> 3.5          (`/` always divides as floats, as in expr)
    evaluate("1 / 0", {})        -> inf          (Go float division: no exception)
    evaluate("2 ** 3", {})       -> 8.0          (`**` and `^` always give floats; overflow gives inf)
    evaluate("-2 ** 2", {})      -> -4.0         (unary minus binds looser than `**`)

Semantics follow expr where users can observe them: ints are 64-bit and wrap like Go's `int`; comparing an
array with a number is an error, not False; NaN compares false; a missing map key reads as nil; `a?.b` is nil
when `a` is nil; `x ?? y` is `y` when `x` is nil. Argo's environment adds `asInt`, `asFloat`, `isNaN`,
`isInf`, `isNil` and `default`; here they are builtins that take their argument explicitly.

Limits keep a hostile or careless condition cheap, and each failure says which limit was hit:
`MAX_EXPRESSION_LENGTH` characters, `MAX_DEPTH` levels of nesting (checked while parsing, before recursion can
run away), `MAX_STEPS` units of evaluation work (node visits, plus work proportional to the size of the
strings and arrays an operation builds or scans), `MAX_RANGE_LENGTH` elements for `a..b`. `**` is computed
on floats in constant time, so `9 ** 9 ** 9` is simply `+Inf`, as in Go. `matches` uses a small regular
expression engine of our own (a Thompson NFA, linear in the text), because Python's backtracking `re` can be
made to run for hours by a short pattern.

Errors: `ExpressionError` is the base; `ExpressionSyntaxError` comes from `parse` and `EvaluationError` from
`evaluate`. Both carry `expression` and `position` (a 0-based offset; `column` counts from 1).
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Final, NoReturn, TypeGuard, TypeVar

MAX_EXPRESSION_LENGTH: Final = 4096
MAX_DEPTH: Final = 64
MAX_STEPS: Final = 100_000
MAX_RANGE_LENGTH: Final = 100_000
# Data from providers is walked recursively by `==`, `in`, `string()`, `max()`...: bound it so that a deeply
# nested JSON document gives a clear error instead of a RecursionError.
MAX_VALUE_DEPTH: Final = 100
MAX_PATTERN_LENGTH: Final = 1000
MAX_PATTERN_NESTING: Final = 32
MAX_PATTERN_PROGRAM: Final = 10_000
MAX_PATTERN_REPEAT: Final = 1000

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_DECIMAL_DIGITS: Final = "0123456789"
# Data elements per evaluation step when scanning data: a step is a node visit, which costs far more than
# comparing one element of an array.
_ELEMENTS_PER_STEP: Final = 16
_RANGE_ELEMENTS_PER_STEP: Final = 4
_REGEX_WORK_PER_STEP: Final = 4


# ------------------------------------------------------------------------------------------------------------
# Errors


class ExpressionError(Exception):
    """Any failure to parse or evaluate a condition.

    `position` is a 0-based offset into `expression` (None when the whole expression is at fault);
    `column` is the same position counted from 1, and `caret()` draws it.
    """

    def __init__(self, message: str, *, expression: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.position = position

    @property
    def column(self) -> int | None:
        return None if self.position is None else self.position + 1

    def caret(self) -> str:
        """The line of the expression holding the position, and a caret under it.

        `caret()` of the error for "1 +" is "1 +\\n   ^".
        """
        if self.position is None:
            return ""
        position = min(self.position, len(self.expression))
        line_start = self.expression.rfind("\n", 0, position) + 1
        line_end = self.expression.find("\n", position)
        line = self.expression[line_start : len(self.expression) if line_end < 0 else line_end]
        return f"{line}\n{' ' * (position - line_start)}^"


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid condition (or breaks a parse-time limit)."""

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} (column {self.position + 1})"


class EvaluationError(ExpressionError):
    """The condition parsed, but evaluating it against the given values failed."""


# ------------------------------------------------------------------------------------------------------------
# AST


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of the AST. `start`/`end` delimit the node's source text."""

    start: int
    end: int


LiteralValue = int | float | str | bool | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Literal(Node):
    value: LiteralValue


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ArrayLiteral(Node):
    items: tuple[Node, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MapLiteral(Node):
    entries: tuple[tuple[Node, Node], ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Name(Node):
    """A variable read from the environment, such as `result`."""

    name: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Pointer(Node):
    """`#` inside a predicate: the current element (`.x` is `#.x`)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Member(Node):
    """`target.name`, or `target?.name` (optional: nil when the target is nil)."""

    target: Node
    name: str
    optional: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Index(Node):
    target: Node
    index: Node
    optional: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Slice(Node):
    target: Node
    lower: Node | None
    upper: Node | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Unary(Node):
    operator: str  # "!", "-", "+" ("not" is stored as "!")
    operand: Node


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Binary(Node):
    # Canonical spellings: "&&" for `and`, "||" for `or`, "**" for `^`, and "not in" / "not matches" / ...
    operator: str
    operator_start: int  # where the operator is written: errors point there
    left: Node
    right: Node


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Conditional(Node):
    condition: Node
    if_true: Node
    if_false: Node


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Closure(Node):
    """A predicate argument: `{# > 0}` or the bare form `# > 0`."""

    body: Node


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    function: str  # always a key of BUILTIN_FUNCTIONS
    arguments: tuple[Node, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Expression:
    """A parsed condition: hashable, so it can key caches."""

    text: str
    root: Node


# ------------------------------------------------------------------------------------------------------------
# Builtins (the parser needs their signatures; the evaluator implements them further down)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Signature:
    min_arguments: int
    max_arguments: int | None  # None: any number
    predicate: bool = False  # the second argument is a predicate closure


_PREDICATE_FUNCTIONS: Final = {
    "all": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "any": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "none": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "one": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "filter": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "map": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "find": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "findIndex": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "findLast": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "findLastIndex": _Signature(min_arguments=2, max_arguments=2, predicate=True),
    "count": _Signature(min_arguments=1, max_arguments=2, predicate=True),
    "sum": _Signature(min_arguments=1, max_arguments=2, predicate=True),
}

_PLAIN_FUNCTIONS: Final = {
    "len": _Signature(min_arguments=1, max_arguments=1),
    "abs": _Signature(min_arguments=1, max_arguments=1),
    "max": _Signature(min_arguments=1, max_arguments=None),
    "min": _Signature(min_arguments=1, max_arguments=None),
    "mean": _Signature(min_arguments=1, max_arguments=None),
    "median": _Signature(min_arguments=1, max_arguments=None),
    "first": _Signature(min_arguments=1, max_arguments=1),
    "last": _Signature(min_arguments=1, max_arguments=1),
    "keys": _Signature(min_arguments=1, max_arguments=1),
    "values": _Signature(min_arguments=1, max_arguments=1),
    "ceil": _Signature(min_arguments=1, max_arguments=1),
    "floor": _Signature(min_arguments=1, max_arguments=1),
    "round": _Signature(min_arguments=1, max_arguments=1),
    "asInt": _Signature(min_arguments=1, max_arguments=1),
    "asFloat": _Signature(min_arguments=1, max_arguments=1),
    "isNaN": _Signature(min_arguments=1, max_arguments=1),
    "isInf": _Signature(min_arguments=1, max_arguments=1),
    "isNil": _Signature(min_arguments=1, max_arguments=1),
    "default": _Signature(min_arguments=2, max_arguments=2),
    "string": _Signature(min_arguments=1, max_arguments=1),
    "int": _Signature(min_arguments=1, max_arguments=1),
    "float": _Signature(min_arguments=1, max_arguments=1),
    "type": _Signature(min_arguments=1, max_arguments=1),
    "lower": _Signature(min_arguments=1, max_arguments=1),
    "upper": _Signature(min_arguments=1, max_arguments=1),
    "trim": _Signature(min_arguments=1, max_arguments=2),
}

_SIGNATURES: Final[Mapping[str, _Signature]] = {**_PREDICATE_FUNCTIONS, **_PLAIN_FUNCTIONS}
BUILTIN_FUNCTIONS: Final = frozenset(_SIGNATURES)


# ------------------------------------------------------------------------------------------------------------
# Tokenizer


class _Kind(enum.Enum):
    NUMBER = "number"
    STRING = "string"
    NAME = "name"
    OPERATOR = "operator"
    END = "end"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Token:
    kind: _Kind
    text: str
    value: int | float | str | None = None
    start: int
    end: int

    def is_operator(self, *texts: str) -> bool:
        return self.kind is _Kind.OPERATOR and self.text in texts

    def describe(self) -> str:
        return "end of expression" if self.kind is _Kind.END else f"token {self.text!r}"


_WORD_OPERATORS: Final = frozenset(
    {"not", "and", "or", "in", "matches", "contains", "startsWith", "endsWith"}
)
# Longest first, so that "**" is not read as two "*".
_PUNCTUATION: Final = (
    "**", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "..",
    "+", "-", "*", "/", "%", "^", "<", ">", "!", "(", ")", "[", "]", "{", "}", ",", ":", "?", ".", "#",
)  # fmt: skip
_UNSUPPORTED_CHARACTERS: Final = {
    "=": "assignment is not supported (did you mean '=='?)",
    "|": "the pipe operator '|' is not supported (did you mean '||'?)",
    "&": "unexpected character '&' (did you mean '&&'?)",
    ";": "sequences with ';' are not supported",
}
_SIMPLE_ESCAPES: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", "'": "'", '"': '"',
}  # fmt: skip
_HEX_ESCAPE_WIDTHS: Final = {"x": 2, "u": 4, "U": 8}
_RADIX_PREFIXES: Final = {"0x": (16, "0123456789abcdefABCDEF"), "0o": (8, "01234567"), "0b": (2, "01")}


def _syntax_error(message: str, text: str, position: int | None) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(message, expression=text, position=position)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char in " \t\r\n":
            position += 1
        elif text.startswith("//", position):
            line_end = text.find("\n", position)
            position = length if line_end < 0 else line_end
        elif text.startswith("/*", position):
            comment_end = text.find("*/", position + 2)
            if comment_end < 0:
                raise _syntax_error("unterminated comment", text, position)
            position = comment_end + 2
        elif char in _DECIMAL_DIGITS or (
            char == "." and position + 1 < length and text[position + 1] in _DECIMAL_DIGITS
        ):
            token = _number_token(text, position)
            tokens.append(token)
            position = token.end
        elif char in "'\"":
            token = _quoted_token(text, position)
            tokens.append(token)
            position = token.end
        elif char == "`":
            closing = text.find("`", position + 1)
            if closing < 0:
                raise _syntax_error("string literal not terminated", text, position)
            raw = text[position + 1 : closing]
            tokens.append(_Token(kind=_Kind.STRING, text=raw, value=raw, start=position, end=closing + 1))
            position = closing + 1
        elif char.isalpha() or char == "_":
            word_end = position + 1
            while word_end < length and (text[word_end].isalnum() or text[word_end] == "_"):
                word_end += 1
            word = text[position:word_end]
            kind = _Kind.OPERATOR if word in _WORD_OPERATORS else _Kind.NAME
            tokens.append(_Token(kind=kind, text=word, start=position, end=word_end))
            position = word_end
        else:
            punctuation = next((p for p in _PUNCTUATION if text.startswith(p, position)), None)
            if punctuation is None:
                message = _UNSUPPORTED_CHARACTERS.get(char, f"unexpected character {char!r}")
                raise _syntax_error(message, text, position)
            end = position + len(punctuation)
            tokens.append(_Token(kind=_Kind.OPERATOR, text=punctuation, start=position, end=end))
            position = end
    tokens.append(_Token(kind=_Kind.END, text="", start=length, end=length))
    return tokens


def _number_token(text: str, start: int) -> _Token:
    length = len(text)
    position = start
    value: int | float
    prefix = text[start : start + 2].lower()
    if prefix in _RADIX_PREFIXES:
        base, digits = _RADIX_PREFIXES[prefix]
        position += 2
        while position < length and (text[position] in digits or text[position] == "_"):
            position += 1
        raw = text[start + 2 : position].replace("_", "")
        if not raw:
            raise _syntax_error("invalid number literal", text, start)
        if len(raw) > 64:
            raise _syntax_error("integer literal out of range", text, start)
        value = int(raw, base)
    else:
        is_float = False
        while position < length and (text[position] in _DECIMAL_DIGITS or text[position] == "_"):
            position += 1
        # "1..3" is a range, not the float "1." followed by ".3": a fraction needs a digit after the dot.
        if position + 1 < length and text[position] == "." and text[position + 1] in _DECIMAL_DIGITS:
            is_float = True
            position += 1
            while position < length and (text[position] in _DECIMAL_DIGITS or text[position] == "_"):
                position += 1
        if position < length and text[position] in "eE":
            exponent = position + 1
            if exponent < length and text[exponent] in "+-":
                exponent += 1
            if exponent < length and text[exponent] in _DECIMAL_DIGITS:
                is_float = True
                position = exponent
                while position < length and text[position] in _DECIMAL_DIGITS:
                    position += 1
        raw = text[start:position].replace("_", "")
        if is_float:
            value = float(raw)
            if math.isinf(value):
                raise _syntax_error("float literal out of range", text, start)
        else:
            if len(raw) > 20:
                raise _syntax_error("integer literal out of range", text, start)
            value = int(raw)
    if position < length and (text[position].isalnum() or text[position] == "_"):
        raise _syntax_error("invalid number literal", text, start)
    if isinstance(value, int) and value > _INT64_MAX:
        raise _syntax_error("integer literal out of range", text, start)
    return _Token(kind=_Kind.NUMBER, text=text[start:position], value=value, start=start, end=position)


def _quoted_token(text: str, start: int) -> _Token:
    quote = text[start]
    length = len(text)
    position = start + 1
    parts: list[str] = []
    while True:
        if position >= length:
            raise _syntax_error("string literal not terminated", text, start)
        char = text[position]
        if char == quote:
            position += 1
            break
        if char != "\\":
            parts.append(char)
            position += 1
            continue
        if position + 1 >= length:
            raise _syntax_error("string literal not terminated", text, start)
        escape = text[position + 1]
        if escape in _SIMPLE_ESCAPES:
            parts.append(_SIMPLE_ESCAPES[escape])
            position += 2
        elif escape in _HEX_ESCAPE_WIDTHS:
            width = _HEX_ESCAPE_WIDTHS[escape]
            digits = text[position + 2 : position + 2 + width]
            code = _parse_digits(digits, base=16) if len(digits) == width else None
            if code is None or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _syntax_error(f"invalid escape sequence '\\{escape}{digits}'", text, position)
            parts.append(chr(code))
            position += 2 + width
        elif escape in "01234567":
            digits = text[position + 1 : position + 4]
            code = _parse_digits(digits, base=8) if len(digits) == 3 else None
            if code is None or code > 255:
                raise _syntax_error(f"invalid escape sequence '\\{digits}'", text, position)
            parts.append(chr(code))
            position += 4
        else:
            raise _syntax_error(f"invalid escape sequence '\\{escape}'", text, position)
    value = "".join(parts)
    return _Token(kind=_Kind.STRING, text=text[start:position], value=value, start=start, end=position)


def _parse_digits(digits: str, *, base: int) -> int | None:
    allowed = "0123456789abcdefABCDEF"[: base if base <= 10 else 10 + 2 * (base - 10)]
    if not digits or any(char not in allowed for char in digits):
        return None
    return int(digits, base)


# ------------------------------------------------------------------------------------------------------------
# Parser

# Binding powers from expr-lang (parser/operator). Unary `!`/`not` binds tighter than comparisons, so
# `!a == b` is `(!a) == b`; unary `-` binds looser than `**`, so `-2 ** 2` is `-(2 ** 2)`.
_BINARY_PRECEDENCE: Final = {
    "||": 10, "or": 10,
    "&&": 15, "and": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20,
    "in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "..": 25,
    "+": 30, "-": 30,
    "*": 60, "/": 60, "%": 60,
    "**": 100, "^": 100,
    "??": 500,
}  # fmt: skip
_RIGHT_ASSOCIATIVE: Final = frozenset({"**", "^"})
_UNARY_PRECEDENCE: Final = {"!": 50, "not": 50, "-": 90, "+": 90}
_NEGATABLE: Final = frozenset({"in", "matches", "contains", "startsWith", "endsWith"})
_CANONICAL_OPERATOR: Final = {"and": "&&", "or": "||", "^": "**", "not": "!"}

_N = TypeVar("_N", bound=Node)


class _Parser:
    def __init__(self, text: str) -> None:
        self._text = text
        self._tokens = _tokenize(text)
        self._index = 0
        self._nesting = 0  # live recursion of _expression: bounded so Python's own stack never overflows
        self._closures = 0  # how many predicate bodies enclose the current position
        self._heights: dict[int, int] = {}  # id(node) -> height of its subtree

    def parse(self) -> Node:
        root = self._expression(0)
        token = self._peek()
        if token.kind is not _Kind.END:
            self._fail(f"unexpected {token.describe()}", token)
        return root

    # -- helpers

    def _fail(self, message: str, token: _Token) -> NoReturn:
        raise _syntax_error(message, self._text, token.start)

    def _peek(self, offset: int = 0) -> _Token:
        return self._tokens[min(self._index + offset, len(self._tokens) - 1)]

    def _advance(self) -> _Token:
        token = self._peek()
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _expect(self, text: str, message: str) -> _Token:
        token = self._peek()
        if not token.is_operator(text):
            self._fail(f"{message}, found {token.describe()}", token)
        return self._advance()

    def _build(self, node: _N, *children: Node | None) -> _N:
        # Left-associative chains (`a + b + c ...`, `a.b.c ...`) are built in a loop, so the recursion guard
        # in _expression does not see them; the height of every node is checked here instead.
        height = 1 + max((self._heights[id(child)] for child in children if child is not None), default=0)
        if height > MAX_DEPTH:
            raise _syntax_error(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                self._text,
                _position_of(node),
            )
        self._heights[id(node)] = height
        return node

    # -- grammar

    def _expression(self, min_precedence: int) -> Node:
        self._nesting += 1
        try:
            if self._nesting > MAX_DEPTH:
                self._fail(f"expression is nested too deeply (more than {MAX_DEPTH} levels)", self._peek())
            left = self._unary_or_postfix()
            previous_operator = ""
            while True:
                token = self._peek()
                if token.kind is not _Kind.OPERATOR:
                    break
                operator = token.text
                negated = False
                if operator == "not":
                    following = self._peek(1)
                    if not (following.kind is _Kind.OPERATOR and following.text in _NEGATABLE):
                        self._fail(f"unexpected {following.describe()} after 'not'", following)
                    negated = True
                    operator = following.text
                precedence = _BINARY_PRECEDENCE.get(operator)
                if precedence is None or precedence < min_precedence:
                    break
                if previous_operator == "??" and operator != "??":
                    self._fail(
                        f"operator {operator!r} and '??' cannot be mixed: wrap either in parentheses", token
                    )
                self._advance()
                if negated:
                    self._advance()
                next_min = precedence if operator in _RIGHT_ASSOCIATIVE else precedence + 1
                right = self._expression(next_min)
                canonical = _CANONICAL_OPERATOR.get(operator, operator)
                if negated:
                    canonical = f"not {canonical}"
                node = Binary(
                    start=left.start,
                    end=right.end,
                    operator=canonical,
                    operator_start=token.start,
                    left=left,
                    right=right,
                )
                left = self._build(node, left, right)
                previous_operator = operator
            if min_precedence == 0:
                left = self._conditional(left)
            return left
        finally:
            self._nesting -= 1

    def _conditional(self, condition: Node) -> Node:
        if not self._peek().is_operator("?"):
            return condition
        self._advance()
        if_true = self._expression(0)
        self._expect(":", "expected ':' in the conditional 'a ? b : c'")
        if_false = self._expression(0)
        node = Conditional(
            start=condition.start, end=if_false.end, condition=condition, if_true=if_true, if_false=if_false
        )
        return self._build(node, condition, if_true, if_false)

    def _unary_or_postfix(self) -> Node:
        token = self._peek()
        if token.kind is _Kind.OPERATOR and token.text in _UNARY_PRECEDENCE:
            self._advance()
            operand = self._expression(_UNARY_PRECEDENCE[token.text])
            operator = _CANONICAL_OPERATOR.get(token.text, token.text)
            node = Unary(start=token.start, end=operand.end, operator=operator, operand=operand)
            return self._postfix(self._build(node, operand))
        if token.is_operator("("):
            self._advance()
            inner = self._expression(0)
            self._expect(")", "expected ')' to close '('")
            return self._postfix(inner)
        if token.is_operator("#", "."):
            if self._closures == 0:
                self._fail(
                    f"{token.text!r} refers to the current element and is only allowed inside a predicate, "
                    "such as all(result, {# > 0})",
                    token,
                )
            if token.text == "#":
                self._advance()
            # A leading "." is left for _postfix: `.value` is `#.value`.
            return self._postfix(self._build(Pointer(start=token.start, end=token.end)))
        return self._postfix(self._primary())

    def _primary(self) -> Node:
        token = self._advance()
        if token.kind in (_Kind.NUMBER, _Kind.STRING):
            return self._build(Literal(start=token.start, end=token.end, value=token.value))
        if token.kind is _Kind.NAME:
            if token.text in ("true", "false"):
                return self._build(Literal(start=token.start, end=token.end, value=token.text == "true"))
            if token.text == "nil":
                return self._build(Literal(start=token.start, end=token.end, value=None))
            if self._peek().is_operator("("):
                return self._call(token)
            return self._build(Name(start=token.start, end=token.end, name=token.text))
        if token.is_operator("["):
            return self._array(token)
        if token.is_operator("{"):
            return self._map(token)
        if token.kind is _Kind.END:
            self._fail("unexpected end of expression", token)
        self._fail(f"unexpected {token.describe()}", token)

    def _array(self, opening: _Token) -> Node:
        items: list[Node] = []
        while not self._peek().is_operator("]"):
            items.append(self._expression(0))
            if not self._peek().is_operator(","):
                break
            self._advance()
        closing = self._expect("]", "expected ']' to close '['")
        return self._build(ArrayLiteral(start=opening.start, end=closing.end, items=tuple(items)), *items)

    def _map(self, opening: _Token) -> Node:
        entries: list[tuple[Node, Node]] = []
        while not self._peek().is_operator("}"):
            key_token = self._peek()
            key: Node
            if key_token.kind is _Kind.NAME or (
                key_token.kind is _Kind.OPERATOR and key_token.text.isalpha()
            ):
                self._advance()  # a bare key is a string, as in expr: {a: 1} is {"a": 1}
                key = self._build(Literal(start=key_token.start, end=key_token.end, value=key_token.text))
            else:
                key = self._expression(0)
            self._expect(":", "expected ':' after a map key")
            value = self._expression(0)
            entries.append((key, value))
            if not self._peek().is_operator(","):
                break
            self._advance()
        closing = self._expect("}", "expected '}' to close '{'")
        children = [child for entry in entries for child in entry]
        return self._build(
            MapLiteral(start=opening.start, end=closing.end, entries=tuple(entries)), *children
        )

    def _call(self, name: _Token) -> Node:
        signature = _SIGNATURES.get(name.text)
        if signature is None:
            self._fail(f"unknown function {name.text!r}: only builtin functions can be called", name)
        self._advance()  # "("
        arguments: list[Node] = []
        while not self._peek().is_operator(")"):
            if signature.predicate and len(arguments) == 1:
                arguments.append(self._closure())
            else:
                arguments.append(self._expression(0))
            if not self._peek().is_operator(","):
                break
            self._advance()
        closing = self._expect(")", f"expected ')' to close the call to {name.text}")
        count = len(arguments)
        if count < signature.min_arguments or (
            signature.max_arguments is not None and count > signature.max_arguments
        ):
            self._fail(
                f"invalid number of arguments for {name.text} "
                f"(expected {_describe_arity(signature)}, got {count})",
                name,
            )
        node = Call(start=name.start, end=closing.end, function=name.text, arguments=tuple(arguments))
        return self._build(node, *arguments)

    def _closure(self) -> Node:
        opening = self._peek()
        braced = opening.is_operator("{")
        if braced:
            self._advance()
        self._closures += 1
        body = self._expression(0)
        self._closures -= 1
        end = body.end
        if braced:
            end = self._expect("}", "expected '}' to close the predicate").end
        return self._build(Closure(start=opening.start, end=end, body=body), body)

    def _postfix(self, node: Node) -> Node:
        # Once a chain has a `?.`, the rest of it is optional too: `a?.b.c` is nil when `a` is nil.
        optional_chain = False
        while True:
            token = self._peek()
            if token.is_operator(".", "?."):
                self._advance()
                optional_chain = optional_chain or token.text == "?."
                if token.text == "?." and self._peek().is_operator("["):
                    node = self._subscript(node, optional=True)
                    continue
                name = self._advance()
                if not (name.kind is _Kind.NAME or (name.kind is _Kind.OPERATOR and name.text.isalpha())):
                    self._fail(f"expected a field name after {token.text!r}, found {name.describe()}", name)
                if self._peek().is_operator("("):
                    self._fail(
                        f"cannot call {name.text!r}: methods are not supported, only builtin functions", name
                    )
                member = Member(
                    start=node.start, end=name.end, target=node, name=name.text, optional=optional_chain
                )
                node = self._build(member, node)
            elif token.is_operator("["):
                node = self._subscript(node, optional=optional_chain)
            else:
                return node

    def _subscript(self, target: Node, *, optional: bool) -> Node:
        self._advance()  # "["
        lower: Node | None = None
        if not self._peek().is_operator(":"):
            lower = self._expression(0)
            if not self._peek().is_operator(":"):
                closing = self._expect("]", "expected ']' to close the index")
                node = Index(
                    start=target.start, end=closing.end, target=target, index=lower, optional=optional
                )
                return self._build(node, target, lower)
        self._advance()  # ":"
        upper = None if self._peek().is_operator("]") else self._expression(0)
        closing = self._expect("]", "expected ']' to close the slice")
        node_slice = Slice(start=target.start, end=closing.end, target=target, lower=lower, upper=upper)
        return self._build(node_slice, target, lower, upper)


def _position_of(node: Node) -> int:
    return node.operator_start if isinstance(node, Binary) else node.start


def _describe_arity(signature: _Signature) -> str:
    if signature.max_arguments is None:
        return f"at least {signature.min_arguments}"
    if signature.max_arguments == signature.min_arguments:
        return str(signature.min_arguments)
    return f"{signature.min_arguments} or {signature.max_arguments}"


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Expression:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise _syntax_error(
            f"expression is too long ({len(text)} characters, the limit is {MAX_EXPRESSION_LENGTH})",
            text,
            None,
        )
    return Expression(text=text, root=_Parser(text).parse())


def parse(text: str) -> Expression:
    """Parse a condition; raise ExpressionSyntaxError with the offending position.

    `parse("result[0] >= 0.95").root` is `Binary(operator=">=", left=Index(...), right=Literal(value=0.95))`.
    Results are cached by text.
    """
    return _parse_cached(text)


# ------------------------------------------------------------------------------------------------------------
# Values


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_array(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, list | tuple)


def _is_map(value: object) -> TypeGuard[Mapping[object, object]]:
    return isinstance(value, Mapping)


def _type_name(value: object) -> str:
    """expr's names for value types ("float64" is what Argo reports for a Prometheus scalar)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if _is_array(value):
        return "array"
    if _is_map(value):
        return "map"
    return f"unsupported value {type(value).__name__}"


def _wrap_int64(value: int) -> int:
    """Go's `int` wraps around on overflow; so do we, rather than grow without bound."""
    return ((value - _INT64_MIN) & 0xFFFF_FFFF_FFFF_FFFF) + _INT64_MIN


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int from the environment beyond float range
        return math.copysign(math.inf, value)


def _is_odd_integer(value: float) -> bool:
    return (
        math.isfinite(value) and value == math.floor(value) and abs(value) < 2.0**53 and int(value) % 2 == 1
    )


def _power(base: float, exponent: float) -> float:
    """Go's math.Pow: no exceptions, overflow is ±Inf, a negative base with a fractional exponent is NaN."""
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return -math.inf if base < 0 and _is_odd_integer(exponent) else math.inf
    except ValueError:
        if base == 0.0:  # zero to a negative power
            return math.copysign(math.inf, base) if _is_odd_integer(exponent) else math.inf
        return math.nan


def _divide(dividend: float, divisor: float) -> float:
    """Go float division: x/0 is ±Inf, 0/0 is NaN."""
    if divisor == 0.0:
        if dividend == 0.0 or math.isnan(dividend):
            return math.nan
        return math.copysign(math.inf, dividend) * math.copysign(1.0, divisor)
    return dividend / divisor


def _go_round(value: float) -> float:
    """Go's math.Round: half away from zero (Python's round() is half to even)."""
    if not math.isfinite(value):
        return value
    truncated = float(math.trunc(value))
    if abs(value - truncated) >= 0.5:
        truncated += math.copysign(1.0, value)
    return truncated


def _parse_go_float(text: str) -> float | None:
    """strconv.ParseFloat's decimal syntax (no surrounding spaces, no underscores); None if invalid."""
    body = text[1:] if text[:1] in "+-" else text
    lowered = body.lower()
    if lowered in ("inf", "infinity", "nan"):
        return float(text)
    index = 0
    digits = 0
    while index < len(body) and body[index] in _DECIMAL_DIGITS:
        index += 1
        digits += 1
    if index < len(body) and body[index] == ".":
        index += 1
        while index < len(body) and body[index] in _DECIMAL_DIGITS:
            index += 1
            digits += 1
    if digits == 0:
        return None
    if index < len(body) and body[index] in "eE":
        index += 1
        if index < len(body) and body[index] in "+-":
            index += 1
        exponent_start = index
        while index < len(body) and body[index] in _DECIMAL_DIGITS:
            index += 1
        if index == exponent_start:
            return None
    if index != len(body):
        return None
    return float(text)


def _parse_go_int(text: str) -> int | None:
    """strconv.Atoi: optional sign and decimal digits, within int64; None if invalid."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or len(body) > 19 or any(char not in _DECIMAL_DIGITS for char in body):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _format_go_float(value: float) -> str:
    """fmt.Sprint of a float64 (%v, i.e. %g with the shortest digits): 0.95, 1e+06, 1.5e-07, +Inf, NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0.0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # Position of the decimal point relative to the first significant digit.
    point = len(whole) + (int(exponent_text) if exponent_text else 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0") or "0"
    exponent = point - 1
    # Shortest %g switches to exponent form outside [1e-4, 1e6), whatever the number of digits.
    if exponent < -4 or exponent >= 6:
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


# ------------------------------------------------------------------------------------------------------------
# Evaluator

_NO_ELEMENT: Final = object()  # the element outside any predicate


class _Evaluation:
    """One run of one expression: holds the environment and the step budget."""

    def __init__(self, expression: Expression, env: Mapping[str, object], *, max_steps: int) -> None:
        self._text = expression.text
        self._env = env
        self._max_steps = max_steps
        self._steps = 0

    # -- helpers

    def fail(self, message: str, node: Node | None) -> NoReturn:
        position = None if node is None else _position_of(node)
        raise EvaluationError(message, expression=self._text, position=position)

    def source(self, node: Node) -> str:
        text = " ".join(self._text[node.start : node.end].split())
        return text if len(text) <= 60 else text[:57] + "..."

    def charge(self, steps: int, node: Node) -> None:
        self._steps += steps
        if self._steps > self._max_steps:
            self.fail_budget(node)

    def fail_budget(self, node: Node) -> NoReturn:
        self.fail(
            f"expression is too expensive to evaluate (more than {self._max_steps} steps); "
            "simplify it or reduce the data it iterates over",
            node,
        )

    def charge_elements(self, count: int, node: Node) -> None:
        self.charge(1 + count // _ELEMENTS_PER_STEP, node)

    def remaining_steps(self) -> int:
        return max(0, self._max_steps - self._steps)

    # -- nodes

    def visit(self, node: Node, element: object) -> object:
        self.charge(1, node)
        match node:
            case Literal(value=value):
                return value
            case Name(name=name):
                if name not in self._env:
                    self.fail(f"unknown name {name}", node)
                return self._env[name]
            case Pointer():
                if element is _NO_ELEMENT:
                    self.fail("'#' is only allowed inside a predicate", node)
                return element
            case Member():
                return self._member(node, element)
            case Index():
                return self._index(node, element)
            case Slice():
                return self._slice(node, element)
            case Unary():
                return self._unary(node, element)
            case Binary():
                return self._binary(node, element)
            case Conditional(condition=condition, if_true=if_true, if_false=if_false):
                test = self.visit(condition, element)
                if not isinstance(test, bool):
                    self.fail(f"the condition of '? :' must be bool, got {_type_name(test)}", condition)
                return self.visit(if_true if test else if_false, element)
            case ArrayLiteral(items=items):
                return [self.visit(item, element) for item in items]
            case MapLiteral(entries=entries):
                result: dict[object, object] = {}
                for key_node, value_node in entries:
                    key = self.visit(key_node, element)
                    if not _is_hashable_key(key):
                        self.fail(f"cannot use {_type_name(key)} as a map key", key_node)
                    result[key] = self.visit(value_node, element)
                return result
            case Call():
                return self._call(node, element)
            case Closure():
                self.fail("a predicate can only be an argument of all, any, filter, map, ...", node)
        self.fail(f"unsupported expression node {type(node).__name__}", node)  # pragma: no cover

    def _member(self, node: Member, element: object) -> object:
        target = self.visit(node.target, element)
        if _is_map(target):
            return target.get(node.name)  # a missing key reads as nil, as in expr
        if target is None:
            if node.optional:
                return None
            self.fail(
                f"cannot read field {node.name!r}: {self.source(node.target)} is nil "
                f"(use {self.source(node.target)}?.{node.name} to get nil instead)",
                node,
            )
        # Only map keys are fields: never a Python attribute such as __class__.
        self.fail(
            f"unknown field {node.name!r}: {self.source(node.target)} is "
            f"{_article(_type_name(target))}, not a map",
            node,
        )

    def _index(self, node: Index, element: object) -> object:
        target = self.visit(node.target, element)
        key = self.visit(node.index, element)
        if target is None:
            if node.optional:
                return None
            self.fail(f"cannot index nil: {self.source(node.target)} is nil", node)
        if _is_map(target):
            if not _is_hashable_key(key):
                self.fail(f"cannot use {_type_name(key)} as a map key", node.index)
            return target.get(key)
        if _is_array(target) or isinstance(target, str):
            if not _is_int(key):
                self.fail(f"array index must be an int, got {_type_name(key)}", node.index)
            size = len(target)
            position = key + size if key < 0 else key
            if not 0 <= position < size:
                unit = "character" if isinstance(target, str) else "element"
                self.fail(
                    f"index {key} out of range: {self.source(node.target)} has {size} {unit}"
                    f"{'' if size == 1 else 's'}",
                    node,
                )
            return target[position]
        self.fail(f"cannot index {self.source(node.target)}: it is {_article(_type_name(target))}", node)

    def _slice(self, node: Slice, element: object) -> object:
        target = self.visit(node.target, element)
        if not (_is_array(target) or isinstance(target, str)):
            self.fail(f"cannot slice {self.source(node.target)}: it is {_article(_type_name(target))}", node)
        size = len(target)
        bounds: list[int] = []
        for bound_node, default in ((node.lower, 0), (node.upper, size)):
            if bound_node is None:
                bounds.append(default)
                continue
            bound = self.visit(bound_node, element)
            if not _is_int(bound):
                self.fail(f"slice bound must be an int, got {_type_name(bound)}", bound_node)
            bounds.append(max(0, bound + size if bound < 0 else bound))
        upper = min(bounds[1], size)
        lower = min(bounds[0], upper)
        self.charge_elements(upper - lower, node)
        result = target[lower:upper]
        return result if isinstance(result, str) else list(result)

    def _unary(self, node: Unary, element: object) -> object:
        operand = self.visit(node.operand, element)
        if node.operator == "!":
            if not isinstance(operand, bool):
                self.fail(f"invalid operation: ! on {_type_name(operand)} (expected bool)", node)
            return not operand
        if not _is_number(operand):
            self.fail(
                f"invalid operation: {node.operator} on {_type_name(operand)} (expected a number)", node
            )
        if node.operator == "+":
            return operand
        return _wrap_int64(-operand) if _is_int(operand) else -operand

    def _binary(self, node: Binary, element: object) -> object:
        operator = node.operator
        if operator in ("&&", "||"):
            left = self.visit(node.left, element)
            if not isinstance(left, bool):
                self.fail(f"invalid operation: {operator} on {_type_name(left)} (expected bool)", node.left)
            if left is (operator == "||"):  # short-circuit: `true || x`, `false && x`
                return left
            right = self.visit(node.right, element)
            if not isinstance(right, bool):
                self.fail(f"invalid operation: {operator} on {_type_name(right)} (expected bool)", node.right)
            return right
        if operator == "??":
            left = self.visit(node.left, element)
            return self.visit(node.right, element) if left is None else left
        left = self.visit(node.left, element)
        right = self.visit(node.right, element)
        negated = operator.startswith("not ")
        if negated:
            operator = operator[4:]
        match operator:
            case "==" | "!=":
                equal = self._equal(left, right, node, depth=0)
                return equal if operator == "==" else not equal
            case "<" | "<=" | ">" | ">=":
                return self._order(node, left, right)
            case "+" | "-" | "*" | "/" | "%" | "**":
                return self._arithmetic(node, left, right)
            case "..":
                return self._range(node, left, right)
            case "in":
                return self._contains_element(node, left, right) != negated
            case "matches" | "contains" | "startsWith" | "endsWith":
                return self._string_test(node, operator, left, right) != negated
        self.fail(f"unsupported operator {operator}", node)  # pragma: no cover

    def _equal(self, left: object, right: object, node: Node, *, depth: int) -> bool:
        if depth > MAX_VALUE_DEPTH:
            self.fail(f"value is nested too deeply to compare (more than {MAX_VALUE_DEPTH} levels)", node)
        if left is None or right is None:
            return left is None and right is None
        if isinstance(left, bool) or isinstance(right, bool):
            return isinstance(left, bool) and isinstance(right, bool) and left == right
        if _is_number(left) and _is_number(right):
            if _is_int(left) and _is_int(right):
                return left == right
            return _as_float(left) == _as_float(right)  # Go converts the int to float64
        if isinstance(left, str) or isinstance(right, str):
            return isinstance(left, str) and isinstance(right, str) and left == right
        if _is_array(left) and _is_array(right):
            if len(left) != len(right):
                return False
            self.charge_elements(len(left), node)
            return all(self._equal(a, b, node, depth=depth + 1) for a, b in zip(left, right, strict=True))
        if _is_map(left) and _is_map(right):
            if len(left) != len(right):
                return False
            self.charge_elements(len(left), node)
            return all(
                key in right and self._equal(value, right[key], node, depth=depth + 1)
                for key, value in left.items()
            )
        return False

    def _order(self, node: Binary, left: object, right: object) -> bool:
        operator = node.operator
        if _is_number(left) and _is_number(right):
            if _is_int(left) and _is_int(right):
                return _compare(operator, left, right)
            return _compare(operator, _as_float(left), _as_float(right))
        if isinstance(left, str) and isinstance(right, str):
            return _compare(operator, left, right)
        self.fail(self._mismatch(node, left, right), node)

    def _mismatch(self, node: Binary, left: object, right: object) -> str:
        message = _mismatched(node.operator, left, right)
        # The most common mistake: comparing a Prometheus vector (an array) with a number.
        for side, value, other in ((node.left, left, right), (node.right, right, left)):
            if _is_array(value) and _is_number(other):
                message += (
                    f"; {self.source(side)} is an array of {_count(len(value), 'element')}, "
                    f"compare one element such as {self.source(side)}[0]"
                )
                break
        return message

    def _arithmetic(self, node: Binary, left: object, right: object) -> object:
        operator = node.operator
        if operator == "+" and isinstance(left, str) and isinstance(right, str):
            self.charge_elements(len(left) + len(right), node)
            return left + right
        if not (_is_number(left) and _is_number(right)):
            self.fail(
                _mismatched(operator, left, right),
                node,
            )
        if operator == "/":
            return _divide(_as_float(left), _as_float(right))
        if operator == "**":
            return _power(_as_float(left), _as_float(right))
        if operator == "%":
            if not (_is_int(left) and _is_int(right)):
                self.fail(
                    f"invalid operation: % (mismatched types {_type_name(left)} and {_type_name(right)}); "
                    "% needs two ints",
                    node,
                )
            if right == 0:
                self.fail("integer divide by zero", node)
            remainder = abs(left) % abs(right)  # Go truncates: the remainder takes the dividend's sign
            return _wrap_int64(-remainder if left < 0 else remainder)
        if _is_int(left) and _is_int(right):
            if operator == "+":
                return _wrap_int64(left + right)
            if operator == "-":
                return _wrap_int64(left - right)
            return _wrap_int64(left * right)
        a, b = _as_float(left), _as_float(right)
        if operator == "+":
            return a + b
        if operator == "-":
            return a - b
        return a * b

    def _range(self, node: Binary, left: object, right: object) -> list[int]:
        if not (_is_int(left) and _is_int(right)):
            self.fail(
                f"invalid operation: .. (mismatched types {_type_name(left)} and {_type_name(right)})", node
            )
        size = max(0, right - left + 1)
        if size > MAX_RANGE_LENGTH:
            self.fail(f"range {left}..{right} has {size} elements, the limit is {MAX_RANGE_LENGTH}", node)
        self.charge(size // _RANGE_ELEMENTS_PER_STEP, node)
        return list(range(left, right + 1))

    def _contains_element(self, node: Binary, needle: object, haystack: object) -> bool:
        if _is_array(haystack):
            self.charge_elements(len(haystack), node)
            return any(self._equal(needle, item, node, depth=1) for item in haystack)
        if _is_map(haystack):
            return _is_hashable_key(needle) and needle in haystack
        self.fail(f"invalid operation: in on {_type_name(haystack)} (expected an array or a map)", node)

    def _string_test(self, node: Binary, operator: str, left: object, right: object) -> bool:
        if not (isinstance(left, str) and isinstance(right, str)):
            self.fail(
                f"{_mismatched(operator, left, right)}; {operator} needs two strings",
                node,
            )
        self.charge_elements(len(left), node)
        if operator == "contains":
            return right in left
        if operator == "startsWith":
            return left.startswith(right)
        if operator == "endsWith":
            return left.endswith(right)
        try:
            program = _compile_pattern(right)
        except _PatternError as error:
            self.fail(f"invalid regular expression {right!r}: {error}", node.right)
        work_limit = self.remaining_steps() * _REGEX_WORK_PER_STEP
        try:
            matched, work = _search(program, left, work_limit=work_limit)
        except _PatternTooExpensive:
            self.fail_budget(node)
        self.charge(work // _REGEX_WORK_PER_STEP, node)
        return matched

    # -- calls

    def _call(self, node: Call, element: object) -> object:
        if node.function in _PREDICATE_FUNCTIONS:
            return self._call_predicate(node, element)
        arguments = [self.visit(argument, element) for argument in node.arguments]
        return _PLAIN_IMPLEMENTATIONS[node.function](self, node, arguments)

    def _call_predicate(self, node: Call, element: object) -> object:
        name = node.function
        collection = self.visit(node.arguments[0], element)
        if not _is_array(collection):
            subject = self.source(node.arguments[0])
            self.fail(f"{name} expects an array, but {subject} is {_article(_type_name(collection))}", node)
        closure = node.arguments[1] if len(node.arguments) > 1 else None
        assert closure is None or isinstance(closure, Closure)

        def value_of(item: object) -> object:
            return item if closure is None else self.visit(closure.body, item)

        def truth_of(item: object) -> bool:
            value = value_of(item)
            if not isinstance(value, bool):
                what = "the elements" if closure is None else "the predicate"
                self.fail(f"{name}: {what} must be bool, got {_type_name(value)}", closure or node)
            return value

        match name:
            case "all":
                return all(truth_of(item) for item in collection)
            case "any":
                return any(truth_of(item) for item in collection)
            case "none":
                return not any(truth_of(item) for item in collection)
            case "one":
                matches = 0
                for item in collection:
                    matches += truth_of(item)
                    if matches > 1:
                        return False
                return matches == 1
            case "count":
                return sum(1 for item in collection if truth_of(item))
            case "filter":
                return [item for item in collection if truth_of(item)]
            case "map":
                return [value_of(item) for item in collection]
            case "find" | "findIndex":
                for position, item in enumerate(collection):
                    if truth_of(item):
                        return item if name == "find" else position
                return None if name == "find" else -1
            case "findLast" | "findLastIndex":
                for position in range(len(collection) - 1, -1, -1):
                    if truth_of(collection[position]):
                        return collection[position] if name == "findLast" else position
                return None if name == "findLast" else -1
            case "sum":
                return self.sum_of([value_of(item) for item in collection], node)
        self.fail(f"unsupported function {name}", node)  # pragma: no cover

    def numbers_of(self, values: Sequence[object], node: Call, *, depth: int = 0) -> list[int | float]:
        """Flatten nested arrays of numbers, as max/min/mean/median do in expr."""
        if depth > MAX_VALUE_DEPTH:
            self.fail(
                f"{node.function}: value is nested too deeply (more than {MAX_VALUE_DEPTH} levels)", node
            )
        self.charge_elements(len(values), node)
        numbers: list[int | float] = []
        for value in values:
            if _is_number(value):
                numbers.append(value)
            elif _is_array(value):
                numbers.extend(self.numbers_of(value, node, depth=depth + 1))
            else:
                self.fail(f"invalid argument for {node.function} (type {_type_name(value)})", node)
        return numbers

    def sum_of(self, values: Sequence[object], node: Call) -> int | float:
        self.charge_elements(len(values), node)
        if not all(_is_number(value) for value in values):
            bad = next(value for value in values if not _is_number(value))
            self.fail(f"invalid argument for sum (type {_type_name(bad)})", node)
        numbers = [value for value in values if _is_number(value)]
        if all(_is_int(value) for value in numbers):
            return _wrap_int64(sum(value for value in numbers if _is_int(value)))
        return (
            math.fsum(_as_float(value) for value in numbers) if _all_finite(numbers) else _naive_sum(numbers)
        )

    def format_value(self, value: object, node: Node, *, depth: int = 0) -> str:
        """fmt.Sprint of the value, as expr's string() does."""
        if depth > MAX_VALUE_DEPTH:
            self.fail(f"value is nested too deeply to format (more than {MAX_VALUE_DEPTH} levels)", node)
        if value is None:
            return "<nil>"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return _format_go_float(value)
        if isinstance(value, str):
            self.charge_elements(len(value), node)
            return value
        if _is_array(value):
            self.charge_elements(len(value), node)
            return "[" + " ".join(self.format_value(item, node, depth=depth + 1) for item in value) + "]"
        if _is_map(value):
            self.charge_elements(len(value), node)
            items = list(value.items())
            if all(isinstance(key, str) for key, _ in items):
                items.sort(key=lambda item: str(item[0]))  # Go prints map keys sorted
            formatted = (
                self.format_value(key, node, depth=depth + 1)
                + ":"
                + self.format_value(item, node, depth=depth + 1)
                for key, item in items
            )
            return "map[" + " ".join(formatted) + "]"
        self.fail(f"cannot format {_type_name(value)}", node)


def _compare(operator: str, left: int | float | str, right: int | float | str) -> bool:
    # Both sides have the same kind (numbers or strings); callers check that.
    match operator:
        case "<":
            return left < right  # type: ignore[operator]
        case "<=":
            return left <= right  # type: ignore[operator]
        case ">":
            return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


def _mismatched(operator: str, left: object, right: object) -> str:
    return f"invalid operation: {operator} (mismatched types {_type_name(left)} and {_type_name(right)})"


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _is_hashable_key(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _article(type_name: str) -> str:
    if type_name == "nil":
        return "nil"
    return f"{'an' if type_name[0] in 'aeiou' else 'a'} {type_name}"


def _all_finite(numbers: Sequence[int | float]) -> bool:
    return all(math.isfinite(_as_float(number)) for number in numbers)


def _naive_sum(numbers: Sequence[int | float]) -> float:
    # math.fsum raises on inf/nan mixes where Go's loop gives inf or NaN.
    total = 0.0
    for number in numbers:
        total += _as_float(number)
    return total


# -- plain builtins: (evaluation, call node, evaluated arguments) -> value

_Builtin = Callable[[_Evaluation, Call, list[object]], object]


def _expect_number(evaluation: _Evaluation, node: Call, value: object) -> int | float:
    if not _is_number(value):
        evaluation.fail(
            f"invalid argument for {node.function} (type {_type_name(value)}, expected a number)", node
        )
    return value


def _expect_string(evaluation: _Evaluation, node: Call, value: object) -> str:
    if not isinstance(value, str):
        evaluation.fail(
            f"invalid argument for {node.function} (type {_type_name(value)}, expected a string)", node
        )
    return value


def _builtin_len(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    (value,) = arguments
    if isinstance(value, str) or _is_array(value) or _is_map(value):
        return len(value)
    evaluation.fail(f"invalid argument for len (type {_type_name(value)})", node)


def _builtin_abs(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    value = _expect_number(evaluation, node, arguments[0])
    return _wrap_int64(abs(value)) if _is_int(value) else abs(value)


def _builtin_extreme(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    numbers = evaluation.numbers_of(arguments, node)
    best: int | float | None = None
    for number in numbers:
        # Go's loop replaces the best value only when the comparison holds, so NaN after the first is skipped.
        if best is None or (
            _as_float(number) > _as_float(best)
            if node.function == "max"
            else _as_float(number) < _as_float(best)
        ):
            best = number
    return best  # nil for an empty array, as in expr


def _builtin_mean(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    numbers = evaluation.numbers_of(arguments, node)
    if not numbers:
        return 0.0
    return _naive_sum(numbers) / len(numbers)


def _builtin_median(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    values = sorted(_as_float(number) for number in evaluation.numbers_of(arguments, node))
    if not values:
        return 0.0
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _builtin_first_last(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    (value,) = arguments
    if value is None:
        return None
    if not _is_array(value):
        evaluation.fail(f"{node.function} expects an array, got {_type_name(value)}", node)
    if not value:
        return None
    return value[0] if node.function == "first" else value[-1]


def _builtin_keys_values(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    (value,) = arguments
    if not _is_map(value):
        evaluation.fail(f"{node.function} expects a map, got {_type_name(value)}", node)
    evaluation.charge_elements(len(value), node)
    return list(value.keys()) if node.function == "keys" else list(value.values())


def _builtin_rounding(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    value = _as_float(_expect_number(evaluation, node, arguments[0]))
    if not math.isfinite(value):
        return value
    if node.function == "ceil":
        return float(math.ceil(value))
    if node.function == "floor":
        return float(math.floor(value))
    return _go_round(value)


def _builtin_as_int(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    (value,) = arguments
    if _is_int(value):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value == math.floor(value) and _INT64_MIN <= value < 2.0**63:
            return int(value)
        evaluation.fail(f"asInt: {_format_go_float(value)} is not a whole number", node)
    if isinstance(value, str):
        parsed = _parse_go_int(value)
        if parsed is None:
            evaluation.fail(f"asInt: cannot parse {_quote(value)} as an integer", node)
        return parsed
    evaluation.fail(f"asInt() not supported on {_type_name(value)}", node)


def _builtin_as_float(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    (value,) = arguments
    if _is_number(value):
        return _as_float(value)
    if isinstance(value, str):
        parsed = _parse_go_float(value)
        if parsed is None:
            evaluation.fail(f"{node.function}: cannot parse {_quote(value)} as a number", node)
        if math.isinf(parsed) and value.strip("+-").lower() not in ("inf", "infinity"):
            evaluation.fail(f"{node.function}: {_quote(value)} is out of range", node)
        return parsed
    name = "asFloat()" if node.function == "asFloat" else "float()"
    evaluation.fail(f"{name} not supported on {_type_name(value)}", node)


def _builtin_float_test(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    value = arguments[0]
    if not _is_number(value):
        hint = ""
        if _is_array(value):
            hint = f"; {evaluation.source(node.arguments[0])} is an array, test one element such as "
            hint += f"{evaluation.source(node.arguments[0])}[0]"
        evaluation.fail(f"{node.function} expects a number, got {_type_name(value)}{hint}", node)
    number = _as_float(value)
    return math.isnan(number) if node.function == "isNaN" else math.isinf(number)


def _builtin_is_nil(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    return arguments[0] is None


def _builtin_default(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    value, fallback = arguments
    return fallback if value is None else value


def _builtin_string(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    return evaluation.format_value(arguments[0], node)


def _builtin_int(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    (value,) = arguments
    if _is_int(value):
        return value
    if isinstance(value, float):
        if not (math.isfinite(value) and -(2.0**63) <= value < 2.0**63):
            evaluation.fail(f"invalid operation: int({_format_go_float(value)}) is out of range", node)
        return int(value)  # truncates toward zero, as Go's int(x)
    if isinstance(value, str):
        parsed = _parse_go_int(value)
        if parsed is None:
            evaluation.fail(f"invalid operation: int({_quote(value)})", node)
        return parsed
    evaluation.fail(f"invalid operation: int({_type_name(value)})", node)


def _builtin_type(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    name = _type_name(arguments[0])
    return "float" if name == "float64" else name


def _builtin_case(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    text = _expect_string(evaluation, node, arguments[0])
    evaluation.charge_elements(len(text), node)
    return text.lower() if node.function == "lower" else text.upper()


def _builtin_trim(evaluation: _Evaluation, node: Call, arguments: list[object]) -> object:
    text = _expect_string(evaluation, node, arguments[0])
    evaluation.charge_elements(len(text), node)
    if len(arguments) == 1:
        return text.strip()
    return text.strip(_expect_string(evaluation, node, arguments[1]))


def _quote(text: str) -> str:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PLAIN_IMPLEMENTATIONS: Final[Mapping[str, _Builtin]] = {
    "len": _builtin_len,
    "abs": _builtin_abs,
    "max": _builtin_extreme,
    "min": _builtin_extreme,
    "mean": _builtin_mean,
    "median": _builtin_median,
    "first": _builtin_first_last,
    "last": _builtin_first_last,
    "keys": _builtin_keys_values,
    "values": _builtin_keys_values,
    "ceil": _builtin_rounding,
    "floor": _builtin_rounding,
    "round": _builtin_rounding,
    "asInt": _builtin_as_int,
    "asFloat": _builtin_as_float,
    "isNaN": _builtin_float_test,
    "isInf": _builtin_float_test,
    "isNil": _builtin_is_nil,
    "default": _builtin_default,
    "string": _builtin_string,
    "int": _builtin_int,
    "float": _builtin_as_float,
    "type": _builtin_type,
    "lower": _builtin_case,
    "upper": _builtin_case,
    "trim": _builtin_trim,
}
assert set(_PLAIN_IMPLEMENTATIONS) == set(_PLAIN_FUNCTIONS)


# ------------------------------------------------------------------------------------------------------------
# Public entry points


def evaluate(
    expression: Expression | str, env: Mapping[str, object], *, max_steps: int = MAX_STEPS
) -> object:
    """Evaluate a condition against named values; raise ExpressionError (never anything else) on failure.

    `evaluate("result.ok && result.successPercent >= 0.90", {"result": {"ok": True, "successPercent": 0.93}})`
    is True.
    """
    parsed = parse(expression) if isinstance(expression, str) else expression
    return _Evaluation(parsed, env, max_steps=max_steps).visit(parsed.root, _NO_ELEMENT)


def evaluate_condition(text: str, *, result: object) -> bool:
    """Evaluate a successCondition/failureCondition with `result` bound; the outcome must be a bool.

    `evaluate_condition("result[0] >= 0.95", result=[0.97])` is True; `evaluate_condition("result[0]",
    result=[0.97])` raises EvaluationError("expected bool, but got float64").
    """
    value = evaluate(text, {"result": result})
    if not isinstance(value, bool):
        raise EvaluationError(f"expected bool, but got {_type_name(value)}", expression=text, position=None)
    return value


# ------------------------------------------------------------------------------------------------------------
# Regular expressions for `matches`
#
# A subset of RE2 syntax (Go's regexp): literals and escapes, `.`, classes with ranges, negation, \d \w \s and
# [:posix:] names, groups (capturing, non-capturing, named), alternation, * + ? {n} {n,} {n,m} (lazy forms
# accepted), anchors ^ $ \A \z \b \B, and the flags i, m, s, U. Patterns compile to a Thompson NFA that is
# simulated breadth-first, so time is linear in the text (no catastrophic backtracking). Backreferences and
# lookarounds do not exist in RE2 either.


class _PatternError(ValueError):
    """An invalid or unsupported pattern; the evaluator adds the pattern and position."""


class _PatternTooExpensive(Exception):
    pass


_MAX_CODE_POINT: Final = 0x10FFFF
_Ranges = tuple[tuple[int, int], ...]
_DIGIT_RANGES: Final[_Ranges] = ((48, 57),)
_WORD_RANGES: Final[_Ranges] = ((48, 57), (65, 90), (95, 95), (97, 122))
_SPACE_RANGES: Final[_Ranges] = ((9, 10), (12, 13), (32, 32))
_POSIX_CLASSES: Final[Mapping[str, _Ranges]] = {
    "alnum": ((48, 57), (65, 90), (97, 122)),
    "alpha": ((65, 90), (97, 122)),
    "ascii": ((0, 127),),
    "blank": ((9, 9), (32, 32)),
    "cntrl": ((0, 31), (127, 127)),
    "digit": _DIGIT_RANGES,
    "graph": ((33, 126),),
    "lower": ((97, 122),),
    "print": ((32, 126),),
    "punct": ((33, 47), (58, 64), (91, 96), (123, 126)),
    "space": ((9, 13), (32, 32)),
    "upper": ((65, 90),),
    "word": _WORD_RANGES,
    "xdigit": ((48, 57), (65, 70), (97, 102)),
}
_CONTROL_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}


def _normalize_ranges(ranges: list[tuple[int, int]]) -> _Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _complement(ranges: _Ranges) -> _Ranges:
    result: list[tuple[int, int]] = []
    next_low = 0
    for low, high in ranges:
        if low > next_low:
            result.append((next_low, low - 1))
        next_low = high + 1
    if next_low <= _MAX_CODE_POINT:
        result.append((next_low, _MAX_CODE_POINT))
    return tuple(result)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _CharSet:
    ranges: _Ranges
    negated: bool = False
    fold: bool = False  # (?i): a character matches if any of its case variants does

    def contains(self, char: str) -> bool:
        found = self._has(char)
        if not found and self.fold:
            found = any(self._has(variant) for variant in (char.lower(), char.upper()) if len(variant) == 1)
        return found != self.negated

    def _has(self, char: str) -> bool:
        code = ord(char)
        position = bisect.bisect_right(self.ranges, (code, _MAX_CODE_POINT + 1)) - 1
        return position >= 0 and self.ranges[position][0] <= code <= self.ranges[position][1]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _RSet:
    charset: _CharSet


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _RAny:
    dotall: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _RAssert:
    kind: str  # "bot", "eot", "bol", "eol", "word", "nonword"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _RConcat:
    items: tuple[_RNode, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _RAlternation:
    options: tuple[_RNode, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _RRepeat:
    item: _RNode
    minimum: int
    maximum: int | None  # None: unbounded


_RNode = _RSet | _RAny | _RAssert | _RConcat | _RAlternation | _RRepeat


class _PatternParser:
    def __init__(self, pattern: str) -> None:
        self._pattern = pattern
        self._index = 0
        self._nesting = 0
        self._fold = False
        self._multiline = False
        self._dotall = False

    def parse(self) -> _RNode:
        node = self._alternation()
        if self._index < len(self._pattern):
            raise _PatternError("unexpected ) (unbalanced parentheses)")
        return node

    def _peek(self) -> str:
        return self._pattern[self._index] if self._index < len(self._pattern) else ""

    def _alternation(self) -> _RNode:
        options = [self._concatenation()]
        while self._peek() == "|":
            self._index += 1
            options.append(self._concatenation())
        return options[0] if len(options) == 1 else _RAlternation(options=tuple(options))

    def _concatenation(self) -> _RNode:
        items: list[_RNode] = []
        while self._peek() not in ("", "|", ")"):
            item = self._repetition()
            if item is not None:
                items.append(item)
        return items[0] if len(items) == 1 else _RConcat(items=tuple(items))

    def _repetition(self) -> _RNode | None:
        if self._peek() in ("*", "+", "?") or (
            self._peek() == "{" and self._counted(consume=False) is not None
        ):
            raise _PatternError(f"missing argument to repetition operator {self._peek()}")
        atom = self._atom()
        repeated = False
        while True:
            char = self._peek()
            bounds: tuple[int, int | None] | None = None
            if char in ("*", "+", "?"):
                self._index += 1
                bounds = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
            elif char == "{":
                bounds = self._counted(consume=True)  # a "{" that is not a repeat is a literal, as in RE2
            if bounds is None:
                break
            if repeated:
                raise _PatternError("invalid nested repetition operator")
            repeated = True
            if self._peek() == "?":  # lazy: the same language, so the same answer for `matches`
                self._index += 1
            if atom is None:
                raise _PatternError("missing argument to repetition operator")
            atom = _RRepeat(item=atom, minimum=bounds[0], maximum=bounds[1])
        return atom

    def _counted(self, *, consume: bool) -> tuple[int, int | None] | None:
        closing = self._pattern.find("}", self._index)
        if closing < 0:
            return None
        body = self._pattern[self._index + 1 : closing]
        low_text, comma, high_text = body.partition(",")
        if not low_text.isascii() or not low_text.isdigit() or not (high_text == "" or high_text.isdigit()):
            return None
        if not high_text.isascii():
            return None
        if len(low_text) > 4 or len(high_text) > 4:
            raise _PatternError(f"invalid repeat count {{{body}}}")
        low = int(low_text)
        high = None if comma and not high_text else int(high_text) if high_text else low
        if low > MAX_PATTERN_REPEAT or (high is not None and (high > MAX_PATTERN_REPEAT or high < low)):
            raise _PatternError(f"invalid repeat count {{{body}}}")
        if consume:
            self._index = closing + 1
        return low, high

    def _atom(self) -> _RNode | None:
        char = self._peek()
        if char == "(":
            return self._group()
        self._index += 1
        if char == "[":
            return self._char_class()
        if char == ".":
            return _RAny(dotall=self._dotall)
        if char == "^":
            return _RAssert(kind="bol" if self._multiline else "bot")
        if char == "$":
            return _RAssert(kind="eol" if self._multiline else "eot")
        if char == "\\":
            return self._escape()
        return self._literal(char)

    def _literal(self, char: str) -> _RNode:
        code = ord(char)
        return _RSet(charset=_CharSet(ranges=((code, code),), fold=self._fold))

    def _group(self) -> _RNode | None:
        self._index += 1  # "("
        self._nesting += 1
        if self._nesting > MAX_PATTERN_NESTING:
            raise _PatternError(f"nesting is too deep (more than {MAX_PATTERN_NESTING} groups)")
        saved_flags = (self._fold, self._multiline, self._dotall)
        if self._peek() == "?":
            self._index += 1
            if self._pattern.startswith(("P<", "<"), self._index):
                self._index = self._pattern.find("<", self._index) + 1
                closing = self._pattern.find(">", self._index)
                name = self._pattern[self._index : closing] if closing >= 0 else ""
                if not name or not all(char.isalnum() or char == "_" for char in name):
                    raise _PatternError("invalid named capture")
                self._index = closing + 1
            elif self._flags():  # "(?i)": the flags hold until the enclosing group ends
                self._nesting -= 1
                return None
        node = self._alternation()
        if self._peek() != ")":
            raise _PatternError("missing closing )")
        self._index += 1
        self._fold, self._multiline, self._dotall = saved_flags
        self._nesting -= 1
        return node

    def _flags(self) -> bool:
        """Parse `i-s:` or `i)` after "(?"; True for a flag-only group like "(?i)"."""
        enable = True
        while True:
            char = self._peek()
            self._index += 1
            if char == "-" and enable:
                enable = False
            elif char == "i":
                self._fold = enable
            elif char == "m":
                self._multiline = enable
            elif char == "s":
                self._dotall = enable
            elif char == "U":
                pass  # ungreedy: irrelevant to whether there is a match
            elif char == ":":
                return False
            elif char == ")":
                return True
            else:
                raise _PatternError("invalid or unsupported group flags (lookarounds are not supported)")

    def _escape(self) -> _RNode:
        char = self._peek()
        if not char:
            raise _PatternError("trailing backslash at end of expression")
        self._index += 1
        class_ranges = _escape_class(char)
        if class_ranges is not None:
            return _RSet(charset=_CharSet(ranges=class_ranges))
        assertion = {"b": "word", "B": "nonword", "A": "bot", "z": "eot"}.get(char)
        if assertion is not None:
            return _RAssert(kind=assertion)
        return self._literal(self._escaped_char(char))

    def _escaped_char(self, char: str) -> str:
        if char in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[char]
        if char == "x":
            if self._peek() == "{":
                closing = self._pattern.find("}", self._index)
                digits = self._pattern[self._index + 1 : closing] if closing >= 0 else ""
                end = closing + 1
            else:
                digits = self._pattern[self._index : self._index + 2]
                end = self._index + 2
            code = _parse_digits(digits, base=16) if 0 < len(digits) <= 8 else None
            if code is None or code > _MAX_CODE_POINT:
                raise _PatternError("invalid escape sequence \\x")
            self._index = end
            return chr(code)
        if char == "0":
            digits = ""
            while len(digits) < 2 and self._peek() in tuple("01234567"):
                digits += self._peek()
                self._index += 1
            return chr(int(digits or "0", 8))
        if char in "123456789":
            raise _PatternError("backreferences are not supported")
        if char.isascii() and not char.isalnum():
            return char  # escaped punctuation stands for itself
        raise _PatternError(f"invalid or unsupported escape sequence \\{char}")

    def _char_class(self) -> _RNode:
        negated = self._peek() == "^"
        if negated:
            self._index += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            char = self._peek()
            if not char:
                raise _PatternError("missing closing ]")
            if char == "]" and not first:
                self._index += 1
                break
            first = False
            if self._pattern.startswith("[:", self._index):
                closing = self._pattern.find(":]", self._index + 2)
                name = self._pattern[self._index + 2 : closing] if closing >= 0 else ""
                invert = name.startswith("^")
                posix = _POSIX_CLASSES.get(name.lstrip("^"))
                if posix is None:
                    raise _PatternError("invalid character class range")
                ranges.extend(_complement(posix) if invert else posix)
                self._index = closing + 2
                continue
            if char == "\\" and self._index + 1 < len(self._pattern):
                class_ranges = _escape_class(self._pattern[self._index + 1])
                if class_ranges is not None:
                    ranges.extend(class_ranges)
                    self._index += 2
                    continue
            low = self._class_char()
            high = low
            if (
                self._peek() == "-"
                and self._index + 1 < len(self._pattern)
                and self._pattern[self._index + 1] != "]"
            ):
                self._index += 1
                high = self._class_char()
                if ord(high) < ord(low):
                    raise _PatternError(f"invalid character class range {low}-{high}")
            ranges.append((ord(low), ord(high)))
        return _RSet(charset=_CharSet(ranges=_normalize_ranges(ranges), negated=negated, fold=self._fold))

    def _class_char(self) -> str:
        char = self._peek()
        self._index += 1
        if char != "\\":
            return char
        escaped = self._peek()
        if not escaped:
            raise _PatternError("missing closing ]")
        self._index += 1
        return self._escaped_char(escaped)


def _escape_class(char: str) -> _Ranges | None:
    base = {"d": _DIGIT_RANGES, "w": _WORD_RANGES, "s": _SPACE_RANGES}.get(char.lower())
    if base is None or not char.isascii():
        return None
    return _complement(base) if char.isupper() else base


class _Op(enum.Enum):
    CHAR = "char"
    ANY = "any"
    SPLIT = "split"
    JUMP = "jump"
    ASSERT = "assert"
    MATCH = "match"


@dataclasses.dataclass(slots=True, kw_only=True)
class _Instruction:
    op: _Op
    charset: _CharSet | None = None
    dotall: bool = False
    kind: str = ""
    x: int = 0
    y: int = 0


class _PatternCompiler:
    def __init__(self) -> None:
        self.program: list[_Instruction] = []

    def emit(self, instruction: _Instruction) -> int:
        if len(self.program) >= MAX_PATTERN_PROGRAM:
            raise _PatternError(f"pattern is too large (more than {MAX_PATTERN_PROGRAM} instructions)")
        self.program.append(instruction)
        return len(self.program) - 1

    def compile(self, node: _RNode) -> None:
        match node:
            case _RSet(charset=charset):
                self.emit(_Instruction(op=_Op.CHAR, charset=charset))
            case _RAny(dotall=dotall):
                self.emit(_Instruction(op=_Op.ANY, dotall=dotall))
            case _RAssert(kind=kind):
                self.emit(_Instruction(op=_Op.ASSERT, kind=kind))
            case _RConcat(items=items):
                for item in items:
                    self.compile(item)
            case _RAlternation(options=options):
                jumps: list[int] = []
                for option in options[:-1]:
                    split = self.emit(_Instruction(op=_Op.SPLIT))
                    self.program[split].x = split + 1
                    self.compile(option)
                    jumps.append(self.emit(_Instruction(op=_Op.JUMP)))
                    self.program[split].y = len(self.program)
                self.compile(options[-1])
                for jump in jumps:
                    self.program[jump].x = len(self.program)
            case _RRepeat(item=item, minimum=minimum, maximum=maximum):
                for _ in range(minimum):
                    self.compile(item)
                if maximum is None:
                    split = self.emit(_Instruction(op=_Op.SPLIT))
                    self.program[split].x = split + 1
                    self.compile(item)
                    self.emit(_Instruction(op=_Op.JUMP, x=split))
                    self.program[split].y = len(self.program)
                else:
                    splits: list[int] = []
                    for _ in range(maximum - minimum):
                        split = self.emit(_Instruction(op=_Op.SPLIT))
                        self.program[split].x = split + 1
                        splits.append(split)
                        self.compile(item)
                    for split in splits:
                        self.program[split].y = len(self.program)


@functools.lru_cache(maxsize=128)
def _compile_pattern(pattern: str) -> tuple[_Instruction, ...]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _PatternError(
            f"pattern is too long ({len(pattern)} characters, the limit is {MAX_PATTERN_LENGTH})"
        )
    node = _PatternParser(pattern).parse()
    compiler = _PatternCompiler()
    compiler.compile(node)
    compiler.emit(_Instruction(op=_Op.MATCH))
    return tuple(compiler.program)


def _is_word_char(text: str, position: int) -> bool:
    return (
        0 <= position < len(text)
        and text[position].isascii()
        and (text[position].isalnum() or text[position] == "_")
    )


def _assertion_holds(kind: str, text: str, position: int) -> bool:
    match kind:
        case "bot":
            return position == 0
        case "eot":
            return position == len(text)
        case "bol":
            return position == 0 or text[position - 1] == "\n"
        case "eol":
            return position == len(text) or text[position] == "\n"
        case "word":
            return _is_word_char(text, position - 1) != _is_word_char(text, position)
    return _is_word_char(text, position - 1) == _is_word_char(text, position)


def _search(program: tuple[_Instruction, ...], text: str, *, work_limit: int) -> tuple[bool, int]:
    """Does the pattern match anywhere in the text (Go's regexp.MatchString)? Returns (matched, work done)."""
    marks = [-1] * len(program)
    work = 0

    def add_thread(start: int, position: int, threads: list[int]) -> None:
        nonlocal work
        stack = [start]
        while stack:
            pc = stack.pop()
            if marks[pc] == position:
                continue
            marks[pc] = position
            work += 1
            instruction = program[pc]
            if instruction.op is _Op.JUMP:
                stack.append(instruction.x)
            elif instruction.op is _Op.SPLIT:
                stack.append(instruction.y)
                stack.append(instruction.x)
            elif instruction.op is _Op.ASSERT:
                if _assertion_holds(instruction.kind, text, position):
                    stack.append(pc + 1)
            else:
                threads.append(pc)

    match_pc = len(program) - 1  # the compiler ends every program with MATCH
    threads: list[int] = []
    for position in range(len(text) + 1):
        add_thread(0, position, threads)  # a new attempt at every position: the search is unanchored
        if work > work_limit:
            raise _PatternTooExpensive
        if marks[match_pc] == position:
            return True, work
        if position == len(text):
            break
        char = text[position]
        next_threads: list[int] = []
        for pc in threads:
            instruction = program[pc]
            if (
                instruction.op is _Op.CHAR
                and instruction.charset is not None
                and instruction.charset.contains(char)
            ) or (instruction.op is _Op.ANY and (instruction.dotall or char != "\n")):
                add_thread(pc + 1, position + 1, next_threads)
        threads = next_threads
    return False, work
