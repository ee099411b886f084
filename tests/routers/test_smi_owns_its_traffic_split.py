"""SMI, pure half: the TrafficSplit rollwave wants (root Service, backends, owner, record), create vs patch, a split
owned by someone else refused, drift reported against the record, relative weights read back as a share."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.routers import base, smi

ROLLOUT = base.RolloutRef(
    namespace="shop", name="web", uid="u1", stable_service="stable", canary_service="canary"
)
PATH = "spec.strategy.canary.trafficRouting.smi"


def _desired(weight: int, **config: Any) -> dict[str, Any]:
    return smi.desired_split(
        name="web", config=smi.Config(**config), rollout=ROLLOUT, weight=weight, api_version="v1alpha4"
    )


def test_the_desired_split() -> None:
    split = _desired(20, root_service="web-root")
    assert split["apiVersion"] == "split.smi-spec.io/v1alpha4"
    assert split["spec"] == {
        "service": "web-root",
        "backends": [{"service": "canary", "weight": 20}, {"service": "stable", "weight": 80}],
    }
    assert split["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert base.recorded_weight(split, rollout="web") == 20
    assert _desired(0)["spec"]["service"] == "stable", "the root Service defaults to the stable Service"


def test_create_then_patch_then_nothing() -> None:
    assert smi.plan_split(None, desired=_desired(20), rollout=ROLLOUT, path=PATH).create == _desired(20)
    stored = {**_desired(20), "metadata": {**_desired(20)["metadata"], "resourceVersion": "4"}}
    assert smi.plan_split(stored, desired=_desired(20), rollout=ROLLOUT, path=PATH).noop
    plan = smi.plan_split(stored, desired=_desired(50), rollout=ROLLOUT, path=PATH)
    assert plan.patch is not None and plan.restored == ()
    assert plan.patch["spec"] == _desired(50)["spec"]
    assert plan.patch["metadata"]["resourceVersion"] == "4"


def test_a_split_changed_by_someone_else_is_reported() -> None:
    stored = _desired(20)
    stored["spec"]["backends"] = [{"service": "stable", "weight": 100}]
    plan = smi.plan_split(stored, desired=_desired(20), rollout=ROLLOUT, path=PATH)
    assert plan.restored == ("TrafficSplit web: canary None/stable 100 (rollwave had set 20/80)",)


def test_a_split_owned_by_someone_else_is_refused() -> None:
    foreign = {
        "metadata": {"name": "web", "ownerReferences": [{"uid": "other", "controller": True}]},
        "spec": {},
    }
    with pytest.raises(base.RouterError) as raised:
        smi.plan_split(foreign, desired=_desired(20), rollout=ROLLOUT, path=PATH)
    assert raised.value.path == PATH and not raised.value.retryable


@pytest.mark.parametrize(
    ("backends", "share"),
    [
        ([{"service": "canary", "weight": 20}, {"service": "stable", "weight": 80}], 20),
        (
            [{"service": "canary", "weight": "500"}, {"service": "stable", "weight": "500"}],
            50,
        ),  # v1alpha1 quantities
        ([{"service": "canary", "weight": 1}, {"service": "stable", "weight": 3}], 25),
        ([{"service": "stable", "weight": 100}], None),
        ([{"service": "canary", "weight": 0}, {"service": "stable", "weight": 0}], None),
    ],
)
def test_canary_share(backends: list[dict[str, Any]], share: int | None) -> None:
    assert smi.canary_share({"spec": {"backends": backends}}, rollout=ROLLOUT) == share


def test_config_validation() -> None:
    assert smi.validate({"rootService": "r"}, path="p", stable_service="s", canary_service="c") == ()
    found = smi.validate({"splitName": "x"}, path="p", stable_service="s", canary_service=None)
    assert [issue.path for issue in found] == ["p.splitName", "spec.strategy.canary.canaryService"]
