"""progressDeadlineSeconds: no progress for that long -> Progressing False/ProgressDeadlineExceeded, Degraded.

Semantics 1.1 and 2.7 "Progress deadline": paused rollouts and pause/analysis steps do not count; the controller
requeues at lastUpdateTime + deadline; `progressDeadlineAbort` also aborts. 2.4: the message is
'ReplicaSet "x" has timed out progressing.'; 2.3 rule 2: phase Degraded "ProgressDeadlineExceeded: <msg>".
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.model import rollout as model
from tests.core import canary_sim as sim

DEADLINE = 60
SECOND = datetime.timedelta(seconds=1)


def update_with_stuck_pods(
    steps: list[dict[str, Any]] | None = None, **spec: Any
) -> tuple[sim.Cluster, str, str, datetime.datetime]:
    """v2's pods never become available; returns the cluster, hashes and the time of the last progress."""
    manifest = sim.rollout_manifest(
        replicas=10,
        steps=steps if steps is not None else [{"setWeight": 20}, {"pause": {}}],
        progressDeadlineSeconds=DEADLINE,
        **spec,
    )
    cluster = sim.deployed(manifest)
    v1 = cluster.status.stable_rs
    cluster.lag = sim.NEVER
    cluster.set_image("web:v2")
    cluster.settle(follow_requeue=False)
    v2 = cluster.status.current_pod_hash
    assert v1 is not None and v2 is not None
    assert cluster.available(v2) == 0
    last_progress = max(r.now for r in cluster.history if r.decision.effects)
    return cluster, v1, v2, last_progress


def progressing(status: model.RolloutStatus) -> model.Condition:
    condition = status.condition("Progressing")
    assert condition is not None
    return condition


def test_stuck_pods_exceed_the_deadline_and_degrade() -> None:
    cluster, _, v2, last_progress = update_with_stuck_pods()
    decision = cluster.step(last_progress + datetime.timedelta(seconds=DEADLINE - 1))
    assert progressing(decision.status).reason != "ProgressDeadlineExceeded"
    assert decision.status.phase == model.RolloutPhase.PROGRESSING
    assert decision.requeue_after == SECOND  # woken at lastUpdateTime + deadline

    decision = cluster.step(last_progress + datetime.timedelta(seconds=DEADLINE + 1))
    condition = progressing(decision.status)
    message = f'ReplicaSet "web-{v2}" has timed out progressing.'
    assert (condition.status, condition.reason, condition.message) == (
        model.ConditionStatus.FALSE,
        "ProgressDeadlineExceeded",
        message,
    )
    assert (decision.status.phase, decision.status.message) == (
        model.RolloutPhase.DEGRADED,
        f"ProgressDeadlineExceeded: {message}",
    )
    assert not decision.status.abort
    assert [e.warning for e in decision.events if e.reason == "RolloutTimedOut"] == [True]


def test_the_wait_requeues_for_exactly_the_rest_of_the_deadline() -> None:
    cluster, _, _, last_progress = update_with_stuck_pods()
    decision = cluster.step(last_progress + datetime.timedelta(seconds=20))
    assert decision.requeue_after == datetime.timedelta(seconds=DEADLINE - 20)


def test_it_stays_degraded_and_recovers_once_pods_come_up() -> None:
    cluster, v1, v2, last_progress = update_with_stuck_pods()
    cluster.step(last_progress + datetime.timedelta(seconds=DEADLINE + 1))
    cluster.step(cluster.now + datetime.timedelta(hours=1))
    assert cluster.status.phase == model.RolloutPhase.DEGRADED
    assert len(cluster.events_with("RolloutTimedOut")) == 1
    cluster.lag = 0
    cluster.make_pods_ready()
    cluster.settle()
    status = cluster.status
    assert (status.phase, status.current_step_index) == (model.RolloutPhase.PAUSED, 1)
    assert progressing(status).reason != "ProgressDeadlineExceeded"
    assert cluster.split() == {v1: 8, v2: 2}


def test_with_progress_deadline_abort_the_update_is_aborted() -> None:
    cluster, v1, v2, last_progress = update_with_stuck_pods(progressDeadlineAbort=True)
    cluster.step(last_progress + datetime.timedelta(seconds=DEADLINE + 1))
    assert cluster.status.abort
    assert cluster.status.phase == model.RolloutPhase.DEGRADED
    cluster.settle()
    status = cluster.status
    assert status.abort
    assert status.phase == model.RolloutPhase.DEGRADED
    assert status.message is not None and status.message.startswith("RolloutAborted:")
    assert len(cluster.events_with("RolloutAborted")) == 1
    assert cluster.split() == {v1: 10, v2: 0}
    assert cluster.service_hash("web-canary") == v1


