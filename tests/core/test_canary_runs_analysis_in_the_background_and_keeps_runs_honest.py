"""Background analysis, and the rules that keep a Rollout's AnalysisRuns honest.

Semantics 2.8 "How the Rollout reacts": a background run (`rollout-type: Background`) is created once the update
starts, from `startingStep` on; Failed/Error aborts, Inconclusive pauses, full promotion terminates it. Runs left over
from earlier steps or revisions are terminated; completed ones beyond the history limits are deleted. rollwave adds:
a run whose spec was edited, or whose Successful phase is not backed by its metrics, never promotes; a deleted run is
replaced, never read as a success.
"""

from __future__ import annotations

import datetime
from typing import Any

from rollouts.model import analysis
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

SECOND = datetime.timedelta(seconds=1)
STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "1m"}},
    {"setWeight": 50},
    {"pause": {}},
]


def with_background(starting_step: int | None = None, **extra: Any) -> sim.Cluster:
    background: dict[str, Any] = {"templates": [{"templateName": "error-rate"}]}
    if starting_step is not None:
        background["startingStep"] = starting_step
    background.update(extra)
    manifest = sim.rollout_manifest(replicas=10, steps=STEPS)
    manifest["spec"]["strategy"]["canary"]["analysis"] = background
    return sim.deployed(manifest, lag=1)


def background_runs(cluster: sim.Cluster) -> list[dict[str, Any]]:
    return [
        r for r in cluster.analysis_runs.values() if r["metadata"]["labels"]["rollout-type"] == "Background"
    ]


def test_the_initial_deploy_starts_no_background_run() -> None:
    cluster = with_background()
    assert cluster.analysis_runs == {}
    assert cluster.status.phase == model.RolloutPhase.HEALTHY


def test_an_update_starts_one_background_run_named_without_a_step() -> None:
    cluster = with_background()
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    [run] = background_runs(cluster)
    assert run["metadata"]["name"] == f"web-{v2}-2"
    assert "step-index" not in run["metadata"]["labels"]
    recorded = cluster.status.canary.current_background_analysis_run_status
    assert recorded is not None and recorded.name == run["metadata"]["name"]


def test_starting_step_holds_the_background_run_back_until_that_step() -> None:
    cluster = with_background(starting_step=2)
    cluster.set_image("web:v2")
    cluster.settle(follow_requeue=False)  # paused at step 1 (1 minute)
    assert cluster.status.current_step_index == 1
    assert background_runs(cluster) == []
    cluster.settle(follow_requeue=True, until=lambda c: c.status.current_step_index == 3)
    assert len(background_runs(cluster)) == 1


def test_a_failed_background_run_aborts_and_names_the_metric_and_value() -> None:
    cluster = with_background()
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    name = cluster.set_run_phase(
        "Failed",
        step_index=None,
        message='Metric "error-rate" assessed Failed due to failed (3) > failureLimit (2)',
        value="0.31",
    )
    decision = cluster.step(cluster.now + SECOND)
    assert decision.status.abort
    progressing = decision.status.condition("Progressing")
    assert progressing is not None and progressing.message == (
        "Rollout aborted update to revision 2: Background analysis phase failed: "
        'Metric "error-rate" assessed Failed due to failed (3) > failureLimit (2)'
    )
    [event] = [e for e in decision.events if e.reason == "AnalysisRunFailed"]
    assert event.warning
    assert event.message.startswith(f"Background Analysis Run '{name}' Status New: 'Failed'")
    assert event.message.endswith('metric "error-rate" Failed, last value 0.31')
    cluster.settle()
    assert cluster.split() == {v1: 10, v2: 0}
    assert cluster.status.phase == model.RolloutPhase.DEGRADED


def test_an_inconclusive_background_run_pauses_until_a_person_goes_on() -> None:
    cluster = with_background()
    cluster.set_image("web:v2")
    cluster.settle()
    cluster.set_run_phase("Inconclusive", step_index=None)
    cluster.settle(follow_requeue=True)
    assert cluster.status.phase == model.RolloutPhase.PAUSED
    assert model.PauseReason.INCONCLUSIVE_ANALYSIS_RUN in [p.reason for p in cluster.status.pause_conditions]
    cluster.clear_pause_conditions()
    cluster.settle(follow_requeue=True)
    # Acknowledged: it does not pause again for the same run, and the steps go on to the indefinite pause.
    assert [p.reason for p in cluster.status.pause_conditions] == [model.PauseReason.CANARY_PAUSE_STEP]
    assert cluster.status.current_step_index == 3


def test_full_promotion_terminates_the_background_run_and_clears_its_record() -> None:
    cluster = with_background()
    cluster.set_image("web:v2")
    cluster.settle()
    [run] = background_runs(cluster)
    cluster.promote_full()
    cluster.settle(follow_requeue=True)
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert run["spec"]["terminate"] is True
    assert cluster.status.canary.current_background_analysis_run_status is None


