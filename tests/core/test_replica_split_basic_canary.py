"""One reconcile of a basic canary: scale up within maxSurge, scale down within maxUnavailable."""

import pytest

from rollouts.core import replicas


def pods(spec: int, available: int | None = None) -> replicas.ReplicaSetCounts:
    """A ReplicaSet with `spec` pods, `available` of them available (all, unless told)."""
    return replicas.ReplicaSetCounts(
        replicas=spec, available_replicas=spec if available is None else available, status_replicas=spec
    )


@pytest.mark.parametrize(
    ("count", "weight", "surge", "unavailable", "new", "stable", "expected"),
    [
        pytest.param(5, 20, 2, 1, pods(0), pods(5), (1, 4), id="docstring-surge-pays-for-the-canary"),
        pytest.param(10, 50, 0, 1, pods(0), pods(10), (0, 9), id="docstring-no-surge-makes-room-first"),
        pytest.param(10, 50, 0, 1, pods(0), pods(9), (1, 9), id="no-surge-then-fills-the-room"),
        pytest.param(10, 50, 0, 1, pods(1, 0), pods(9), (1, 9), id="no-surge-waits-for-the-canary-pod"),
        pytest.param(10, 50, 0, 1, pods(1), pods(9), (1, 8), id="no-surge-available-canary-frees-stable"),
        pytest.param(10, 50, 3, 0, pods(0), pods(10), (3, 10), id="zero-unavailable-surges-only"),
        pytest.param(10, 50, 3, 0, pods(3, 2), pods(10), (3, 8), id="zero-unavailable-trades-available-only"),
        pytest.param(10, 50, 3, 0, pods(3), pods(10), (3, 7), id="zero-unavailable-trades-available-pods"),
        pytest.param(10, 50, 3, 0, pods(3), pods(7), (5, 7), id="zero-unavailable-canary-reaches-target"),
        pytest.param(10, 50, 3, 0, pods(5), pods(7), (5, 5), id="zero-unavailable-stable-reaches-target"),
        pytest.param(10, 50, 3, 0, pods(5), pods(5), (5, 5), id="settled"),
        pytest.param(10, 20, 10, 10, pods(0), pods(10), (2, 8), id="large-budgets-jump-to-the-target"),
        pytest.param(4, 50, 1, 1, pods(0), None, (4, 0), id="no-stable-takes-every-replica"),
        pytest.param(4, 50, 1, 1, None, pods(4), (0, 3), id="no-new-replica-set-yet-still-makes-room"),
        pytest.param(4, 100, 1, 1, pods(4), pods(1), (4, 0), id="promotion-drains-the-stable"),
        pytest.param(4, 100, 1, 1, pods(4, 2), pods(1), (4, 1), id="promotion-waits-for-the-canary"),
        # Aborted: the weight is 0 whatever the step says; the canary shrinks, the stable comes back first.
        pytest.param(5, 0, 2, 1, pods(3), pods(3), (1, 4), id="abort-tops-up-the-stable-then-drains"),
        pytest.param(5, 0, 2, 1, pods(3), pods(4, 3), (1, 4), id="abort-counts-the-stable-by-availability"),
        pytest.param(5, 0, 2, 1, pods(2), pods(5, 4), (0, 5), id="abort-counts-the-canary-by-spec"),
        pytest.param(5, 0, 2, 1, pods(2), pods(5, 2), (2, 5), id="abort-keeps-canary-while-stable-starts"),
    ],
)
def test_one_reconcile(
    count: int,
    weight: int,
    surge: int,
    unavailable: int,
    new: replicas.ReplicaSetCounts | None,
    stable: replicas.ReplicaSetCounts | None,
    expected: tuple[int, int],
) -> None:
    result = replicas.basic_canary_counts(
        replicas=count,
        weight=weight,
        max_surge=surge,
        max_unavailable=unavailable,
        new=new,
        stable=stable,
        others=[],
    )
    assert result == expected


@pytest.mark.parametrize(
    ("aborted", "expected"),
    [
        pytest.param(True, (1, 4), id="aborted-goes-to-weight-0"),
        pytest.param(False, (3, 2), id="not-aborted-stays-at-60"),
    ],
)
def test_aborted_ignores_the_step_weight(aborted: bool, expected: tuple[int, int]) -> None:
    assert (
        replicas.basic_canary_counts(
            replicas=5,
            weight=60,
            max_surge=2,
            max_unavailable=1,
            new=pods(3),
            stable=pods(3),
            others=[],
            aborted=aborted,
        )
        == expected
    )


