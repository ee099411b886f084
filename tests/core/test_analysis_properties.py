"""Hypothesis: counters stay consistent for any sequence of measurements; a completed metric keeps its phase."""

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from rollouts.core import analysis
from rollouts.model import analysis as model
from rollouts.model.analysis import AnalysisPhase

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
COMPLETED_PHASES = [
    AnalysisPhase.SUCCESSFUL,
    AnalysisPhase.FAILED,
    AnalysisPhase.INCONCLUSIVE,
    AnalysisPhase.ERROR,
]
phases = st.lists(st.sampled_from(COMPLETED_PHASES), max_size=40)


def trailing(sequence: list[AnalysisPhase], phase: AnalysisPhase) -> int:
    run = 0
    for item in reversed(sequence):
        if item is not phase:
            break
        run += 1
    return run


@st.composite
def metrics(draw: st.DrawFn) -> model.Metric:
    count = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=8)))
    failure_limit = draw(st.integers(min_value=-1, max_value=3))
    inconclusive_limit = draw(st.integers(min_value=0, max_value=3))
    return model.Metric(
        name="m",
        provider=model.MetricProviderSpec(kind="web", config={"url": "http://x"}),
        interval=datetime.timedelta(minutes=1),
        count=count,
        failure_limit=failure_limit,
        inconclusive_limit=inconclusive_limit,
        consecutive_error_limit=draw(st.integers(min_value=0, max_value=5)),
        consecutive_success_limit=draw(st.integers(min_value=0, max_value=3)),
    )


@given(phases, st.integers(min_value=0, max_value=12))
def test_counters_are_consistent(sequence: list[AnalysisPhase], retention: int) -> None:
    result = analysis.empty_result("m")
    for index, phase in enumerate(sequence):
        moment = T0 + datetime.timedelta(minutes=index)
        result = analysis.record(
            result, model.Measurement(phase=phase, finished_at=moment), retention=retention
        )
    assert result.count == result.successful + result.failed + result.inconclusive
    assert result.count == sum(1 for phase in sequence if phase is not AnalysisPhase.ERROR)
    assert result.successful == sequence.count(AnalysisPhase.SUCCESSFUL)
    assert result.failed == sequence.count(AnalysisPhase.FAILED)
    assert result.inconclusive == sequence.count(AnalysisPhase.INCONCLUSIVE)
    assert result.error == sequence.count(AnalysisPhase.ERROR)
    assert result.consecutive_error == trailing(sequence, AnalysisPhase.ERROR)
    # Every other phase, Error included, breaks a run of successes.
    assert result.consecutive_success == trailing(sequence, AnalysisPhase.SUCCESSFUL)
    limit = retention if retention > 0 else analysis.DEFAULT_MEASUREMENT_RETENTION
    assert [m.phase for m in result.measurements] == sequence[-limit:]


@settings(max_examples=200)
@given(metrics(), phases, st.lists(st.booleans(), min_size=40, max_size=40))
def test_completed_metric_never_changes_phase(
    metric: model.Metric, sequence: list[AnalysisPhase], terminating_flags: list[bool]
) -> None:
    result = analysis.empty_result("m")
    completed_as: AnalysisPhase | None = None
    for index, phase in enumerate(sequence):
        result = analysis.record(result, model.Measurement(phase=phase, finished_at=T0))
        terminating = terminating_flags[index]
        assessed, message = analysis.assess_metric(metric, result, terminating=terminating)
        if completed_as is not None:
            assert assessed is completed_as
            continue
        if assessed.completed:
            completed_as = assessed
            if assessed is not AnalysisPhase.SUCCESSFUL:
                # A metric that did not succeed always says why.
                assert message is not None
                assert message.startswith(f'Metric "m" assessed {assessed.value} due to ')
            # Write it back the way assess_run does; from here on it must stick.
            run = analysis.assess_run([metric], [result], terminating=terminating)
            (result,) = run.metric_results
            assert result.phase is assessed
        else:
            assert assessed is AnalysisPhase.RUNNING
            assert message is None


@settings(max_examples=200)
@given(metrics(), phases)
def test_count_bounds_the_measurements(metric: model.Metric, sequence: list[AnalysisPhase]) -> None:
    # Without terminating, a metric with a count completes no later than its count-th counted measurement.
    result = analysis.empty_result("m")
    for phase in sequence:
        result = analysis.record(result, model.Measurement(phase=phase, finished_at=T0))
        assessed, _ = analysis.assess_metric(metric, result, terminating=False)
        if metric.count is not None and result.count >= metric.count:
            assert assessed.completed
        if assessed.completed:
            assert (
                analysis.next_measurement(
                    metric,
                    analysis.assess_run([metric], [result], terminating=False).metric_results[0],
                    started_at=T0,
                    now=T0,
                )
                is None
            )
            break


@given(st.lists(st.tuples(st.sampled_from(COMPLETED_PHASES), st.booleans()), min_size=1, max_size=6))
def test_completed_run_assessment_is_stable(metric_phases: list[tuple[AnalysisPhase, bool]]) -> None:
    metric_list = [
        model.Metric(name=f"m{index}", provider=model.MetricProviderSpec(kind="web", config={}))
        for index in range(len(metric_phases))
    ]
    results = [
        analysis.record(analysis.empty_result(f"m{index}"), model.Measurement(phase=phase, finished_at=T0))
        for index, (phase, _) in enumerate(metric_phases)
    ]
    dry = {f"m{index}" for index, (_, dry_run) in enumerate(metric_phases) if dry_run}
    terminating = analysis.is_terminating(False, results, dry_run_names=dry)
    first = analysis.assess_run(metric_list, results, terminating=terminating, dry_run_names=dry)
    again = analysis.assess_run(
        metric_list,
        first.metric_results,
        terminating=analysis.is_terminating(False, first.metric_results, dry_run_names=dry),
        dry_run_names=dry,
    )
    if first.phase.completed:
        assert again == first
    else:
        assert first.phase is AnalysisPhase.RUNNING
    # The run's phase is the worst non-dry-run metric phase (Successful when all are dry runs).
    counted = [result.phase for result in first.metric_results if result.name not in dry]
    expected = AnalysisPhase.SUCCESSFUL
    for phase in counted:
        if analysis.is_worse(phase, expected):
            expected = phase
    if first.phase is not AnalysisPhase.RUNNING:
        assert first.phase is expected
    summary = first.run_summary
    assert summary.count == len(metric_list) - len(dry)
    assert summary.successful + summary.failed + summary.inconclusive + summary.error <= summary.count
