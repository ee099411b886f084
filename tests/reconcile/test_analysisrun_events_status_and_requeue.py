"""What a pass writes besides measurements: the whole status, the Events for phase changes, and when to come back."""

from __future__ import annotations

import datetime
import doctest

import pytest

from rollouts.core import analysis
from rollouts.model import analysis as model
from rollouts.model.analysis import AnalysisPhase
from rollouts.reconcile import analysisrun

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
WEB = model.MetricProviderSpec(kind="web", config={"url": "http://svc"})


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(analysisrun, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def _result(name: str, phase: AnalysisPhase, *values: str, dry_run: bool = False) -> model.MetricResult:
    measurements = tuple(model.Measurement(phase=phase, value=value, finished_at=T0) for value in values)
    return model.MetricResult(name=name, phase=phase, measurements=measurements, dry_run=dry_run)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            model.AnalysisRunStatus(),
            model.AnalysisRunStatus(phase=AnalysisPhase.RUNNING),
            [("AnalysisRunRunning", "Analysis Started", False)],
            id="first-pass",
        ),
        pytest.param(
            model.AnalysisRunStatus(phase=AnalysisPhase.RUNNING),
            model.AnalysisRunStatus(phase=AnalysisPhase.RUNNING),
            [],
            id="nothing-changed",
        ),
        pytest.param(
            model.AnalysisRunStatus(
                phase=AnalysisPhase.RUNNING, metric_results=(_result("a", AnalysisPhase.RUNNING, "1"),)
            ),
            model.AnalysisRunStatus(
                phase=AnalysisPhase.SUCCESSFUL,
                metric_results=(_result("a", AnalysisPhase.SUCCESSFUL, "1"),),
            ),
            [
                ("MetricSuccessful", "Metric 'a' Completed. Result: Successful", False),
                ("AnalysisRunSuccessful", "Analysis Completed. Result: Successful", False),
            ],
            id="completed-successfully",
        ),
        pytest.param(
            model.AnalysisRunStatus(phase=AnalysisPhase.RUNNING, metric_results=()),
            model.AnalysisRunStatus(
                phase=AnalysisPhase.SUCCESSFUL,
                message="Run Terminated",
                metric_results=(_result("a", AnalysisPhase.SUCCESSFUL),),
            ),
            [
                ("MetricSuccessful", "Metric 'a' Completed. Result: Successful", False),
                ("AnalysisRunSuccessful", "Analysis Completed. Result: Successful. Run Terminated", False),
            ],
            id="terminated",
        ),
        pytest.param(
            model.AnalysisRunStatus(
                phase=AnalysisPhase.RUNNING,
                metric_results=(
                    _result("ok", AnalysisPhase.SUCCESSFUL, "1"),
                    _result("dry", AnalysisPhase.RUNNING),
                    _result("rate", AnalysisPhase.RUNNING, "0.9"),
                ),
            ),
            model.AnalysisRunStatus(
                phase=AnalysisPhase.FAILED,
                message='Metric "rate" assessed Failed due to failed (1) > failureLimit (0)',
                metric_results=(
                    _result("ok", AnalysisPhase.SUCCESSFUL, "1"),
                    _result("dry", AnalysisPhase.FAILED, "7", dry_run=True),
                    _result("rate", AnalysisPhase.FAILED, "0.9", "0.5"),
                ),
            ),
            [
                ("MetricFailed", "Metric 'dry' Completed. Result: Failed", True),
                ("MetricFailed", "Metric 'rate' Completed. Result: Failed", True),
                (
                    "AnalysisRunFailed",
                    'Analysis Completed. Result: Failed. Metric "rate" assessed Failed due to failed (1) > '
                    "failureLimit (0); last value: 0.5",
                    True,
                ),
            ],
            id="failed-names-the-deciding-metric-and-its-last-value",
        ),
        pytest.param(
            model.AnalysisRunStatus(),
            model.AnalysisRunStatus(
                phase=AnalysisPhase.ERROR, message="Unable to resolve metric arguments: x"
            ),
            [
                (
                    "AnalysisRunError",
                    "Analysis Completed. Result: Error. Unable to resolve metric arguments: x",
                    True,
                )
            ],
            id="error-before-measuring",
        ),
        pytest.param(
            model.AnalysisRunStatus(phase=AnalysisPhase.RUNNING),
            model.AnalysisRunStatus(
                phase=AnalysisPhase.INCONCLUSIVE,
                metric_results=(_result("a", AnalysisPhase.INCONCLUSIVE, "[]"),),
            ),
            [
                ("MetricInconclusive", "Metric 'a' Completed. Result: Inconclusive", True),
                (
                    "AnalysisRunInconclusive",
                    'Analysis Completed. Result: Inconclusive. Metric "a" assessed Inconclusive; last value: []',
                    True,
                ),
            ],
            id="inconclusive-without-message",
        ),
    ],
)
def test_events_follow_phase_changes(
    old: model.AnalysisRunStatus, new: model.AnalysisRunStatus, expected: list[tuple[str, str, bool]]
) -> None:
    notes = analysisrun.phase_events(old, new)
    assert [(note.reason, note.message, note.warning) for note in notes] == expected


