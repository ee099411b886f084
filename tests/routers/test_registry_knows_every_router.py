"""Every router module is registered under the model's router names, unknown routers are errors naming the field
(never a fallback), and each router satisfies the protocol (and the capabilities it claims)."""

from __future__ import annotations

import pathlib

import pytest

from rollouts.model import fields
from rollouts.model import rollout as model
from rollouts.routers import base, gateway_api, istio, nginx, registry, smi

ROUTERS_DIR = pathlib.Path(registry.__file__).parent


def test_every_router_module_is_registered() -> None:
    modules = {path.stem for path in ROUTERS_DIR.glob("*.py")} - {"__init__", "base", "registry"}
    registered = {entry.create.__module__.rsplit(".", 1)[-1] for entry in registry.ROUTERS.values()}
    assert modules == registered


def test_the_model_routers_are_all_known() -> None:
    names = {*model.SUPPORTED_ROUTERS, *(f"plugin:{name}" for name in model.SUPPORTED_ROUTER_PLUGINS)}
    assert names <= set(registry.ROUTERS)
    assert "gatewayAPI" in registry.ROUTERS  # rollwave's own field, once the model parses it


@pytest.mark.parametrize(
    ("router", "path"),
    [
        ("nginx", "spec.strategy.canary.trafficRouting.nginx"),
        ("gatewayAPI", "spec.strategy.canary.trafficRouting.gatewayAPI"),
        (
            "plugin:argoproj-labs/gatewayAPI",
            "spec.strategy.canary.trafficRouting.plugins[argoproj-labs/gatewayAPI]",
        ),
    ],
)
def test_config_paths(router: str, path: str) -> None:
    assert registry.config_path(router) == path


def test_an_unknown_router_is_an_error_not_a_fallback() -> None:
    routing = model.TrafficRouting(router="plugin:example/contour", config={})
    [issue] = registry.validate(routing, stable_service="s", canary_service="c")
    assert issue.kind is fields.IssueKind.UNSUPPORTED
    assert issue.path == "spec.strategy.canary.trafficRouting.plugins[example/contour]"
    with pytest.raises(base.RouterError) as raised:
        registry.create(routing, rollout=base.RolloutRef(namespace="a", name="r", uid="u"), clients=None)  # type: ignore[arg-type]
    assert raised.value.path == issue.path


def test_create_refuses_an_invalid_config_with_the_field() -> None:
    routing = model.TrafficRouting(router="istio", config={"virtualService": {"routes": ["primary"]}})
    with pytest.raises(base.RouterError) as raised:
        registry.create(
            routing,
            rollout=base.RolloutRef(namespace="a", name="r", uid="u", stable_service="s", canary_service="c"),
            clients=None,  # type: ignore[arg-type]
        )
    assert raised.value.path == "spec.strategy.canary.trafficRouting.istio.virtualService.name"


@pytest.mark.parametrize(
    ("router_class", "header", "mirror"),
    [
        (gateway_api.GatewayApiRouter, False, False),
        (istio.IstioRouter, True, True),
        (nginx.NginxRouter, False, False),
        (smi.SmiRouter, False, False),
    ],
)
def test_capabilities(router_class: type, header: bool, mirror: bool) -> None:
    for method in ("set_weight", "read_weight", "reset_to_stable", "remove_managed_routes", "release"):
        assert callable(getattr(router_class, method))
    assert hasattr(router_class, "set_header_route") is header
    assert hasattr(router_class, "set_mirror_route") is mirror


def test_rollout_ref_carries_max_weight_and_managed_routes() -> None:
    routing = model.TrafficRouting(router="nginx", config={}, max_traffic_weight=1000, managed_routes=("h",))
    ref = registry.rollout_ref(
        routing, namespace="a", name="r", uid="u", stable_service="s", canary_service="c"
    )
    assert (ref.max_weight, ref.managed_routes) == (1000, ("h",))


@pytest.mark.parametrize("router", sorted(registry.ROUTERS))
def test_step_capabilities_match_the_classes(router: str) -> None:
    router_class = {
        "nginx": nginx.NginxRouter,
        "istio": istio.IstioRouter,
        "smi": smi.SmiRouter,
    }.get(router, gateway_api.GatewayApiRouter)
    for action, method in (("setHeaderRoute", "set_header_route"), ("setMirrorRoute", "set_mirror_route")):
        issue = registry.step_issue(router, action=action, path="p")
        assert (issue is None) is hasattr(router_class, method)