def test_older_replica_sets_with_pods_stop_the_scale_down() -> None:
    # The budget is 7 - (1 + 1 + 4) = 1: it goes to the canary. 4 + 1 available would let one stable pod go,
    # but not while the older ReplicaSet still has pods: `scale_down_others` spends the spare pod on it.
    assert replicas.basic_canary_counts(
        replicas=5,
        weight=40,
        max_surge=2,
        max_unavailable=1,
        new=pods(1),
        stable=pods(4),
        others=[pods(1)],
    ) == (2, 4)
    # Once it is scaled to 0 (even with a stale available count), the scale-down resumes.
    assert replicas.basic_canary_counts(
        replicas=5,
        weight=40,
        max_surge=2,
        max_unavailable=1,
        new=pods(2),
        stable=pods(4),
        others=[replicas.ReplicaSetCounts(replicas=0, available_replicas=2, status_replicas=2)],
    ) == (2, 3)


def test_pods_being_deleted_do_not_count_as_available() -> None:
    # The canary's status still reports 3 available pods after a scale-down to 1: only 1 counts, so 5 + 1 - 4
    # lets 2 stable pods go, not 4. The budget 7 - 6 = 1 adds a canary pod.
    stale_canary = replicas.ReplicaSetCounts(replicas=1, available_replicas=3, status_replicas=3)
    assert replicas.basic_canary_counts(
        replicas=5,
        weight=60,
        max_surge=2,
        max_unavailable=1,
        new=stale_canary,
        stable=pods(5),
        others=[],
    ) == (2, 3)


def test_over_the_surge_limit_trims_the_growing_canary() -> None:
    # 8 + 6 pods where 10 + 1 are allowed (maxSurge was lowered). 8 + 2 available - 9 lets one stable pod
    # go; the 2 pods still over the limit come off the canary's 4 starting pods.
    assert replicas.basic_canary_counts(
        replicas=10,
        weight=60,
        max_surge=1,
        max_unavailable=1,
        new=pods(6, 2),
        stable=pods(8),
        others=[],
    ) == (4, 7)


def test_over_the_surge_limit_trims_no_available_pods_below_min_available() -> None:
    # 8 + 8 pods where 10 + 1 are allowed. The canary drains to its target 5 (its one available pod stays),
    # still 2 over the limit, but the stable's 8 available pods are all needed: 1 + 8 = 9 = 10 - 1.
    assert replicas.basic_canary_counts(
        replicas=10,
        weight=50,
        max_surge=1,
        max_unavailable=1,
        new=pods(8, 1),
        stable=pods(8),
        others=[],
    ) == (5, 8)


def test_over_the_surge_limit_trims_the_growing_stable() -> None:
    # Shrinking canary (target 5/5): 6 + 5 available - 9 = 2 pods may go, its target 5 stops it after one
    # (a starting pod); then 5 + 6 is one over 10 + 0, so the stable loses its starting pod.
    assert replicas.basic_canary_counts(
        replicas=10,
        weight=50,
        max_surge=0,
        max_unavailable=1,
        new=pods(6, 4),
        stable=pods(6, 5),
        others=[],
    ) == (5, 5)


@pytest.mark.parametrize(
    ("count", "unavailable", "new", "stable", "others", "expected"),
    [
        pytest.param(10, 2, pods(4), pods(3), [pods(3, 1), pods(4)], [0, 1], id="docstring-oldest-first"),
        pytest.param(4, 1, pods(1, 0), pods(2), [pods(2)], [1], id="docstring-one-may-go"),
        pytest.param(4, 1, pods(1, 0), pods(2, 1), [pods(2)], [2], id="nothing-spare"),
        pytest.param(4, 1, pods(1, 0), pods(2, 1), [pods(2, 0)], [0], id="unavailable-pods-are-free"),
        pytest.param(4, 1, None, None, [pods(4), pods(2)], [1, 2], id="no-new-or-stable"),
        pytest.param(
            4,
            1,
            replicas.ReplicaSetCounts(replicas=0, available_replicas=2, status_replicas=2),
            pods(2),
            [pods(2)],
            [1],
            id="pods-being-deleted-do-not-count",
        ),
        pytest.param(4, 0, pods(4), pods(0), [pods(2), pods(2)], [0, 0], id="everything-spare"),
        pytest.param(4, 0, pods(4), pods(0), [], [], id="no-others"),
    ],
)
def test_scale_down_others(
    count: int,
    unavailable: int,
    new: replicas.ReplicaSetCounts | None,
    stable: replicas.ReplicaSetCounts | None,
    others: list[replicas.ReplicaSetCounts],
    expected: list[int],
) -> None:
    assert (
        replicas.scale_down_others(
            replicas=count, max_unavailable=unavailable, new=new, stable=stable, others=others
        )
        == expected
    )
