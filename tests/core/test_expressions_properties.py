"""Properties: any input fails only with ExpressionError; arithmetic and logic agree with a reference model."""

import math
from dataclasses import dataclass

import hypothesis
from hypothesis import strategies as st

from rollouts.core import expressions

RESULTS = st.sampled_from(
    [
        None,
        0.97,
        math.nan,
        math.inf,
        3,
        True,
        "It worked!",
        [],
        [0.5, math.nan, -math.inf],
        {"ok": True, "x": {"values": [{"value": "9950"}, {"value": "x"}]}, "n": None},
        [[1, [2]], {"a": []}],
    ]
)

# Fragments users (and attackers) write; random sequences of them reach deep into the parser and evaluator.
FRAGMENTS = st.sampled_from(
    [
        *("result", "#", ".", "?.", "x", "values", "ok", "value", "__class__", "len", "all", "any", "map"),
        *("filter", "count", "sum", "max", "asFloat", "asInt", "isNaN", "default", "string", "int", "trim"),
        *("(", ")", "[", "]", "{", "}", ",", ":", "?", "??", "..", "!", "not", "and", "or", "&&", "||"),
        *("+", "-", "*", "/", "%", "**", "^", "==", "!=", "<", ">=", "in", "matches", "contains"),
        *("0", "1", "-1", "2", "0.5", "1e3", "9", "'a'", '"(a+)+"', "true", "false", "nil", " "),
    ]
)


def evaluate_or_expression_error(text: str, result: object) -> None:
    try:
        expressions.evaluate_condition(text, result=result)
    except expressions.ExpressionError as error:
        assert error.message
        assert error.position is None or 0 <= error.position <= len(text)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(text=st.text(max_size=60), result=RESULTS)
def test_random_text_raises_only_expression_errors(text: str, result: object) -> None:
    evaluate_or_expression_error(text, result)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(fragments=st.lists(FRAGMENTS, max_size=40), result=RESULTS)
def test_random_fragment_soup_raises_only_expression_errors(fragments: list[str], result: object) -> None:
    evaluate_or_expression_error(" ".join(fragments), result)
    evaluate_or_expression_error("".join(fragments), result)


# -- agreement with a reference model of expr's arithmetic, comparison and logic


class Failure:
    """The reference says evaluation must fail."""


FAILURE = Failure()
INT64 = 2**64


def wrap(value: int) -> int:
    return (value + 2**63) % INT64 - 2**63


@dataclass(frozen=True)
class Tree:
    operator: str  # "lit", "neg", "not", or a binary operator
    children: tuple["Tree", ...] = ()
    value: int | float | bool = 0


PRECEDENCE = {"||": 10, "&&": 15, "==": 20, "!=": 20, "<": 20, "<=": 20, ">": 20, ">=": 20}
PRECEDENCE |= {"+": 30, "-": 30, "*": 60, "/": 60, "%": 60}
UNARY_PRECEDENCE = {"neg": 90, "not": 50}
SPELLINGS = {"&&": ("&&", "and"), "||": ("||", "or"), "not": ("!", "not ")}


