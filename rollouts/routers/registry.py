"""Which module routes which `TrafficRouting.router`. Adding a router: its module plus one entry here.

Router names are the model's: `nginx`, `istio`, `smi`, `plugin:argoproj-labs/gatewayAPI` (Argo's plugin form,
run natively), and `gatewayAPI` (rollwave's own field `trafficRouting.gatewayAPI`, same keys as the plugin). An
unknown router is an error naming its field; there is no default router to fall back to.

>>> config_path("plugin:argoproj-labs/gatewayAPI")
'spec.strategy.canary.trafficRouting.plugins[argoproj-labs/gatewayAPI]'
>>> [str(issue) for issue in validate(model.TrafficRouting(router="traefik", config={}),
...                                    stable_service="s", canary_service="c")]
['spec.strategy.canary.trafficRouting.traefik: traffic router "traefik" is not supported by rollwave']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from rollouts.kube import client as kube_client
from rollouts.model import fields
from rollouts.model import rollout as model
from rollouts.routers import base, gateway_api, istio, nginx, smi


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RouterModule:
    """One router's entry points: `validate` is pure; `create` builds the I/O side (RouterError if invalid)."""

    validate: Callable[..., tuple[fields.FieldIssue, ...]]
    create: Callable[..., base.TrafficRouter]


GATEWAY_API_PLUGIN = "plugin:argoproj-labs/gatewayAPI"
GATEWAY_API_NATIVE = "gatewayAPI"

ROUTERS: Mapping[str, RouterModule] = {
    "nginx": RouterModule(validate=nginx.validate, create=nginx.create),
    "istio": RouterModule(validate=istio.validate, create=istio.create),
    "smi": RouterModule(validate=smi.validate, create=smi.create),
    GATEWAY_API_PLUGIN: RouterModule(validate=gateway_api.validate, create=gateway_api.create),
    GATEWAY_API_NATIVE: RouterModule(validate=gateway_api.validate, create=gateway_api.create),
}


def config_path(router: str) -> str:
    """The Rollout field holding `router`'s config."""
    if router.startswith("plugin:"):
        return fields.child(f"{base.ROUTING_PATH}.plugins", router.removeprefix("plugin:"))
    return fields.child(base.ROUTING_PATH, router)


def _unsupported(router: str) -> fields.FieldIssue:
    return fields.FieldIssue(
        path=config_path(router),
        message=f'traffic router "{router.removeprefix("plugin:")}" is not supported by rollwave',
        kind=fields.IssueKind.UNSUPPORTED,
    )


def validate(
    routing: model.TrafficRouting, *, stable_service: str | None, canary_service: str | None
) -> tuple[fields.FieldIssue, ...]:
    """Every problem with the router's config and the Services it needs, without touching the cluster."""
    entry = ROUTERS.get(routing.router)
    if entry is None:
        return (_unsupported(routing.router),)
    extra: dict[str, Any] = {"managed_routes": routing.managed_routes} if routing.router == "istio" else {}
    return entry.validate(
        routing.config,
        path=config_path(routing.router),
        stable_service=stable_service,
        canary_service=canary_service,
        **extra,
    )


# Which optional capabilities (`base.HeaderRouting`, `base.MirrorRouting`) each router has, by the step that needs it;
# known without building the router, so a spec can be judged before anything is read from the cluster.
STEP_CAPABILITIES: Mapping[str, frozenset[str]] = {
    "istio": frozenset({"setHeaderRoute", "setMirrorRoute"}),
}


def step_issue(router: str, *, action: str, path: str) -> fields.FieldIssue | None:
    """An InvalidSpec issue for a `setHeaderRoute`/`setMirrorRoute` step the router cannot carry out, else None.

    >>> str(step_issue("nginx", action="setHeaderRoute", path="spec.strategy.canary.steps[1].setHeaderRoute"))
    'spec.strategy.canary.steps[1].setHeaderRoute: the nginx traffic router cannot do setHeaderRoute steps'
    >>> step_issue("istio", action="setMirrorRoute", path="p") is None
    True
    """
    if action in STEP_CAPABILITIES.get(router, frozenset()):
        return None
    return fields.FieldIssue(
        path=path,
        message=f"the {router.removeprefix('plugin:')} traffic router cannot do {action} steps",
        kind=fields.IssueKind.INVALID,
    )


def rollout_ref(
    routing: model.TrafficRouting,
    *,
    namespace: str,
    name: str,
    uid: str,
    stable_service: str | None,
    canary_service: str | None,
) -> base.RolloutRef:
    return base.RolloutRef(
        namespace=namespace,
        name=name,
        uid=uid,
        stable_service=stable_service,
        canary_service=canary_service,
        max_weight=routing.max_traffic_weight,
        managed_routes=routing.managed_routes,
    )


def create(
    routing: model.TrafficRouting, *, rollout: base.RolloutRef, clients: kube_client.Clients
) -> base.TrafficRouter:
    """The router for `routing`; RouterError (naming the field) when it is unknown or its config is invalid."""
    entry = ROUTERS.get(routing.router)
    if entry is None:
        issue = _unsupported(routing.router)
        raise base.RouterError(issue.path, issue.message)
    return entry.create(routing.config, path=config_path(routing.router), rollout=rollout, clients=clients)
