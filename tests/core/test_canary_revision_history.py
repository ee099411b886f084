"""Old ReplicaSets beyond `revisionHistoryLimit` are deleted, oldest first; only idle ones go.

Semantics 1.1: `spec.revisionHistoryLimit` (default 10) old ReplicaSets are kept.
"""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.core import decisions
from rollouts.model import rollout as model
from tests.core import canary_sim as sim


def rolled(*, updates: int, limit: int | None) -> tuple[sim.Cluster, list[str]]:
    extra: dict[str, Any] = {} if limit is None else {"revisionHistoryLimit": limit}
    cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=[{"setWeight": 50}], **extra), lag=1)
    hashes = [cluster.status.stable_rs or ""]
    for number in range(2, updates + 2):
        cluster.set_image(f"web:v{number}")
        cluster.settle()
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        hashes.append(cluster.status.stable_rs or "")
    return cluster, hashes


def deleted(cluster: sim.Cluster) -> list[str]:
    return [
        effect.name
        for record in cluster.history
        for effect in record.decision.effects
        if isinstance(effect, decisions.DeleteReplicaSet)
    ]


def test_four_updates_with_limit_two_keep_two_idle_old_replica_sets() -> None:
    cluster, hashes = rolled(updates=4, limit=2)
    current = hashes[-1]
    assert set(cluster.split()) == {current, hashes[-2], hashes[-3]}
    assert cluster.split() == {current: 4, hashes[-2]: 0, hashes[-3]: 0}
    assert deleted(cluster) == [f"web-{hashes[0]}", f"web-{hashes[1]}"]


def test_the_default_limit_of_ten_keeps_them_all() -> None:
    cluster, hashes = rolled(updates=4, limit=None)
    assert set(cluster.split()) == set(hashes)
    assert deleted(cluster) == []


def test_limit_zero_keeps_only_the_current_revision() -> None:
    cluster, hashes = rolled(updates=2, limit=0)
    assert cluster.split() == {hashes[-1]: 4}


@pytest.mark.parametrize("limit", [pytest.param(0, id="limit-0"), pytest.param(1, id="limit-1")])
def test_replica_sets_with_pods_are_never_deleted(limit: int) -> None:
    cluster, hashes = rolled(updates=2, limit=limit)
    cluster.set_image("web:v9")
    cluster.settle(until=lambda c: len([n for n in c.split().values() if n > 0]) == 2)
    stable = cluster.status.stable_rs
    new = cluster.status.current_pod_hash
    for record in cluster.history:
        for effect in record.decision.effects:
            if isinstance(effect, decisions.DeleteReplicaSet):
                assert effect.name not in (f"web-{stable}", f"web-{new}")
                assert record.view.replica_sets  # deletes only what it saw
                seen = {rs.name: rs for rs in record.view.replica_sets}
                assert seen[effect.name].replicas == 0
                assert seen[effect.name].status_replicas == 0
    assert cluster.spec_replicas(stable) > 0
    assert hashes[-1] == stable
