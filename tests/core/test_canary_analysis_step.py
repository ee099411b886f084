"""An analysis step waits for its AnalysisRun: Successful moves on, Failed/Error aborts, Inconclusive pauses.

Semantics 0.6 and 2.8 "How the Rollout reacts": step AR Successful -> the step completes; Failed/Error -> abort
with Progressing False/RolloutAborted "Rollout aborted update to revision N: Step-based analysis phase
error/failed: <AR message>"; Inconclusive -> pause `InconclusiveAnalysisRun`, phase Paused. 1.10 promote.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.model import analysis
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"analysis": {"templates": [{"templateName": "success-rate"}]}},
    {"setWeight": 60},
    {"pause": {}},
]
SECOND = datetime.timedelta(seconds=1)
ANALYSIS_INDEX = 1


def at_the_analysis_step() -> tuple[sim.Cluster, str, str]:
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=STEPS), lag=1)
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert v1 is not None and v2 is not None
    assert cluster.status.current_step_index == ANALYSIS_INDEX
    return cluster, v1, v2


def run(cluster: sim.Cluster, phase: str, message: str = "", value: str | None = None) -> str:
    return cluster.set_run_phase(phase, step_index=ANALYSIS_INDEX, message=message, value=value)


def test_reaching_the_step_creates_its_run_named_and_labelled_like_argo() -> None:
    cluster, _, v2 = at_the_analysis_step()
    [created] = cluster.analysis_runs.values()
    meta = created["metadata"]
    assert meta["name"] == f"web-{v2}-2-{ANALYSIS_INDEX}"
    assert meta["labels"]["rollout-type"] == "Step"
    assert meta["labels"]["step-index"] == str(ANALYSIS_INDEX)
    assert meta["labels"]["rollouts-pod-template-hash"] == v2
    assert meta["annotations"]["rollout.argoproj.io/revision"] == "2"
    assert meta["ownerReferences"][0]["kind"] == "Rollout" and meta["ownerReferences"][0]["controller"]
    assert [m["name"] for m in created["spec"]["metrics"]] == ["success-rate"]
    recorded = cluster.status.canary.current_step_analysis_run_status
    assert recorded is not None and recorded.name == meta["name"]


def test_while_the_run_has_no_result_the_step_waits() -> None:
    cluster, v1, v2 = at_the_analysis_step()
    for seconds in (1, 60, 3600):
        decision = cluster.step(cluster.now + datetime.timedelta(seconds=seconds))
        assert decision.status.current_step_index == ANALYSIS_INDEX
        assert decision.effects == ()
        assert decision.status.phase == model.RolloutPhase.PROGRESSING
    assert cluster.split() == {v1: 8, v2: 2}


@pytest.mark.parametrize("phase", ["Pending", "Running"])
def test_an_unfinished_run_is_recorded_and_waited_for(phase: str) -> None:
    cluster, _, _ = at_the_analysis_step()
    name = run(cluster, phase)
    decision = cluster.step(cluster.now + SECOND)
    assert decision.status.current_step_index == ANALYSIS_INDEX
    recorded = decision.status.canary.current_step_analysis_run_status
    assert recorded is not None
    assert (recorded.name, recorded.status) == (name, analysis.AnalysisPhase(phase))
    assert decision.status.phase == model.RolloutPhase.PROGRESSING


def test_a_successful_run_completes_the_step() -> None:
    cluster, v1, v2 = at_the_analysis_step()
    run(cluster, "Successful")
    decision = cluster.step(cluster.now + SECOND)
    assert decision.status.current_step_index == ANALYSIS_INDEX + 1
    completed = [e.message for e in decision.events if e.reason == "RolloutStepCompleted"]
    assert len(completed) == 1 and completed[0].startswith("Rollout step 2/4 completed")
    cluster.settle()
    assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 3)
    assert cluster.split() == {v1: 4, v2: 6}


@pytest.mark.parametrize(("phase", "word"), [("Failed", "failed"), ("Error", "error")])
def test_a_failed_or_errored_run_aborts(phase: str, word: str) -> None:
    cluster, v1, v2 = at_the_analysis_step()
    why = 'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)'
    name = run(cluster, phase, why, value="0.42")
    decision = cluster.step(cluster.now + SECOND)

    status = decision.status
    assert status.abort
    assert status.phase == model.RolloutPhase.DEGRADED
    progressing = status.condition("Progressing")
    assert progressing is not None
    assert (progressing.status, progressing.reason) == (model.ConditionStatus.FALSE, "RolloutAborted")
    assert (
        progressing.message
        == f"Rollout aborted update to revision 2: Step-based analysis phase {word}: {why}"
    )
    assert status.message == f"RolloutAborted: {progressing.message}"
    reasons = [e.reason for e in decision.events]
    [run_event] = [e for e in decision.events if e.reason == f"AnalysisRun{phase}"]
    assert run_event.message == (
        f"Step Analysis Run '{name}' Status New: '{phase}' Previous: 'Pending': "
        f'metric "success-rate" {phase}, last value 0.42'
    )
    assert reasons.count("RolloutAborted") == 1
    assert all(e.warning for e in decision.events if e.reason in ("RolloutAborted", f"AnalysisRun{phase}"))
    recorded = status.canary.current_step_analysis_run_status
    assert recorded is not None and recorded.status == analysis.AnalysisPhase(phase)

    cluster.settle()
    assert cluster.split() == {v1: 10, v2: 0}
    assert cluster.service_hash("web-canary") == v1
    assert cluster.status.phase == model.RolloutPhase.DEGRADED
    assert len(cluster.events_with("RolloutAborted")) == 1


def test_an_inconclusive_run_pauses() -> None:
    cluster, v1, v2 = at_the_analysis_step()
    run(cluster, "Inconclusive")
    decision = cluster.step(cluster.now + SECOND)
    status = decision.status
    assert (status.phase, status.message) == (model.RolloutPhase.PAUSED, "InconclusiveAnalysisRun")
    assert [p.reason for p in status.pause_conditions] == [model.PauseReason.INCONCLUSIVE_ANALYSIS_RUN]
    assert status.controller_pause
    assert not status.abort
    assert "RolloutPaused" in [e.reason for e in decision.events]
    # It stays paused.
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.PAUSED
    assert cluster.status.current_step_index == ANALYSIS_INDEX
    assert len(cluster.events_with("RolloutPaused")) == 1
    assert cluster.split() == {v1: 8, v2: 2}


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("cli", id="promote-clears-controller-pause-and-steps-on"),
        pytest.param("clear", id="only-pause-conditions-cleared"),
    ],
)
def test_promoting_an_inconclusive_step_moves_on(how: str) -> None:
    cluster, v1, v2 = at_the_analysis_step()
    run(cluster, "Inconclusive")
    cluster.settle()
    if how == "cli":
        cluster.promote()
    else:
        cluster.clear_pause_conditions()
    cluster.settle()
    status = cluster.status
    assert (status.phase, status.current_step_index) == (model.RolloutPhase.PAUSED, 3)
    assert [p.reason for p in status.pause_conditions] == [model.PauseReason.CANARY_PAUSE_STEP]
    assert cluster.split() == {v1: 4, v2: 6}


def test_promote_during_a_running_analysis_skips_it() -> None:
    cluster, v1, v2 = at_the_analysis_step()
    running = run(cluster, "Running")
    cluster.step(cluster.now + SECOND)
    cluster.promote()  # no pause condition: the CLI steps the index forward
    cluster.settle()
    assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 3)
    assert cluster.split() == {v1: 4, v2: 6}
    # The skipped run decides nothing any more: it is stopped.
    assert cluster.analysis_runs[running]["spec"].get("terminate") is True
    assert cluster.status.canary.current_step_analysis_run_status is None


def test_retry_after_a_failed_analysis_walks_the_steps_again() -> None:
    cluster, v1, v2 = at_the_analysis_step()
    failed = run(cluster, "Failed", "bad")
    cluster.settle()
    assert cluster.status.abort
    cluster.retry()
    cluster.settle()
    assert not cluster.status.abort
    assert cluster.status.current_step_index == ANALYSIS_INDEX
    assert cluster.split() == {v1: 8, v2: 2}
    # The failed run is not read again: the retried step has a run of its own, with Argo's suffix.
    retried = cluster.analysis_run(step_index=ANALYSIS_INDEX)["metadata"]["name"]
    assert retried == f"{failed}.1"
    assert cluster.analysis_runs[failed]["status"]["phase"] == "Failed"
    run(cluster, "Successful")
    cluster.settle()
    cluster.promote()
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.split() == {v1: 0, v2: 10}
