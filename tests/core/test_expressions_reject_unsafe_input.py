"""Hostile or careless conditions are refused with a clear message, quickly, and without side effects."""

import contextlib
import math
import sys
import time
from collections.abc import Iterator

import pytest

from rollouts.core import expressions

# Generous: these cases are about "not hours or a crash", and the machine may be busy.
QUICK_SECONDS = 10.0

# Audit events that would mean a condition reached outside the evaluator.
SIDE_EFFECT_EVENTS = (
    "import",
    "open",
    "exec",
    "compile",
    "os.",
    "subprocess.",
    "socket.",
    "shutil.",
    "ctypes.",
)


class AuditLog:
    """Collects side-effect audit events, only while `watching` (audit hooks cannot be removed)."""

    watching = False
    events: list[str] = []  # process-wide by design


def _record(event: str, args: tuple[object, ...]) -> None:
    if AuditLog.watching and event.startswith(SIDE_EFFECT_EVENTS):
        AuditLog.events.append(event)


sys.addaudithook(_record)


@contextlib.contextmanager
def no_side_effects() -> Iterator[None]:
    AuditLog.events = []
    AuditLog.watching = True
    try:
        yield
    finally:
        AuditLog.watching = False
    assert AuditLog.events == []


def rejected(text: str, result: object = None) -> expressions.ExpressionError:
    started = time.monotonic()
    with no_side_effects(), pytest.raises(expressions.ExpressionError) as caught:
        expressions.evaluate_condition(text, result=result)
    assert time.monotonic() - started < QUICK_SECONDS
    return caught.value


def test_the_audit_log_sees_side_effects() -> None:
    with pytest.raises(AssertionError), no_side_effects():
        compile("1", "<test>", "eval")


@pytest.mark.parametrize(
    ("text", "result", "message"),
    [
        pytest.param(
            "result.__class__",
            [1.0],
            "unknown field '__class__': result is an array, not a map",
            id="dunder-of-array",
        ),
        pytest.param(
            "result.__class__",
            1.0,
            "unknown field '__class__': result is a float64, not a map",
            id="dunder-of-float",
        ),
        pytest.param(
            "'x'.__class__.__mro__",
            None,
            "unknown field '__class__': 'x' is a string, not a map",
            id="dunder-of-string-literal",
        ),
        pytest.param(
            "result.append", [1.0], "unknown field 'append': result is an array, not a map", id="list-method"
        ),
        pytest.param(
            "result.__class__.__bases__",
            {},
            "cannot read field '__bases__': result.__class__ is nil "
            "(use result.__class__?.__bases__ to get nil instead)",
            id="dunder-of-map-is-just-a-key",
        ),
        pytest.param(
            "__import__('os')",
            None,
            "unknown function '__import__': only builtin functions can be called",
            id="import-call",
        ),
        pytest.param("__import__", None, "unknown name __import__", id="import-name"),
        pytest.param("__builtins__", None, "unknown name __builtins__", id="builtins-name"),
        pytest.param(
            "eval('1')", None, "unknown function 'eval': only builtin functions can be called", id="eval-call"
        ),
        pytest.param(
            "open('/etc/passwd')",
            None,
            "unknown function 'open': only builtin functions can be called",
            id="open-call",
        ),
        pytest.param("().__class__", None, "unexpected token ')'", id="empty-tuple"),
        pytest.param(
            "result.keys()",
            {},
            "cannot call 'keys': methods are not supported, only builtin functions",
            id="method-call",
        ),
        pytest.param("(len)(result)", [], "unexpected token '('", id="function-as-value"),
        pytest.param("lambda: 1", None, "unexpected token ':'", id="python-lambda"),
        pytest.param(
            "let x = 1; x", None, "assignment is not supported (did you mean '=='?)", id="let-binding"
        ),
        pytest.param("result = 1", None, "assignment is not supported (did you mean '=='?)", id="assignment"),
        pytest.param(
            "[x for x in result]", [], "expected ']' to close '[', found token 'for'", id="comprehension"
        ),
    ],
)
def test_code_injection_is_refused(text: str, result: object, message: str) -> None:
    assert rejected(text, result).message == message


