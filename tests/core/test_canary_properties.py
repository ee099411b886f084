"""Properties of whole canary updates over random steps, sizes, budgets and pod start-up lags.

Code style 6.14: available pods never drop below replicas - maxUnavailable, weights never skip a step. Semantics
2.5 (counts within R+S, nearest-ratio splits), 2.7 (one step per reconcile, in order), 2.3 (phase is derived).
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollouts.core import phase, replicas
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

PHASES = set(model.RolloutPhase)

set_weight = st.integers(min_value=0, max_value=100).map(lambda w: {"setWeight": w})
timed_pause = st.one_of(
    st.integers(min_value=1, max_value=120).map(lambda s: {"pause": {"duration": s}}),
    st.integers(min_value=1, max_value=120).map(lambda s: {"pause": {"duration": f"{s}s"}}),
)
indefinite_pause: st.SearchStrategy[dict[str, Any]] = st.just({"pause": {}})
steps_strategy = st.lists(
    st.one_of(set_weight, set_weight, timed_pause, indefinite_pause), min_size=0, max_size=7
)
budget = st.one_of(
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=100).map(lambda p: f"{p}%"),
)


def budget_value(raw: int | str) -> int:
    return raw if isinstance(raw, int) else int(raw.removesuffix("%"))


def check_pass(cluster: sim.Cluster, record: sim.PassRecord, *, surge: int, unavailable: int) -> None:
    status = record.decision.status
    assert status.phase in PHASES
    assert (status.phase, status.message) == phase.derive_phase(record.view.rollout.spec, status)
    if not record.view.rollout.spec.paused:  # a paused Rollout does not scale, not even down
        assert record.total_pods <= record.rollout_replicas + surge, (
            record.number,
            dict(record.spec_replicas),
        )


def expected_weights(steps: list[dict[str, Any]]) -> list[int]:
    """The desired weight at each step index 0..n (n = past the last step: 100), consecutive repeats merged."""
    weights: list[int] = []
    current = 0
    for step in steps:
        if "setWeight" in step:
            current = step["setWeight"]
        weights.append(current)
    weights.append(100)
    return dedupe(weights)


def dedupe(values: list[int]) -> list[int]:
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def pass_bound(*, steps: int, lag: int, total: int) -> int:
    """Passes an update may take: every step may move all R pods, one batch per (lag + 2) passes."""
    return (steps + 2) * (lag + 2) * (total + 2)


def drive_to_healthy(cluster: sim.Cluster, *, surge: int, unavailable: int, max_passes: int = 2000) -> None:
    """Settle, promoting whenever the update waits at an indefinite pause, until Healthy on the new revision."""

    def checked(c: sim.Cluster) -> bool:
        check_pass(c, c.history[-1], surge=surge, unavailable=unavailable)
        return False

    for _ in range(30):
        cluster.settle(until=checked, max_passes=max_passes)
        status = cluster.status
        if status.phase == model.RolloutPhase.HEALTHY and status.stable_rs == status.current_pod_hash:
            return
        assert status.phase == model.RolloutPhase.PAUSED, (status.phase, status.message)
        assert [p.reason for p in status.pause_conditions] == [model.PauseReason.CANARY_PAUSE_STEP]
        cluster.promote()
    raise AssertionError("still not Healthy after 30 promotions")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=steps_strategy,
    total=st.integers(min_value=1, max_value=20),
    max_surge=budget,
    max_unavailable=budget,
    lag=st.integers(min_value=0, max_value=2),
)
def test_an_update_reaches_healthy_within_budget_walking_every_step_in_order(
    steps: list[dict[str, Any]], total: int, max_surge: int | str, max_unavailable: int | str, lag: int
) -> None:
    if budget_value(max_surge) == 0 and budget_value(max_unavailable) == 0:
        max_unavailable = 1
    surge, unavailable = replicas.resolve_surge_and_unavailable(
        replicas=total, max_surge=max_surge, max_unavailable=max_unavailable
    )
    manifest = sim.rollout_manifest(
        replicas=total, steps=steps, max_surge=max_surge, max_unavailable=max_unavailable
    )
    cluster = sim.deployed(manifest, lag=lag)
    v1 = cluster.status.stable_rs
    start = len(cluster.history)
    cluster.set_image("web:v2")
    bound = pass_bound(steps=len(steps), lag=lag, total=total)
    drive_to_healthy(cluster, surge=surge, unavailable=unavailable, max_passes=bound)

    status = cluster.status
    v2 = status.current_pod_hash
    assert v2 != v1 and status.stable_rs == v2
    assert cluster.split() == {v1: 0, v2: total}
    assert cluster.available(v2) == total
    if cluster.services:
        assert {cluster.service_hash(name) for name in cluster.services} == {v2}
    update = cluster.history[start:]
    assert len(update) <= bound
    sim.assert_within_budget(cluster, max_surge=surge, max_unavailable=unavailable)

    # The step index only moves forward, one step per pass at most.
    indexes = [r.decision.status.current_step_index for r in update]
    if steps:
        numbers = [i if i is not None else len(steps) for i in indexes]
        assert all(b - a in (0, 1) for a, b in itertools.pairwise(numbers)), numbers
        assert numbers[-1] == len(steps)
    else:
        assert set(indexes) == {None}

    # Every step completes once, in order.
    completed = [e.message for e in cluster.events_with("RolloutStepCompleted")]
    assert [m.split()[2] for m in completed] == [f"{k}/{len(steps)}" for k in range(1, len(steps) + 1)]

    # Weights are reached in the order of the steps, ending at 100.
    weights = [
        r.decision.status.canary.weights.canary.weight for r in update if r.decision.status.canary.weights
    ]
    assert dedupe(weights) == expected_weights(steps)

    # A setWeight step completes exactly at its nearest-ratio split.
    for record in update:
        for event in record.decision.events:
            if event.reason != "RolloutStepCompleted" or "setWeight" not in event.message:
                continue
            weight = int(event.message.rsplit(" ", 1)[1].rstrip(")"))
            canary_pods, stable_pods = replicas.approximate_weighted_counts(
                replicas=total, weight=weight, max_surge=surge
            )
            seen = {rs.pod_template_hash: rs for rs in record.view.replica_sets}
            assert (seen[v2].replicas, seen[v2].available_replicas) == (canary_pods, canary_pods)
            assert seen[v1].replicas == stable_pods


interrupt = st.sampled_from(["abort", "retry", "new-template", "rollback", "promote-full", "scale", "pause"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.one_of(set_weight, indefinite_pause, timed_pause), min_size=1, max_size=5),
    total=st.integers(min_value=1, max_value=12),
    lag=st.integers(min_value=0, max_value=2),
    actions=st.lists(st.tuples(interrupt, st.integers(min_value=0, max_value=12)), max_size=5),
)
def test_interruptions_keep_the_budget_and_a_derived_phase(
    steps: list[dict[str, Any]], total: int, lag: int, actions: list[tuple[str, int]]
) -> None:
    """Abort, retry, new templates, promote --full, scaling and pausing at random moments."""
    manifest = sim.rollout_manifest(replicas=total, steps=steps, max_surge=1, max_unavailable=1)
    cluster = sim.deployed(manifest, lag=lag)
    cluster.set_image("web:v2")
    images = 2
    for action, passes in actions:
        for _ in range(passes):
            cluster.step(cluster.now + sim.ONE_SECOND)
            check_pass(cluster, cluster.history[-1], surge=1, unavailable=1)
        if action == "abort":
            cluster.abort()
        elif action == "retry":
            cluster.retry()
        elif action == "new-template":
            images += 1
            cluster.set_image(f"web:v{images}")
        elif action == "rollback":
            cluster.set_image("web:v1")  # back to the stable template: steps are skipped
        elif action == "promote-full":
            cluster.promote_full()
        elif action == "scale":
            total = max(1, total + passes % 5 - 2)
            cluster.scale(total)
        elif action == "pause":
            cluster.set_paused(not cluster.spec.get("paused"))
    # Finally: clear abort and pause and finish the update, whatever it is now.
    cluster.set_paused(False)
    cluster.retry()
    drive_to_healthy(cluster, surge=1, unavailable=1)
    current = cluster.status.current_pod_hash
    assert current is not None
    assert cluster.split()[current] == cluster.replicas
    assert sum(cluster.split().values()) == cluster.replicas
    sim.assert_within_budget(cluster, max_surge=1, max_unavailable=1)
