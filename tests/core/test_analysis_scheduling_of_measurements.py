"""next_measurement(), due_metrics() and requeue_at(): initialDelay, interval from finishedAt, 10 s error retry."""

import datetime
from typing import Any

import pytest

from rollouts.core import analysis
from rollouts.model import analysis as model
from rollouts.model.analysis import AnalysisPhase

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
SECOND = datetime.timedelta(seconds=1)
MINUTE = datetime.timedelta(minutes=1)
S, F, E, RUNNING = AnalysisPhase.SUCCESSFUL, AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.RUNNING


def metric(name: str = "m", **fields: Any) -> model.Metric:
    return model.Metric(
        name=name, provider=model.MetricProviderSpec(kind="web", config={"url": "http://x"}), **fields
    )


def result_after(*measurements: model.Measurement, name: str = "m") -> model.MetricResult:
    result = analysis.empty_result(name)
    for measurement in measurements:
        result = analysis.record(result, measurement)
    return result


def done(phase: AnalysisPhase, finished_at: datetime.datetime) -> model.Measurement:
    return model.Measurement(phase=phase, started_at=finished_at - SECOND, finished_at=finished_at)


def running(resume_at: datetime.datetime | None) -> model.Measurement:
    return model.Measurement(phase=RUNNING, started_at=T0, resume_at=resume_at)


@pytest.mark.parametrize(
    ("fields", "result", "started_at", "now", "terminating", "expected"),
    [
        pytest.param({}, None, T0, T0, False, T0, id="first-measurement-at-once"),
        pytest.param(
            {"initial_delay": 30 * SECOND},
            None,
            T0,
            T0 + 10 * SECOND,
            False,
            T0 + 30 * SECOND,
            id="initial-delay",
        ),
        pytest.param(
            {"initial_delay": 30 * SECOND},
            None,
            None,
            T0 + 10 * SECOND,
            False,
            T0 + 40 * SECOND,
            id="initial-delay-before-the-run-started",
        ),
        pytest.param({"initial_delay": 30 * SECOND}, None, T0, T0, True, None, id="terminating-never-starts"),
        pytest.param(
            {"count": 3, "interval": MINUTE},
            result_after(done(S, T0)),
            T0,
            T0 + SECOND,
            False,
            T0 + MINUTE,
            id="interval-from-finished-at",
        ),
        pytest.param(
            {"count": 3, "interval": 5 * MINUTE},
            result_after(done(S, T0), done(E, T0 + MINUTE)),
            T0,
            T0 + MINUTE,
            False,
            T0 + MINUTE + 10 * SECOND,
            id="error-retries-in-ten-seconds-whatever-the-interval",
        ),
        pytest.param(
            {},
            result_after(done(E, T0)),
            T0,
            T0,
            False,
            T0 + 10 * SECOND,
            id="error-retried-without-interval",
        ),
        pytest.param(
            {"count": 2, "interval": MINUTE, "failure_limit": 2},
            result_after(done(S, T0), done(F, T0 + MINUTE)),
            T0,
            T0 + MINUTE,
            False,
            None,
            id="count-reached",
        ),
        pytest.param(
            {"count": 2, "interval": MINUTE},
            result_after(done(S, T0), done(E, T0 + MINUTE)),
            T0,
            T0 + MINUTE,
            False,
            T0 + MINUTE + 10 * SECOND,
            id="errors-do-not-count-toward-count",
        ),
        pytest.param(
            {"interval": MINUTE},
            result_after(done(S, T0), done(S, T0 + MINUTE)),
            T0,
            T0 + MINUTE,
            False,
            T0 + 2 * MINUTE,
            id="indefinite-keeps-going",
        ),
        pytest.param(
            {"interval": MINUTE},
            result_after(done(S, T0)),
            T0,
            T0 + SECOND,
            True,
            None,
            id="terminating-takes-no-new-measurement",
        ),
        pytest.param(
            {"interval": MINUTE},
            model.MetricResult(name="m", phase=S, measurements=(done(S, T0),)),
            T0,
            T0,
            False,
            None,
            id="completed-metric-never",
        ),
        pytest.param(
            {"interval": MINUTE},
            result_after(done(S, T0), running(T0 + 5 * MINUTE)),
            T0,
            T0 + 2 * MINUTE,
            False,
            T0 + 5 * MINUTE,
            id="long-running-resumes-at-resume-at",
        ),
        pytest.param(
            {"interval": MINUTE},
            result_after(running(None)),
            T0,
            T0 + 2 * MINUTE,
            False,
            T0 + 2 * MINUTE,
            id="in-flight-without-resume-at-resumes-now",
        ),
        pytest.param(
            {"interval": MINUTE},
            result_after(running(T0 + 5 * MINUTE)),
            T0,
            T0 + 2 * MINUTE,
            True,
            T0 + 2 * MINUTE,
            id="terminating-stops-in-flight-now",
        ),
    ],
)
def test_next_measurement(
    fields: dict[str, Any],
    result: model.MetricResult | None,
    started_at: datetime.datetime | None,
    now: datetime.datetime,
    terminating: bool,
    expected: datetime.datetime | None,
) -> None:
    assert (
        analysis.next_measurement(
            metric(**fields), result, started_at=started_at, now=now, terminating=terminating
        )
        == expected
    )