def test_map_keys_never_reach_python_attributes() -> None:
    # On a dict, a dunder or method name is just a key that is not there.
    condition = "result.__class__ == nil && result.keys == nil && result.items == nil && result.get == nil"
    assert expressions.evaluate_condition(condition, result={"a": 1}) is True
    assert expressions.evaluate_condition("result.__class__ == 'boom'", result={"__class__": "boom"}) is True


def test_too_long_expression() -> None:
    error = rejected("1 == 1 && " * 500 + "true")
    assert isinstance(error, expressions.ExpressionSyntaxError)
    assert error.message == "expression is too long (5004 characters, the limit is 4096)"
    assert error.position is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("(" * 2000 + "1" + ")" * 2000, id="parentheses"),
        pytest.param("(" * 10000, id="unbalanced-parentheses"),  # over the length limit too
        pytest.param("[" * 2000 + "]" * 2000, id="arrays"),
        pytest.param("!" * 4000 + "true", id="negations"),
        pytest.param("-" * 4000 + "1", id="unary-minus"),
        pytest.param("1" + " + 1" * 1000, id="left-assoc-chain"),
        pytest.param("2" + " ** 2" * 1000, id="right-assoc-chain"),
        pytest.param("result" + ".a" * 1000, id="member-chain"),
        pytest.param("result" + "[0]" * 1000, id="index-chain"),
        pytest.param("true ? " * 500 + "1" + " : 2" * 500, id="ternary-chain"),
        pytest.param("all(result, {" * 200 + "true" + "})" * 200, id="predicate-nesting"),
        pytest.param("len(" * 800 + "result" + ")" * 800, id="call-nesting"),
    ],
)
def test_deep_nesting_is_refused_without_recursion_error(text: str) -> None:
    error = rejected(text, result=[1.0])
    assert isinstance(error, expressions.ExpressionSyntaxError)
    assert error.message.startswith(("expression is nested too deeply", "expression is too long"))


def test_nesting_up_to_the_limit_is_accepted() -> None:
    depth = expressions.MAX_DEPTH - 1
    assert expressions.evaluate("(" * depth + "1" + ")" * depth, {}) == 1
    assert expressions.evaluate("1" + " + 1" * (depth - 1), {}) == depth


def test_huge_range_is_refused() -> None:
    error = rejected("len(1..10000000) > 0")
    assert error.message == "range 1..10000000 has 10000000 elements, the limit is 100000"
    assert error.position == 5  # the ".." operator


def test_range_at_the_limit_is_allowed() -> None:
    assert expressions.evaluate(f"len(1..{expressions.MAX_RANGE_LENGTH})", {}) == expressions.MAX_RANGE_LENGTH


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("all(1..100000, {all(1..100000, {true})})", id="nested-all"),
        pytest.param("any(1..100000, {# < 0})", id="long-any"),
        pytest.param("len(map(1..50000, {1..50000})) > 0", id="map-of-ranges"),
        pytest.param("len(filter(1..100000, {len(map(1..1000, {#})) > 0})) > 0", id="filter-of-maps"),
        pytest.param("len(map(1..30000, {string(1..1000)})) > 0", id="formatting-blowup"),
        pytest.param(
            "len(map(1..30000, {'" + "a" * 2000 + "' + '" + "b" * 2000 + "'})) > 0", id="string-blowup"
        ),
        pytest.param(
            "none(1..100000, {'aaaaaaaaaaaaaaaaaaaaaaaa' matches '(a*)*b'})", id="many-regex-matches"
        ),
    ],
)
def test_evaluation_budget_bounds_work(text: str) -> None:
    error = rejected(text)
    assert isinstance(error, expressions.EvaluationError)
    assert error.message == (
        "expression is too expensive to evaluate (more than 100000 steps); "
        "simplify it or reduce the data it iterates over"
    )