def render(tree: Tree, spelling: int) -> str:
    """Source text with only the parentheses expr's precedence rules need."""
    if tree.operator == "lit":
        return "true" if tree.value is True else "false" if tree.value is False else repr(tree.value)
    if tree.operator in UNARY_PRECEDENCE:
        prefix = "-" if tree.operator == "neg" else SPELLINGS["not"][spelling]
        (operand,) = tree.children
        text = render(operand, spelling)
        if operand.operator in PRECEDENCE and PRECEDENCE[operand.operator] < UNARY_PRECEDENCE[tree.operator]:
            text = f"({text})"
        return prefix + text
    left, right = tree.children
    precedence = PRECEDENCE[tree.operator]
    parts = []
    for side, child in (("left", left), ("right", right)):
        text = render(child, spelling)
        if child.operator in PRECEDENCE:
            child_precedence = PRECEDENCE[child.operator]
            if child_precedence < precedence or (side == "right" and child_precedence == precedence):
                text = f"({text})"
        elif child.operator in UNARY_PRECEDENCE and precedence >= UNARY_PRECEDENCE[child.operator]:
            # A unary operand swallows tighter binary operators that follow it: `!a * b` is `!(a * b)`.
            text = f"({text})"
        parts.append(text)
    operator = SPELLINGS.get(tree.operator, (tree.operator, tree.operator))[spelling]
    return f"{parts[0]} {operator} {parts[1]}"


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def reference(tree: Tree) -> object:
    if tree.operator == "lit":
        return tree.value
    if tree.operator == "neg":
        operand = reference(tree.children[0])
        if not is_number(operand):
            return FAILURE
        return wrap(-operand) if isinstance(operand, int) else -operand  # type: ignore[operator]
    if tree.operator == "not":
        operand = reference(tree.children[0])
        return (not operand) if isinstance(operand, bool) else FAILURE
    if tree.operator in ("&&", "||"):
        left = reference(tree.children[0])
        if not isinstance(left, bool):
            return FAILURE
        if left is (tree.operator == "||"):
            return left
        right = reference(tree.children[1])
        return right if isinstance(right, bool) else FAILURE
    left, right = (reference(child) for child in tree.children)
    if left is FAILURE or right is FAILURE:
        return FAILURE
    if tree.operator in ("==", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = isinstance(left, bool) and isinstance(right, bool) and left == right
        elif isinstance(left, int) and isinstance(right, int):
            equal = left == right
        else:
            equal = float(left) == float(right)  # type: ignore[arg-type]
        return equal if tree.operator == "==" else not equal
    if not (is_number(left) and is_number(right)):
        return FAILURE
    a, b = float(left), float(right)  # type: ignore[arg-type]
    both_ints = isinstance(left, int) and isinstance(right, int)
    match tree.operator:
        case "<":
            return a < b if not both_ints else left < right  # type: ignore[operator]
        case "<=":
            return a <= b if not both_ints else left <= right  # type: ignore[operator]
        case ">":
            return a > b if not both_ints else left > right  # type: ignore[operator]
        case ">=":
            return a >= b if not both_ints else left >= right  # type: ignore[operator]
        case "/":
            if b == 0.0:
                return (
                    math.nan
                    if a == 0.0 or math.isnan(a)
                    else math.copysign(math.inf, a) * math.copysign(1, b)
                )
            return a / b
        case "%":
            if not both_ints or right == 0:
                return FAILURE
            assert isinstance(left, int) and isinstance(right, int)
            remainder = abs(left) % abs(right)
            return wrap(-remainder if left < 0 else remainder)
    if both_ints:
        exact = {"+": left + right, "-": left - right, "*": left * right}[tree.operator]  # type: ignore[operator]
        return wrap(exact)
    return {"+": a + b, "-": a - b, "*": a * b}[tree.operator]


LITERALS = st.one_of(
    st.integers(min_value=0, max_value=50),
    st.sampled_from([2**62, 2**63 - 1, 3037000500]),  # products and sums that overflow int64
    st.sampled_from([0.0, 0.5, 2.25, 1e-3, 1e10, 3.0, 1e300, 7.5e-5]),
    st.booleans(),
).map(lambda value: Tree(operator="lit", value=value))


def extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    binary = st.sampled_from(sorted(PRECEDENCE))
    return st.one_of(
        st.builds(lambda child: Tree(operator="neg", children=(child,)), children),
        st.builds(lambda child: Tree(operator="not", children=(child,)), children),
        st.builds(
            lambda op, left, right: Tree(operator=op, children=(left, right)), binary, children, children
        ),
    )


MIXED_TREES = st.recursive(LITERALS, extend, max_leaves=12)


def numeric(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    arithmetic = st.sampled_from(["+", "-", "*", "/", "%"])
    return st.one_of(
        st.builds(lambda child: Tree(operator="neg", children=(child,)), children),
        st.builds(
            lambda op, left, right: Tree(operator=op, children=(left, right)), arithmetic, children, children
        ),
    )


NUMBER_TREES = st.recursive(LITERALS.filter(lambda tree: is_number(tree.value)), numeric, max_leaves=8)
COMPARISONS = st.builds(
    lambda op, left, right: Tree(operator=op, children=(left, right)),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    NUMBER_TREES,
    NUMBER_TREES,
)


def logical(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.builds(lambda child: Tree(operator="not", children=(child,)), children),
        st.builds(
            lambda op, left, right: Tree(operator=op, children=(left, right)),
            st.sampled_from(["&&", "||", "==", "!="]),
            children,
            children,
        ),
    )


BOOLEAN_TREES = st.recursive(
    st.one_of(st.booleans().map(lambda value: Tree(operator="lit", value=value)), COMPARISONS),
    logical,
    max_leaves=6,
)
TREES = st.one_of(NUMBER_TREES, BOOLEAN_TREES, MIXED_TREES)


def same(actual: object, expected: object) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(tree=TREES, spelling=st.integers(min_value=0, max_value=1))
def test_arithmetic_and_logic_agree_with_reference(tree: Tree, spelling: int) -> None:
    text = render(tree, spelling)
    hypothesis.note(f"expression: {text}")
    expected = reference(tree)
    if expected is FAILURE:
        try:
            outcome = expressions.evaluate(text, {})
        except expressions.EvaluationError:
            return
        raise AssertionError(f"{text} should fail, got {outcome!r}")
    assert same(expressions.evaluate(text, {}), expected)


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(tree=TREES)
def test_parenthesizing_everything_changes_nothing(tree: Tree) -> None:
    def fully(node: Tree) -> str:
        if node.operator == "lit":
            return render(node, 0)
        if node.operator in UNARY_PRECEDENCE:
            return ("-" if node.operator == "neg" else "!") + f"({fully(node.children[0])})"
        return f"({fully(node.children[0])}) {node.operator} ({fully(node.children[1])})"

    def outcome(text: str) -> object:
        try:
            return expressions.evaluate(text, {})
        except expressions.EvaluationError:
            return FAILURE

    minimal, full = outcome(render(tree, 0)), outcome(fully(tree))
    assert (minimal is FAILURE and full is FAILURE) or same(minimal, full)


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_aggregates_agree_with_python(values: list[float]) -> None:
    env = {"result": values}
    assert expressions.evaluate("len(result)", env) == len(values)
    assert expressions.evaluate("all(result, {# >= 0})", env) is all(value >= 0 for value in values)
    assert expressions.evaluate("count(result, # < 1)", env) == sum(1 for value in values if value < 1)
    assert expressions.evaluate("filter(result, # > 0) == filter(result, {# > 0})", env) is (
        all(not math.isnan(value) for value in values if value > 0)  # arrays holding NaN are never equal
    )
    finite = [value for value in values if math.isfinite(value)]
    if finite and len(finite) == len(values):
        assert expressions.evaluate("max(result)", env) == max(finite)
        assert expressions.evaluate("min(result)", env) == min(finite)
