"""The expr-lang subset: literals, operators with expr's precedence, Go number semantics, access and builtins."""

import math

import pytest

from rollouts.core import expressions

ENV = {
    "result": [0.5, 1.5, 2.5],
    "empty": [],
    "nothing": None,
    "doc": {"name": "web", "labels": {"app": "demo"}, "pods": [{"ready": True}, {"ready": False}]},
    "nan": math.nan,
    "inf": math.inf,
    "text": "  Hello World  ",
}


def value_of(text: str) -> object:
    return expressions.evaluate(text, ENV)


def same(actual: object, expected: object) -> bool:
    """Equal, with the same type (1 is not 1.0 here), and NaN equal to NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and actual == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # literals
        pytest.param("42", 42, id="int"),
        pytest.param("1_000", 1000, id="int-underscores"),
        pytest.param("0x1F", 31, id="hex"),
        pytest.param("0o17", 15, id="octal"),
        pytest.param("0b101", 5, id="binary"),
        pytest.param("0.95", 0.95, id="float"),
        pytest.param(".5", 0.5, id="float-leading-dot"),
        pytest.param("1e3", 1000.0, id="float-exponent"),
        pytest.param("2.5E-2", 0.025, id="float-negative-exponent"),
        pytest.param("'single'", "single", id="single-quoted"),
        pytest.param('"double"', "double", id="double-quoted"),
        pytest.param(r"'it\'s'", "it's", id="escaped-quote"),
        pytest.param(r'"tab\there"', "tab\there", id="escape-tab"),
        pytest.param(r'"\u00e9\x41\101"', "éAA", id="escape-codes"),
        pytest.param("`raw\\n`", "raw\\n", id="backtick-raw"),
        pytest.param("true", True, id="true"),
        pytest.param("false", False, id="false"),
        pytest.param("nil", None, id="nil"),
        pytest.param("[1, 'a', [true]]", [1, "a", [True]], id="array"),
        pytest.param("[1, 2,]", [1, 2], id="array-trailing-comma"),
        pytest.param("{a: 1, 'b': 2}.b", 2, id="map-literal"),
        pytest.param("1 + /* comment */ 2 // trailing", 3, id="comments"),
        # arithmetic, Go style
        pytest.param("1 + 2 * 3", 7, id="mul-before-add"),
        pytest.param("(1 + 2) * 3", 9, id="parentheses"),
        pytest.param("10 - 4 - 3", 3, id="sub-left-assoc"),
        pytest.param("7 / 2", 3.5, id="int-division-is-float"),
        pytest.param("6 / 3", 2.0, id="exact-division-is-float"),
        pytest.param("7 % 3", 1, id="mod"),
        pytest.param("-7 % 3", -1, id="mod-takes-dividend-sign"),
        pytest.param("7 % -3", 1, id="mod-negative-divisor"),
        pytest.param("1 + 0.5", 1.5, id="int-plus-float"),
        pytest.param("2 ** 3", 8.0, id="pow-is-float"),
        pytest.param("2 ^ 10", 1024.0, id="caret-is-pow"),
        pytest.param("2 ** 3 ** 2", 512.0, id="pow-right-assoc"),
        pytest.param("-2 ** 2", -4.0, id="unary-minus-looser-than-pow"),
        pytest.param("(-8) ** (1/3)", math.nan, id="negative-base-fractional-exponent-nan"),
        pytest.param("0 ** -1", math.inf, id="zero-negative-power-inf"),
        pytest.param("(-10) ** 309", -math.inf, id="pow-overflow-keeps-sign"),
        pytest.param("9 ** 9 ** 9", math.inf, id="huge-pow-is-inf"),
        pytest.param("2 * 3 ** 2", 18.0, id="pow-before-mul"),
        pytest.param("-3", -3, id="negative-int"),
        pytest.param("+3", 3, id="unary-plus"),
        pytest.param("--3", 3, id="double-negation"),
        pytest.param("9223372036854775807 + 1", -9223372036854775808, id="int-wraps-like-go"),
        pytest.param("9223372036854775807 * 2", -2, id="int-mul-wraps"),
        pytest.param("'a' + 'b'", "ab", id="string-concat"),
        # division and NaN/Inf like Go floats
        pytest.param("1 / 0", math.inf, id="div-by-zero-inf"),
        pytest.param("-1 / 0", -math.inf, id="neg-div-by-zero"),
        pytest.param("0 / 0", math.nan, id="zero-div-zero-nan"),
        pytest.param("nan == nan", False, id="nan-not-equal-itself"),
        pytest.param("nan != nan", True, id="nan-differs-from-itself"),
        pytest.param("nan < 1", False, id="nan-less"),
        pytest.param("nan >= 1", False, id="nan-greater-equal"),
        pytest.param("inf > 1e308", True, id="inf-greater"),
        pytest.param("-inf < -1e308", True, id="neg-inf-less"),
        pytest.param("inf - inf", math.nan, id="inf-minus-inf"),
        pytest.param("[nan] == [nan]", False, id="nan-in-arrays-unequal"),
        # comparison and logic
        pytest.param("1 == 1.0", True, id="int-equals-float"),
        pytest.param("'1' == 1", False, id="string-never-equals-number"),
        pytest.param("true == 1", False, id="bool-never-equals-number"),
        pytest.param("nil == nil", True, id="nil-equals-nil"),
        pytest.param("nothing == nil", True, id="nil-variable"),
        pytest.param("[1, 2] == [1, 2]", True, id="arrays-equal"),
        pytest.param("{a: 1} == {a: 1.0}", True, id="maps-equal"),
        pytest.param("'abc' < 'abd'", True, id="strings-ordered"),
        pytest.param("1 < 2 == true", True, id="comparison-left-assoc"),
        pytest.param("!true == false", True, id="not-binds-tighter-than-equality"),
        pytest.param("not false", True, id="not-word"),
        pytest.param("true || false && false", True, id="and-before-or"),
        pytest.param("true or false and false", True, id="word-logic"),
        pytest.param("false && (1 / 0 > 0)", False, id="and-short-circuits"),
        pytest.param("true || result.x.y", True, id="or-short-circuits"),
        pytest.param("false ? 1 : 2", 2, id="ternary"),
        pytest.param("true ? false ? 1 : 2 : 3", 2, id="nested-ternary"),
        pytest.param("1 > 2 ? 'a' : 1 < 2 ? 'b' : 'c'", "b", id="chained-ternary"),
        pytest.param("nothing ?? 5", 5, id="coalesce-nil"),
        pytest.param("0 ?? 5", 0, id="coalesce-keeps-zero"),
        pytest.param("1 + nothing ?? 2", 3, id="coalesce-binds-tightest"),
        # membership and strings
        pytest.param("1.5 in result", True, id="in-array"),
        pytest.param("3 not in result", True, id="not-in-array"),
        pytest.param("'name' in doc", True, id="in-map-keys"),
        pytest.param("'image' in doc", False, id="not-in-map-keys"),
        pytest.param("'ell' in ['hello']", False, id="in-is-not-substring"),
        pytest.param("'hello' contains 'ell'", True, id="contains"),
        pytest.param("'hello' not contains 'z'", True, id="not-contains"),
        pytest.param("'hello' startsWith 'he'", True, id="starts-with"),
        pytest.param("'hello' endsWith 'lo'", True, id="ends-with"),
        pytest.param("'hello' not endsWith 'lo'", False, id="not-ends-with"),
        pytest.param("'v1.2.3' matches '^v[0-9]+'", True, id="matches"),
        pytest.param("'x' not matches '^v'", True, id="not-matches"),
        # ranges
        pytest.param("1..3", [1, 2, 3], id="range"),
        pytest.param("3..1", [], id="empty-range"),
        pytest.param("1 + 1..2 + 2", [2, 3, 4], id="range-looser-than-add"),
        # access
        pytest.param("doc.name", "web", id="member"),
        pytest.param("doc.labels.app", "demo", id="nested-member"),
        pytest.param("doc['labels']['app']", "demo", id="string-index"),
        pytest.param("doc.missing", None, id="missing-key-is-nil"),
        pytest.param("doc.missing?.deeper.still", None, id="optional-chain"),
        pytest.param("nothing?.field", None, id="optional-of-nil"),
        pytest.param("nothing?.[0]", None, id="optional-index-of-nil"),
        pytest.param("doc.pods[1].ready", False, id="member-index-member"),
        pytest.param("result[0]", 0.5, id="index"),
        pytest.param("result[-1]", 2.5, id="negative-index"),
        pytest.param("result[1:]", [1.5, 2.5], id="slice-from"),
        pytest.param("result[:1]", [0.5], id="slice-to"),
        pytest.param("result[1:2]", [1.5], id="slice"),
        pytest.param("result[-2:]", [1.5, 2.5], id="slice-negative"),
        pytest.param("result[5:9]", [], id="slice-clipped"),
        pytest.param("'hello'[1]", "e", id="string-index"),
        pytest.param("'hello'[1:3]", "el", id="string-slice"),
        pytest.param("doc.in", None, id="keyword-as-field-name"),
    ],
)
def test_operators(text: str, expected: object) -> None:
    assert same(value_of(text), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("len(result)", 3, id="len-array"),
        pytest.param("len('héllo')", 5, id="len-string-counts-characters"),
        pytest.param("len(doc)", 3, id="len-map"),
        pytest.param("abs(-2)", 2, id="abs-int"),
        pytest.param("abs(-2.5)", 2.5, id="abs-float"),
        pytest.param("max(result)", 2.5, id="max-array"),
        pytest.param("max(1, 5, 3)", 5, id="max-variadic"),
        pytest.param("max([1, [7, 2]], 3)", 7, id="max-flattens"),
        pytest.param("min(result)", 0.5, id="min-array"),
        pytest.param("max(empty)", None, id="max-empty-is-nil"),
        pytest.param("sum(result)", 4.5, id="sum-floats"),
        pytest.param("sum([1, 2, 3])", 6, id="sum-ints"),
        pytest.param("sum(empty)", 0, id="sum-empty"),
        pytest.param("sum(result, # * 2)", 9.0, id="sum-with-map"),
        pytest.param("mean(result)", 1.5, id="mean"),
        pytest.param("mean(empty)", 0.0, id="mean-empty-is-zero"),
        pytest.param("median([3, 1, 2])", 2.0, id="median-odd"),
        pytest.param("median([4, 1, 2, 3])", 2.5, id="median-even"),
        pytest.param("first(result)", 0.5, id="first"),
        pytest.param("last(result)", 2.5, id="last"),
        pytest.param("first(empty)", None, id="first-empty-is-nil"),
        pytest.param("all(result, # > 0)", True, id="all"),
        pytest.param("any(result, # > 2)", True, id="any"),
        pytest.param("none(result, # > 2)", False, id="none"),
        pytest.param("one(result, # > 2)", True, id="one"),
        pytest.param("one(result, # > 1)", False, id="one-but-two"),
        pytest.param("filter(result, # > 1)", [1.5, 2.5], id="filter"),
        pytest.param("map(result, # * 2)", [1.0, 3.0, 5.0], id="map"),
        pytest.param("count(result, # > 1)", 2, id="count"),
        pytest.param("count([true, false, true])", 2, id="count-bools"),
        pytest.param("find(result, # > 1)", 1.5, id="find"),
        pytest.param("findIndex(result, # > 1)", 1, id="find-index"),
        pytest.param("findLast(result, # > 1)", 2.5, id="find-last"),
        pytest.param("findLastIndex(result, # > 9)", -1, id="find-last-index-missing"),
        pytest.param("find(result, # > 9)", None, id="find-missing"),
        pytest.param("map(doc.pods, .ready)", [True, False], id="dot-field-of-element"),
        pytest.param("map(doc.pods, #.ready)", [True, False], id="pointer-field-of-element"),
        pytest.param("filter(doc.pods, {.ready})", [{"ready": True}], id="braced-dot-field"),
        pytest.param("all([[1, 2], [3]], {all(#, {# > 0})})", True, id="nested-predicates"),
        pytest.param("map([[1, 2], [3]], {len(#)})", [2, 1], id="nested-element-scope"),
        pytest.param("asInt('42')", 42, id="as-int-string"),
        pytest.param("asInt(7.0)", 7, id="as-int-whole-float"),
        pytest.param("asFloat('0.5')", 0.5, id="as-float-string"),
        pytest.param("asFloat('1e3')", 1000.0, id="as-float-exponent"),
        pytest.param("asFloat('NaN')", math.nan, id="as-float-nan"),
        pytest.param("asFloat(2)", 2.0, id="as-float-int"),
        pytest.param("isNaN(0 / 0)", True, id="is-nan"),
        pytest.param("isNaN(1)", False, id="is-nan-int"),
        pytest.param("isInf(-1 / 0)", True, id="is-inf"),
        pytest.param("isNil(nothing)", True, id="is-nil"),
        pytest.param("isNil(0)", False, id="is-nil-zero"),
        pytest.param("default(nothing, 3)", 3, id="default-nil"),
        pytest.param("default(false, 3)", False, id="default-keeps-false"),
        pytest.param("string(42)", "42", id="string-int"),
        pytest.param("string(0.95)", "0.95", id="string-float"),
        pytest.param("string(1.0)", "1", id="string-whole-float"),
        pytest.param("string(1e6)", "1e+06", id="string-large-float-go-style"),
        pytest.param("string(123456.0)", "123456", id="string-below-exponent-form"),
        pytest.param("string(0.0001)", "0.0001", id="string-small-float"),
        pytest.param("string(0.00001)", "1e-05", id="string-tiny-float-go-style"),
        pytest.param("string(-1.5e-7)", "-1.5e-07", id="string-negative-exponent"),
        pytest.param("string(1/0)", "+Inf", id="string-inf"),
        pytest.param("string(0/0)", "NaN", id="string-nan"),
        pytest.param("string(nil)", "<nil>", id="string-nil"),
        pytest.param("string([1, 'a', true])", "[1 a true]", id="string-array"),
        pytest.param("string({b: 1, a: nil})", "map[a:<nil> b:1]", id="string-map-sorted"),
        pytest.param("int('12')", 12, id="int-string"),
        pytest.param("int(-2.7)", -2, id="int-truncates"),
        pytest.param("float('2.5')", 2.5, id="float-string"),
        pytest.param("float(2)", 2.0, id="float-int"),
        pytest.param("type(1.5)", "float", id="type-float"),
        pytest.param("type(doc)", "map", id="type-map"),
        pytest.param("lower('ABC')", "abc", id="lower"),
        pytest.param("upper('abc')", "ABC", id="upper"),
        pytest.param("trim(text)", "Hello World", id="trim-spaces"),
        pytest.param("trim('xxhixx', 'x')", "hi", id="trim-cutset"),
        pytest.param("ceil(1.2)", 2.0, id="ceil"),
        pytest.param("floor(-1.2)", -2.0, id="floor"),
        pytest.param("round(2.5)", 3.0, id="round-half-away-from-zero"),
        pytest.param("round(-2.5)", -3.0, id="round-negative-half"),
        pytest.param("round(0.49999999999999994)", 0.0, id="round-just-below-half"),
        pytest.param("keys({a: 1, b: 2})", ["a", "b"], id="keys"),
        pytest.param("values({a: 1, b: 2})", [1, 2], id="values"),
    ],
)
def test_builtins(text: str, expected: object) -> None:
    assert same(value_of(text), expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "1 < 'a'", "invalid operation: < (mismatched types int and string)", id="order-mismatch"
        ),
        pytest.param("nil > 1", "invalid operation: > (mismatched types nil and int)", id="order-nil"),
        pytest.param(
            "true < false", "invalid operation: < (mismatched types bool and bool)", id="order-bools"
        ),
        pytest.param(
            "'a' * 3", "invalid operation: * (mismatched types string and int)", id="no-string-repeat"
        ),
        pytest.param(
            "'a' - 'b'", "invalid operation: - (mismatched types string and string)", id="string-minus"
        ),
        pytest.param("[1] + [2]", "invalid operation: + (mismatched types array and array)", id="array-plus"),
        pytest.param(
            "1.5 % 1",
            "invalid operation: % (mismatched types float64 and int); % needs two ints",
            id="float-mod",
        ),
        pytest.param("1 % 0", "integer divide by zero", id="mod-by-zero"),
        pytest.param("!1", "invalid operation: ! on int (expected bool)", id="not-number"),
        pytest.param("-'a'", "invalid operation: - on string (expected a number)", id="negate-string"),
        pytest.param("1 && true", "invalid operation: && on int (expected bool)", id="and-number-left"),
        pytest.param("true && 1", "invalid operation: && on int (expected bool)", id="and-number-right"),
        pytest.param("nothing || true", "invalid operation: || on nil (expected bool)", id="or-nil"),
        pytest.param("1 ? 2 : 3", "the condition of '? :' must be bool, got int", id="ternary-non-bool"),
        pytest.param(
            "1 in 'abc'", "invalid operation: in on string (expected an array or a map)", id="in-string"
        ),
        pytest.param(
            "1 contains 'a'",
            "invalid operation: contains (mismatched types int and string); contains needs two strings",
            id="contains-number",
        ),
        pytest.param(
            "1.5..3", "invalid operation: .. (mismatched types float64 and int)", id="range-of-floats"
        ),
        pytest.param("result[1.0]", "array index must be an int, got float64", id="float-index"),
        pytest.param("result['a']", "array index must be an int, got string", id="string-index-of-array"),
        pytest.param(
            "result[-4]", "index -4 out of range: result has 3 elements", id="negative-out-of-range"
        ),
        pytest.param("'ab'[2]", "index 2 out of range: 'ab' has 2 characters", id="string-out-of-range"),
        pytest.param("nothing[0]", "cannot index nil: nothing is nil", id="index-nil"),
        pytest.param("(1)[0]", "cannot index 1: it is an int", id="index-int"),
        pytest.param("doc[[1]]", "cannot use array as a map key", id="unhashable-key"),
        pytest.param(
            "nothing.x",
            "cannot read field 'x': nothing is nil (use nothing?.x to get nil instead)",
            id="field-of-nil",
        ),
        pytest.param(
            "text.length", "unknown field 'length': text is a string, not a map", id="field-of-string"
        ),
        pytest.param("len(1)", "invalid argument for len (type int)", id="len-of-int"),
        pytest.param(
            "abs('a')", "invalid argument for abs (type string, expected a number)", id="abs-of-string"
        ),
        pytest.param("max('a', 1)", "invalid argument for max (type string)", id="max-of-string"),
        pytest.param("sum(['a'])", "invalid argument for sum (type string)", id="sum-of-strings"),
        pytest.param(
            "all(result, # + 1)", "all: the predicate must be bool, got float64", id="non-bool-predicate"
        ),
        pytest.param("count([1])", "count: the elements must be bool, got int", id="count-non-bools"),
        pytest.param("filter(doc, true)", "filter expects an array, but doc is a map", id="filter-a-map"),
        pytest.param("asInt('1.5')", 'asInt: cannot parse "1.5" as an integer', id="as-int-decimal-string"),
        pytest.param("asInt(1.5)", "asInt: 1.5 is not a whole number", id="as-int-fraction"),
        pytest.param("asInt(nothing)", "asInt() not supported on nil", id="as-int-nil"),
        pytest.param("asFloat(' 1')", 'asFloat: cannot parse " 1" as a number', id="as-float-spaces"),
        pytest.param("asFloat('1e999')", 'asFloat: "1e999" is out of range', id="as-float-overflow"),
        pytest.param("asFloat(true)", "asFloat() not supported on bool", id="as-float-bool"),
        pytest.param("int('x')", 'invalid operation: int("x")', id="int-of-word"),
        pytest.param("int(1/0)", "invalid operation: int(+Inf) is out of range", id="int-of-inf"),
        pytest.param(
            "lower(1)", "invalid argument for lower (type int, expected a string)", id="lower-of-int"
        ),
        pytest.param(
            "'a' matches '(a'", "invalid regular expression '(a': missing closing )", id="bad-regex"
        ),
    ],
)
def test_evaluation_errors(text: str, message: str) -> None:
    with pytest.raises(expressions.EvaluationError) as caught:
        value_of(text)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        pytest.param("", "unexpected end of expression", 1, id="empty"),
        pytest.param("1 +", "unexpected end of expression", 4, id="dangling-operator"),
        pytest.param("(1 + 2", "expected ')' to close '(', found end of expression", 7, id="unclosed-paren"),
        pytest.param("1 2", "unexpected token '2'", 3, id="two-values"),
        pytest.param("[1, 2", "expected ']' to close '[', found end of expression", 6, id="unclosed-array"),
        pytest.param(
            "a ? b",
            "expected ':' in the conditional 'a ? b : c', found end of expression",
            6,
            id="ternary-without-else",
        ),
        pytest.param("'abc", "string literal not terminated", 1, id="unterminated-string"),
        pytest.param(r"'\q'", "invalid escape sequence '\\q'", 2, id="bad-escape"),
        pytest.param("1abc", "invalid number literal", 1, id="bad-number"),
        pytest.param("99999999999999999999", "integer literal out of range", 1, id="int-too-large"),
        pytest.param("1e999", "float literal out of range", 1, id="float-too-large"),
        pytest.param("a = 1", "assignment is not supported (did you mean '=='?)", 3, id="assignment"),
        pytest.param("a | b", "the pipe operator '|' is not supported (did you mean '||'?)", 3, id="pipe"),
        pytest.param("a; b", "sequences with ';' are not supported", 2, id="sequence"),
        pytest.param("a @ b", "unexpected character '@'", 3, id="unknown-character"),
        pytest.param("a not b", "unexpected token 'b' after 'not'", 7, id="not-without-operator"),
        pytest.param(
            "a ?? b || c",
            "operator '||' and '??' cannot be mixed: wrap either in parentheses",
            8,
            id="coalesce-mixed",
        ),
        pytest.param("len()", "invalid number of arguments for len (expected 1, got 0)", 1, id="len-no-args"),
        pytest.param(
            "all(result)",
            "invalid number of arguments for all (expected 2, got 1)",
            1,
            id="all-without-predicate",
        ),
        pytest.param(
            "trim(1, 2, 3)",
            "invalid number of arguments for trim (expected 1 or 2, got 3)",
            1,
            id="trim-too-many",
        ),
        pytest.param(
            "max()", "invalid number of arguments for max (expected at least 1, got 0)", 1, id="max-no-args"
        ),
        pytest.param(
            "# > 0",
            "'#' refers to the current element and is only allowed inside a predicate, "
            "such as all(result, {# > 0})",
            1,
            id="pointer-outside-predicate",
        ),
        pytest.param(
            "result.", "expected a field name after '.', found end of expression", 8, id="dangling-dot"
        ),
        pytest.param(
            "all(result, {# > 0)",
            "expected '}' to close the predicate, found token ')'",
            19,
            id="unclosed-predicate",
        ),
        pytest.param("/* open", "unterminated comment", 1, id="unterminated-comment"),
    ],
)
def test_syntax_errors(text: str, message: str, column: int) -> None:
    with pytest.raises(expressions.ExpressionSyntaxError) as caught:
        expressions.parse(text)
    assert caught.value.message == message
    assert caught.value.column == column
    assert str(caught.value) == f"{message} (column {column})"


def test_syntax_error_caret_marks_the_column() -> None:
    with pytest.raises(expressions.ExpressionSyntaxError) as caught:
        expressions.parse("result[0] >=\n  >= 1")
    assert caught.value.caret() == "  >= 1\n  ^"


@pytest.mark.parametrize(
    ("text", "root"),
    [
        pytest.param(
            "1 + 2 * 3",
            expressions.Binary(
                start=0,
                end=9,
                operator="+",
                operator_start=2,
                left=expressions.Literal(start=0, end=1, value=1),
                right=expressions.Binary(
                    start=4,
                    end=9,
                    operator="*",
                    operator_start=6,
                    left=expressions.Literal(start=4, end=5, value=2),
                    right=expressions.Literal(start=8, end=9, value=3),
                ),
            ),
            id="precedence-tree",
        ),
        pytest.param(
            "a and not b",
            expressions.Binary(
                start=0,
                end=11,
                operator="&&",
                operator_start=2,
                left=expressions.Name(start=0, end=1, name="a"),
                right=expressions.Unary(
                    start=6, end=11, operator="!", operand=expressions.Name(start=10, end=11, name="b")
                ),
            ),
            id="word-operators-are-canonical",
        ),
        pytest.param(
            "x not in y",
            expressions.Binary(
                start=0,
                end=10,
                operator="not in",
                operator_start=2,
                left=expressions.Name(start=0, end=1, name="x"),
                right=expressions.Name(start=9, end=10, name="y"),
            ),
            id="not-in",
        ),
    ],
)
def test_parse_tree(text: str, root: expressions.Node) -> None:
    assert expressions.parse(text).root == root


def test_builtin_names_are_the_documented_set() -> None:
    documented = {
        *("len", "abs", "max", "min", "sum", "mean", "median", "first", "last", "keys", "values"),
        *("all", "any", "none", "one", "filter", "map", "count"),
        *("find", "findIndex", "findLast", "findLastIndex"),
        *("asInt", "asFloat", "isNaN", "isInf", "isNil", "default"),
        *("string", "int", "float", "type", "lower", "upper", "trim", "ceil", "floor", "round"),
    }
    assert documented == expressions.BUILTIN_FUNCTIONS
