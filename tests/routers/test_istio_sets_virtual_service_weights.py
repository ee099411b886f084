"""Istio, pure half: host- and subset-level destinations, the weight patch (exact, idempotent, only the named routes,
drift reported against rollwave's record), the implicit single route, subset hash labels, header and mirror routes
placed first in managedRoutes order, and config validation with field paths."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rollouts.routers import base, istio

PATH = "spec.strategy.canary.trafficRouting.istio.virtualService"
ROLLOUT = base.RolloutRef(
    namespace="shop",
    name="web",
    uid="u1",
    stable_service="stable",
    canary_service="canary",
    managed_routes=("header", "mirror"),
)
REF = istio.VirtualServiceRef(name="vs", namespace=None, routes=("primary",), path=PATH)
SUBSETS = istio.DestinationRuleRef(
    name="dr", namespace=None, canary_subset="canary", stable_subset="stable", path="x.destinationRule"
)


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _vs(*routes: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "vs",
            "namespace": "shop",
            "resourceVersion": "3",
            "annotations": annotations or {},
        },
        "spec": {"hosts": ["web"], "http": list(routes)},
    }


def _dest(host: str, weight: int | None = None, subset: str | None = None) -> dict[str, Any]:
    destination: dict[str, Any] = {"destination": {"host": host}}
    if subset:
        destination["destination"]["subset"] = subset
    if weight is not None:
        destination["weight"] = weight
    return destination


PRIMARY = {
    "name": "primary",
    "timeout": "5s",
    "route": [_dest("stable", 100), _dest("canary.shop.svc.cluster.local", 0)],
}
OTHER = {"name": "other", "route": [_dest("stable", 60), _dest("canary", 40)]}


def _weights(vs: dict[str, Any], name: str) -> list[int | None]:
    [route] = [r for r in vs["spec"]["http"] if r.get("name") == name]
    return [d.get("weight") for d in route["route"]]


@pytest.mark.parametrize("weight", [0, 20, 50, 100])
def test_host_level_weights_are_exact_and_only_on_named_routes(weight: int) -> None:
    vs = _vs(OTHER, PRIMARY)
    plan = istio.plan_weight(vs, weight=weight, ref=REF, rollout=ROLLOUT)
    stored = _merge(vs, plan.patch)
    assert _weights(stored, "primary") == [100 - weight, weight]
    assert _weights(stored, "other") == [60, 40], "a route the Rollout does not name"
    assert stored["spec"]["http"][1]["timeout"] == "5s"
    assert istio.canary_weight(stored, ref=REF, rollout=ROLLOUT) == weight
    assert istio.plan_weight(stored, weight=weight, ref=REF, rollout=ROLLOUT).noop


@pytest.mark.parametrize(
    ("host", "matches"),
    [
        ("canary", True),
        ("canary.shop", True),
        ("canary.shop.svc", True),
        ("canary.shop.svc.cluster.local", True),
        ("canary.other", False),
        ("canary-2", False),
    ],
)
def test_host_forms(host: str, matches: bool) -> None:
    assert istio.host_matches(host, service="canary", namespace="shop") is matches


def test_subset_level_routes_by_subset() -> None:
    vs = _vs({"name": "primary", "route": [_dest("web", 100, "stable"), _dest("web", 0, "canary")]})
    stored = _merge(vs, istio.plan_weight(vs, weight=30, ref=REF, rollout=ROLLOUT, rule=SUBSETS).patch)
    assert _weights(stored, "primary") == [70, 30]


def test_the_only_route_is_used_when_none_is_named() -> None:
    implicit = istio.VirtualServiceRef(name="vs", namespace=None, routes=(), path=PATH)
    header = {"name": "header", "route": [_dest("canary", 100)]}
    vs = _vs(header, {"route": [_dest("stable", 100), _dest("canary", 0)]})
    stored = _merge(vs, istio.plan_weight(vs, weight=10, ref=implicit, rollout=ROLLOUT).patch)
    assert [d["weight"] for d in stored["spec"]["http"][1]["route"]] == [90, 10]
    assert stored["spec"]["http"][0] == header, "rollwave's header routes do not count"
    with pytest.raises(base.RouterError) as raised:
        istio.plan_weight(_vs(OTHER, PRIMARY), weight=10, ref=implicit, rollout=ROLLOUT)
    assert raised.value.path == f"{PATH}.routes"
    assert "has 2 HTTP routes" in raised.value.message


@pytest.mark.parametrize(
    ("route", "message"),
    [
        pytest.param(
            {"name": "primary", "route": [_dest("stable", 100)]},
            "no destination for the canary Service canary",
            id="no-canary",
        ),
        pytest.param(
            {"name": "primary", "route": [_dest("canary", 100)]},
            "no destination for the stable Service stable",
            id="no-stable",
        ),
        pytest.param(
            {"name": "primary", "route": [_dest("stable", 50), _dest("canary", 0), _dest("legacy", 50)]},
            "also sends traffic to legacy",
            id="third",
        ),
    ],
)
def test_routes_not_sending_to_exactly_both_are_errors(route: dict[str, Any], message: str) -> None:
    with pytest.raises(base.RouterError) as raised:
        istio.plan_weight(_vs(route), weight=10, ref=REF, rollout=ROLLOUT)
    assert raised.value.path == f"{PATH}.routes[0]"
    assert message in raised.value.message


def test_a_missing_named_route_is_an_error() -> None:
    with pytest.raises(base.RouterError) as raised:
        istio.plan_weight(_vs(OTHER), weight=10, ref=REF, rollout=ROLLOUT)
    assert (raised.value.path, raised.value.message) == (
        f"{PATH}.routes[0]",
        "VirtualService shop/vs has no HTTP route named primary",
    )


def test_drift_is_reported_against_the_record() -> None:
    vs = _vs(PRIMARY, annotations={base.WEIGHTS_ANNOTATION: '{"web": 40}'})
    plan = istio.plan_weight(vs, weight=40, ref=REF, rollout=ROLLOUT)
    assert plan.restored == ("VirtualService vs route primary: canary 0/stable 100 (rollwave had set 40/60)",)


def test_subset_hash_labels() -> None:
    rule: dict[str, Any] = {
        "metadata": {"name": "dr", "namespace": "shop", "resourceVersion": "1"},
        "spec": {
            "host": "web",
            "subsets": [
                {"name": "stable", "labels": {"app": "web"}},
                {"name": "canary", "labels": {"app": "web"}},
            ],
        },
    }
    patch = istio.plan_subset_hashes(rule, rule=SUBSETS, rollout=ROLLOUT, canary_hash="c1", stable_hash="s1")
    stored = _merge(rule, patch)
    assert stored["spec"]["subsets"] == [
        {"name": "stable", "labels": {"app": "web", "rollouts-pod-template-hash": "s1"}},
        {"name": "canary", "labels": {"app": "web", "rollouts-pod-template-hash": "c1"}},
    ]
    assert stored["metadata"]["annotations"] == {istio.MANAGED_BY_ANNOTATION: "web"}
    assert (
        istio.plan_subset_hashes(stored, rule=SUBSETS, rollout=ROLLOUT, canary_hash="c1", stable_hash="s1")
        is None
    )
    assert (
        istio.plan_subset_hashes(stored, rule=SUBSETS, rollout=ROLLOUT, canary_hash=None, stable_hash=None)
        is None
    )
    rule["spec"]["subsets"].pop()
    with pytest.raises(base.RouterError) as raised:
        istio.plan_subset_hashes(rule, rule=SUBSETS, rollout=ROLLOUT, canary_hash="c1", stable_hash="s1")
    assert raised.value.path == "x.destinationRule.canarySubsetName"


def test_header_and_mirror_routes_go_first_in_managed_routes_order() -> None:
    vs = _vs(OTHER, PRIMARY)
    header = base.HeaderRoute(
        name="header", headers=(("X-Canary", base.StringMatch(kind="exact", value="yes")),)
    )
    mirror = base.MirrorRoute(
        name="mirror",
        matches=(base.MirrorMatch(path=base.StringMatch(kind="prefix", value="/api")),),
        percentage=50,
    )
    with_mirror = _merge(
        vs,
        istio.plan_managed_route(
            vs,
            name="mirror",
            route=istio.mirror_route(vs, mirror=mirror, ref=REF, rollout=ROLLOUT),
            rollout=ROLLOUT,
        ),
    )
    both = _merge(
        with_mirror,
        istio.plan_managed_route(
            with_mirror,
            name="header",
            route=istio.header_route(with_mirror, header=header, ref=REF, rollout=ROLLOUT),
            rollout=ROLLOUT,
        ),
    )
    assert [r["name"] for r in both["spec"]["http"]] == ["header", "mirror", "other", "primary"]
    assert both["spec"]["http"][0]["route"] == [
        {"destination": {"host": "canary.shop.svc.cluster.local"}, "weight": 100}
    ]
    assert both["spec"]["http"][1] == {
        "name": "mirror",
        "match": [{"uri": {"prefix": "/api"}}],
        "route": PRIMARY["route"],
        "mirror": {"host": "canary.shop.svc.cluster.local"},
        "mirrorPercentage": {"value": 50.0},
    }
    # Weight changes reach the mirror route's split too (but not the header route's single destination).
    moved = _merge(both, istio.plan_weight(both, weight=30, ref=REF, rollout=ROLLOUT).patch)
    assert _weights(moved, "mirror") == [70, 30]
    assert _weights(moved, "header") == [100]
    # A step without matches removes the route.
    removed = _merge(
        moved,
        istio.plan_managed_route(
            moved,
            name="header",
            route=istio.header_route(moved, header=base.HeaderRoute(name="header"), ref=REF, rollout=ROLLOUT),
            rollout=ROLLOUT,
        ),
    )
    assert [r["name"] for r in removed["spec"]["http"]] == ["mirror", "other", "primary"]


def test_a_managed_route_must_be_listed() -> None:
    with pytest.raises(base.RouterError) as raised:
        istio.header_route(_vs(PRIMARY), header=base.HeaderRoute(name="nope"), ref=REF, rollout=ROLLOUT)
    assert raised.value.path == "spec.strategy.canary.trafficRouting.managedRoutes"


@pytest.mark.parametrize(
    ("config", "issues"),
    [
        pytest.param({"virtualService": {"name": "vs", "routes": ["primary"]}}, [], id="single"),
        pytest.param(
            {"virtualServices": [{"name": "a"}, {"name": "b.mesh", "routes": ["r"]}]}, [], id="several"
        ),
        pytest.param(
            {
                "virtualService": {"name": "vs"},
                "destinationRule": {"name": "dr", "canarySubsetName": "c", "stableSubsetName": "s"},
            },
            [],
            id="subsets",
        ),
        pytest.param({}, ["p: must name a VirtualService (virtualService or virtualServices)"], id="none"),
        pytest.param(
            {"virtualService": {"routes": ["r"]}}, ["p.virtualService.name: is required"], id="nameless"
        ),
        pytest.param(
            {"virtualService": {"name": "vs", "tcpRoutes": [{"port": 80}]}},
            ["p.virtualService.tcpRoutes: not supported by rollwave"],
            id="tcp",
        ),
        pytest.param(
            {"virtualService": {"name": "vs"}, "destinationRule": {"name": "dr", "canarySubsetName": "c"}},
            ["p.destinationRule.stableSubsetName: is required"],
            id="subset-missing",
        ),
        pytest.param(
            {"virtualService": {"name": "vs", "routes": ["header"]}},
            [
                "p.virtualService.routes[0]: header is also in managedRoutes; rollwave's header and mirror routes need names of their own"
            ],
            id="clash",
        ),
    ],
)
def test_config_validation(config: dict[str, Any], issues: list[str]) -> None:
    found = istio.validate(
        config, path="p", stable_service="s", canary_service="c", managed_routes=("header",)
    )
    assert [str(issue) for issue in found] == issues


def test_services_are_required_for_host_level_only() -> None:
    host_level = istio.validate(
        {"virtualService": {"name": "vs"}}, path="p", stable_service=None, canary_service=None
    )
    assert [issue.path for issue in host_level] == [
        "spec.strategy.canary.stableService",
        "spec.strategy.canary.canaryService",
    ]
    subset_level = istio.validate(
        {
            "virtualService": {"name": "vs"},
            "destinationRule": {"name": "d", "canarySubsetName": "c", "stableSubsetName": "s"},
        },
        path="p",
        stable_service=None,
        canary_service=None,
    )
    assert subset_level == ()
