"""With traffic routing the router splits traffic: the canary gets ceil(w*R/W) pods, the stable stays full."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.core import replicas

Scale = replicas.CanaryScale


@pytest.mark.parametrize(
    ("count", "weight", "max_weight", "scale", "dynamic", "min_pods", "stable_actual", "expected"),
    [
        pytest.param(10, 5, 100, None, False, None, None, (1, 10), id="docstring-5-percent-of-10"),
        pytest.param(10, 30, 100, Scale(replicas=1), False, None, None, (1, 10), id="docstring-replicas"),
        pytest.param(10, 30, 100, Scale(weight=50), False, None, None, (5, 10), id="docstring-scale-weight"),
        pytest.param(10, 30, 100, None, True, None, 100, (3, 10), id="docstring-dynamic-router-still-at-100"),
        pytest.param(10, 30, 100, None, True, None, 70, (3, 7), id="docstring-dynamic-router-at-70"),
        pytest.param(10, 5, 100, None, False, 2, None, (2, 10), id="docstring-min-pods-per-replica-set"),
        pytest.param(10, 0, 100, None, False, 2, None, (0, 10), id="min-pods-leaves-zero-alone"),
        pytest.param(10, 0, 100, None, False, 0, None, (0, 10), id="min-pods-zero"),
        pytest.param(10, 100, 100, None, True, 2, 0, (10, 0), id="dynamic-full-promotion-empties-stable"),
        pytest.param(10, 95, 100, None, True, 2, 5, (10, 2), id="dynamic-min-pods-floors-the-stable"),
        pytest.param(10, 30, 100, None, True, None, None, (3, 7), id="dynamic-without-router-reading"),
        pytest.param(3, 1, 100, None, False, None, None, (1, 3), id="any-weight-gets-a-pod"),
        pytest.param(10, 100, 1000, None, False, None, None, (1, 10), id="max-traffic-weight-1000"),
        pytest.param(10, 30, 100, Scale(replicas=0), False, 2, None, (0, 10), id="scale-to-zero"),
        pytest.param(10, 30, 100, Scale(weight=1), False, None, None, (1, 10), id="scale-weight-rounds-up"),
        pytest.param(
            10, 30, 1000, Scale(weight=50), False, None, None, (5, 10), id="scale-weight-is-a-percent"
        ),
    ],
)
def test_traffic_routed_counts(
    count: int,
    weight: int,
    max_weight: int,
    scale: replicas.CanaryScale | None,
    dynamic: bool,
    min_pods: int | None,
    stable_actual: int | None,
    expected: tuple[int, int],
) -> None:
    assert (
        replicas.traffic_routed_counts(
            replicas=count,
            weight=weight,
            max_weight=max_weight,
            canary_scale=scale,
            dynamic_stable_scale=dynamic,
            min_pods_per_replica_set=min_pods,
            stable_weight_actual=stable_actual,
        )
        == expected
    )


@given(count=st.integers(0, 200), weight=st.integers(0, 100), stable_actual=st.integers(0, 100))
def test_dynamic_stable_scale_always_covers_the_traffic_either_side_gets(
    count: int, weight: int, stable_actual: int
) -> None:
    new, stable = replicas.traffic_routed_counts(
        replicas=count,
        weight=weight,
        canary_scale=None,
        dynamic_stable_scale=True,
        min_pods_per_replica_set=None,
        stable_weight_actual=stable_actual,
    )
    assert new * 100 >= weight * count
    assert stable * 100 >= max(100 - weight, stable_actual) * count
    assert new <= count
    assert stable <= count
