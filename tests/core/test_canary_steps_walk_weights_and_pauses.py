"""A canary update walks its steps: pod split per setWeight, Services, timed and indefinite pauses, promotion.

Semantics 2.5 (setWeight -> replica counts, basic canary), 2.6 (Services), 2.7 (pause step, promote, full
promotion), 2.3 (phase). Expected splits come from `replicas.approximate_weighted_counts`, the golden-tested
nearest-ratio rule, not from the decision code under test.
"""

from __future__ import annotations

import datetime
import os
import pathlib
from typing import Any

import pytest
import yaml

from rollouts.core import decisions, replicas
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

EXAMPLES = pathlib.Path(
    os.environ.get(
        "ROLLWAVE_ARGO_EXAMPLES", pathlib.Path(__file__).resolve().parents[3] / "shared" / "argo-examples"
    )
)
STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "30s"}},
    {"setWeight": 50},
    {"pause": {}},
]
SECOND = datetime.timedelta(seconds=1)


def expected_split(total: int, weight: int, *, max_surge: int) -> tuple[int, int]:
    return replicas.approximate_weighted_counts(replicas=total, weight=weight, max_surge=max_surge)


def updated(lag: int = 0, **manifest: Any) -> tuple[sim.Cluster, str, str]:
    """A Healthy v1 updated to v2 and reconciled once; returns the cluster and the two hashes."""
    cluster = sim.deployed(sim.rollout_manifest(**manifest), lag=lag)
    v1 = cluster.status.stable_rs
    assert v1 is not None
    cluster.set_image("web:v2")
    decision = cluster.step(cluster.now + SECOND)
    v2 = decision.status.current_pod_hash
    assert v2 is not None and v2 != v1
    return cluster, v1, v2


