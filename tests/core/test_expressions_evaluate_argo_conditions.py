"""Every condition form found in Argo's docs, examples and e2e fixtures: true, false, and the errors users hit."""

import math

import pytest

from rollouts.core import expressions

WEB_RESULT = {"x": {"values": [{"value": "9950"}, {"value": "9901.5"}]}}
WEB_RESULT_LOW = {"x": {"values": [{"value": "9950"}, {"value": "9800"}]}}


@pytest.mark.parametrize(
    ("condition", "result", "expected"),
    [
        pytest.param("result[0] >= 0.95", [0.97], True, id="first-element-passes"),
        pytest.param("result[0] >= 0.95", [0.90, 0.99], False, id="first-element-fails"),
        pytest.param("result >= 0.95", 0.97, True, id="scalar-passes"),
        pytest.param("result >= 0.95", 0.5, False, id="scalar-fails"),
        pytest.param("result == true", True, True, id="bool-result-true"),
        pytest.param("result == true", False, False, id="bool-result-false"),
        pytest.param("len(result) == 0 || result[0] >= 0.95", [], True, id="no-data-guard-empty"),
        pytest.param("len(result) == 0 || result[0] >= 0.95", [0.99], True, id="no-data-guard-passes"),
        pytest.param("len(result) == 0 || result[0] >= 0.95", [0.2], False, id="no-data-guard-fails"),
        pytest.param("isNaN(result) || result >= 0.95", math.nan, True, id="nan-guard-nan"),
        pytest.param("isNaN(result) || result >= 0.95", 0.96, True, id="nan-guard-passes"),
        pytest.param("isNaN(result) || result >= 0.95", 0.5, False, id="nan-guard-fails"),
        pytest.param("isInf(result)", math.inf, True, id="is-inf-positive"),
        pytest.param("isInf(result)", -math.inf, True, id="is-inf-negative"),
        pytest.param("isInf(result)", 1.0, False, id="is-inf-finite"),
        pytest.param("default(result, 0) < 5", None, True, id="default-nil"),
        pytest.param("default(result, 0) < 5", 7, False, id="default-value-fails"),
        pytest.param("default(result, 0) < 5", 3.5, True, id="default-value-passes"),
        pytest.param("max(result) < 0.05", [0.01, 0.04], True, id="max-passes"),
        pytest.param("max(result) < 0.05", [0.01, 0.07], False, id="max-fails"),
        pytest.param("all(result, {# > 0})", [1.0, 2.0], True, id="all-closure-passes"),
        pytest.param("all(result, {# > 0})", [1.0, 0.0], False, id="all-closure-fails"),
        pytest.param("all(result, {# > 0})", [], True, id="all-of-nothing"),
        pytest.param("all(result, # < 1000)", [1.0, 999.0], True, id="all-bare-predicate-passes"),
        pytest.param("all(result, # < 1000)", [1.0, 1000.0], False, id="all-bare-predicate-fails"),
        pytest.param(
            "all(result.x.values, {asFloat(.value) >= 9900})", WEB_RESULT, True, id="web-fields-pass"
        ),
        pytest.param(
            "all(result.x.values, {asFloat(.value) >= 9900})", WEB_RESULT_LOW, False, id="web-fields-fail"
        ),
        pytest.param("result.major == '1'", {"major": "1", "minor": "28"}, True, id="version-major-passes"),
        pytest.param("result.major == '1'", {"major": "2"}, False, id="version-major-fails"),
        pytest.param("result == 'It worked!'", "It worked!", True, id="string-result-passes"),
        pytest.param("result == 'It worked!'", "It failed", False, id="string-result-fails"),
        pytest.param(
            "result.ok && result.successPercent >= 0.90",
            {"ok": True, "successPercent": 0.93},
            True,
            id="web-ok-and-percent-pass",
        ),
        pytest.param(
            "result.ok && result.successPercent >= 0.90",
            {"ok": True, "successPercent": 0.80},
            False,
            id="web-percent-fails",
        ),
        pytest.param(
            "result.ok && result.successPercent >= 0.90",
            {"ok": False, "successPercent": 0.99},
            False,
            id="web-not-ok-fails",
        ),
        pytest.param("len(result) > 0 ? result[0] < 1 : true", [0.5], True, id="ternary-data-passes"),
        pytest.param("len(result) > 0 ? result[0] < 1 : true", [3.0], False, id="ternary-data-fails"),
        pytest.param("len(result) > 0 ? result[0] < 1 : true", [], True, id="ternary-no-data"),
    ],
)
def test_argo_condition_forms(condition: str, result: object, expected: bool) -> None:
    assert expressions.evaluate_condition(condition, result=result) is expected


