"""record(): Argo's counters after sequences of measurements, in-flight replacement and retention trimming."""

import datetime

import pytest

from rollouts.core import analysis
from rollouts.model import analysis as model
from rollouts.model.analysis import AnalysisPhase

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
S, F, INC, E = (
    AnalysisPhase.SUCCESSFUL,
    AnalysisPhase.FAILED,
    AnalysisPhase.INCONCLUSIVE,
    AnalysisPhase.ERROR,
)


def measured(
    *phases: AnalysisPhase, retention: int = analysis.DEFAULT_MEASUREMENT_RETENTION
) -> model.MetricResult:
    result = analysis.empty_result("m")
    for index, phase in enumerate(phases):
        moment = T0 + datetime.timedelta(minutes=index)
        measurement = model.Measurement(phase=phase, started_at=moment, finished_at=moment, value=str(index))
        result = analysis.record(result, measurement, retention=retention)
    return result


def counters(result: model.MetricResult) -> tuple[int, int, int, int, int, int, int]:
    return (
        result.count,
        result.successful,
        result.failed,
        result.inconclusive,
        result.error,
        result.consecutive_error,
        result.consecutive_success,
    )


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        # (count, successful, failed, inconclusive, error, consecutiveError, consecutiveSuccess)
        pytest.param((), (0, 0, 0, 0, 0, 0, 0), id="nothing"),
        pytest.param((S,), (1, 1, 0, 0, 0, 0, 1), id="one-success"),
        pytest.param((S, S, S), (3, 3, 0, 0, 0, 0, 3), id="successes-in-a-row"),
        pytest.param((F,), (1, 0, 1, 0, 0, 0, 0), id="one-failure"),
        pytest.param((INC,), (1, 0, 0, 1, 0, 0, 0), id="one-inconclusive"),
        pytest.param((E,), (0, 0, 0, 0, 1, 1, 0), id="error-does-not-count"),
        pytest.param((E, E, E), (0, 0, 0, 0, 3, 3, 0), id="errors-in-a-row"),
        pytest.param((E, E, S), (1, 1, 0, 0, 2, 0, 1), id="success-clears-consecutive-errors"),
        pytest.param((E, F), (1, 0, 1, 0, 1, 0, 0), id="failure-clears-consecutive-errors"),
        pytest.param((E, INC), (1, 0, 0, 1, 1, 0, 0), id="inconclusive-clears-consecutive-errors"),
        pytest.param((S, S, E), (2, 2, 0, 0, 1, 1, 0), id="error-clears-consecutive-successes"),
        pytest.param((S, S, F, S), (4, 3, 1, 0, 0, 0, 1), id="failure-clears-consecutive-successes"),
        pytest.param((S, INC, S, S), (4, 3, 0, 1, 0, 0, 2), id="inconclusive-clears-consecutive-successes"),
        pytest.param((S, E, S, E, E, F, S), (4, 3, 1, 0, 3, 0, 1), id="mixed"),
    ],
)
def test_counters(phases: tuple[AnalysisPhase, ...], expected: tuple[int, ...]) -> None:
    assert counters(measured(*phases)) == expected


def test_measurements_are_kept_in_order() -> None:
    result = measured(S, E, F)
    assert [m.phase for m in result.measurements] == [S, E, F]
    assert [m.value for m in result.measurements] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("taken", "retention", "kept"),
    [
        pytest.param(10, analysis.DEFAULT_MEASUREMENT_RETENTION, 10, id="default-keeps-ten"),
        pytest.param(15, analysis.DEFAULT_MEASUREMENT_RETENTION, 10, id="default-trims-to-last-ten"),
        pytest.param(15, 3, 3, id="measurement-retention-limit"),
        pytest.param(15, 20, 15, id="retention-above-taken"),
        pytest.param(15, 0, 10, id="zero-means-default"),
    ],
)
def test_retention_trims_oldest(taken: int, retention: int, kept: int) -> None:
    result = measured(*([S] * taken), retention=retention)
    assert len(result.measurements) == kept
    assert [m.value for m in result.measurements] == [str(index) for index in range(taken - kept, taken)]
    # Trimming forgets measurements, never counts.
    assert result.count == taken


def test_in_flight_measurement_is_replaced_when_it_finishes() -> None:
    result = measured(S)
    running = model.Measurement(
        phase=AnalysisPhase.RUNNING, started_at=T0, resume_at=T0 + datetime.timedelta(seconds=5)
    )
    result = analysis.record(result, running)
    assert counters(result) == (1, 1, 0, 0, 0, 0, 1)
    assert analysis.in_flight(result) == running

    still_running = model.Measurement(
        phase=AnalysisPhase.RUNNING, started_at=T0, resume_at=T0 + datetime.timedelta(seconds=10)
    )
    result = analysis.record(result, still_running)
    assert len(result.measurements) == 2
    assert analysis.in_flight(result) == still_running

    done = model.Measurement(
        phase=AnalysisPhase.FAILED, started_at=T0, finished_at=T0 + datetime.timedelta(seconds=12)
    )
    result = analysis.record(result, done)
    assert [m.phase for m in result.measurements] == [S, F]
    assert analysis.in_flight(result) is None
    assert counters(result) == (2, 1, 1, 0, 0, 0, 0)


def test_record_leaves_phase_and_identity_alone() -> None:
    start = analysis.empty_result("error-rate", dry_run=True, metadata={"ResolvedPrometheusQuery": "up"})
    result = analysis.record(start, model.Measurement(phase=F))
    assert (result.name, result.phase, result.dry_run, result.metadata) == (
        "error-rate",
        AnalysisPhase.RUNNING,
        True,
        {"ResolvedPrometheusQuery": "up"},
    )


def test_recorded_result_round_trips_through_the_wire_form() -> None:
    result = measured(S, E, F, INC)
    assert model.MetricResult.from_dict(result.to_dict()) == result
