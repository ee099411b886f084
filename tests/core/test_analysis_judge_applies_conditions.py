"""judge(): Argo's condition rules for one sample, provider errors and verdicts, and the noDataPolicy extension."""

import datetime
import math
from typing import Any

import pytest

from rollouts.core import analysis
from rollouts.model import analysis as model
from rollouts.model.analysis import AnalysisPhase

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
QUERY = "sum(rate(http_requests_total{code!~'5..'}[5m]))"
SUCCESS = "result[0] >= 0.95"
FAILURE = "result[0] < 0.5"


def prometheus_metric(**fields: Any) -> model.Metric:
    provider = model.MetricProviderSpec(
        kind="prometheus", config={"address": "http://prom:9090", "query": QUERY}
    )
    return model.Metric(name="success-rate", provider=provider, **fields)


@pytest.mark.parametrize(
    ("success", "failure", "value", "expected"),
    [
        pytest.param(None, None, [0.1], AnalysisPhase.SUCCESSFUL, id="no-conditions-successful"),
        pytest.param(None, None, None, AnalysisPhase.SUCCESSFUL, id="no-conditions-even-without-data"),
        pytest.param(SUCCESS, None, [0.97], AnalysisPhase.SUCCESSFUL, id="only-success-true"),
        pytest.param(SUCCESS, None, [0.90], AnalysisPhase.FAILED, id="only-success-false-is-failed"),
        pytest.param(None, FAILURE, [0.4], AnalysisPhase.FAILED, id="only-failure-true"),
        pytest.param(None, FAILURE, [0.9], AnalysisPhase.SUCCESSFUL, id="only-failure-false-is-successful"),
        pytest.param(SUCCESS, FAILURE, [0.97], AnalysisPhase.SUCCESSFUL, id="both-success-true"),
        pytest.param(SUCCESS, FAILURE, [0.4], AnalysisPhase.FAILED, id="both-failure-true"),
        pytest.param(SUCCESS, FAILURE, [0.7], AnalysisPhase.INCONCLUSIVE, id="both-neither-inconclusive"),
        pytest.param("true", "true", [0.0], AnalysisPhase.FAILED, id="both-true-failure-wins"),
        pytest.param(
            "isNaN(result) || result >= 0.95",
            None,
            math.nan,
            AnalysisPhase.SUCCESSFUL,
            id="nan-guard-argo-idiom",
        ),
        pytest.param(
            "len(result) == 0 || result[0] >= 0.95",
            None,
            [],
            AnalysisPhase.SUCCESSFUL,
            id="empty-guard-argo-idiom",
        ),
        pytest.param("default(result, 0) < 5", None, None, AnalysisPhase.SUCCESSFUL, id="default-of-nil"),
        pytest.param(SUCCESS, None, [math.nan], AnalysisPhase.FAILED, id="nan-compares-false-as-in-argo"),
    ],
)
def test_condition_rules(
    success: str | None, failure: str | None, value: object, expected: AnalysisPhase
) -> None:
    metric = prometheus_metric(success_condition=success, failure_condition=failure)
    assert analysis.judge(metric, analysis.Sample(value=value, text="x")) == (expected, None)


@pytest.mark.parametrize(
    ("success", "failure", "value", "message"),
    [
        pytest.param(
            "result[0]",
            None,
            [0.97],
            'could not evaluate successCondition "result[0]": expected bool, but got float64',
            id="non-bool-success",
        ),
        pytest.param(
            None,
            "result > 1",
            [0.97],
            'could not evaluate failureCondition "result > 1": '
            "invalid operation: > (mismatched types array and int); "
            "result is an array of 1 element, compare one element such as result[0]",
            id="type-error-in-failure",
        ),
        pytest.param(
            SUCCESS,
            FAILURE,
            [],
            'could not evaluate successCondition "result[0] >= 0.95": metric result is nil or empty: '
            f'no data returned from the metric provider (prometheus query "{QUERY}" returned [])',
            id="empty-vector-argo-message-plus-query",
        ),
        pytest.param(
            SUCCESS,
            None,
            None,
            'could not evaluate successCondition "result[0] >= 0.95": metric result is nil or empty: '
            f'no data returned from the metric provider (prometheus query "{QUERY}" returned nil)',
            id="nil-argo-message-plus-query",
        ),
    ],
)
def test_evaluation_errors_are_error_measurements(
    success: str | None, failure: str | None, value: object, message: str
) -> None:
    metric = prometheus_metric(success_condition=success, failure_condition=failure)
    assert analysis.judge(metric, analysis.Sample(value=value)) == (AnalysisPhase.ERROR, message)


