"""Crash safety: decisions are deterministic, effects idempotent, and a lost status write changes no outcome.

Code style 5 "The core's shape": state lives only in status; if the controller crashes between the effects and the
status patch, the next reconcile re-derives the same effects, and applying them again changes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollouts.core import decisions
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "30s"}},
    {"setWeight": 50},
    {"pause": {}},
]


class CheckedCluster(sim.Cluster):
    """Before every real pass, a fork checks determinism and idempotency of that very pass."""

    checked = 0

    def step(self, now: datetime.datetime | None = None) -> decisions.Decision:
        twin = self.fork()
        twin.begin_pass(now)
        first = twin.decide()
        second = twin.decide()
        assert first == second, "decide must be a function of the view and now"
        twin.apply(first, write_status=False)
        once = twin.state()
        for effect in first.effects:
            twin.apply_effect(effect)
        assert twin.state() == once, f"applying {first.effects} twice changed the cluster"
        decision = super().step(now)
        assert decision == first
        self.checked += 1
        return decision


def scenario(cluster: sim.Cluster) -> None:
    """Deploy, update, abort, retry, promote, update twice, restart, roll back: most of what a Rollout lives."""
    cluster.settle()
    cluster.set_image("web:v2")
    cluster.settle()
    cluster.abort()
    cluster.settle()
    cluster.retry()
    cluster.settle()
    cluster.promote()
    cluster.settle()
    cluster.set_image("web:v3")
    cluster.settle(follow_requeue=False)
    cluster.set_image("web:v4")
    cluster.settle()
    cluster.restart(cluster.now)
    cluster.scale(7)
    cluster.settle()
    cluster.set_image("web:v2")  # an old revision, not the stable one: a fresh update
    cluster.settle()
    cluster.promote_full()
    cluster.settle()
    cluster.set_image("web:v4")  # back to the previous stable... now an old revision again
    cluster.settle()
    cluster.promote()
    cluster.settle()


def end_state(cluster: sim.Cluster) -> dict[str, Any]:
    status = cluster.status
    return {
        "split": cluster.split(),
        "available": {h: cluster.available(h) for h in cluster.split()},
        "revisions": {h: cluster.revision_of(h) for h in cluster.split()},
        "services": {name: cluster.service_hash(name) for name in cluster.services},
        "phase": (status.phase, status.message),
        "stable": status.stable_rs,
        "current": status.current_pod_hash,
        "index": status.current_step_index,
        "abort": status.abort,
        "paused": [p.reason for p in status.pause_conditions],
        "counts": (status.replicas, status.updated_replicas, status.available_replicas),
        "conditions": {c.type: (c.status, c.reason) for c in status.conditions},
    }


def manifest() -> dict[str, Any]:
    return sim.rollout_manifest(replicas=5, steps=STEPS)


@pytest.mark.parametrize("lag", [0, 1, 2])
def test_every_pass_is_deterministic_and_its_effects_idempotent(lag: int) -> None:
    cluster = CheckedCluster(manifest(), lag=lag)
    scenario(cluster)
    assert cluster.checked > 50
    assert end_state(cluster)["phase"][0] == "Healthy"


def test_a_settled_rollout_repeats_no_effect() -> None:
    cluster = sim.deployed(manifest(), lag=1)
    cluster.set_image("web:v2")
    cluster.settle()
    decision = cluster.step(cluster.now + datetime.timedelta(seconds=5))
    assert decision.effects == ()
    assert decision.status.to_dict() == cluster.raw_status


def short_scenario(cluster: sim.Cluster) -> None:
    cluster.settle()
    cluster.set_image("web:v2")
    cluster.settle()
    cluster.abort()
    cluster.settle()
    cluster.retry()
    cluster.settle()
    cluster.promote()
    cluster.settle()


def run(script: Callable[[sim.Cluster], None], *, lag: int, crash_on: set[int]) -> sim.Cluster:
    cluster = sim.Cluster(manifest(), lag=lag)
    cluster.crash_on = crash_on
    script(cluster)
    return cluster


SHORT = run(short_scenario, lag=1, crash_on=set())
LONG = {lag: run(scenario, lag=lag, crash_on=set()) for lag in (0, 1)}


def test_a_crash_after_any_single_pass_converges_to_the_same_end() -> None:
    reference = end_state(SHORT)
    assert reference["phase"][0] == "Healthy"
    for crashed_pass in range(1, SHORT.passes + 1):
        crashed = run(short_scenario, lag=1, crash_on={crashed_pass})
        assert end_state(crashed) == reference, f"crash after pass {crashed_pass}"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lag=st.sampled_from([0, 1]), data=st.data())
def test_many_crashes_anywhere_converge_to_the_same_end(lag: int, data: st.DataObject) -> None:
    reference = LONG[lag]
    crashes = data.draw(st.sets(st.integers(min_value=1, max_value=reference.passes + 20), max_size=12))
    crashed = run(scenario, lag=lag, crash_on=crashes)
    assert end_state(crashed) == end_state(reference)