@pytest.mark.parametrize(
    ("lag", "exceeded"),
    [pytest.param(40, False, id="each-step-within-the-deadline"), pytest.param(70, True, id="too-slow")],
)
def test_each_step_of_progress_restarts_the_clock(lag: int, exceeded: bool) -> None:
    steps = [{"setWeight": 20}, {"setWeight": 40}, {"setWeight": 60}, {"setWeight": 80}]
    manifest = sim.rollout_manifest(replicas=10, steps=steps, progressDeadlineSeconds=DEADLINE)
    cluster = sim.Cluster(manifest, lag=lag)  # one pass per second: pods take `lag` seconds
    cluster.settle(until=lambda c: c.status.phase == model.RolloutPhase.DEGRADED)
    if exceeded:
        assert progressing(cluster.status).reason == "ProgressDeadlineExceeded"
        return
    cluster.set_image("web:v2")
    cluster.settle(until=lambda c: c.status.phase == model.RolloutPhase.DEGRADED)
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.now - cluster.history[0].now > datetime.timedelta(seconds=4 * DEADLINE)
    reasons = {r.decision.status.condition("Progressing").reason for r in cluster.history}  # type: ignore[union-attr]
    assert "ProgressDeadlineExceeded" not in reasons


def test_a_timed_pause_longer_than_the_deadline_does_not_count() -> None:
    steps: list[dict[str, Any]] = [{"setWeight": 20}, {"pause": {"duration": "10m"}}, {"setWeight": 50}]
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=steps, progressDeadlineSeconds=DEADLINE))
    cluster.set_image("web:v2")
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert not cluster.events_with("RolloutTimedOut")
    assert (
        cluster.events_with("RolloutStepCompleted")[1].message == "Rollout step 2/3 completed (pause: 600s)"
    )


def test_an_indefinite_pause_of_an_hour_does_not_count() -> None:
    cluster, _, _, _ = update_with_stuck_pods()
    cluster.lag = 0
    cluster.make_pods_ready()
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.PAUSED
    decision = cluster.step(cluster.now + datetime.timedelta(hours=1))
    assert decision.status.phase == model.RolloutPhase.PAUSED
    assert decision.requeue_after is None
    cluster.promote()
    cluster.settle()
    final = cluster.status
    assert final.phase == model.RolloutPhase.HEALTHY
    assert not cluster.events_with("RolloutTimedOut")


def test_a_manual_pause_does_not_count() -> None:
    cluster, _, _, last_progress = update_with_stuck_pods()
    cluster.set_paused(True)
    cluster.step(last_progress + datetime.timedelta(seconds=10))
    decision = cluster.step(last_progress + datetime.timedelta(hours=1))
    assert (decision.status.phase, decision.status.message) == (model.RolloutPhase.PAUSED, "manually paused")
    cluster.set_paused(False)
    resumed = last_progress + datetime.timedelta(hours=1, seconds=1)
    decision = cluster.step(resumed)
    assert decision.status.phase != model.RolloutPhase.DEGRADED
    assert progressing(decision.status).reason != "ProgressDeadlineExceeded"
    # The clock starts again at the resume.
    decision = cluster.step(resumed + datetime.timedelta(seconds=DEADLINE + 1))
    assert progressing(decision.status).reason == "ProgressDeadlineExceeded"


def test_an_analysis_step_waiting_for_its_run_does_not_count() -> None:
    steps: list[dict[str, Any]] = [
        {"setWeight": 20},
        {"analysis": {"templates": [{"templateName": "t"}]}},
        {"setWeight": 50},
    ]
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=steps, progressDeadlineSeconds=DEADLINE))
    cluster.set_image("web:v2")
    cluster.settle(follow_requeue=False)
    assert cluster.status.current_step_index == 1
    decision = cluster.step(cluster.now + datetime.timedelta(hours=1))
    assert progressing(decision.status).reason != "ProgressDeadlineExceeded"
    assert decision.status.phase != model.RolloutPhase.DEGRADED
