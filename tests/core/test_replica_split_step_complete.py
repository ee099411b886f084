"""A setWeight step is complete once both ReplicaSets really have their counts, and older pods are gone."""

import pytest

from rollouts.core import replicas


def pods(spec: int, available: int | None = None, existing: int | None = None) -> replicas.ReplicaSetCounts:
    return replicas.ReplicaSetCounts(
        replicas=spec,
        available_replicas=spec if available is None else available,
        status_replicas=spec if existing is None else existing,
    )


@pytest.mark.parametrize(
    ("new", "stable", "others_available", "traffic_routed", "dynamic", "expected"),
    [
        pytest.param(pods(1), pods(4, 4, 5), 0, False, False, False, id="docstring-stable-pod-terminating"),
        pytest.param(pods(1), pods(4), 0, False, False, True, id="docstring-settled"),
        pytest.param(pods(1, 0), pods(4), 0, False, False, False, id="canary-not-available"),
        pytest.param(pods(2), pods(4), 0, False, False, False, id="canary-too-large"),
        pytest.param(pods(0), pods(4), 0, False, False, False, id="canary-not-scaled-yet"),
        pytest.param(pods(1), pods(5), 0, False, False, False, id="stable-not-scaled-down"),
        pytest.param(pods(1), pods(4, 3), 0, False, False, True, id="stable-availability-not-required"),
        pytest.param(pods(1), pods(4), 2, False, False, False, id="basic-older-pods-still-available"),
        pytest.param(pods(1), pods(4), 2, True, False, True, id="traffic-routed-ignores-older-pods"),
        pytest.param(pods(1), pods(10), 0, True, False, False, id="traffic-routed-stable-checked"),
        pytest.param(pods(1), pods(10), 0, True, True, True, id="traffic-routed-dynamic-skips-stable"),
        pytest.param(pods(1), pods(10), 0, False, True, False, id="dynamic-alone-checks-stable"),
        pytest.param(pods(1), None, 0, False, False, False, id="no-stable-but-stable-pods-wanted"),
    ],
)
def test_is_set_weight_step_complete(
    new: replicas.ReplicaSetCounts,
    stable: replicas.ReplicaSetCounts | None,
    others_available: int,
    traffic_routed: bool,
    dynamic: bool,
    expected: bool,
) -> None:
    assert (
        replicas.is_set_weight_step_complete(
            desired_canary=1,
            desired_stable=4,
            new=new,
            stable=stable,
            others_available=others_available,
            traffic_routed=traffic_routed,
            dynamic_stable_scale=dynamic,
        )
        is expected
    )


def test_no_stable_replica_set_is_complete_when_none_is_wanted() -> None:
    assert replicas.is_set_weight_step_complete(
        desired_canary=4,
        desired_stable=0,
        new=pods(4),
        stable=None,
        others_available=0,
        traffic_routed=False,
    )