class TestTenReplicasTwentyPauseFiftyPause:
    """10 replicas, default maxSurge 25% (3) and maxUnavailable 25% (2)."""

    def test_walks_every_step_with_the_expected_split_services_and_phase(self) -> None:
        cluster, v1, v2 = updated(lag=1, replicas=10, steps=STEPS)
        assert cluster.status.current_step_index == 0
        assert cluster.events_with("RolloutUpdated")

        # setWeight 20 -> 2 canary / 8 stable, then the 30s pause.
        cluster.settle(follow_requeue=False)
        canary_pods, stable_pods = expected_split(10, 20, max_surge=3)
        assert (canary_pods, stable_pods) == (2, 8)
        assert cluster.split() == {v1: stable_pods, v2: canary_pods}
        assert (cluster.available(v1), cluster.available(v2)) == (stable_pods, canary_pods)
        status = cluster.status
        assert status.current_step_index == 1
        assert (status.phase, status.message) == (model.RolloutPhase.PAUSED, "CanaryPauseStep")
        assert [p.reason for p in status.pause_conditions] == [model.PauseReason.CANARY_PAUSE_STEP]
        assert status.controller_pause
        assert status.stable_rs == v1
        assert cluster.service_hash("web-stable") == v1
        assert cluster.service_hash("web-canary") == v2
        assert (status.updated_replicas, status.available_replicas) == (2, 10)
        assert status.canary.weights is not None
        assert status.canary.weights.canary.weight == 20
        assert status.canary.weights.stable.weight == 80
        conditions = {c.type: c.status.value for c in status.conditions}
        assert conditions["Paused"] == "True"
        assert conditions["Completed"] == "False"  # stableRS != currentPodHash
        assert conditions["Healthy"] == "False"
        assert conditions["Available"] == "True"  # 10 available pods over both ReplicaSets
        scaled = [e.message for e in cluster.events_with("ScalingReplicaSet")]
        assert f"Scaled down ReplicaSet web-{v1} (revision 1) from 10 to 8" in scaled

        # Then 50 -> 5/5 and the indefinite pause.
        cluster.settle()
        canary_pods, stable_pods = expected_split(10, 50, max_surge=3)
        assert cluster.split() == {v1: stable_pods, v2: canary_pods}
        status = cluster.status
        assert status.current_step_index == 3
        assert (status.phase, status.message) == (model.RolloutPhase.PAUSED, "CanaryPauseStep")

        # An hour later nothing has moved: the indefinite pause waits for a person.
        decision = cluster.step(cluster.now + datetime.timedelta(hours=1))
        assert decision.effects == ()
        assert decision.requeue_after is None
        assert cluster.status.phase == model.RolloutPhase.PAUSED
        assert cluster.status.current_step_index == 3

        cluster.promote()
        cluster.settle()
        status = cluster.status
        assert (status.phase, status.message) == (model.RolloutPhase.HEALTHY, "")
        assert status.stable_rs == v2
        assert status.current_pod_hash == v2
        assert status.current_step_index == len(STEPS)
        assert not status.pause_conditions
        assert not status.controller_pause
        assert cluster.split() == {v1: 0, v2: 10}
        assert cluster.available(v2) == 10
        assert cluster.service_hash("web-stable") == v2
        assert cluster.service_hash("web-canary") == v2
        conditions = {c.type: c.status.value for c in status.conditions}
        assert (conditions["Paused"], conditions["Completed"], conditions["Healthy"]) == (
            "False",
            "True",
            "True",
        )
        completed = cluster.events_with("RolloutCompleted")
        assert (
            completed[-1].message
            == f"Rollout completed update to revision 2 ({v2}): Completed all 4 canary steps"
        )
        steps = [e.message for e in cluster.events_with("RolloutStepCompleted")]
        assert steps == [
            "Rollout step 1/4 completed (setWeight: 20)",
            "Rollout step 2/4 completed (pause: 30s)",
            "Rollout step 3/4 completed (setWeight: 50)",
            "Rollout step 4/4 completed (pause)",
        ]
        sim.assert_within_budget(cluster, max_surge=3, max_unavailable=2)

    def test_the_canary_service_moves_only_once_the_canary_has_an_available_pod(self) -> None:
        cluster, v1, v2 = updated(lag=2, replicas=10, steps=STEPS)
        while cluster.available(v2) == 0:
            assert cluster.service_hash("web-canary") == v1
            cluster.step(cluster.now + SECOND)
        cluster.step(cluster.now + SECOND)
        assert cluster.service_hash("web-canary") == v2
        assert cluster.service_hash("web-stable") == v1
        switches = cluster.events_with("SwitchService")
        assert switches[-1].message == f"Switched selector for service 'web-canary' from '{v1}' to '{v2}'"

    def test_the_timed_pause_ends_exactly_at_its_duration_and_requeues_for_the_remainder(self) -> None:
        cluster, _, _ = updated(replicas=10, steps=STEPS)
        pause_decision = None
        for _ in range(20):
            decision = cluster.step(cluster.now + SECOND)
            if cluster.status.pause_conditions:
                pause_decision = decision
                break
        assert pause_decision is not None
        started = cluster.status.pause_conditions[0].start_time
        assert started == cluster.now
        assert pause_decision.requeue_after == datetime.timedelta(seconds=30)
        assert [e.reason for e in pause_decision.events] == ["RolloutPaused"]
        assert pause_decision.events[0].message == "Rollout is paused (CanaryPauseStep)"

        decision = cluster.step(started + datetime.timedelta(seconds=10))
        assert decision.requeue_after == datetime.timedelta(seconds=20)
        decision = cluster.step(started + datetime.timedelta(seconds=29))
        assert decision.requeue_after == SECOND
        assert cluster.status.current_step_index == 1
        assert cluster.status.phase == model.RolloutPhase.PAUSED
        assert not any(e.reason == "RolloutStepCompleted" for e in decision.events)

        decision = cluster.step(started + datetime.timedelta(seconds=30))
        assert cluster.status.current_step_index == 2
        assert not cluster.status.pause_conditions
        assert not cluster.status.controller_pause
        assert cluster.status.phase != model.RolloutPhase.PAUSED
        assert "Rollout step 2/4 completed (pause: 30s)" in [e.message for e in decision.events]
        assert decision.requeue_after == datetime.timedelta(0)

    def test_a_late_reconcile_after_the_pause_moves_one_step_only(self) -> None:
        cluster, _, _ = updated(replicas=10, steps=STEPS)
        cluster.settle(follow_requeue=False)
        assert cluster.status.current_step_index == 1
        decision = cluster.step(cluster.now + datetime.timedelta(hours=2))
        assert cluster.status.current_step_index == 2
        assert [e.message for e in decision.events if e.reason == "RolloutStepCompleted"] == [
            "Rollout step 2/4 completed (pause: 30s)"
        ]

    def test_promote_at_the_timed_pause_skips_the_rest_of_it(self) -> None:
        cluster, _, _ = updated(replicas=10, steps=STEPS)
        cluster.settle(follow_requeue=False)
        assert cluster.status.current_step_index == 1
        cluster.promote()
        cluster.step(cluster.now + SECOND)
        assert cluster.status.current_step_index == 2
        assert not cluster.status.pause_conditions

    def test_old_replica_set_keeps_its_revision_and_the_new_one_is_next(self) -> None:
        cluster, v1, v2 = updated(replicas=10, steps=STEPS)
        cluster.settle()
        assert (cluster.revision_of(v1), cluster.revision_of(v2)) == (1, 2)
        seen = {rs.pod_template_hash: rs.revision for rs in cluster.history[-1].view.replica_sets}
        assert seen == {v1: 1, v2: 2}  # as the next pass reads them back through ReplicaSetView

    def test_the_new_replica_set_is_created_once(self) -> None:
        cluster, _, v2 = updated(lag=2, replicas=10, steps=STEPS)
        cluster.settle()
        creates = [
            effect
            for record in cluster.history
            for effect in record.decision.effects
            if isinstance(effect, decisions.CreateReplicaSet) and effect.pod_template_hash == v2
        ]
        assert len(creates) == 1
        assert len(cluster.events_with("NewReplicaSetCreated")) == 2  # v1's and v2's


