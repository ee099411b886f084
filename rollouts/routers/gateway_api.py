"""Gateway API: the canary weight on the backendRefs of HTTPRoutes (gateway.networking.k8s.io/v1).

Configured in Argo's plugin form (`trafficRouting.plugins.argoproj-labs/gatewayAPI`), which rollwave runs natively
(no plugin binary), or with rollwave's own field `trafficRouting.gatewayAPI` (an extension; same keys)::

    plugins:
      argoproj-labs/gatewayAPI:
        httpRoute: web            # one route, or:
        httpRoutes: [{name: web}, {name: web-internal, useHeaderRoutes: true}]
        namespace: gateways       # where the routes live (default: the Rollout's namespace)

In every named route, the managed rules are those with a backendRef to the stable or the canary Service; each
must reference both. Their canary backendRef gets weight `w` and the stable one `maxTrafficWeight - w`
(Gateway API weights are relative, so the pair always sums to maxTrafficWeight, 100 by default). Rules that send
traffic elsewhere, other backendRefs of a managed rule, and every other field are left as found.

Not supported (reported with the field path): grpcRoutes, tcpRoutes, tlsRoutes, configMap (the plugin keeps
header routes there), in-progress labels. Header routes on Gateway API are not implemented yet, so a
setHeaderRoute step on this router is an InvalidSpec (the router lacks `base.HeaderRouting`).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from rollouts.kube import client as kube_client
from rollouts.kube import custom, errors
from rollouts.model import fields
from rollouts.routers import base

GROUP_VERSION = ("gateway.networking.k8s.io", "v1")
PLURAL = "httproutes"
_DEFAULT_WEIGHT = 1  # the Gateway API default for a backendRef without `weight`
_UNSUPPORTED_KEYS = (
    "grpcRoutes",
    "tcpRoutes",
    "tlsRoutes",
    "configMap",
    "configMapRWMutex",
    "inProgressLabelKey",
    "inProgressLabelValue",
    "disableInProgressLabel",
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RouteRef:
    name: str
    path: str  # the Rollout field naming this route, for errors
    use_header_routes: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    routes: tuple[RouteRef, ...]
    namespace: str | None = None


def parse_config(config: Mapping[str, Any], *, path: str) -> fields.Parsed[Config]:
    """The plugin's config. `httpRoute` and `httpRoutes` may both be given (the plugin allows it).

    >>> parse_config({"httpRoutes": [{"name": "web"}], "namespace": "gw"}, path="p").value
    Config(routes=(RouteRef(name='web', path='p.httpRoutes[0].name', use_header_routes=False),), namespace='gw')
    >>> [str(issue) for issue in parse_config({}, path="p").issues]
    ['p: must name an HTTPRoute (httpRoute or httpRoutes)']
    """
    reader = fields.FieldReader()
    reader.check_keys(
        config, path, known=("httpRoute", "httpRoutes", "namespace"), unsupported=_UNSUPPORTED_KEYS
    )
    routes: list[RouteRef] = []
    single = reader.string(config, "httpRoute", path)
    if single:
        routes.append(RouteRef(name=single, path=fields.child(path, "httpRoute")))
    for index, raw in enumerate(reader.sequence(config, "httpRoutes", path)):
        item_path = fields.item(f"{path}.httpRoutes", index)
        item = reader.mapping_value(raw, item_path)
        if item is None:
            continue
        reader.check_keys(item, item_path, known=("name", "useHeaderRoutes"))
        name = reader.string(item, "name", item_path)
        if not name:
            reader.invalid(fields.child(item_path, "name"), "is required")
            continue
        routes.append(
            RouteRef(
                name=name,
                path=fields.child(item_path, "name"),
                use_header_routes=bool(reader.boolean(item, "useHeaderRoutes", item_path)),
            )
        )
    if not routes and not reader.issues:
        reader.invalid(path, "must name an HTTPRoute (httpRoute or httpRoutes)")
    namespace = reader.string(config, "namespace", path) or None
    return fields.Parsed(value=Config(routes=tuple(routes), namespace=namespace), issues=reader.issues)


def validate(
    config: Mapping[str, Any], *, path: str, stable_service: str | None, canary_service: str | None
) -> tuple[fields.FieldIssue, ...]:
    """Every problem with the config (and the Services it needs), without touching the cluster."""
    issues = list(parse_config(config, path=path).issues)
    issues += base.missing_services(
        "Gateway API", stable_service=stable_service, canary_service=canary_service
    )
    return tuple(issues)


# ---------------------------------------------------------------------------------------------------------------
# Pure: the patch for one HTTPRoute


def references(backend_ref: Mapping[str, Any], *, service: str, namespace: str, route_namespace: str) -> bool:
    """Whether a backendRef points at the Service `service` in `namespace`.

    >>> references({"name": "web-canary", "port": 80}, service="web-canary", namespace="a", route_namespace="a")
    True
    >>> references({"name": "web-canary", "namespace": "b"}, service="web-canary", namespace="a",
    ...            route_namespace="a")
    False
    """
    return (
        backend_ref.get("group", "") in ("", "core")
        and backend_ref.get("kind", "Service") == "Service"
        and backend_ref.get("name") == service
        and (backend_ref.get("namespace") or route_namespace) == namespace
    )


def managed_rules(
    route: Mapping[str, Any], *, rollout: base.RolloutRef, path: str
) -> list[tuple[int, list[int], list[int]]]:
    """(rule index, stable backendRef indexes, canary backendRef indexes) of every rule naming either Service.

    Raises RouterError when a rule names only one of the two, or when no rule names them at all.
    """
    stable, canary = rollout.stable_service or "", rollout.canary_service or ""
    meta = route.get("metadata") or {}
    route_namespace = meta.get("namespace") or rollout.namespace
    where = f"HTTPRoute {route_namespace}/{meta.get('name')}"
    found = []
    for rule_index, rule in enumerate((route.get("spec") or {}).get("rules") or ()):
        refs = rule.get("backendRefs") or ()
        stables = [
            index
            for index, ref in enumerate(refs)
            if references(ref, service=stable, namespace=rollout.namespace, route_namespace=route_namespace)
        ]
        canaries = [
            index
            for index, ref in enumerate(refs)
            if references(ref, service=canary, namespace=rollout.namespace, route_namespace=route_namespace)
        ]
        if stables and canaries:
            found.append((rule_index, stables, canaries))
        elif stables or canaries:
            named, missing = (
                (("stable", stable), ("canary", canary))
                if stables
                else (("canary", canary), ("stable", stable))
            )
            raise base.RouterError(
                path,
                f"{where} rules[{rule_index}] sends traffic to the {named[0]} Service {named[1]} "
                f"but not to the {missing[0]} Service {missing[1]}; add a backendRef to it",
            )
    if not found:
        raise base.RouterError(
            path,
            f"{where} has no rule with backendRefs to both the stable Service {stable} "
            f"and the canary Service {canary}",
        )
    return found


def _weight(ref: Mapping[str, Any]) -> int:
    value = ref.get("weight")
    return value if isinstance(value, int) else _DEFAULT_WEIGHT


def plan_weight(
    route: Mapping[str, Any], *, weight: int, rollout: base.RolloutRef, path: str, record: bool = True
) -> base.Plan:
    """The patch giving the canary `weight` (stable: `max_weight - weight`) in every managed rule of `route`.

    `record=False` drops rollwave's record of the weight instead of updating it (when letting go of a route).
    """
    base.check_weight(weight, max_weight=rollout.max_weight)
    rules = copy.deepcopy(list((route.get("spec") or {}).get("rules") or ()))
    recorded = base.recorded_weight(route, rollout=rollout.name)
    name = (route.get("metadata") or {}).get("name")
    wanted = {"canary": weight, "stable": rollout.max_weight - weight}
    changed = False
    restored = []
    for rule_index, stables, canaries in managed_rules(route, rollout=rollout, path=path):
        refs = rules[rule_index]["backendRefs"]
        found = {
            "canary": _weight(refs[canaries[0]]),
            "stable": _weight(refs[stables[0]]),
        }
        if any(_weight(refs[i]) != wanted["stable"] for i in stables) or any(
            _weight(refs[i]) != wanted["canary"] for i in canaries
        ):
            changed = True
            if recorded is not None and found != {
                "canary": recorded,
                "stable": rollout.max_weight - recorded,
            }:
                restored.append(
                    f"HTTPRoute {name} rules[{rule_index}]: canary {found['canary']}/stable {found['stable']} "
                    f"(rollwave had set {recorded}/{rollout.max_weight - recorded})"
                )
            for index in stables:
                refs[index]["weight"] = wanted["stable"]
            for index in canaries:
                refs[index]["weight"] = wanted["canary"]
    annotations = (route.get("metadata") or {}).get("annotations") or {}
    new_annotations = base.record_weight(annotations, rollout=rollout.name, weight=weight if record else None)
    if not changed and new_annotations == annotations:
        return base.Plan(patch=None)
    patch: dict[str, Any] = {
        "metadata": {
            "resourceVersion": (route.get("metadata") or {}).get("resourceVersion"),
            "annotations": {base.WEIGHTS_ANNOTATION: new_annotations.get(base.WEIGHTS_ANNOTATION)},
        }
    }
    if changed:
        # A merge patch replaces lists whole; the resourceVersion makes sure it replaces the list it was read from.
        patch["spec"] = {"rules": rules}
    return base.Plan(patch=patch, restored=tuple(restored))


def canary_share(route: Mapping[str, Any], *, rollout: base.RolloutRef, path: str) -> int | None:
    """The canary's share of the managed rules' traffic, out of `max_weight`; None if the rules disagree or
    send nothing to either.

    >>> rollout = base.RolloutRef(namespace="a", name="web", uid="u", stable_service="s", canary_service="c")
    >>> canary_share({"spec": {"rules": [{"backendRefs": [{"name": "s"}, {"name": "c"}]}]}}, rollout=rollout,
    ...              path="p")
    50
    """
    shares = set()
    for rule_index, stables, canaries in managed_rules(route, rollout=rollout, path=path):
        refs = route["spec"]["rules"][rule_index]["backendRefs"]
        canary = sum(_weight(refs[i]) for i in canaries)
        total = canary + sum(_weight(refs[i]) for i in stables)
        if total == 0:
            return None
        shares.add(round(canary * rollout.max_weight / total))
    return shares.pop() if len(shares) == 1 else None


# ---------------------------------------------------------------------------------------------------------------
# I/O


class GatewayApiRouter:
    """Weights on the HTTPRoutes of one Rollout."""

    def __init__(self, *, config: Config, rollout: base.RolloutRef, clients: kube_client.Clients) -> None:
        self.config, self.rollout, self.clients = config, rollout, clients

    def _namespace(self) -> str:
        return self.config.namespace or self.rollout.namespace

    def _get(self, ref: RouteRef) -> dict[str, Any]:
        route = custom.get(
            self.clients.custom,
            group_version=GROUP_VERSION,
            plural=PLURAL,
            namespace=self._namespace(),
            name=ref.name,
        )
        if route is None:
            raise base.RouterError(
                ref.path,
                f"HTTPRoute {self._namespace()}/{ref.name} not found (is the Gateway API installed?)",
                retryable=True,
            )
        return route

    def _apply(self, ref: RouteRef, *, weight: int, record: bool = True) -> base.WeightChange:
        for _ in range(base.CONFLICT_RETRIES):
            route = self._get(ref)
            plan = plan_weight(route, weight=weight, rollout=self.rollout, path=ref.path, record=record)
            if plan.patch is None:
                return base.WeightChange()
            try:
                custom.patch(
                    self.clients.custom,
                    group_version=GROUP_VERSION,
                    plural=PLURAL,
                    namespace=self._namespace(),
                    name=ref.name,
                    body=plan.patch,
                )
            except errors.Conflict:
                continue  # changed since we read it: read again, decide again
            return base.WeightChange(changed=True, restored=plan.restored)
        raise errors.Conflict(
            f"HTTPRoute {self._namespace()}/{ref.name} kept changing; will retry", status=409
        )

    def set_weight(
        self, weight: int, *, canary_hash: str | None = None, stable_hash: str | None = None
    ) -> base.WeightChange:
        change = base.WeightChange()
        for ref in self.config.routes:
            change = change.merged(self._apply(ref, weight=weight))
        return change

    def read_weight(self) -> int | None:
        shares = {
            canary_share(self._get(ref), rollout=self.rollout, path=ref.path) for ref in self.config.routes
        }
        return shares.pop() if len(shares) == 1 else None

    def reset_to_stable(self) -> base.WeightChange:
        return self.set_weight(0)

    def remove_managed_routes(self) -> bool:
        return False

    def release(self) -> None:
        for ref in self.config.routes:
            try:
                self._apply(ref, weight=0, record=False)
            except base.RouterError:
                continue  # a route that is gone or no longer names the Services needs nothing from us


def create(
    config: Mapping[str, Any], *, path: str, rollout: base.RolloutRef, clients: kube_client.Clients
) -> GatewayApiRouter:
    """The router for a valid config; RouterError naming the first bad field otherwise."""
    issues = validate(
        config, path=path, stable_service=rollout.stable_service, canary_service=rollout.canary_service
    )
    if issues:
        raise base.RouterError(issues[0].path, issues[0].message)
    parsed = parse_config(config, path=path).require()
    return GatewayApiRouter(config=parsed, rollout=rollout, clients=clients)
