"""dry_run_metric_names() and measurement_retention_limits(): unanchored regex rules; a rule matching nothing is an error."""

import pytest

from rollouts.core import analysis
from rollouts.model import analysis as model

NAMES = ("success-rate", "error-rate", "latency-p99")


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        pytest.param((), set(), id="no-rules"),
        pytest.param((".*",), set(NAMES), id="dot-star-matches-all"),
        pytest.param(("error-rate",), {"error-rate"}, id="exact-name"),
        pytest.param(("rate",), {"success-rate", "error-rate"}, id="unanchored"),
        pytest.param(("^latency",), {"latency-p99"}, id="anchored-by-the-user"),
        pytest.param(("error", "p99$"), {"error-rate", "latency-p99"}, id="rules-add-up"),
    ],
)
def test_dry_run_metric_names(patterns: tuple[str, ...], expected: set[str]) -> None:
    rules = [model.DryRun(metric_name=pattern) for pattern in patterns]
    assert analysis.dry_run_metric_names(rules, NAMES) == expected


def test_dry_run_rule_matching_nothing_is_argos_error() -> None:
    rules = [model.DryRun(metric_name="rate"), model.DryRun(metric_name="throughput")]
    with pytest.raises(analysis.AnalysisSpecError) as raised:
        analysis.dry_run_metric_names(rules, NAMES)
    assert raised.value.message == "dryRun[1]: Rule didn't match any metric name(s)"


def test_invalid_pattern_is_reported() -> None:
    with pytest.raises(
        analysis.AnalysisSpecError, match=r"^dryRun\[0\]: metricName is not a valid regular expression"
    ):
        analysis.dry_run_metric_names([model.DryRun(metric_name="(")], NAMES)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param((), {}, id="no-rules"),
        pytest.param((("error-rate", 3),), {"error-rate": 3}, id="one-metric"),
        pytest.param((("rate", 20),), {"success-rate": 20, "error-rate": 20}, id="unanchored"),
        pytest.param(
            (("rate", 20), ("error", 2)), {"success-rate": 20, "error-rate": 2}, id="later-rule-wins"
        ),
        pytest.param((("latency", 0),), {"latency-p99": 10}, id="zero-limit-means-default"),
    ],
)
def test_measurement_retention_limits(rules: tuple[tuple[str, int], ...], expected: dict[str, int]) -> None:
    parsed = [model.MeasurementRetention(metric_name=name, limit=limit) for name, limit in rules]
    assert analysis.measurement_retention_limits(parsed, NAMES) == expected


def test_retention_rule_matching_nothing_is_argos_error() -> None:
    with pytest.raises(analysis.AnalysisSpecError) as raised:
        analysis.measurement_retention_limits([model.MeasurementRetention(metric_name="cpu", limit=5)], NAMES)
    assert raised.value.message == "measurementRetention[0]: Rule didn't match any metric name(s)"