@pytest.mark.parametrize(
    ("max_surge", "max_unavailable", "surge", "unavailable"),
    [
        pytest.param(None, None, 3, 2, id="defaults-25pct"),
        pytest.param(1, 0, 1, 0, id="surge-1-unavailable-0"),
        pytest.param(0, 1, 0, 1, id="surge-0-unavailable-1"),
        pytest.param("50%", "10%", 5, 1, id="percentages"),
    ],
)
def test_the_split_at_each_weight_matches_the_nearest_ratio_rule(
    max_surge: int | str | None, max_unavailable: int | str | None, surge: int, unavailable: int
) -> None:
    steps = [{"setWeight": w} for w in (10, 30, 50, 90)]
    paused_steps: list[dict[str, Any]] = []
    for step in steps:
        paused_steps += [step, {"pause": {}}]
    cluster, v1, v2 = updated(
        lag=1, replicas=10, steps=paused_steps, max_surge=max_surge, max_unavailable=max_unavailable
    )
    for weight in (10, 30, 50, 90):
        cluster.settle()
        canary_pods, stable_pods = expected_split(10, weight, max_surge=surge)
        assert cluster.split() == {v1: stable_pods, v2: canary_pods}, weight
        assert cluster.status.phase == model.RolloutPhase.PAUSED
        cluster.promote()
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.split() == {v1: 0, v2: 10}
    sim.assert_within_budget(cluster, max_surge=surge, max_unavailable=unavailable)


def test_argo_example_rollout_canary_walks_20_40_60_80() -> None:
    """`rollout-canary.yaml`: 5 replicas (surge 2, unavailable 1) -> canary 1/2/3/4, stable 4/3/2/1."""
    manifest = yaml.safe_load((EXAMPLES / "rollout-canary.yaml").read_text())
    cluster = sim.deployed(manifest, lag=1)
    v1 = cluster.status.stable_rs
    cluster.set_image("argoproj/rollouts-demo:yellow")

    cluster.settle()  # setWeight 20, then the indefinite pause
    v2 = cluster.status.current_pod_hash
    assert cluster.split() == {v1: 4, v2: 1}
    assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 1)

    cluster.promote()
    seen: list[tuple[int, int]] = []
    paused_at: list[int] = []

    def record(c: sim.Cluster) -> bool:
        status = c.status
        if status.pause_conditions and status.current_step_index not in paused_at:
            paused_at.append(status.current_step_index or 0)
            seen.append((c.spec_replicas(v2), c.spec_replicas(v1)))
        return status.phase == model.RolloutPhase.HEALTHY

    cluster.settle(until=record)
    assert paused_at == [3, 5, 7]
    assert seen == [(2, 3), (3, 2), (4, 1)]
    for weight, (canary_pods, stable_pods) in zip((40, 60, 80), seen, strict=True):
        assert expected_split(5, weight, max_surge=2) == (canary_pods, stable_pods)
    assert cluster.status.stable_rs == v2
    assert cluster.split() == {v1: 0, v2: 5}
    sim.assert_within_budget(cluster, max_surge=2, max_unavailable=1)


