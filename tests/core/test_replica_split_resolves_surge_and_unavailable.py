"""maxSurge and maxUnavailable become pod counts: strings are percentages; surge up, unavailable down."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.core import replicas


@pytest.mark.parametrize(
    ("total", "value", "round_up", "expected"),
    [
        pytest.param(5, 25, True, 2, id="docstring-5x25%-up"),
        pytest.param(5, 25, False, 1, id="docstring-5x25%-down"),
        pytest.param(10, 30, True, 3, id="docstring-exact-needs-no-rounding"),
        pytest.param(10, 30, False, 3, id="exact-down"),
        pytest.param(1, 1, True, 1, id="any-fraction-rounds-up"),
        pytest.param(1, 99, False, 0, id="any-fraction-rounds-down"),
        pytest.param(0, 50, True, 0, id="zero-replicas"),
        pytest.param(7, 100, False, 7, id="hundred-percent"),
    ],
)
def test_percent_of(total: int, value: int, round_up: bool, expected: int) -> None:
    assert replicas.percent_of(total, value, round_up=round_up) == expected


@pytest.mark.parametrize(
    ("count", "max_surge", "max_unavailable", "expected"),
    [
        pytest.param(5, "25%", "25%", (2, 1), id="docstring-defaults-on-5"),
        pytest.param(10, "5", 0, (1, 0), id="docstring-string-without-percent-is-a-percentage"),
        pytest.param(3, 0, "10%", (0, 1), id="docstring-both-zero-allows-one-unavailable"),
        pytest.param(4, "25", "25", (1, 1), id="argo-default-25-without-percent"),
        pytest.param(10, 3, 2, (3, 2), id="ints-are-absolute"),
        pytest.param(10, 0, 0, (0, 1), id="both-zero-ints"),
        pytest.param(1, "25%", "25%", (1, 0), id="one-replica-surges-instead"),
        pytest.param(0, "25%", "25%", (0, 1), id="zero-replicas"),
        pytest.param(10, "100%", "100%", (10, 10), id="hundred-percent"),
        pytest.param(10, 20, "0%", (20, 0), id="int-surge-beyond-replicas"),
    ],
)
def test_resolve_surge_and_unavailable(
    count: int, max_surge: int | str, max_unavailable: int | str, expected: tuple[int, int]
) -> None:
    assert (
        replicas.resolve_surge_and_unavailable(
            replicas=count, max_surge=max_surge, max_unavailable=max_unavailable
        )
        == expected
    )


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("", id="empty"),
        pytest.param("%", id="only-percent"),
        pytest.param("25%%", id="double-percent"),
        pytest.param(" 25%", id="space"),
        pytest.param("2_5", id="underscore"),
        pytest.param("1.5", id="fraction"),
        pytest.param("-5%", id="negative-percent"),
        pytest.param(-1, id="negative-int"),
    ],
)
def test_invalid_values_are_rejected(bad: int | str) -> None:
    with pytest.raises(ValueError, match="maxSurge"):
        replicas.resolve_surge_and_unavailable(replicas=4, max_surge=bad, max_unavailable=1)


def test_a_bool_is_not_a_count() -> None:
    with pytest.raises(TypeError, match="maxUnavailable"):
        replicas.resolve_surge_and_unavailable(replicas=4, max_surge=1, max_unavailable=True)


@given(count=st.integers(0, 500), percent=st.integers(0, 100), with_sign=st.booleans())
def test_a_percentage_resolves_the_same_with_or_without_the_sign(
    count: int, percent: int, with_sign: bool
) -> None:
    spelled = f"{percent}%" if with_sign else str(percent)
    surge, unavailable = replicas.resolve_surge_and_unavailable(
        replicas=count, max_surge=spelled, max_unavailable=spelled
    )
    share = count * percent  # in hundredths of a pod
    assert (surge - 1) * 100 < share <= surge * 100  # rounded up
    if surge == 0:
        assert unavailable == 1  # both would be zero: one pod may be unavailable so the rollout can move
    else:
        assert unavailable * 100 <= share < (unavailable + 1) * 100  # rounded down
