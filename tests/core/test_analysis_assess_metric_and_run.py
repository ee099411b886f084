"""assess_metric() and assess_run(): Argo's metric and run phases, limits, messages, dry-run and termination."""

import datetime
import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from rollouts.core import analysis
from rollouts.model import analysis as model
from rollouts.model.analysis import AnalysisPhase

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)
S, F, INC, E = (
    AnalysisPhase.SUCCESSFUL,
    AnalysisPhase.FAILED,
    AnalysisPhase.INCONCLUSIVE,
    AnalysisPhase.ERROR,
)
RUNNING, PENDING = AnalysisPhase.RUNNING, AnalysisPhase.PENDING


def metric(name: str = "m", **fields: Any) -> model.Metric:
    return model.Metric(
        name=name, provider=model.MetricProviderSpec(kind="web", config={"url": "http://x"}), **fields
    )


def measured(
    name: str, phases: Sequence[AnalysisPhase], *, message: str | None = None, dry_run: bool = False
) -> model.MetricResult:
    result = analysis.empty_result(name, dry_run=dry_run)
    for index, phase in enumerate(phases):
        moment = T0 + index * MINUTE
        completed = phase.completed
        measurement = model.Measurement(
            phase=phase,
            message=message,
            started_at=moment,
            finished_at=moment if completed else None,
            resume_at=None if completed else moment + MINUTE,
        )
        result = analysis.record(result, measurement)
    return result


COUNT_3: dict[str, Any] = {"count": 3, "interval": MINUTE}
INDEFINITE: dict[str, Any] = {"interval": MINUTE}