def test_argo_example_getting_started_pauses_ten_seconds_each() -> None:
    """`getting-started-basic/rollout.yaml`: `pause: {duration: 10}` is ten seconds."""
    manifest = yaml.safe_load((EXAMPLES / "getting-started-basic" / "rollout.yaml").read_text())
    cluster = sim.deployed(manifest)
    v1 = cluster.status.stable_rs
    cluster.set_image("argoproj/rollouts-demo:yellow")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert cluster.split() == {v1: 4, v2: 1}
    cluster.promote()
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.split() == {v1: 0, v2: 5}
    starts = {}
    ends = {}
    for record in cluster.history:
        for event in record.decision.events:
            if event.reason == "RolloutPaused":
                starts[record.decision.status.current_step_index] = record.now
            if event.reason == "RolloutStepCompleted" and "(pause: 10s)" in event.message:
                ends[int(event.message.split()[2].split("/")[0]) - 1] = record.now
    assert sorted(ends) == [3, 5, 7]
    for index, ended in ends.items():
        assert ended - starts[index] == datetime.timedelta(seconds=10)


def test_argo_example_rolling_update_without_steps() -> None:
    """`rollout-rolling-update.yaml`: no steps, maxSurge 1 and maxUnavailable 1 over 5 replicas."""
    manifest = yaml.safe_load((EXAMPLES / "rollout-rolling-update.yaml").read_text())
    cluster = sim.deployed(manifest, lag=1)
    v1 = cluster.status.stable_rs
    cluster.set_image("argoproj/rollouts-demo:yellow")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    status = cluster.status
    assert (status.phase, status.stable_rs, status.current_step_index) == (
        model.RolloutPhase.HEALTHY,
        v2,
        None,
    )
    assert cluster.split() == {v1: 0, v2: 5}
    assert not cluster.events_with("RolloutStepCompleted")
    assert cluster.events_with("RolloutCompleted")[-1].message.endswith("Completed all 0 canary steps")
    sim.assert_within_budget(cluster, max_surge=1, max_unavailable=1)


def test_the_simulator_docstring_example() -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=10, steps=[{"setWeight": 20}, {"pause": {}}]))
    cluster.settle()
    v1 = cluster.status.stable_rs
    assert (cluster.status.phase, cluster.split()) == (model.RolloutPhase.HEALTHY, {v1: 10})
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert (cluster.status.phase, cluster.status.message) == (model.RolloutPhase.PAUSED, "CanaryPauseStep")
    assert cluster.split() == {v1: 8, v2: 2}
    cluster.promote()
    cluster.settle()
    assert (cluster.status.phase, cluster.split()) == (model.RolloutPhase.HEALTHY, {v1: 0, v2: 10})


def test_a_timed_pause_wakes_at_its_recorded_start_plus_duration() -> None:
    """Status stores the pause start to the second; the wake-up is computed from that stored start, so a pause
    reached at 10.7 s with 5 s to wait wakes at 15.0 s, not 15.7 s."""
    import datetime

    cluster = sim.deployed(
        sim.rollout_manifest(replicas=2, steps=[{"setWeight": 50}, {"pause": {"duration": 5}}])
    )
    cluster.set_image("web:v2")
    cluster.settle(max_passes=30, until=lambda c: c.status.current_step_index == 1)
    precise = cluster.now.replace(microsecond=0) + datetime.timedelta(milliseconds=700)
    decision = cluster.step(precise)
    (pause,) = decision.status.pause_conditions
    assert pause.start_time == precise.replace(microsecond=0)
    assert decision.requeue_after == datetime.timedelta(seconds=4, milliseconds=300)
