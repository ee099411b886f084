"""Abort sends everything back to stable and leaves the Rollout Degraded; retry restarts the steps.

Semantics 2.7 "Abort": `status.abort` stays true, pauseConditions cleared, `currentStepIndex = 0`, condition
Progressing False/RolloutAborted, phase Degraded; a basic canary scales the canary RS to 0 and the stable back to R
within the surge/unavailable budget; canaryService -> stable hash. Retry (`abort: false`) starts from step 0.
A new template clears abort (2.7 "New template"); the stable template makes the Rollout Healthy again.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.model import rollout as model
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "30s"}},
    {"setWeight": 50},
    {"pause": {}},
]
SECOND = datetime.timedelta(seconds=1)


def at_fifty_percent(lag: int = 1) -> tuple[sim.Cluster, str, str]:
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=STEPS), lag=lag)
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert v1 is not None and v2 is not None
    assert cluster.split() == {v1: 5, v2: 5}
    assert cluster.status.current_step_index == 3
    return cluster, v1, v2


def test_abort_is_recorded_on_the_first_pass() -> None:
    cluster, _, _ = at_fifty_percent()
    cluster.abort()
    decision = cluster.step(cluster.now + SECOND)

    status = decision.status
    assert status.abort
    assert status.aborted_at == cluster.now
    assert not status.pause_conditions
    assert not status.controller_pause
    assert status.current_step_index == 0
    progressing = status.condition("Progressing")
    assert progressing is not None
    assert (progressing.status, progressing.reason) == (model.ConditionStatus.FALSE, "RolloutAborted")
    assert progressing.message.startswith("Rollout aborted update to revision 2")
    assert status.phase == model.RolloutPhase.DEGRADED
    assert status.message is not None and status.message.startswith("RolloutAborted: ")
    aborted = [e for e in decision.events if e.reason == "RolloutAborted"]
    assert len(aborted) == 1 and aborted[0].warning
    assert status.canary.weights is not None and status.canary.weights.canary.weight == 0


def test_abort_drains_the_canary_within_budget_and_points_both_services_at_stable() -> None:
    cluster, v1, v2 = at_fifty_percent()
    history_before = len(cluster.history)
    cluster.abort()
    cluster.settle()

    assert cluster.split() == {v1: 10, v2: 0}
    assert cluster.available(v1) == 10
    assert cluster.service_hash("web-canary") == v1
    assert cluster.service_hash("web-stable") == v1
    status = cluster.status
    assert status.abort  # stays set until retry or a new template
    assert status.stable_rs == v1
    assert status.current_pod_hash == v2
    assert status.phase == model.RolloutPhase.DEGRADED
    assert status.message is not None and status.message.startswith("RolloutAborted:")
    assert len(cluster.events_with("RolloutAborted")) == 1
    # Over several passes, never more than R+S pods nor fewer than R-U available.
    abort_passes = cluster.history[history_before:]
    assert len(abort_passes) > 2
    sim.assert_within_budget(cluster, max_surge=3, max_unavailable=2)
    # The abort never promotes anything.
    assert not [e for e in cluster.events if e.reason == "RolloutCompleted" and v2 in e.message]


def test_abort_keeps_the_aborted_at_time_of_the_first_pass() -> None:
    cluster, _, _ = at_fifty_percent()
    cluster.abort()
    cluster.step(cluster.now + SECOND)
    first = cluster.status.aborted_at
    cluster.settle()
    cluster.step(cluster.now + datetime.timedelta(hours=1))
    assert cluster.status.aborted_at == first


def test_abort_before_the_canary_has_available_pods_removes_them_at_once() -> None:
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=STEPS))
    v1 = cluster.status.stable_rs
    cluster.lag = sim.NEVER
    cluster.set_image("web:v2")
    cluster.step(cluster.now + SECOND)
    cluster.step(cluster.now + SECOND)
    v2 = cluster.status.current_pod_hash
    assert cluster.spec_replicas(v2) == 2 and cluster.available(v2) == 0
    cluster.lag = 0
    cluster.abort()
    cluster.settle()
    assert cluster.split() == {v1: 10, v2: 0}
    assert cluster.service_hash("web-canary") == v1
    assert cluster.status.phase == model.RolloutPhase.DEGRADED


def test_retry_restarts_the_steps_from_zero_and_pauses_at_the_first_pause() -> None:
    cluster, v1, v2 = at_fifty_percent()
    cluster.abort()
    cluster.settle()
    cluster.retry()
    cluster.settle(follow_requeue=False)

    status = cluster.status
    assert not status.abort
    assert status.current_step_index == 1
    assert (status.phase, status.message) == (model.RolloutPhase.PAUSED, "CanaryPauseStep")
    assert cluster.split() == {v1: 8, v2: 2}
    assert cluster.service_hash("web-canary") == v2
    progressing = status.condition("Progressing")
    assert progressing is not None and progressing.reason != "RolloutAborted"
    # ... and then completes like any update.
    cluster.settle()
    cluster.promote()
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.status.stable_rs == v2
    assert cluster.split() == {v1: 0, v2: 10}


def test_retry_is_reported_with_a_rollout_retry_condition() -> None:
    cluster, _, _ = at_fifty_percent()
    cluster.abort()
    cluster.settle()
    cluster.retry()
    decision = cluster.step(cluster.now + SECOND)
    assert not decision.status.abort
    assert decision.status.phase != model.RolloutPhase.DEGRADED
    assert "RolloutRetry" in [e.reason for e in decision.events]


def test_a_new_template_after_abort_clears_abort_and_starts_a_fresh_update() -> None:
    cluster, v1, v2 = at_fifty_percent()
    cluster.abort()
    cluster.settle()
    cluster.set_image("web:v3")
    decision = cluster.step(cluster.now + SECOND)
    assert not decision.status.abort
    assert decision.status.current_step_index == 0
    assert decision.status.phase != model.RolloutPhase.DEGRADED

    cluster.settle(follow_requeue=False)
    v3 = cluster.status.current_pod_hash
    assert v3 not in (v1, v2)
    assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 1)
    assert cluster.split() == {v1: 8, v2: 0, v3: 2}


def test_going_back_to_the_stable_template_after_abort_is_healthy_again() -> None:
    cluster, v1, v2 = at_fifty_percent()
    cluster.abort()
    cluster.settle()
    cluster.set_image("web:v1")
    cluster.settle()
    status = cluster.status
    assert status.current_pod_hash == v1
    assert not status.abort
    assert (status.phase, status.message) == (model.RolloutPhase.HEALTHY, "")
    assert cluster.split() == {v1: 10, v2: 0}


def test_abort_of_a_rollout_that_is_not_updating_changes_nothing() -> None:
    cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=STEPS))
    before = cluster.split()
    cluster.abort()
    decision = cluster.step(cluster.now + SECOND)
    assert decision.effects == ()
    assert not decision.status.abort
    assert decision.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.split() == before


@pytest.mark.parametrize(
    ("max_surge", "max_unavailable", "surge", "unavailable"),
    [
        pytest.param(0, 1, 0, 1, id="no-surge"),
        pytest.param(1, 0, 1, 0, id="no-unavailable"),
        pytest.param("100%", "0%", 10, 0, id="full-surge"),
    ],
)
def test_abort_respects_tight_budgets(
    max_surge: int | str, max_unavailable: int | str, surge: int, unavailable: int
) -> None:
    cluster = sim.deployed(
        sim.rollout_manifest(replicas=10, steps=STEPS, max_surge=max_surge, max_unavailable=max_unavailable),
        lag=1,
    )
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    cluster.abort()
    cluster.settle()
    assert cluster.split() == {v1: 10, v2: 0}
    sim.assert_within_budget(cluster, max_surge=surge, max_unavailable=unavailable)