def test_budget_is_adjustable() -> None:
    with pytest.raises(expressions.EvaluationError, match="more than 10 steps"):
        expressions.evaluate("all(1..100, {# > 0})", {}, max_steps=10)
    assert expressions.evaluate("all(1..100, {# > 0})", {}, max_steps=1000) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("9**9**9", math.inf, id="tower"),
        pytest.param("9 ^ 9 ^ 9 ^ 9", math.inf, id="caret-tower"),
        pytest.param("2 ** 100000", math.inf, id="large-exponent"),
        pytest.param("2 ** -100000", 0.0, id="large-negative-exponent"),
        pytest.param("(-2) ** 100001", -math.inf, id="negative-odd-overflow"),
    ],
)
def test_huge_powers_are_floats_like_go(text: str, expected: float) -> None:
    started = time.monotonic()
    assert expressions.evaluate(text, {}) == expected
    assert time.monotonic() - started < QUICK_SECONDS


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param("a" * 30 + "!", id="nested-star"),
        pytest.param("a" * 1000 + "!", id="long-subject"),
    ],
)
@pytest.mark.parametrize(
    "pattern",
    ["^(a+)+$", "^(a*)*$", "^(a|a)*$", "^(a|aa)+$", "^(a?){30}a{30}$", "^(.*a){20}$", "^(\\w+\\s?)*$"],
)
def test_catastrophic_regex_patterns_run_in_linear_time(subject: str, pattern: str) -> None:
    started = time.monotonic()
    outcome = expressions.evaluate("subject matches pattern", {"subject": subject, "pattern": pattern})
    assert outcome is False
    assert time.monotonic() - started < QUICK_SECONDS


def test_regex_on_huge_subject_is_bounded_by_the_budget() -> None:
    error = rejected("result matches '(a|b|c|d|e|f)*z'", result="a" * 200_000)
    assert error.message.startswith("expression is too expensive to evaluate")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        pytest.param("(a)\\1", "backreferences are not supported", id="backreference"),
        pytest.param(
            "(?=a)", "invalid or unsupported group flags (lookarounds are not supported)", id="lookahead"
        ),
        pytest.param("a**", "invalid nested repetition operator", id="nested-repetition"),
        pytest.param("a{1001}", "invalid repeat count {1001}", id="repeat-too-large"),
        pytest.param(
            "((((a{1000}){1000}){1000}))",
            "pattern is too large (more than 10000 instructions)",
            id="repeat-explosion",
        ),
        pytest.param("(" * 40 + ")" * 40, "nesting is too deep (more than 32 groups)", id="group-nesting"),
        pytest.param(
            "a" * 1001, "pattern is too long (1001 characters, the limit is 1000)", id="pattern-too-long"
        ),
        pytest.param("\\pL", "invalid or unsupported escape sequence \\p", id="unicode-class"),
        pytest.param("[z-a]", "invalid character class range z-a", id="reversed-range"),
        pytest.param("*a", "missing argument to repetition operator *", id="leading-star"),
    ],
)
def test_invalid_or_unsupported_patterns(pattern: str, message: str) -> None:
    with pytest.raises(expressions.EvaluationError) as caught:
        expressions.evaluate("'a' matches pattern", {"pattern": pattern})
    assert caught.value.message == f"invalid regular expression {pattern!r}: {message}"


def test_deeply_nested_data_is_refused_cleanly() -> None:
    nested: object = 1.0
    for _ in range(5000):
        nested = [nested]
    for text in ("result == result", "string(result) == ''", "max(result) > 0", "[result] == [result]"):
        error = rejected(text, result=nested)
        assert "nested too deeply" in error.message


def test_a_condition_using_every_feature_has_no_side_effects() -> None:
    condition = (
        "all(result.items, {.value ** 2 >= 0 && string(.value) matches '^[0-9.e+-]+$'}) && "
        "len(filter(1..10, # % 2 == 0)) == 5 && lower('A') in ['a'] && (result.missing ?? true) && "
        "first(map(result.items, {int(#.value)})) == 1"
    )
    with no_side_effects():
        outcome = expressions.evaluate_condition(condition, result={"items": [{"value": 1.5}, {"value": 2}]})
    assert outcome is True