@pytest.mark.parametrize(
    ("condition", "result", "message"),
    [
        pytest.param(
            "result >= 0.95",
            [0.97],
            "invalid operation: >= (mismatched types array and float64); result is an array of 1 element, "
            "compare one element such as result[0]",
            id="vector-compared-with-number",
        ),
        pytest.param(
            "result[0] >= 0.95", [], "index 0 out of range: result has 0 elements", id="empty-vector-indexed"
        ),
        pytest.param(
            "result[2] >= 0.95",
            [0.1, 0.2],
            "index 2 out of range: result has 2 elements",
            id="index-past-the-end",
        ),
        pytest.param("result[0]", [0.97], "expected bool, but got float64", id="non-bool-float"),
        pytest.param("result", [0.97], "expected bool, but got array", id="non-bool-array"),
        pytest.param("result.major", {"major": "1"}, "expected bool, but got string", id="non-bool-string"),
        pytest.param("result.missing", {}, "expected bool, but got nil", id="non-bool-nil"),
        pytest.param(
            "isNaN(result) || result >= 0.95",
            [0.5],
            "isNaN expects a number, got array; result is an array, test one element such as result[0]",
            id="is-nan-of-vector",
        ),
        pytest.param(
            "result.major == '1'",
            [1.0],
            "unknown field 'major': result is an array, not a map",
            id="field-of-vector",
        ),
        pytest.param(
            "result.x.values[0] > 1",
            {},
            "cannot read field 'values': result.x is nil (use result.x?.values to get nil instead)",
            id="field-of-missing-key",
        ),
        pytest.param(
            "all(result, {asFloat(.value) > 1})",
            [{"value": "fast"}],
            'asFloat: cannot parse "fast" as a number',
            id="as-float-of-word",
        ),
        pytest.param(
            "all(result, {# > 0})", None, "all expects an array, but result is nil", id="all-of-nil"
        ),
        pytest.param(
            "max(result) < 0.05",
            [],
            "invalid operation: < (mismatched types nil and float64)",
            id="max-of-nothing-is-nil",
        ),
        pytest.param("unknown > 1", 1.0, "unknown name unknown", id="unknown-variable"),
    ],
)
def test_argo_condition_errors(condition: str, result: object, message: str) -> None:
    with pytest.raises(expressions.EvaluationError) as caught:
        expressions.evaluate_condition(condition, result=result)
    assert caught.value.message == message
    assert str(caught.value) == message
    assert caught.value.expression == condition


def test_error_position_points_at_the_failing_part() -> None:
    with pytest.raises(expressions.EvaluationError) as caught:
        expressions.evaluate_condition("len(result) > 1 && result >= 0.95", result=[1.0, 2.0])
    assert caught.value.position == 26
    assert caught.value.column == 27
    assert caught.value.caret() == "len(result) > 1 && result >= 0.95\n                          ^"


def test_result_can_be_any_provider_shape_without_mutation() -> None:
    result = {"x": {"values": [{"value": "9950"}]}}
    snapshot = repr(result)
    assert expressions.evaluate_condition("all(result.x.values, {asFloat(.value) >= 9900})", result=result)
    assert repr(result) == snapshot


def test_parsed_expressions_can_be_reused_and_cached() -> None:
    parsed = expressions.parse("result[0] >= 0.95")
    assert parsed is expressions.parse("result[0] >= 0.95")
    assert hash(parsed) == hash(expressions.Expression(text=parsed.text, root=parsed.root))
    assert expressions.evaluate(parsed, {"result": [0.99]}) is True
    assert expressions.evaluate(parsed, {"result": [0.5]}) is False