@pytest.mark.parametrize(
    ("fields", "phases", "terminating", "expected", "reason"),
    [
        pytest.param({}, (), False, PENDING, None, id="no-measurements-pending"),
        pytest.param({}, (), True, S, None, id="no-measurements-terminating-successful"),
        pytest.param(COUNT_3, (S, RUNNING), False, RUNNING, None, id="in-flight-running"),
        pytest.param(COUNT_3, (S, RUNNING), True, RUNNING, None, id="in-flight-running-even-terminating"),
        pytest.param({}, (S,), False, S, None, id="default-count-one-successful"),
        pytest.param({}, (F,), False, F, "failed (1) > failureLimit (0)", id="default-count-one-failed"),
        pytest.param(COUNT_3, (S, S), False, RUNNING, None, id="count-not-reached"),
        pytest.param(COUNT_3, (S, S, S), False, S, None, id="count-reached"),
        pytest.param(COUNT_3, (S, E, S), False, RUNNING, None, id="errors-do-not-count-toward-count"),
        pytest.param(
            {**COUNT_3, "failure_limit": 1}, (F,), False, RUNNING, None, id="failures-within-failure-limit"
        ),
        pytest.param(
            {**COUNT_3, "failure_limit": 1},
            (F, F),
            False,
            F,
            "failed (2) > failureLimit (1)",
            id="failure-limit-exceeded",
        ),
        pytest.param(
            {**COUNT_3, "failure_limit": 1},
            (F, S, S),
            False,
            S,
            None,
            id="count-reached-within-failure-limit",
        ),
        pytest.param(
            {**COUNT_3, "failure_limit": -1}, (F, F, F), False, S, None, id="failure-limit-minus-one-disables"
        ),
        pytest.param(
            {**INDEFINITE, "failure_limit": -1},
            (F,) * 20,
            False,
            RUNNING,
            None,
            id="minus-one-indefinite-runs-on",
        ),
        pytest.param({}, (INC,), False, INC, "inconclusive (1) > inconclusiveLimit (0)", id="inconclusive"),
        pytest.param(
            {**COUNT_3, "inconclusive_limit": 1}, (INC,), False, RUNNING, None, id="within-inconclusive-limit"
        ),
        pytest.param(
            {**COUNT_3, "inconclusive_limit": 1},
            (INC, INC),
            False,
            INC,
            "inconclusive (2) > inconclusiveLimit (1)",
            id="inconclusive-limit-exceeded",
        ),
        pytest.param(COUNT_3, (E,) * 4, False, RUNNING, None, id="four-errors-within-default-limit"),
        pytest.param(
            COUNT_3,
            (E,) * 5,
            False,
            E,
            "consecutiveErrors (5) > consecutiveErrorLimit (4)",
            id="fifth-error-exceeds-default-limit",
        ),
        pytest.param(
            COUNT_3, (E, E, E, E, S, E, E, E, E), False, RUNNING, None, id="success-resets-consecutive-errors"
        ),
        pytest.param(
            {**COUNT_3, "consecutive_error_limit": 0},
            (E,),
            False,
            E,
            "consecutiveErrors (1) > consecutiveErrorLimit (0)",
            id="consecutive-error-limit-zero",
        ),
        pytest.param(
            {**COUNT_3, "failure_limit": 0, "inconclusive_limit": 0, "count": 5},
            (F, INC),
            False,
            INC,
            "inconclusive (1) > inconclusiveLimit (0)",
            id="inconclusive-checked-after-failed-wins",
        ),
        pytest.param(
            {"count": 9, "interval": MINUTE, "failure_limit": 0},
            (F, E, E, E, E, E),
            False,
            E,
            "consecutiveErrors (5) > consecutiveErrorLimit (4)",
            id="error-checked-last-wins",
        ),
        pytest.param(
            {"count": 5, "interval": MINUTE, "consecutive_success_limit": 2, "failure_limit": 3},
            (F, S, S),
            False,
            S,
            None,
            id="consecutive-success-limit-reached",
        ),
        pytest.param(
            {"count": 5, "interval": MINUTE, "consecutive_success_limit": 2, "failure_limit": 3},
            (S, F, S, F, S),
            False,
            INC,
            "count (5) reached but consecutiveSuccess (1) < consecutiveSuccessLimit (2)",
            id="count-reached-without-consecutive-successes-inconclusive",
        ),
        pytest.param(
            {"count": 4, "interval": MINUTE, "consecutive_success_limit": 2, "failure_limit": -1},
            (S, F, S, F),
            False,
            F,
            "count (4) reached but consecutiveSuccess (0) < consecutiveSuccessLimit (2)",
            id="count-reached-without-consecutive-successes-failed-when-no-failure-limit",
        ),
        pytest.param(INDEFINITE, (S, S, S), False, RUNNING, None, id="indefinite-runs"),
        pytest.param(INDEFINITE, (S, S, S), True, S, None, id="indefinite-terminated-successful"),
        pytest.param(
            INDEFINITE, (S, F), True, F, "failed (1) > failureLimit (0)", id="terminating-keeps-limit-breach"
        ),
    ],
)
def test_assess_metric(
    fields: dict[str, Any],
    phases: tuple[AnalysisPhase, ...],
    terminating: bool,
    expected: AnalysisPhase,
    reason: str | None,
) -> None:
    result = measured("m", phases)
    message = None if reason is None else f'Metric "m" assessed {expected.value} due to {reason}'
    assert analysis.assess_metric(metric(**fields), result, terminating=terminating) == (expected, message)


def test_consecutive_error_limit_errors_after_five_errors() -> None:
    # Default consecutiveErrorLimit 4: the metric stays Running through four errors and is Error on the fifth.
    the_metric = metric(**COUNT_3)
    result = analysis.empty_result("m")
    phases = []
    for _ in range(5):
        result = analysis.record(result, model.Measurement(phase=E, finished_at=T0, message="timeout"))
        phases.append(analysis.assess_metric(the_metric, result, terminating=False)[0])
    assert phases == [RUNNING, RUNNING, RUNNING, RUNNING, E]
    assert (result.count, result.error) == (0, 5)


@pytest.mark.parametrize("terminating", [False, True])
@pytest.mark.parametrize("completed", [S, F, E, INC])
def test_completed_metric_never_changes(completed: AnalysisPhase, terminating: bool) -> None:
    result = measured("m", (S, S, S))
    result = model.MetricResult(**{**_fields(result), "phase": completed})
    phase, _ = analysis.assess_metric(metric(**INDEFINITE), result, terminating=terminating)
    assert phase is completed


def _fields(result: model.MetricResult) -> dict[str, Any]:
    return {field: getattr(result, field) for field in model.MetricResult.__dataclass_fields__}


# ----------------------------------------------------------------------------------------------------
# Runs