def test_an_errored_run_keeps_what_it_recorded() -> None:
    old = model.AnalysisRunStatus(
        phase=AnalysisPhase.RUNNING,
        started_at=T0,
        metric_results=(_result("a", AnalysisPhase.RUNNING, "1"),),
    )
    later = T0 + datetime.timedelta(minutes=1)
    status = analysisrun.errored_status(old, message="boom", now=later)
    assert (status.phase, status.message, status.started_at, status.completed_at) == (
        AnalysisPhase.ERROR,
        "boom",
        T0,
        later,
    )
    assert status.metric_results == old.metric_results
    assert analysisrun.errored_status(model.AnalysisRunStatus(), message="x", now=later).started_at == later


def _assessment(phase: AnalysisPhase) -> analysis.RunAssessment:
    return analysis.RunAssessment(
        phase=phase,
        message=None,
        run_summary=model.RunSummary(count=1),
        dry_run_summary=model.RunSummary(),
        metric_results=(),
    )


@pytest.mark.parametrize(
    ("phase", "has_dry_run", "completed_at", "dry_run_summary"),
    [
        pytest.param(AnalysisPhase.RUNNING, False, None, None, id="running"),
        pytest.param(AnalysisPhase.FAILED, False, T0, None, id="completed"),
        pytest.param(AnalysisPhase.SUCCESSFUL, True, T0, model.RunSummary(), id="with-dry-run-metrics"),
    ],
)
def test_the_assessed_status_is_complete(
    phase: AnalysisPhase,
    has_dry_run: bool,
    completed_at: datetime.datetime | None,
    dry_run_summary: model.RunSummary | None,
) -> None:
    started = T0 - datetime.timedelta(seconds=30)
    status = analysisrun.assessed_status(
        _assessment(phase), started_at=started, now=T0, has_dry_run=has_dry_run
    )
    assert (status.phase, status.started_at, status.completed_at) == (phase, started, completed_at)
    assert status.run_summary == model.RunSummary(count=1)
    assert status.dry_run_summary == dry_run_summary


def _metric(**fields: object) -> model.Metric:
    return model.Metric(name="m", provider=WEB, **fields)  # type: ignore[arg-type]


def _status(
    *measurements: model.Measurement, phase: AnalysisPhase = AnalysisPhase.RUNNING
) -> model.AnalysisRunStatus:
    result = model.MetricResult(
        name="m",
        phase=phase,
        measurements=measurements,
        count=sum(1 for m in measurements if m.phase is not AnalysisPhase.ERROR),
        failed=sum(1 for m in measurements if m.phase is AnalysisPhase.FAILED),
    )
    return model.AnalysisRunStatus(phase=AnalysisPhase.RUNNING, metric_results=(result,))


