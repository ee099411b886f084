"""A basic canary simulated reconcile by reconcile: availability, surge, progress and order hold throughout.

The simulated cluster is plain data. Each round the controller sees the ReplicaSets' counts, asks
`basic_canary_counts` (and `scale_down_others`) for new sizes, and the sizes are applied at once. Removed
pods go at once, starting (not yet available) pods first, as the ReplicaSet controller deletes them. Added
pods become available `lag` rounds later: with lag 1 the next reconcile sees them available, with lag 2 the
next reconcile still sees them starting.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rollouts.core import replicas


@dataclasses.dataclass
class SimulatedReplicaSet:
    available: int
    starting: list[int] = dataclasses.field(default_factory=list)  # the round each starting pod is ready

    @property
    def size(self) -> int:
        return self.available + len(self.starting)

    def counts(self) -> replicas.ReplicaSetCounts:
        return replicas.ReplicaSetCounts(
            replicas=self.size, available_replicas=self.available, status_replicas=self.size
        )

    def scale(self, size: int, *, now: int, lag: int) -> None:
        if size >= self.size:
            self.starting += [now + lag] * (size - self.size)
            return
        removed = self.size - size
        from_starting = min(removed, len(self.starting))
        del self.starting[len(self.starting) - from_starting :]  # the newest starting pods first
        self.available -= removed - from_starting

    def tick(self, now: int) -> None:
        ready = [at for at in self.starting if at <= now]
        self.starting = [at for at in self.starting if at > now]
        self.available += len(ready)


@dataclasses.dataclass
class Trace:
    """What the simulation saw. Lists grow by one per round (availability and size) or per step."""

    reached: list[int] = dataclasses.field(default_factory=list)
    settled_counts: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    rounds_per_step: list[int] = dataclasses.field(default_factory=list)
    available: list[int] = dataclasses.field(default_factory=list)
    total: list[int] = dataclasses.field(default_factory=list)
    new_sizes: list[int] = dataclasses.field(default_factory=list)
    stable_sizes: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Cluster:
    count: int
    surge: int
    unavailable: int
    lag: int
    new: SimulatedReplicaSet
    stable: SimulatedReplicaSet
    others: list[SimulatedReplicaSet] = dataclasses.field(default_factory=list)
    now: int = 0
    trace: Trace = dataclasses.field(default_factory=Trace)

    def reconcile(self, weight: int, *, aborted: bool = False) -> None:
        self.now += 1
        for replica_set in (self.new, self.stable, *self.others):
            replica_set.tick(self.now)
        new, stable = self.new.counts(), self.stable.counts()
        others = [other.counts() for other in self.others]
        new_size, stable_size = replicas.basic_canary_counts(
            replicas=self.count,
            weight=weight,
            max_surge=self.surge,
            max_unavailable=self.unavailable,
            new=new,
            stable=stable,
            others=others,
            aborted=aborted,
        )
        other_sizes = replicas.scale_down_others(
            replicas=self.count, max_unavailable=self.unavailable, new=new, stable=stable, others=others
        )
        self.new.scale(new_size, now=self.now, lag=self.lag)
        self.stable.scale(stable_size, now=self.now, lag=self.lag)
        for other, size in zip(self.others, other_sizes, strict=True):
            other.scale(size, now=self.now, lag=self.lag)
        everyone = (self.new, self.stable, *self.others)
        self.trace.available.append(sum(replica_set.available for replica_set in everyone))
        self.trace.total.append(sum(replica_set.size for replica_set in everyone))
        self.trace.new_sizes.append(self.new.size)
        self.trace.stable_sizes.append(self.stable.size)

    def is_step_complete(self, weight: int) -> bool:
        desired_new, desired_stable = replicas.approximate_weighted_counts(
            replicas=self.count, weight=weight, max_surge=self.surge
        )
        return replicas.is_set_weight_step_complete(
            desired_canary=desired_new,
            desired_stable=desired_stable,
            new=self.new.counts(),
            stable=self.stable.counts(),
            others_available=sum(other.available for other in self.others),
            traffic_routed=False,
        )

    def max_rounds(self) -> int:
        # Worst case: no surge and one unavailable pod, so pods move one at a time, each needing a round to
        # make room, `lag` rounds to become available, and the bound covers the R+1 pods a step may move.
        return (self.lag + 1) * (self.count + 2) + 2

    def walk(self, weight: int, *, aborted: bool = False, rounds: int | None = None) -> None:
        """Reconcile at `weight` until the step is complete (or for `rounds` rounds, complete or not)."""
        target = 0 if aborted else weight
        for done in range(self.max_rounds() if rounds is None else rounds):
            if rounds is None and self.is_step_complete(target):
                self.trace.reached.append(target)
                self.trace.settled_counts.append((self.new.size, self.stable.size))
                self.trace.rounds_per_step.append(done)
                return
            self.reconcile(weight, aborted=aborted)
        if rounds is None:
            pytest.fail(f"weight {target} not reached in {self.max_rounds()} rounds: {self}")


def fresh_cluster(*, count: int, surge: int, unavailable: int, lag: int) -> Cluster:
    # The update starts from a fully available stable ReplicaSet and an empty new one.
    cluster = Cluster(
        count=count,
        surge=surge,
        unavailable=unavailable,
        lag=lag,
        new=SimulatedReplicaSet(available=0),
        stable=SimulatedReplicaSet(available=count),
    )
    cluster.trace.available.append(count)
    cluster.trace.total.append(count)
    return cluster


budget_values = st.one_of(
    st.integers(0, 5),
    st.integers(0, 100).map(lambda percent: f"{percent}%"),
    st.integers(0, 100).map(str),  # Argo reads "25" as 25% too
)
setups = st.fixed_dictionaries(
    {
        "count": st.integers(1, 50),
        "max_surge": budget_values,
        "max_unavailable": budget_values,
        "lag": st.sampled_from([1, 2]),
    }
)
step_weights = st.lists(st.integers(1, 99), min_size=1, max_size=6, unique=True).map(sorted)


def cluster_for(setup: dict[str, object]) -> Cluster:
    count = setup["count"]
    assert isinstance(count, int)
    max_surge, max_unavailable, lag = setup["max_surge"], setup["max_unavailable"], setup["lag"]
    assert isinstance(max_surge, int | str)
    assert isinstance(max_unavailable, int | str)
    assert isinstance(lag, int)
    surge, unavailable = replicas.resolve_surge_and_unavailable(
        replicas=count, max_surge=max_surge, max_unavailable=max_unavailable
    )
    return fresh_cluster(count=count, surge=surge, unavailable=unavailable, lag=lag)


def assert_within_budgets(cluster: Cluster) -> None:
    assert min(cluster.trace.available) >= cluster.count - cluster.unavailable
    assert max(cluster.trace.total) <= cluster.count + cluster.surge


@settings(max_examples=300, deadline=None)
@given(setup=setups, weights=step_weights)
def test_promotion_walks_every_step_in_order_within_the_budgets(
    setup: dict[str, object], weights: list[int]
) -> None:
    cluster = cluster_for(setup)
    requested = [*weights, 100]
    for weight in requested:
        cluster.walk(weight)

    assert cluster.trace.reached == requested
    assert cluster.trace.settled_counts == [
        replicas.approximate_weighted_counts(replicas=cluster.count, weight=weight, max_surge=cluster.surge)
        for weight in requested
    ]
    assert cluster.trace.settled_counts[-1] == (cluster.count, 0)
    assert_within_budgets(cluster)
    # Moving forward only: the canary never shrinks and the stable never grows on the way to 100.
    assert cluster.trace.new_sizes == sorted(cluster.trace.new_sizes)
    assert cluster.trace.stable_sizes == sorted(cluster.trace.stable_sizes, reverse=True)


@settings(max_examples=300, deadline=None)
@given(
    setup=setups,
    weights=step_weights,
    data=st.data(),
)
def test_abort_returns_to_a_full_stable_within_the_budgets(
    setup: dict[str, object], weights: list[int], data: st.DataObject
) -> None:
    cluster = cluster_for(setup)
    # Abort at any point, also in the middle of a step while canary pods are still starting.
    completed_steps = data.draw(st.integers(0, len(weights) - 1), label="completed_steps")
    for weight in weights[:completed_steps]:
        cluster.walk(weight)
    cluster.walk(
        weights[completed_steps],
        rounds=data.draw(st.integers(0, cluster.max_rounds()), label="rounds_into_the_step"),
    )

    cluster.walk(weights[completed_steps], aborted=True)
    assert cluster.trace.reached[-1] == 0
    assert (cluster.new.size, cluster.stable.size) == (0, cluster.count)
    # The step does not wait for the stable pods to be available; they come within `lag` more rounds, and
    # nothing changes meanwhile.
    cluster.walk(weights[completed_steps], aborted=True, rounds=cluster.lag)
    assert (cluster.new.size, cluster.stable.size) == (0, cluster.count)
    assert cluster.stable.available == cluster.count
    assert_within_budgets(cluster)


@settings(max_examples=200, deadline=None)
@given(
    setup=setups,
    first_weights=step_weights,
    second_weights=step_weights,
    data=st.data(),
)
def test_an_update_mid_canary_drains_the_old_canary_within_the_budgets(
    setup: dict[str, object], first_weights: list[int], second_weights: list[int], data: st.DataObject
) -> None:
    cluster = cluster_for(setup)
    for weight in first_weights[:-1]:
        cluster.walk(weight)
    cluster.walk(
        first_weights[-1],
        rounds=data.draw(st.integers(0, cluster.max_rounds()), label="rounds_into_the_step"),
    )
    old_canary = cluster.new
    assume(old_canary.size > 0)  # otherwise this is the plain promotion above
    # A new template: the current canary becomes an older ReplicaSet, the steps start again.
    cluster.others = [old_canary]
    cluster.new = SimulatedReplicaSet(available=0)

    requested = [*second_weights, 100]
    for weight in requested:
        cluster.walk(weight)

    assert cluster.trace.reached[-len(requested) :] == requested
    assert old_canary.size == 0
    assert (cluster.new.size, cluster.new.available, cluster.stable.size) == (cluster.count, cluster.count, 0)
    assert_within_budgets(cluster)


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        pytest.param(20, (1, 4), id="20"),
        pytest.param(40, (2, 3), id="40"),
        pytest.param(60, (3, 2), id="60"),
        pytest.param(80, (4, 1), id="80"),
    ],
)
def test_rollout_canary_example_reaches_each_step(weight: int, expected: tuple[int, int]) -> None:
    # examples/rollout-canary.yaml: 5 replicas, maxSurge and maxUnavailable default to 25% -> 2 and 1.
    surge, unavailable = replicas.resolve_surge_and_unavailable(
        replicas=5, max_surge="25%", max_unavailable="25%"
    )
    cluster = fresh_cluster(count=5, surge=surge, unavailable=unavailable, lag=1)
    for step in (20, 40, 60, 80):
        cluster.walk(step)
        if step == weight:
            break
    assert (cluster.new.size, cluster.stable.size) == expected
    assert min(cluster.trace.available) >= 4
