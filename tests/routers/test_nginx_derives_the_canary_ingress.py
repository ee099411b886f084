"""NGINX, pure half: the canary Ingress derived from the stable one (name, rules reduced to the stable Service's
paths, class, canary annotations with prefix and weight total, owner, record), and the patch that keeps it so:
annotations rollwave manages are set, stale nginx ones removed, others left; drift reported against the record."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.routers import base, nginx

ROLLOUT = base.RolloutRef(
    namespace="shop", name="web", uid="u1", stable_service="stable", canary_service="canary"
)
PATH = "spec.strategy.canary.trafficRouting.nginx.stableIngress"


def _path(prefix: str, service: str) -> dict[str, Any]:
    return {
        "path": prefix,
        "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": {"number": 80}}},
    }


STABLE = {
    "metadata": {
        "name": "web-ingress",
        "namespace": "shop",
        "annotations": {"kubernetes.io/ingress.class": "nginx", "x/y": "z"},
    },
    "spec": {
        "defaultBackend": {"service": {"name": "stable", "port": {"number": 80}}},
        "rules": [
            {"host": "a.example.com", "http": {"paths": [_path("/", "stable"), _path("/other", "other")]}},
            {"host": "b.example.com", "http": {"paths": [_path("/", "other")]}},
        ],
    },
}


def _config(**extra: Any) -> nginx.Config:
    return nginx.parse_config({"stableIngress": "web-ingress", **extra}, path="p").require()


def test_the_canary_ingress() -> None:
    canary = nginx.desired_canary_ingress(STABLE, config=_config(), rollout=ROLLOUT, weight=20, path=PATH)
    assert canary["metadata"]["name"] == "web-web-ingress-canary"
    assert canary["spec"] == {"rules": [{"host": "a.example.com", "http": {"paths": [_path("/", "canary")]}}]}
    assert canary["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "20",
        "kubernetes.io/ingress.class": "nginx",
        base.WEIGHTS_ANNOTATION: '{"web": 20}',
    }
    assert canary["metadata"]["ownerReferences"] == [ROLLOUT.owner_reference()]


def test_prefix_extra_annotations_and_weight_total() -> None:
    config = _config(
        annotationPrefix="custom.nginx.org",
        additionalIngressAnnotations={"canary-by-header": "X-Canary"},
        canaryIngressAnnotations={"team": "checkout"},
    )
    rollout = base.RolloutRef(
        **{**{f: getattr(ROLLOUT, f) for f in ROLLOUT.__dataclass_fields__}, "max_weight": 1000}
    )
    annotations = nginx.desired_canary_ingress(STABLE, config=config, rollout=rollout, weight=5, path=PATH)[
        "metadata"
    ]["annotations"]
    assert annotations["custom.nginx.org/canary-weight"] == "5"
    assert annotations["custom.nginx.org/canary-weight-total"] == "1000"
    assert annotations["custom.nginx.org/canary-by-header"] == "X-Canary"
    assert annotations["team"] == "checkout"


def test_a_stable_ingress_without_the_stable_service_is_an_error() -> None:
    other = {
        "metadata": {"name": "x", "namespace": "shop"},
        "spec": {"rules": [{"http": {"paths": [_path("/", "other")]}}]},
    }
    with pytest.raises(base.RouterError) as raised:
        nginx.desired_canary_ingress(other, config=_config(), rollout=ROLLOUT, weight=20, path=PATH)
    assert raised.value.path == PATH
    assert "no path whose backend is the stable Service stable" in raised.value.message


def _stored(weight: int) -> dict[str, Any]:
    canary = nginx.desired_canary_ingress(STABLE, config=_config(), rollout=ROLLOUT, weight=weight, path=PATH)
    canary["metadata"]["resourceVersion"] = "9"
    return canary


def test_create_patch_nothing() -> None:
    desired = _stored(20)
    assert (
        nginx.plan_canary_ingress(None, desired=desired, config=_config(), rollout=ROLLOUT, path=PATH).create
        == desired
    )
    assert nginx.plan_canary_ingress(
        _stored(20), desired=desired, config=_config(), rollout=ROLLOUT, path=PATH
    ).noop
    plan = nginx.plan_canary_ingress(
        _stored(20), desired=_stored(50), config=_config(), rollout=ROLLOUT, path=PATH
    )
    assert plan.patch == {
        "metadata": {
            "resourceVersion": "9",
            "annotations": {
                "nginx.ingress.kubernetes.io/canary-weight": "50",
                base.WEIGHTS_ANNOTATION: '{"web": 50}',
            },
        }
    }
    assert plan.restored == ()


def test_stale_nginx_annotations_go_and_foreign_ones_stay() -> None:
    current = _stored(20)
    current["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-by-cookie"] = "old"
    current["metadata"]["annotations"]["tool.example.com/seen"] = "yes"
    plan = nginx.plan_canary_ingress(
        current, desired=_stored(20), config=_config(), rollout=ROLLOUT, path=PATH
    )
    assert plan.patch == {
        "metadata": {
            "resourceVersion": "9",
            "annotations": {"nginx.ingress.kubernetes.io/canary-by-cookie": None},
        }
    }


def test_a_weight_edited_by_someone_else_is_reported() -> None:
    current = _stored(20)
    current["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] = "0"
    plan = nginx.plan_canary_ingress(
        current, desired=_stored(20), config=_config(), rollout=ROLLOUT, path=PATH
    )
    assert plan.restored == (
        "Ingress web-web-ingress-canary nginx.ingress.kubernetes.io/canary-weight: 0 (rollwave had set 20)",
    )


def test_rule_changes_on_the_stable_ingress_reach_the_canary() -> None:
    current = _stored(20)
    current["spec"]["rules"] = []
    plan = nginx.plan_canary_ingress(
        current, desired=_stored(20), config=_config(), rollout=ROLLOUT, path=PATH
    )
    assert plan.patch is not None and plan.patch["spec"] == {"rules": _stored(20)["spec"]["rules"]}
    assert plan.restored == ()


def test_an_ingress_not_owned_by_the_rollout_is_refused() -> None:
    current = _stored(20)
    current["metadata"]["ownerReferences"] = []
    with pytest.raises(base.RouterError, match="not owned by Rollout web"):
        nginx.plan_canary_ingress(current, desired=_stored(20), config=_config(), rollout=ROLLOUT, path=PATH)


@pytest.mark.parametrize(
    ("config", "issues"),
    [
        pytest.param({"stableIngress": "a"}, [], id="single"),
        pytest.param({"stableIngresses": ["a", "b"]}, [], id="list"),
        pytest.param({}, ["p: must name the stable Ingress (stableIngress or stableIngresses)"], id="none"),
        pytest.param(
            {"stableIngress": "a", "stableIngresses": ["b"]},
            ["p: set only one of stableIngress and stableIngresses"],
            id="both",
        ),
        pytest.param(
            {"stableIngress": "a", "additionalIngressAnnotations": {"canary-by-header": 1}},
            ["p.additionalIngressAnnotations[canary-by-header]: must be a string (got 1)"],
            id="annotation-type",
        ),
    ],
)
def test_config_validation(config: dict[str, Any], issues: list[str]) -> None:
    found = nginx.validate(config, path="p", stable_service="s", canary_service="c")
    assert [str(issue) for issue in found] == issues