@pytest.mark.parametrize(
    ("first", "second", "worst"),
    [
        pytest.param(S, S, S, id="successful-successful"),
        pytest.param(S, INC, INC, id="inconclusive-worse-than-successful"),
        pytest.param(INC, E, E, id="error-worse-than-inconclusive"),
        pytest.param(E, F, F, id="failed-worst"),
        pytest.param(F, INC, F, id="order-does-not-matter"),
    ],
)
def test_run_takes_the_worst_metric_phase(
    first: AnalysisPhase, second: AnalysisPhase, worst: AnalysisPhase
) -> None:
    results = [
        model.MetricResult(name="a", phase=first, measurements=(model.Measurement(phase=first),)),
        model.MetricResult(name="b", phase=second, measurements=(model.Measurement(phase=second),)),
    ]
    assessment = analysis.assess_run([metric("a"), metric("b")], results, terminating=False)
    assert assessment.phase is worst


def test_worst_order_matches_argo() -> None:
    order = [S, RUNNING, PENDING, INC, E, F]
    for lower, higher in itertools.pairwise(order):
        assert analysis.is_worse(higher, lower)
        assert not analysis.is_worse(lower, higher)


def test_all_successful() -> None:
    metrics = [metric("a"), metric("b", **COUNT_3)]
    results = [measured("a", (S,)), measured("b", (S, S, S))]
    assessment = analysis.assess_run(metrics, results, terminating=False)
    assert (assessment.phase, assessment.message) == (S, None)
    assert assessment.run_summary == model.RunSummary(count=2, successful=2)
    assert assessment.dry_run_summary == model.RunSummary()
    assert [result.phase for result in assessment.metric_results] == [S, S]


def test_running_while_a_metric_is_incomplete() -> None:
    metrics = [metric("a"), metric("b", **COUNT_3)]
    results = [measured("a", (F,)), measured("b", (S,))]
    assessment = analysis.assess_run(metrics, results, terminating=False)
    assert (assessment.phase, assessment.message) == (RUNNING, None)
    # The failed metric is complete already; the run waits for the next reconcile, which is terminating.
    assert [result.phase for result in assessment.metric_results] == [F, RUNNING]
    assert assessment.run_summary == model.RunSummary(count=2, failed=1)
    assert analysis.is_terminating(False, assessment.metric_results)


def test_running_while_a_metric_has_no_result_yet() -> None:
    metrics = [metric("a"), metric("delayed", initial_delay=MINUTE)]
    assessment = analysis.assess_run(metrics, [measured("a", (S,))], terminating=False)
    assert assessment.phase is RUNNING
    assert [result.name for result in assessment.metric_results] == ["a"]


def test_failing_metric_message_carries_the_last_measurement_message() -> None:
    results = [measured("a", (E,) * 5, message="Post http://x: connection refused")]
    assessment = analysis.assess_run([metric("a", **COUNT_3)], results, terminating=False)
    assert assessment.phase is E
    assert assessment.message == (
        'Metric "a" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): '
        '"Error Message: Post http://x: connection refused"'
    )
    assert assessment.metric_results[0].message == "Post http://x: connection refused"
    assert assessment.run_summary == model.RunSummary(count=1, error=1)


def test_failed_metric_message_without_measurement_message() -> None:
    assessment = analysis.assess_run(
        [metric("a", failure_limit=1, **COUNT_3)], [measured("a", (F, F))], terminating=False
    )
    assert (assessment.phase, assessment.message) == (
        F,
        'Metric "a" assessed Failed due to failed (2) > failureLimit (1)',
    )


def test_message_names_the_worst_metric() -> None:
    metrics = [metric("latency"), metric("errors")]
    results = [measured("latency", (INC,)), measured("errors", (F,))]
    assessment = analysis.assess_run(metrics, results, terminating=False)
    assert assessment.phase is F
    assert assessment.message == 'Metric "errors" assessed Failed due to failed (1) > failureLimit (0)'
    assert assessment.run_summary == model.RunSummary(count=2, failed=1, inconclusive=1)