def test_due_metrics_at_the_boundary_and_before() -> None:
    metrics = [
        metric("fast", interval=MINUTE),
        metric("slow", interval=5 * MINUTE),
        metric("delayed", initial_delay=2 * MINUTE),
        metric("new"),
    ]
    results = [result_after(done(S, T0), name="fast"), result_after(done(S, T0), name="slow")]
    due = analysis.due_metrics(metrics, results, started_at=T0, now=T0 + MINUTE)
    # Exactly at finishedAt + interval counts as due, so a requeue at that moment finds work to do.
    assert [m.name for m in due] == ["fast", "new"]
    later = analysis.due_metrics(metrics, results, started_at=T0, now=T0 + 5 * MINUTE)
    assert [m.name for m in later] == ["fast", "slow", "delayed", "new"]
    assert analysis.due_metrics(metrics, results, started_at=T0, now=T0 + MINUTE, terminating=True) == ()


def test_requeue_at_is_the_earliest_moment() -> None:
    metrics = [
        metric("slow", interval=5 * MINUTE),
        metric("errored", interval=5 * MINUTE),
        metric("delayed", initial_delay=2 * MINUTE),
        metric("job", interval=MINUTE),
    ]
    results = [
        result_after(done(S, T0), name="slow"),
        result_after(done(E, T0 + 30 * SECOND), name="errored"),
        result_after(running(T0 + 7 * SECOND), name="job"),
    ]
    assert analysis.requeue_at(metrics, results, started_at=T0, now=T0 + 30 * SECOND) == T0 + 7 * SECOND
    without_job = analysis.requeue_at(metrics[:3], results[:2], started_at=T0, now=T0 + 30 * SECOND)
    assert without_job == T0 + 40 * SECOND


def test_requeue_at_nothing_left() -> None:
    metrics = [metric("a"), metric("b", count=2, interval=MINUTE)]
    results = [result_after(done(S, T0), name="a"), result_after(done(S, T0), done(S, T0 + MINUTE), name="b")]
    assert analysis.requeue_at(metrics, results, started_at=T0, now=T0 + MINUTE) is None


def test_requeue_at_ignores_in_flight_without_resume_at() -> None:
    metrics = [metric("job", interval=MINUTE)]
    results = [result_after(running(None), name="job")]
    assert analysis.requeue_at(metrics, results, started_at=T0, now=T0) is None
    # ...but a terminating run stops it right away.
    assert analysis.requeue_at(metrics, results, started_at=T0, now=T0, terminating=True) == T0