FIVE_SECONDS = datetime.timedelta(seconds=5)


@pytest.mark.parametrize(
    ("metric", "status", "now", "expected"),
    [
        pytest.param(
            _metric(interval=FIVE_SECONDS, count=3),
            _status(model.Measurement(phase=AnalysisPhase.SUCCESSFUL, finished_at=T0)),
            T0 + datetime.timedelta(seconds=1.5),
            3.5,
            id="interval-after-the-last-measurement",
        ),
        pytest.param(
            _metric(interval=FIVE_SECONDS, count=3),
            _status(model.Measurement(phase=AnalysisPhase.SUCCESSFUL, finished_at=T0)),
            T0 + datetime.timedelta(seconds=9),
            analysisrun.MIN_REQUEUE_SECONDS,
            id="overdue-is-clamped",
        ),
        pytest.param(
            _metric(interval=FIVE_SECONDS, count=3),
            _status(model.Measurement(phase=AnalysisPhase.ERROR, finished_at=T0)),
            T0,
            10.0,
            id="ten-seconds-after-an-error",
        ),
        pytest.param(
            _metric(),
            _status(
                model.Measurement(
                    phase=AnalysisPhase.RUNNING, started_at=T0, resume_at=T0 + datetime.timedelta(seconds=2)
                )
            ),
            T0,
            2.0,
            id="a-long-running-measurement-resumes-at-its-time",
        ),
        pytest.param(
            _metric(interval=FIVE_SECONDS),
            _status(
                model.Measurement(phase=AnalysisPhase.FAILED, finished_at=T0), phase=AnalysisPhase.FAILED
            ),
            T0,
            analysisrun.MIN_REQUEUE_SECONDS,
            id="a-metric-that-just-failed-terminates-the-run-at-once",
        ),
        pytest.param(
            _metric(),
            model.AnalysisRunStatus(phase=AnalysisPhase.SUCCESSFUL),
            T0,
            None,
            id="completed",
        ),
    ],
)
def test_the_next_pass_comes_when_a_metric_is_due(
    metric: model.Metric, status: model.AnalysisRunStatus, now: datetime.datetime, expected: float | None
) -> None:
    resolved = analysisrun.ResolvedRun(metrics=(metric,))
    seconds = analysisrun.requeue_after(
        resolved, status, spec_terminate=False, started_at=T0, terminating=False, now=now
    )
    assert seconds == expected


def test_a_terminated_measurement_is_successful_and_keeps_its_job() -> None:
    pending = model.Measurement(
        phase=AnalysisPhase.RUNNING,
        started_at=T0,
        metadata={"job-name": "u.m.1"},
        resume_at=T0 + datetime.timedelta(seconds=3),
    )
    done = analysisrun.terminated_measurement(pending, now=T0 + datetime.timedelta(seconds=1))
    assert done == model.Measurement(
        phase=AnalysisPhase.SUCCESSFUL,
        message="Metric Terminated",
        started_at=T0,
        finished_at=T0 + datetime.timedelta(seconds=1),
        metadata={"job-name": "u.m.1"},
    )
    assert analysisrun.pending_sample(pending).metadata == {"job-name": "u.m.1"}
    assert analysisrun.pending_sample(pending).pending


def test_secrets_are_masked_everywhere_in_a_measurement() -> None:
    measurement = model.Measurement(
        phase=AnalysisPhase.ERROR,
        message="GET http://svc/?t=abc failed",
        value='{"t":"abc"}',
        metadata={"ResolvedPrometheusQuery": "up{t='abc'}"},
    )
    masked = analysisrun.masked(measurement, {"abc"})
    assert (masked.message, masked.value, dict(masked.metadata)) == (
        "GET http://svc/?t=***** failed",
        '{"t":"*****"}',
        {"ResolvedPrometheusQuery": "up{t='*****'}"},
    )
    assert analysisrun.masked(measurement, set()) is measurement