def test_dry_run_metric_does_not_decide_the_run() -> None:
    metrics = [metric("success-rate"), metric("error-rate")]
    results = [measured("success-rate", (S,)), measured("error-rate", (F,), dry_run=True)]
    assessment = analysis.assess_run(metrics, results, terminating=False, dry_run_names={"error-rate"})
    assert (assessment.phase, assessment.message) == (S, None)
    assert assessment.run_summary == model.RunSummary(count=1, successful=1)
    assert assessment.dry_run_summary == model.RunSummary(count=1, failed=1)
    dry = assessment.metric_results[1]
    assert (dry.phase, dry.message) == (F, "Metric assessed Failed due to failed (1) > failureLimit (0)")
    assert not analysis.is_terminating(False, assessment.metric_results, dry_run_names={"error-rate"})


def test_only_dry_run_metrics_is_successful() -> None:
    results = [measured("a", (F,)), measured("b", (E,) * 5)]
    assessment = analysis.assess_run(
        [metric("a"), metric("b", **COUNT_3)], results, terminating=False, dry_run_names={"a", "b"}
    )
    assert (assessment.phase, assessment.message) == (S, None)
    assert assessment.dry_run_summary == model.RunSummary(count=2, failed=1, error=1)
    assert assessment.run_summary == model.RunSummary()


def test_terminate_before_any_measurement() -> None:
    assessment = analysis.assess_run(
        [metric("a", initial_delay=MINUTE)], [], terminating=True, spec_terminate=True
    )
    assert (assessment.phase, assessment.message) == (S, "Run Terminated")


def test_terminate_ends_indefinite_metrics_successfully() -> None:
    results = [measured("a", (S, S)), analysis.empty_result("b")]
    assessment = analysis.assess_run(
        [metric("a", **INDEFINITE), metric("b", **INDEFINITE)], results, terminating=True, spec_terminate=True
    )
    assert (assessment.phase, assessment.message) == (S, "Run Terminated")
    assert [result.phase for result in assessment.metric_results] == [S, S]
    assert assessment.run_summary == model.RunSummary(count=2, successful=2)


def test_terminate_keeps_a_failure_and_its_message() -> None:
    results = [measured("a", (S, F)), measured("b", (S,))]
    assessment = analysis.assess_run(
        [metric("a", **INDEFINITE), metric("b", **INDEFINITE)], results, terminating=True, spec_terminate=True
    )
    assert (assessment.phase, assessment.message) == (
        F,
        'Metric "a" assessed Failed due to failed (1) > failureLimit (0)',
    )


def test_failing_metric_terminates_the_others_on_the_next_pass() -> None:
    metrics = [metric("a", **COUNT_3), metric("background", **INDEFINITE)]
    first = analysis.assess_run(
        metrics, [measured("a", (F,)), measured("background", (S,))], terminating=False
    )
    assert first.phase is RUNNING
    terminating = analysis.is_terminating(False, first.metric_results)
    second = analysis.assess_run(metrics, first.metric_results, terminating=terminating)
    assert (second.phase, second.message) == (
        F,
        'Metric "a" assessed Failed due to failed (1) > failureLimit (0)',
    )
    assert [result.phase for result in second.metric_results] == [F, S]


@pytest.mark.parametrize(
    ("spec_terminate", "phases", "dry_run", "expected"),
    [
        pytest.param(True, (), False, True, id="spec-terminate"),
        pytest.param(False, (RUNNING, S), False, False, id="healthy"),
        pytest.param(False, (F,), False, True, id="failed-metric"),
        pytest.param(False, (E,), False, True, id="error-metric"),
        pytest.param(False, (INC,), False, True, id="inconclusive-metric"),
        pytest.param(False, (F,), True, False, id="dry-run-failure-ignored"),
    ],
)
def test_is_terminating(
    spec_terminate: bool, phases: tuple[AnalysisPhase, ...], dry_run: bool, expected: bool
) -> None:
    results = [model.MetricResult(name=f"m{index}", phase=phase) for index, phase in enumerate(phases)]
    names = {result.name for result in results} if dry_run else set()
    assert analysis.is_terminating(spec_terminate, results, dry_run_names=names) is expected
    flagged = [
        model.MetricResult(name=result.name, phase=result.phase, dry_run=dry_run) for result in results
    ]
    assert analysis.is_terminating(spec_terminate, flagged) is expected
