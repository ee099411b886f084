"""spec.restartAt: pods created before it are evicted one at a time within maxUnavailable, then restartedAt is set.

Semantics 1.1 `restartAt` and 2.3 rule 5 (Progressing "rollout is restarting" until restartedAt == restartAt).
"""

from __future__ import annotations

import datetime
from typing import Any

from rollouts.core import decisions
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

SECOND = datetime.timedelta(seconds=1)


def evictions(record: sim.PassRecord) -> list[str]:
    return [e.name for e in record.decision.effects if isinstance(e, decisions.EvictPod)]


def test_every_old_pod_is_replaced_one_at_a_time_within_max_unavailable() -> None:
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=[{"setWeight": 20}]), lag=1)
    v1 = cluster.status.stable_rs
    old_pods = {pod.name for pods in cluster.pods.values() for pod in pods}
    start = len(cluster.history)
    restart_at = cluster.now + SECOND
    cluster.restart(restart_at)
    decision = cluster.step(restart_at)
    assert (decision.status.phase, decision.status.message) == (
        model.RolloutPhase.PROGRESSING,
        "rollout is restarting",
    )
    cluster.settle()

    restart_passes = cluster.history[start:]
    evicted = [name for record in restart_passes for name in evictions(record)]
    assert sorted(evicted) == sorted(old_pods)
    assert all(len(evictions(record)) <= 1 for record in restart_passes)
    assert all(pod.created >= restart_at for pods in cluster.pods.values() for pod in pods)
    sim.assert_within_budget(cluster, max_surge=3, max_unavailable=2)
    status = cluster.status
    assert status.restarted_at == restart_at
    assert (status.phase, status.message) == (model.RolloutPhase.HEALTHY, "")
    assert len(cluster.events_with("RolloutRestarted")) == 1
    assert cluster.split() == {v1: 10}
    # A restart is not an update: no new ReplicaSet, no steps.
    assert len(cluster.replica_sets) == 1
    assert not cluster.events_with("RolloutStepCompleted")


def test_never_more_than_max_unavailable_pods_are_down() -> None:
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=[{"setWeight": 20}]))
    cluster.lag = sim.NEVER  # replacements never become ready
    cluster.restart(cluster.now)
    for _ in range(10):
        cluster.step(cluster.now + SECOND)
    evicted = [name for record in cluster.history for name in evictions(record)]
    assert len(evicted) == 2  # maxUnavailable 25% of 10
    assert cluster.total_available == 8
    assert cluster.status.phase == model.RolloutPhase.PROGRESSING


def test_a_restart_in_the_future_waits_for_its_time() -> None:
    cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=[{"setWeight": 20}]))
    restart_at = cluster.now + datetime.timedelta(seconds=90)
    cluster.restart(restart_at)
    decision = cluster.step(restart_at - datetime.timedelta(seconds=30))
    assert not [e for e in decision.effects if isinstance(e, decisions.EvictPod)]
    assert decision.requeue_after == datetime.timedelta(seconds=30)
    decision = cluster.step(restart_at)
    assert len([e for e in decision.effects if isinstance(e, decisions.EvictPod)]) == 1


def test_pods_created_after_restart_at_are_kept() -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=4, steps=[{"setWeight": 20}]))
    restart_at = cluster.now
    cluster.settle()
    cluster.restart(restart_at)  # every pod was created at or after restartAt
    decision = cluster.step(cluster.now + SECOND)
    assert not [e for e in decision.effects if isinstance(e, decisions.EvictPod)]
    assert decision.status.restarted_at == restart_at
    assert decision.status.phase == model.RolloutPhase.HEALTHY


def test_a_restart_mid_update_restarts_both_revisions_and_keeps_the_split() -> None:
    steps: list[dict[str, Any]] = [{"setWeight": 20}, {"pause": {}}]
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=steps), lag=1)
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    split = cluster.split()
    assert split == {v1: 8, v2: 2}
    restart_at = cluster.now + SECOND
    cluster.restart(restart_at)
    cluster.settle()
    assert cluster.split() == split
    assert all(pod.created >= restart_at for pods in cluster.pods.values() for pod in pods)
    status = cluster.status
    assert status.restarted_at == restart_at
    assert (status.phase, status.message) == (model.RolloutPhase.PAUSED, "CanaryPauseStep")
    sim.assert_within_budget(cluster, max_surge=3, max_unavailable=2)


def test_a_restart_completes_even_without_an_unavailability_budget() -> None:
    manifest = sim.rollout_manifest(replicas=4, steps=[{"setWeight": 20}], max_surge=1, max_unavailable=0)
    cluster = sim.deployed(manifest)
    restart_at = cluster.now + SECOND
    cluster.restart(restart_at)
    cluster.settle(max_passes=50)
    assert cluster.status.restarted_at == restart_at