def test_nil_or_empty_message_starts_with_argos_exact_text() -> None:
    metric = prometheus_metric(success_condition=SUCCESS)
    _, message = analysis.judge(metric, analysis.Sample(value=[], text="[]"))
    assert message is not None
    assert message.startswith(
        'could not evaluate successCondition "result[0] >= 0.95": '
        "metric result is nil or empty: no data returned from the metric provider"
    )
    assert message.endswith(f'(prometheus query "{QUERY}" returned [])')


def test_syntax_error_is_an_error_measurement() -> None:
    metric = prometheus_metric(success_condition="result[0] >=")
    assert analysis.judge(metric, analysis.Sample(value=[1.0])) == (
        AnalysisPhase.ERROR,
        'could not evaluate successCondition "result[0] >=": unexpected end of expression',
    )


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        pytest.param(
            analysis.Sample(error='Post "http://prom:9090": connection refused', value=[1.0]),
            (AnalysisPhase.ERROR, 'Post "http://prom:9090": connection refused'),
            id="provider-error-wins-over-value",
        ),
        pytest.param(
            analysis.Sample(verdict=AnalysisPhase.FAILED),
            (AnalysisPhase.FAILED, None),
            id="verdict-taken-as-is",
        ),
        pytest.param(
            analysis.Sample(verdict=AnalysisPhase.RUNNING, resume_at=T0),
            (AnalysisPhase.RUNNING, None),
            id="running-verdict",
        ),
        pytest.param(
            analysis.Sample(verdict=AnalysisPhase.SUCCESSFUL, value=[0.0]),
            (AnalysisPhase.SUCCESSFUL, None),
            id="verdict-ignores-conditions",
        ),
        pytest.param(
            analysis.Sample(resume_at=T0 + datetime.timedelta(seconds=3)),
            (AnalysisPhase.RUNNING, None),
            id="long-running-is-running",
        ),
    ],
)
def test_provider_outcomes(sample: analysis.Sample, expected: tuple[AnalysisPhase, str | None]) -> None:
    metric = prometheus_metric(success_condition=SUCCESS)
    assert analysis.judge(metric, sample) == expected


NO_DATA_VALUES = [
    pytest.param(None, "", "nil", id="nil"),
    pytest.param([], "[]", "[]", id="empty-vector"),
    pytest.param(math.nan, "NaN", "NaN", id="nan"),
    pytest.param([math.nan], "[NaN]", "[NaN]", id="vector-of-nan"),
    pytest.param([math.nan, math.nan], "", "[NaN,NaN]", id="vector-of-nans-without-text"),
]


@pytest.mark.parametrize(("value", "text", "shown"), NO_DATA_VALUES)
@pytest.mark.parametrize(
    ("policy", "phase"),
    [
        pytest.param("Error", AnalysisPhase.ERROR, id="Error"),
        pytest.param("Inconclusive", AnalysisPhase.INCONCLUSIVE, id="Inconclusive"),
        pytest.param("Successful", AnalysisPhase.SUCCESSFUL, id="Successful"),
        pytest.param("Failed", AnalysisPhase.FAILED, id="Failed"),
    ],
)
def test_no_data_policy(policy: str, phase: AnalysisPhase, value: object, text: str, shown: str) -> None:
    # The guard would pass every one of these samples: an explicit policy is not second-guessed by conditions.
    metric = prometheus_metric(success_condition="len(result) == 0 || result[0] >= 0.95", no_data=policy)
    assert analysis.judge(metric, analysis.Sample(value=value, text=text)) == (
        phase,
        f'no data returned from the metric provider: prometheus query "{QUERY}" returned {shown}; '
        f"noDataPolicy is {policy}",
    )


@pytest.mark.parametrize(("value", "text", "shown"), NO_DATA_VALUES)
def test_no_data_policy_applies_without_conditions(value: object, text: str, shown: str) -> None:
    metric = prometheus_metric(no_data="Inconclusive")
    phase, message = analysis.judge(metric, analysis.Sample(value=value, text=text))
    assert phase is AnalysisPhase.INCONCLUSIVE
    assert message is not None
    assert "no data" in message
    assert shown in message


@pytest.mark.parametrize(
    ("condition", "value"),
    [
        pytest.param("result[0] >= 0.95", [0.97], id="vector"),
        pytest.param("isNaN(result[0]) && result[1] >= 0.95", [math.nan, 0.97], id="vector-with-one-number"),
        pytest.param("result >= 0.95", 0.97, id="scalar"),
        pytest.param("result.ok", {"ok": True}, id="object"),
        pytest.param("result == ''", "", id="empty-string-is-data"),
    ],
)
def test_no_data_policy_leaves_data_to_the_conditions(condition: str, value: object) -> None:
    metric = prometheus_metric(success_condition=condition, no_data="Failed")
    assert analysis.judge(metric, analysis.Sample(value=value)) == (AnalysisPhase.SUCCESSFUL, None)