def test_a_new_revision_mid_rollout_terminates_the_old_revisions_runs() -> None:
    cluster = with_background()
    cluster.set_image("web:v2")
    cluster.settle()
    [old] = background_runs(cluster)
    cluster.set_image("web:v3")
    cluster.settle()
    v3 = cluster.status.current_pod_hash
    assert old["spec"]["terminate"] is True
    current = [r for r in background_runs(cluster) if not r["spec"].get("terminate")]
    assert [r["metadata"]["labels"]["rollouts-pod-template-hash"] for r in current] == [v3]


def test_a_run_whose_spec_was_edited_is_not_trusted_and_aborts() -> None:
    cluster = sim.deployed(
        sim.rollout_manifest(
            replicas=10,
            steps=[{"setWeight": 20}, {"analysis": {"templates": [{"templateName": "success-rate"}]}}],
        ),
        lag=1,
    )
    cluster.set_image("web:v2")
    cluster.settle()
    run = cluster.analysis_run(step_index=1)
    run["spec"]["metrics"][0]["successCondition"] = "true"  # someone makes the gate always pass
    cluster.set_run_phase("Successful", step_index=1)
    decision = cluster.step(cluster.now + SECOND)
    assert decision.status.abort
    recorded = decision.status.canary.current_step_analysis_run_status
    assert recorded is not None and recorded.status == analysis.AnalysisPhase.ERROR
    assert recorded.message == (
        f"AnalysisRun '{run['metadata']['name']}' cannot be trusted: its spec was changed after rollwave created it"
    )
    assert decision.status.current_step_index == 0


def test_a_successful_phase_without_successful_metrics_is_not_trusted() -> None:
    cluster = sim.deployed(
        sim.rollout_manifest(
            replicas=10,
            steps=[{"setWeight": 20}, {"analysis": {"templates": [{"templateName": "success-rate"}]}}],
        ),
        lag=1,
    )
    cluster.set_image("web:v2")
    cluster.settle()
    run = cluster.analysis_run(step_index=1)
    run["status"] = {"phase": "Successful"}  # written by hand: no metric results behind it
    decision = cluster.step(cluster.now + SECOND)
    assert decision.status.abort
    assert cluster.status.stable_rs != cluster.status.current_pod_hash


def test_a_deleted_run_is_replaced_with_a_warning_and_never_read_as_success() -> None:
    cluster = sim.deployed(
        sim.rollout_manifest(
            replicas=10,
            steps=[{"setWeight": 20}, {"analysis": {"templates": [{"templateName": "success-rate"}]}}],
        ),
        lag=1,
    )
    cluster.set_image("web:v2")
    cluster.settle()
    first = cluster.analysis_run(step_index=1)["metadata"]["name"]
    del cluster.analysis_runs[first]
    decision = cluster.step(cluster.now + SECOND)
    [event] = [e for e in decision.events if e.reason == "AnalysisRunDeleted"]
    assert event.warning and first in event.message
    assert decision.status.current_step_index == 1
    assert cluster.analysis_run(step_index=1)["metadata"]["name"] == first  # the name was free again
    assert cluster.status.stable_rs != cluster.status.current_pod_hash


def test_an_unrecorded_running_run_is_adopted_not_duplicated() -> None:
    cluster = sim.deployed(
        sim.rollout_manifest(
            replicas=10,
            steps=[{"setWeight": 20}, {"analysis": {"templates": [{"templateName": "success-rate"}]}}],
        ),
        lag=1,
    )
    cluster.set_image("web:v2")
    cluster.settle(until=lambda c: c.status.current_step_index == 1)
    cluster.crash_on.add(cluster.passes + 1)  # the pass that creates the run loses its status write
    cluster.step(cluster.now + SECOND)
    assert len(cluster.analysis_runs) == 1
    assert cluster.status.canary.current_step_analysis_run_status is None
    cluster.settle()
    assert len(cluster.analysis_runs) == 1
    recorded = cluster.status.canary.current_step_analysis_run_status
    assert recorded is not None and recorded.name in cluster.analysis_runs


def test_completed_runs_beyond_the_history_limits_are_deleted_oldest_first() -> None:
    manifest = sim.rollout_manifest(
        replicas=4,
        steps=[{"setWeight": 50}, {"analysis": {"templates": [{"templateName": "success-rate"}]}}],
        analysis={"successfulRunHistoryLimit": 2, "unsuccessfulRunHistoryLimit": 1},
    )
    cluster = sim.deployed(manifest, lag=1)
    names: list[str] = []
    for version in range(2, 6):
        cluster.set_image(f"web:v{version}")
        cluster.settle()
        names.append(cluster.set_run_phase("Successful", step_index=1))
        cluster.settle()
        cluster.advance(1)
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert sorted(cluster.analysis_runs) == sorted(names[-2:])
