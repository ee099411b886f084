"""Without traffic routing, a weight becomes the (canary, stable) pod counts with the nearest ratio."""

import fractions

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.core import replicas


@pytest.mark.parametrize(
    ("count", "weight", "max_surge", "expected"),
    [
        # Argo's own table (replicas, weight, maxSurge -> canary/stable).
        pytest.param(1, 50, 0, (1, 0), id="1x50-no-surge-tie-rounds-up-to-all-canary"),
        pytest.param(1, 49, 0, (0, 1), id="1x49-no-surge-zero-canary-allowed"),
        pytest.param(1, 1, 1, (1, 1), id="1x1-surge-pod"),
        pytest.param(2, 1, 0, (1, 1), id="2x1-never-zero-canary"),
        pytest.param(2, 99, 1, (2, 1), id="2x99-surge-keeps-a-stable-pod"),
        pytest.param(3, 33, 1, (1, 2), id="3x33"),
        pytest.param(3, 49, 1, (2, 2), id="3x49-surge-gives-exactly-half"),
        pytest.param(3, 50, 0, (2, 1), id="3x50-tie-rounds-up"),
        pytest.param(10, 15, 0, (2, 8), id="docstring-10x15-tie-rounds-up"),
        pytest.param(10, 14, 0, (1, 9), id="10x14"),
        pytest.param(10, 1, 1, (1, 10), id="10x1-surge-is-nearer"),
        pytest.param(10, 24, 1, (3, 8), id="docstring-10x24-surge-3-of-11"),
        pytest.param(10, 99, 1, (10, 1), id="10x99"),
        pytest.param(10, 100, 1, (10, 0), id="10x100-full-promotion"),
        # Argo's docs: 10 replicas at 41% -> 4 canary / 6 stable, whatever the surge.
        pytest.param(10, 41, 0, (4, 6), id="docstring-docs-10x41-no-surge"),
        pytest.param(10, 41, 1, (4, 6), id="docs-10x41-surge"),
        pytest.param(10, 41, 3, (4, 6), id="docs-10x41-larger-surge"),
        # examples/rollout-canary.yaml: 5 replicas, default 25% -> maxSurge 2.
        pytest.param(5, 20, 2, (1, 4), id="rollout-canary-20"),
        pytest.param(5, 40, 2, (2, 3), id="rollout-canary-40"),
        pytest.param(5, 60, 2, (3, 2), id="rollout-canary-60"),
        pytest.param(5, 80, 2, (4, 1), id="rollout-canary-80"),
        pytest.param(1, 49, 0, (0, 1), id="docstring-1x49"),
        pytest.param(1, 50, 0, (1, 0), id="docstring-1x50"),
        pytest.param(0, 50, 1, (0, 0), id="zero-replicas"),
        pytest.param(10, 0, 1, (0, 10), id="weight-zero"),
        # No candidate survives the rules (R*w/W ends in .5 just below W, no surge): keep one stable pod.
        pytest.param(2, 75, 0, (1, 1), id="no-candidate-2x75-keeps-a-stable-pod"),
        pytest.param(10, 95, 0, (9, 1), id="no-candidate-10x95-keeps-a-stable-pod"),
    ],
)
def test_nearest_ratio(count: int, weight: int, max_surge: int, expected: tuple[int, int]) -> None:
    assert (
        replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=max_surge) == expected
    )


@pytest.mark.parametrize(
    ("count", "weight", "max_weight", "expected"),
    [
        pytest.param(10, 500, 1000, (5, 5), id="half-of-1000"),
        pytest.param(10, 150, 1000, (2, 8), id="tie-rounds-up-on-1000"),
        pytest.param(4, 3, 4, (3, 1), id="three-quarters-of-4"),
    ],
)
def test_a_maximum_weight_other_than_100(
    count: int, weight: int, max_weight: int, expected: tuple[int, int]
) -> None:
    assert (
        replicas.approximate_weighted_counts(
            replicas=count, weight=weight, max_weight=max_weight, max_surge=0
        )
        == expected
    )


@pytest.mark.parametrize(
    ("count", "weight"),
    [
        pytest.param(-1, 10, id="negative-replicas"),
        pytest.param(10, -1, id="negative-weight"),
        pytest.param(10, 101, id="weight-above-max"),
    ],
)
def test_out_of_range_inputs_are_rejected(count: int, weight: int) -> None:
    with pytest.raises(ValueError):
        replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=1)


counts = st.integers(1, 200)
weights = st.integers(0, 100)
surges = st.integers(0, 5)


@given(count=counts, weight=weights, max_surge=surges)
def test_total_is_replicas_or_one_surge_pod(count: int, weight: int, max_surge: int) -> None:
    canary, stable = replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=max_surge)
    assert canary >= 0
    assert stable >= 0
    assert canary + stable in ((count, count + 1) if max_surge > 0 else (count,))


@given(count=counts, weight=st.integers(1, 99), max_surge=surges)
def test_a_partial_weight_never_gives_zero_canary_pods(count: int, weight: int, max_surge: int) -> None:
    canary, stable = replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=max_surge)
    if count + min(max_surge, 1) >= 2:
        assert canary >= 1
        assert stable >= 1  # nor zero stable pods


@given(count=counts, max_surge=surges)
def test_the_ends_are_all_stable_and_all_canary(count: int, max_surge: int) -> None:
    assert replicas.approximate_weighted_counts(replicas=count, weight=0, max_surge=max_surge) == (0, count)
    assert replicas.approximate_weighted_counts(replicas=count, weight=100, max_surge=max_surge) == (count, 0)


@given(count=counts, weight=weights, max_surge=surges)
def test_the_ratio_is_within_one_pod_of_the_weight(count: int, weight: int, max_surge: int) -> None:
    canary, _ = replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=max_surge)
    exact = fractions.Fraction(count * weight, 100)
    assert abs(canary - exact) < 1


@given(count=counts, weight=st.integers(0, 99), max_surge=surges)
def test_more_weight_never_means_fewer_canary_pods(count: int, weight: int, max_surge: int) -> None:
    lower, _ = replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=max_surge)
    higher, _ = replicas.approximate_weighted_counts(replicas=count, weight=weight + 1, max_surge=max_surge)
    assert higher >= lower


@given(count=counts, weight=weights)
def test_a_larger_surge_only_matters_by_being_non_zero(count: int, weight: int) -> None:
    one = replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=1)
    many = replicas.approximate_weighted_counts(replicas=count, weight=weight, max_surge=7)
    assert one == many