def test_unknown_no_data_policy_is_an_error_naming_the_field() -> None:
    metric = prometheus_metric(success_condition=SUCCESS, no_data="Pause")
    assert analysis.judge(metric, analysis.Sample(value=[])) == (
        AnalysisPhase.ERROR,
        'metric "success-rate": noDataPolicy must be one of Error, Inconclusive, Successful, Failed (got "Pause")',
    )
    with pytest.raises(analysis.AnalysisSpecError, match="noDataPolicy"):
        analysis.no_data_policy(metric)


def test_no_data_policy_parsed_from_the_manifest() -> None:
    raw = {
        "name": "m",
        "noDataPolicy": "Inconclusive",
        "successCondition": SUCCESS,
        "provider": {"prometheus": {"address": "http://prom:9090", "query": "up"}},
    }
    metric = model.parse_metric(raw).require()
    assert analysis.no_data_policy(metric) is analysis.NoDataPolicy.INCONCLUSIVE
    phase, message = analysis.judge(metric, analysis.Sample(value=[], text="[]"))
    assert phase is AnalysisPhase.INCONCLUSIVE
    assert message == (
        'no data returned from the metric provider: prometheus query "up" returned []; noDataPolicy is Inconclusive'
    )


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        pytest.param(
            model.MetricProviderSpec(kind="web", config={"url": "http://svc/health", "jsonPath": "{$.rate}"}),
            'web url "http://svc/health" jsonPath "{$.rate}" returned nil',
            id="web-url-and-json-path",
        ),
        pytest.param(
            model.MetricProviderSpec(kind="prometheus", config={"query": "sum(\n  up\n)\n"}),
            'prometheus query "sum( up )" returned nil',
            id="multi-line-query-on-one-line",
        ),
        pytest.param(
            model.MetricProviderSpec(kind="prometheus", config={"query": "x" * 300}),
            f'prometheus query "{"x" * 197}..." returned nil',
            id="long-query-shortened",
        ),
    ],
)
def test_no_data_message_names_the_source(provider: model.MetricProviderSpec, expected: str) -> None:
    metric = model.Metric(name="m", provider=provider, no_data="Error")
    _, message = analysis.judge(metric, analysis.Sample(value=None))
    assert message == f"no data returned from the metric provider: {expected}; noDataPolicy is Error"


@pytest.mark.parametrize(
    ("sample", "phase", "finished", "resume_at"),
    [
        pytest.param(
            analysis.Sample(value=[0.99], text="[0.99]"), AnalysisPhase.SUCCESSFUL, True, None, id="done"
        ),
        pytest.param(
            analysis.Sample(resume_at=T0 + datetime.timedelta(seconds=5)),
            AnalysisPhase.RUNNING,
            False,
            T0 + datetime.timedelta(seconds=5),
            id="in-flight",
        ),
    ],
)
def test_judged_measurement(
    sample: analysis.Sample, phase: AnalysisPhase, finished: bool, resume_at: datetime.datetime | None
) -> None:
    metric = prometheus_metric(success_condition=SUCCESS)
    started = T0 - datetime.timedelta(seconds=1)
    measurement = analysis.judged_measurement(metric, sample, started_at=started, now=T0)
    assert measurement.phase is phase
    assert measurement.started_at == started
    assert measurement.finished_at == (T0 if finished else None)
    assert measurement.resume_at == resume_at
    assert measurement.value == (sample.text or None)


def test_judged_measurement_keeps_provider_metadata() -> None:
    metric = prometheus_metric()
    sample = analysis.Sample(value=[1.0], text="[1]", metadata={"warnings": "partial data"})
    measurement = analysis.judged_measurement(metric, sample, started_at=T0, now=T0)
    assert measurement.metadata == {"warnings": "partial data"}


def test_provider_samples_are_judged_structurally() -> None:
    # The providers package has its own Sample with the same attributes (verdict as a plain string).
    from rollouts.providers import base

    metric = prometheus_metric(success_condition=SUCCESS)
    assert analysis.judge(metric, base.Sample(value=[0.99], text="[0.99]")) == (
        AnalysisPhase.SUCCESSFUL,
        None,
    )
    assert analysis.judge(metric, base.Sample(verdict="Inconclusive")) == (AnalysisPhase.INCONCLUSIVE, None)
    assert analysis.judge(metric, base.Sample(verdict="Maybe")) == (
        AnalysisPhase.ERROR,
        'the metric provider gave an unknown verdict "Maybe"',
    )
