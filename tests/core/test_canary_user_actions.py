"""What people do to a Rollout mid-update: promote --full, pause (spec.paused), scale spec.replicas.

Semantics 2.7 "Promote": promoteFull clears pause and abort, jumps to the last step and promotes once the new
RS is available, with event RolloutCompleted "...: Full promotion requested". 1.1 / 2.3 rule 3: spec.paused
means no scaling or step progress, phase Paused "manually paused". 2.5: the split follows spec.replicas.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.core import decisions, replicas
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "30s"}},
    {"setWeight": 50},
    {"pause": {}},
]
SECOND = datetime.timedelta(seconds=1)
SCALING = (decisions.CreateReplicaSet, decisions.ScaleReplicaSet, decisions.DeleteReplicaSet)


def updated(*, until_index: int, lag: int = 1, total: int = 10) -> tuple[sim.Cluster, str, str]:
    cluster = sim.deployed(sim.rollout_manifest(replicas=total, steps=STEPS), lag=lag)
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle(
        until=lambda c: c.status.current_step_index == until_index and bool(c.status.pause_conditions)
    )
    v2 = cluster.status.current_pod_hash
    assert v1 is not None and v2 is not None
    return cluster, v1, v2


class TestPromoteFull:
    def test_from_the_indefinite_pause_goes_to_full_and_healthy(self) -> None:
        cluster, v1, v2 = updated(until_index=3)
        cluster.promote_full()
        cluster.settle()
        status = cluster.status
        assert (status.phase, status.stable_rs) == (model.RolloutPhase.HEALTHY, v2)
        assert not status.promote_full
        assert status.current_step_index == len(STEPS)
        assert cluster.split() == {v1: 0, v2: 10}
        completed = cluster.events_with("RolloutCompleted")[-1]
        assert completed.message == f"Rollout completed update to revision 2 ({v2}): Full promotion requested"
        # No remaining step was walked.
        assert "Rollout step 4/4 completed (pause)" not in [e.message for e in cluster.events]
        sim.assert_within_budget(cluster, max_surge=3, max_unavailable=2)

    def test_from_the_first_step_skips_the_timed_pause(self) -> None:
        cluster, v1, v2 = updated(until_index=1)
        cluster.promote_full()
        cluster.settle(follow_requeue=False)
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        assert cluster.split() == {v1: 0, v2: 10}
        assert not cluster.events_with("RolloutResumed")

    def test_clears_the_pause_and_jumps_to_the_last_step_at_once(self) -> None:
        cluster, _, _ = updated(until_index=3)
        cluster.promote_full()
        decision = cluster.step(cluster.now + SECOND)
        status = decision.status
        assert not status.pause_conditions
        assert status.phase != model.RolloutPhase.PAUSED
        assert status.current_step_index == len(STEPS)

    def test_after_abort_promotes_the_new_revision(self) -> None:
        cluster, v1, v2 = updated(until_index=3)
        cluster.abort()
        cluster.settle()
        cluster.promote_full()
        cluster.settle()
        status = cluster.status
        assert not status.abort
        assert (status.phase, status.stable_rs) == (model.RolloutPhase.HEALTHY, v2)
        assert cluster.split() == {v1: 0, v2: 10}


class TestManualPause:
    def test_pausing_mid_update_stops_scaling_and_steps(self) -> None:
        cluster, v1, v2 = updated(until_index=1, lag=2)
        cluster.set_paused(True)
        split = cluster.split()
        for seconds in (1, 31, 3600):
            decision = cluster.step(cluster.now + datetime.timedelta(seconds=seconds))
            assert not [e for e in decision.effects if isinstance(e, SCALING)]
            assert (decision.status.phase, decision.status.message) == (
                model.RolloutPhase.PAUSED,
                "manually paused",
            )
            assert decision.status.current_step_index == 1
        assert cluster.split() == split
        paused = cluster.status.condition("Paused")
        assert paused is not None and paused.status == model.ConditionStatus.TRUE

        cluster.promote()  # unpauses, and promotes past the pause step
        assert cluster.spec.get("paused") is False
        cluster.settle()
        assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 3)
        assert cluster.split() == {v1: 5, v2: 5}

    def test_pausing_while_the_canary_is_still_scaling_holds_the_split(self) -> None:
        cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=STEPS, max_surge=1, max_unavailable=0))
        v1 = cluster.status.stable_rs
        cluster.set_image("web:v2")
        cluster.step(cluster.now + SECOND)
        cluster.set_paused(True)
        split = cluster.split()
        for _ in range(5):
            decision = cluster.step(cluster.now + SECOND)
            assert not [e for e in decision.effects if isinstance(e, SCALING)]
        assert cluster.split() == split
        cluster.set_paused(False)
        cluster.settle(follow_requeue=False)
        v2 = cluster.status.current_pod_hash
        assert cluster.split() == {v1: 8, v2: 2}

    def test_a_new_template_while_paused_creates_nothing(self) -> None:
        cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=STEPS))
        cluster.set_paused(True)
        cluster.set_image("web:v2")
        decision = cluster.step(cluster.now + SECOND)
        assert not [e for e in decision.effects if isinstance(e, SCALING)]
        assert (decision.status.phase, decision.status.message) == (
            model.RolloutPhase.PAUSED,
            "manually paused",
        )
        assert len(cluster.replica_sets) == 1

    def test_a_paused_healthy_rollout_reads_paused(self) -> None:
        cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=STEPS))
        cluster.set_paused(True)
        decision = cluster.step(cluster.now + SECOND)
        assert decision.effects == ()
        assert (decision.status.phase, decision.status.message) == (
            model.RolloutPhase.PAUSED,
            "manually paused",
        )
        cluster.set_paused(False)
        decision = cluster.step(cluster.now + SECOND)
        assert decision.status.phase == model.RolloutPhase.HEALTHY


class TestScalingMidUpdate:
    @pytest.mark.parametrize(
        ("until_index", "weight", "new_total", "surge"),
        [
            pytest.param(1, 20, 20, 5, id="20pct-10-to-20"),
            pytest.param(3, 50, 4, 1, id="50pct-10-to-4"),
            pytest.param(3, 50, 15, 4, id="50pct-10-to-15"),
            pytest.param(1, 20, 3, 1, id="20pct-10-to-3"),
        ],
    )
    def test_the_split_keeps_the_weight(
        self, until_index: int, weight: int, new_total: int, surge: int
    ) -> None:
        cluster, v1, v2 = updated(until_index=until_index)
        cluster.scale(new_total)
        cluster.settle(follow_requeue=False)
        canary_pods, stable_pods = replicas.approximate_weighted_counts(
            replicas=new_total, weight=weight, max_surge=surge
        )
        assert cluster.split() == {v1: stable_pods, v2: canary_pods}
        status = cluster.status
        assert status.current_step_index == until_index
        assert status.phase == model.RolloutPhase.PAUSED
        assert status.stable_rs == v1

    def test_scaling_up_then_finishing_ends_at_the_new_size(self) -> None:
        cluster, v1, v2 = updated(until_index=3)
        cluster.scale(12)
        cluster.promote()
        cluster.settle()
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        assert cluster.split() == {v1: 0, v2: 12}
        assert cluster.status.available_replicas == 12

    def test_scaling_a_healthy_rollout_scales_its_only_replica_set(self) -> None:
        cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=STEPS))
        v1 = cluster.status.stable_rs
        cluster.scale(7)
        cluster.settle()
        assert cluster.split() == {v1: 7}
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        assert not cluster.events_with("RolloutUpdated")


def test_a_step_pause_left_past_the_last_step_is_dropped() -> None:
    """A status written from a stale read can leave a CanaryPauseStep behind a finished rollout; it must not hold it."""
    cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=[{"setWeight": 50}, {"pause": {}}]))
    cluster.set_image("web:v2")
    cluster.settle(max_passes=30)
    cluster.promote()
    cluster.settle(max_passes=30)
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    stray = {"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}
    cluster.rollout["status"]["pauseConditions"] = [stray]
    cluster.rollout["status"]["controllerPause"] = True
    cluster.step()
    assert cluster.status.pause_conditions == ()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
