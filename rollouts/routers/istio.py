"""Istio: the canary weight on the destinations of VirtualService HTTP routes (networking.istio.io).

Argo's config (`trafficRouting.istio`)::

    virtualService: {name: web-vsvc, routes: [primary]}     # or virtualServices: [{name, routes}, ...]
    destinationRule: {name: web-destrule, canarySubsetName: canary, stableSubsetName: stable}   # optional

Host-level split (no destinationRule): in each named HTTP route, the destination whose host is the stable
Service gets `100 - w` and the one whose host is the canary Service gets `w` (a host matches as `svc`,
`svc.ns`, `svc.ns.svc` or `svc.ns.svc.cluster.local`). Subset-level split (with destinationRule): the
destinations are told apart by subset, and the two subsets' `rollouts-pod-template-hash` labels are set to
the stable and canary pod-template hashes. `routes` may be left out when the VirtualService has exactly one
HTTP route (not counting rollwave's header and mirror routes). A VirtualService named `name.namespace` lives in
that namespace.

Header and mirror routes (`setHeaderRoute`, `setMirrorRoute` steps; their names listed in
`trafficRouting.managedRoutes`) are HTTP routes rollwave adds at the top of every named VirtualService, in the
order of `managedRoutes`; a header route sends matching requests to the canary, a mirror route keeps the
regular split and copies matching requests to the canary. They are removed on abort (`reset_to_stable`).

Routes, destinations and fields rollwave does not manage stay as found. A named route with a destination other
than the two (a third host) is an error: rollwave would not know which weight to give it. tlsRoutes and
tcpRoutes are not supported yet (reported with the field path).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rollouts.kube import client as kube_client
from rollouts.kube import custom, errors
from rollouts.model import fields, workloads
from rollouts.routers import base

# v1alpha3 is served by every Istio release (1.0 on), as by the CRDs of today; Argo uses it too.
GROUP_VERSION = ("networking.istio.io", "v1alpha3")
VIRTUAL_SERVICES = "virtualservices"
DESTINATION_RULES = "destinationrules"
HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL
MANAGED_BY_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts"

Role = Literal["stable", "canary"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VirtualServiceRef:
    name: str
    namespace: str | None
    routes: tuple[str, ...]
    path: str  # of the VirtualService entry (`...istio.virtualService`)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DestinationRuleRef:
    name: str
    namespace: str | None
    canary_subset: str
    stable_subset: str
    path: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    virtual_services: tuple[VirtualServiceRef, ...]
    destination_rule: DestinationRuleRef | None = None


def _read_virtual_service(reader: fields.FieldReader, raw: object, path: str) -> VirtualServiceRef | None:
    entry = reader.mapping_value(raw, path)
    if entry is None:
        return None
    reader.check_keys(entry, path, known=("name", "routes"), unsupported=("tlsRoutes", "tcpRoutes"))
    name = reader.string(entry, "name", path)
    if not name:
        reader.invalid(fields.child(path, "name"), "is required")
        return None
    routes = []
    for index, route in enumerate(reader.sequence(entry, "routes", path)):
        route_name = reader.string_value(route, fields.item(f"{path}.routes", index))
        if route_name:
            routes.append(route_name)
    base_name, _, namespace = name.partition(".")
    return VirtualServiceRef(name=base_name, namespace=namespace or None, routes=tuple(routes), path=path)


def parse_config(config: Mapping[str, Any], *, path: str) -> fields.Parsed[Config]:
    """Argo's istio config.

    >>> parsed = parse_config({"virtualService": {"name": "vs.mesh", "routes": ["primary"]}}, path="p")
    >>> parsed.value.virtual_services[0]
    VirtualServiceRef(name='vs', namespace='mesh', routes=('primary',), path='p.virtualService')
    """
    reader = fields.FieldReader()
    reader.check_keys(config, path, known=("virtualService", "virtualServices", "destinationRule"))
    services: list[VirtualServiceRef] = []
    if "virtualService" in config and "virtualServices" in config:
        reader.invalid(path, "set only one of virtualService and virtualServices")
    entries = (
        [(config["virtualService"], fields.child(path, "virtualService"))]
        if "virtualService" in config
        else []
    )
    entries += [
        (raw, fields.item(f"{path}.virtualServices", index))
        for index, raw in enumerate(reader.sequence(config, "virtualServices", path))
    ]
    for raw, entry_path in entries:
        found = _read_virtual_service(reader, raw, entry_path)
        if found is not None:
            services.append(found)
    if not services and not reader.issues:
        reader.invalid(path, "must name a VirtualService (virtualService or virtualServices)")
    rule: DestinationRuleRef | None = None
    rule_path = fields.child(path, "destinationRule")
    raw_rule = reader.mapping(config, "destinationRule", path)
    if raw_rule is not None:
        reader.check_keys(raw_rule, rule_path, known=("name", "canarySubsetName", "stableSubsetName"))
        values = {}
        for key in ("name", "canarySubsetName", "stableSubsetName"):
            values[key] = reader.string(raw_rule, key, rule_path) or ""
            if not values[key]:
                reader.invalid(fields.child(rule_path, key), "is required")
        if values["canarySubsetName"] and values["canarySubsetName"] == values["stableSubsetName"]:
            reader.invalid(fields.child(rule_path, "stableSubsetName"), "must differ from canarySubsetName")
        if all(values.values()):
            name, _, namespace = values["name"].partition(".")
            rule = DestinationRuleRef(
                name=name,
                namespace=namespace or None,
                canary_subset=values["canarySubsetName"],
                stable_subset=values["stableSubsetName"],
                path=rule_path,
            )
    return fields.Parsed(
        value=Config(virtual_services=tuple(services), destination_rule=rule), issues=reader.issues
    )


def validate(
    config: Mapping[str, Any],
    *,
    path: str,
    stable_service: str | None,
    canary_service: str | None,
    managed_routes: Sequence[str] = (),
) -> tuple[fields.FieldIssue, ...]:
    """Every problem with the config, without touching the cluster."""
    parsed = parse_config(config, path=path)
    issues = list(parsed.issues)
    if "destinationRule" not in config:
        for key, service in (("stableService", stable_service), ("canaryService", canary_service)):
            if not service:
                issues.append(
                    fields.FieldIssue(
                        path=f"{base.CANARY_PATH}.{key}",
                        message="is required with the istio traffic router",
                        kind=fields.IssueKind.INVALID,
                    )
                )
    for virtual_service in parsed.value.virtual_services if parsed.value else ():
        for index, route in enumerate(virtual_service.routes):
            if route in managed_routes:
                issues.append(
                    fields.FieldIssue(
                        path=fields.item(f"{virtual_service.path}.routes", index),
                        message=f"{route} is also in managedRoutes; rollwave's header and mirror routes need "
                        "names of their own",
                        kind=fields.IssueKind.INVALID,
                    )
                )
    return tuple(issues)


# ---------------------------------------------------------------------------------------------------------------
# Pure: which destinations rollwave manages


def host_matches(host: str, *, service: str, namespace: str) -> bool:
    """Whether a destination host names the Service.

    >>> [host_matches(h, service="web", namespace="a") for h in ("web", "web.a", "web.a.svc.cluster.local", "web.b")]
    [True, True, True, False]
    """
    return (
        host == service or host == f"{service}.{namespace}" or host.startswith(f"{service}.{namespace}.svc")
    )


def destination_role(
    destination: Mapping[str, Any], *, rollout: base.RolloutRef, rule: DestinationRuleRef | None
) -> Role | None:
    target = destination.get("destination") or {}
    if rule is not None:
        subset = target.get("subset")
        return (
            "stable" if subset == rule.stable_subset else "canary" if subset == rule.canary_subset else None
        )
    host = target.get("host") or ""
    if rollout.stable_service and host_matches(
        host, service=rollout.stable_service, namespace=rollout.namespace
    ):
        return "stable"
    if rollout.canary_service and host_matches(
        host, service=rollout.canary_service, namespace=rollout.namespace
    ):
        return "canary"
    return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ManagedRoute:
    index: int  # in spec.http
    name: str
    stable: tuple[int, ...]  # indexes in the route's `route` list
    canary: tuple[int, ...]


def _roles(
    route: Mapping[str, Any], *, rollout: base.RolloutRef, rule: DestinationRuleRef | None
) -> tuple[list[int], list[int], list[int]]:
    stable: list[int] = []
    canary: list[int] = []
    other: list[int] = []
    for index, destination in enumerate(route.get("route") or ()):
        role = destination_role(destination, rollout=rollout, rule=rule)
        (stable if role == "stable" else canary if role == "canary" else other).append(index)
    return stable, canary, other


def _what(rollout: base.RolloutRef, rule: DestinationRuleRef | None, role: Role) -> str:
    if rule is not None:
        return f"{role} subset {rule.stable_subset if role == 'stable' else rule.canary_subset}"
    return f"{role} Service {rollout.stable_service if role == 'stable' else rollout.canary_service}"


def managed_routes(
    virtual_service: Mapping[str, Any],
    *,
    ref: VirtualServiceRef,
    rollout: base.RolloutRef,
    rule: DestinationRuleRef | None,
) -> list[ManagedRoute]:
    """The HTTP routes `ref` names (or the only one), with their stable and canary destinations.

    Raises RouterError (naming the Rollout field) when a route is missing or does not send traffic to exactly
    the stable and the canary destinations.
    """
    meta = virtual_service.get("metadata") or {}
    where = f"VirtualService {meta.get('namespace')}/{meta.get('name')}"
    http = (virtual_service.get("spec") or {}).get("http") or []
    if ref.routes:
        wanted: list[tuple[int, str]] = []
        for position, name in enumerate(ref.routes):
            index = next((i for i, route in enumerate(http) if route.get("name") == name), None)
            if index is None:
                raise base.RouterError(
                    fields.item(f"{ref.path}.routes", position), f"{where} has no HTTP route named {name}"
                )
            wanted.append((index, fields.item(f"{ref.path}.routes", position)))
    else:
        candidates = [i for i, route in enumerate(http) if route.get("name") not in rollout.managed_routes]
        if len(candidates) != 1:
            raise base.RouterError(
                fields.child(ref.path, "routes"),
                f"is required: {where} has {len(candidates)} HTTP routes, so rollwave cannot tell which to use",
            )
        wanted = [(candidates[0], ref.path)]
    result = []
    for index, path in wanted:
        route = http[index]
        stable, canary, other = _roles(route, rollout=rollout, rule=rule)
        label = route.get("name") or f"http[{index}]"
        roles: tuple[tuple[Role, list[int]], ...] = (("stable", stable), ("canary", canary))
        for role, found in roles:
            if not found:
                raise base.RouterError(
                    path, f"{where} route {label} has no destination for the {_what(rollout, rule, role)}"
                )
        if other:
            host = ((route["route"][other[0]].get("destination") or {}).get("host")) or "?"
            raise base.RouterError(
                path,
                f"{where} route {label} also sends traffic to {host}; rollwave manages routes whose "
                "destinations are only the stable and the canary",
            )
        result.append(ManagedRoute(index=index, name=label, stable=tuple(stable), canary=tuple(canary)))
    return result


def _weight(destination: Mapping[str, Any]) -> int:
    value = destination.get("weight")
    return value if isinstance(value, int) else 0


# ---------------------------------------------------------------------------------------------------------------
# Pure: patches


def _patch(
    obj: Mapping[str, Any], *, spec: dict[str, Any] | None, annotations: dict[str, Any]
) -> dict[str, Any]:
    patch: dict[str, Any] = {
        "metadata": {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion")}
    }
    if annotations:
        patch["metadata"]["annotations"] = annotations
    if spec:
        # Lists are replaced whole by a merge patch; the resourceVersion pins the list this one was derived from.
        patch["spec"] = spec
    return patch


def plan_weight(
    virtual_service: Mapping[str, Any],
    *,
    weight: int,
    ref: VirtualServiceRef,
    rollout: base.RolloutRef,
    rule: DestinationRuleRef | None = None,
    record: bool = True,
) -> base.Plan:
    """The patch giving the canary `weight` and the stable `100 - weight` in the named routes (and in
    rollwave's mirror routes, which carry the same split)."""
    base.check_weight(weight, max_weight=100)
    http = copy.deepcopy(list((virtual_service.get("spec") or {}).get("http") or ()))
    name = (virtual_service.get("metadata") or {}).get("name")
    recorded = base.recorded_weight(virtual_service, rollout=rollout.name)
    wanted = {"canary": weight, "stable": 100 - weight}
    routes = managed_routes(virtual_service, ref=ref, rollout=rollout, rule=rule)
    mirrors = []
    for index, route in enumerate(http):
        if route.get("name") in rollout.managed_routes and route.get("mirror"):
            stable, canary, _ = _roles(route, rollout=rollout, rule=rule)
            if stable and canary:
                mirrors.append(
                    ManagedRoute(index=index, name=route["name"], stable=tuple(stable), canary=tuple(canary))
                )
    changed = False
    restored = []
    for managed in [*routes, *mirrors]:
        destinations = http[managed.index]["route"]
        found = {
            "canary": _weight(destinations[managed.canary[0]]),
            "stable": _weight(destinations[managed.stable[0]]),
        }
        current = [(_weight(destinations[i]), wanted["stable"]) for i in managed.stable] + [
            (_weight(destinations[i]), wanted["canary"]) for i in managed.canary
        ]
        if all(have == want for have, want in current):
            continue
        changed = True
        if (
            recorded is not None
            and managed in routes
            and found != {"canary": recorded, "stable": 100 - recorded}
        ):
            restored.append(
                f"VirtualService {name} route {managed.name}: canary {found['canary']}/stable {found['stable']} "
                f"(rollwave had set {recorded}/{100 - recorded})"
            )
        for index in managed.stable:
            destinations[index]["weight"] = wanted["stable"]
        for index in managed.canary:
            destinations[index]["weight"] = wanted["canary"]
    annotations = (virtual_service.get("metadata") or {}).get("annotations") or {}
    new_annotations = base.record_weight(annotations, rollout=rollout.name, weight=weight if record else None)
    if not changed and new_annotations == annotations:
        return base.Plan(patch=None)
    return base.Plan(
        patch=_patch(
            virtual_service,
            spec={"http": http} if changed else None,
            annotations={base.WEIGHTS_ANNOTATION: new_annotations.get(base.WEIGHTS_ANNOTATION)},
        ),
        restored=tuple(restored),
    )


def plan_subset_hashes(
    destination_rule: Mapping[str, Any],
    *,
    rule: DestinationRuleRef,
    rollout: base.RolloutRef,
    canary_hash: str | None,
    stable_hash: str | None,
) -> dict[str, Any] | None:
    """The patch pointing the canary and stable subsets at their pod-template hashes (None: already so).
    A hash given as None leaves that subset's label as it is."""
    meta = destination_rule.get("metadata") or {}
    subsets = copy.deepcopy(list((destination_rule.get("spec") or {}).get("subsets") or ()))
    changed = False
    for subset_name, key, pod_hash in (
        (rule.canary_subset, "canarySubsetName", canary_hash),
        (rule.stable_subset, "stableSubsetName", stable_hash),
    ):
        subset = next((s for s in subsets if s.get("name") == subset_name), None)
        if subset is None:
            raise base.RouterError(
                fields.child(rule.path, key),
                f"DestinationRule {meta.get('namespace')}/{meta.get('name')} has no subset named {subset_name}",
            )
        if pod_hash is None:
            continue
        labels = subset.setdefault("labels", {})
        if labels.get(HASH_LABEL) != pod_hash:
            labels[HASH_LABEL] = pod_hash
            changed = True
    annotations = meta.get("annotations") or {}
    managed_by = (
        {}
        if annotations.get(MANAGED_BY_ANNOTATION) == rollout.name
        else {MANAGED_BY_ANNOTATION: rollout.name}
    )
    if not changed and not managed_by:
        return None
    return _patch(destination_rule, spec={"subsets": subsets} if changed else None, annotations=managed_by)


def canary_weight(
    virtual_service: Mapping[str, Any],
    *,
    ref: VirtualServiceRef,
    rollout: base.RolloutRef,
    rule: DestinationRuleRef | None = None,
) -> int | None:
    """The canary weight of the named routes; None if they disagree."""
    http = (virtual_service.get("spec") or {}).get("http") or []
    weights = {
        sum(_weight(http[managed.index]["route"][i]) for i in managed.canary)
        for managed in managed_routes(virtual_service, ref=ref, rollout=rollout, rule=rule)
    }
    return weights.pop() if len(weights) == 1 else None


def _canary_destination(
    virtual_service: Mapping[str, Any],
    *,
    ref: VirtualServiceRef,
    rollout: base.RolloutRef,
    rule: DestinationRuleRef | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The canary `destination` and a copy of the first named route's `route` list (for mirror routes)."""
    http = (virtual_service.get("spec") or {}).get("http") or []
    first = managed_routes(virtual_service, ref=ref, rollout=rollout, rule=rule)[0]
    destinations = http[first.index]["route"]
    return copy.deepcopy(destinations[first.canary[0]]["destination"]), copy.deepcopy(destinations)


def _order_managed_first(http: list[dict[str, Any]], *, managed: Sequence[str]) -> list[dict[str, Any]]:
    ours = sorted(
        (route for route in http if route.get("name") in managed), key=lambda r: managed.index(r["name"])
    )
    return ours + [route for route in http if route.get("name") not in managed]


def _require_managed(name: str, *, rollout: base.RolloutRef) -> None:
    if name not in rollout.managed_routes:
        raise base.RouterError(
            f"{base.ROUTING_PATH}.managedRoutes",
            f"must list {name} (the route a setHeaderRoute or setMirrorRoute step names)",
        )


def plan_managed_route(
    virtual_service: Mapping[str, Any], *, name: str, route: dict[str, Any] | None, rollout: base.RolloutRef
) -> dict[str, Any] | None:
    """The patch putting `route` (None: removing it) as rollwave's managed route `name`, managed routes first
    in `managedRoutes` order; None when the VirtualService already is so."""
    old = list((virtual_service.get("spec") or {}).get("http") or ())
    http = [copy.deepcopy(r) for r in old if r.get("name") != name]
    if route is not None:
        http.append(route)
    http = _order_managed_first(http, managed=rollout.managed_routes)
    if http == old:
        return None
    return _patch(virtual_service, spec={"http": http}, annotations={})


def header_route(
    virtual_service: Mapping[str, Any],
    *,
    header: base.HeaderRoute,
    ref: VirtualServiceRef,
    rollout: base.RolloutRef,
    rule: DestinationRuleRef | None = None,
) -> dict[str, Any] | None:
    """The HTTP route for a setHeaderRoute step (all headers must match; everything to the canary), or None
    for a step without matches (which removes it)."""
    _require_managed(header.name, rollout=rollout)
    if not header.headers:
        return None
    canary, _ = _canary_destination(virtual_service, ref=ref, rollout=rollout, rule=rule)
    return {
        "name": header.name,
        "match": [{"headers": {name: match.to_wire() for name, match in header.headers}}],
        "route": [{"destination": canary, "weight": 100}],
    }


def mirror_route(
    virtual_service: Mapping[str, Any],
    *,
    mirror: base.MirrorRoute,
    ref: VirtualServiceRef,
    rollout: base.RolloutRef,
    rule: DestinationRuleRef | None = None,
) -> dict[str, Any] | None:
    """The HTTP route for a setMirrorRoute step: matching requests keep the current split and are mirrored to
    the canary (`percentage` of them); None for a step without matches (which removes it)."""
    _require_managed(mirror.name, rollout=rollout)
    if not mirror.matches:
        return None
    canary, destinations = _canary_destination(virtual_service, ref=ref, rollout=rollout, rule=rule)
    matches = []
    for match in mirror.matches:
        entry: dict[str, Any] = {}
        if match.method is not None:
            entry["method"] = match.method.to_wire()
        if match.path is not None:
            entry["uri"] = match.path.to_wire()
        if match.headers:
            entry["headers"] = {name: value.to_wire() for name, value in match.headers}
        matches.append(entry)
    route: dict[str, Any] = {"name": mirror.name, "match": matches, "route": destinations, "mirror": canary}
    if mirror.percentage is not None:
        route["mirrorPercentage"] = {"value": float(mirror.percentage)}
    return route


# ---------------------------------------------------------------------------------------------------------------
# I/O


class IstioRouter:
    """Weights (and header/mirror routes) on the VirtualServices of one Rollout; subset hashes on its
    DestinationRule."""

    def __init__(self, *, config: Config, rollout: base.RolloutRef, clients: kube_client.Clients) -> None:
        self.config, self.rollout, self.clients = config, rollout, clients

    # -- reading and writing, with a fresh read after a 409

    def _namespace(self, namespace: str | None) -> str:
        return namespace or self.rollout.namespace

    def _get_virtual_service(self, ref: VirtualServiceRef) -> dict[str, Any]:
        found = custom.get(
            self.clients.custom,
            group_version=GROUP_VERSION,
            plural=VIRTUAL_SERVICES,
            namespace=self._namespace(ref.namespace),
            name=ref.name,
        )
        if found is None:
            raise base.RouterError(
                fields.child(ref.path, "name"),
                f"VirtualService {self._namespace(ref.namespace)}/{ref.name} not found (is Istio installed?)",
                retryable=True,
            )
        return found

    def _get_destination_rule(self, rule: DestinationRuleRef) -> dict[str, Any]:
        found = custom.get(
            self.clients.custom,
            group_version=GROUP_VERSION,
            plural=DESTINATION_RULES,
            namespace=self._namespace(rule.namespace),
            name=rule.name,
        )
        if found is None:
            raise base.RouterError(
                fields.child(rule.path, "name"),
                f"DestinationRule {self._namespace(rule.namespace)}/{rule.name} not found",
                retryable=True,
            )
        return found

    def _write(self, *, plural: str, namespace: str | None, name: str, patch: dict[str, Any]) -> None:
        custom.patch(
            self.clients.custom,
            group_version=GROUP_VERSION,
            plural=plural,
            namespace=self._namespace(namespace),
            name=name,
            body=patch,
        )

    def _update_virtual_service(self, ref: VirtualServiceRef, plan: Any) -> base.WeightChange:
        """Read, `plan(virtual_service) -> Plan`, patch; again on a 409."""
        for _ in range(base.CONFLICT_RETRIES):
            found: base.Plan = plan(self._get_virtual_service(ref))
            if found.patch is None:
                return base.WeightChange()
            try:
                self._write(
                    plural=VIRTUAL_SERVICES, namespace=ref.namespace, name=ref.name, patch=found.patch
                )
            except errors.Conflict:
                continue
            return base.WeightChange(changed=True, restored=found.restored)
        raise errors.Conflict(f"VirtualService {ref.name} kept changing; will retry", status=409)

    def _update_hashes(self, *, canary_hash: str | None, stable_hash: str | None) -> bool:
        rule = self.config.destination_rule
        if rule is None or (canary_hash is None and stable_hash is None):
            return False
        for _ in range(base.CONFLICT_RETRIES):
            patch = plan_subset_hashes(
                self._get_destination_rule(rule),
                rule=rule,
                rollout=self.rollout,
                canary_hash=canary_hash,
                stable_hash=stable_hash,
            )
            if patch is None:
                return False
            try:
                self._write(plural=DESTINATION_RULES, namespace=rule.namespace, name=rule.name, patch=patch)
            except errors.Conflict:
                continue
            return True
        raise errors.Conflict(f"DestinationRule {rule.name} kept changing; will retry", status=409)

    # -- the protocol

    def set_weight(
        self, weight: int, *, canary_hash: str | None = None, stable_hash: str | None = None
    ) -> base.WeightChange:
        rule = self.config.destination_rule
        current = self.read_weight() if rule is not None else None
        # Subsets first when traffic moves to the canary (its subset must select the canary's pods before it
        # gets any), weights first when traffic moves back (the stable subset keeps its pods until then).
        hashes_first = current is None or weight >= current
        if hashes_first:
            self._update_hashes(canary_hash=canary_hash, stable_hash=stable_hash)
        change = base.WeightChange()
        for ref in self.config.virtual_services:
            change = change.merged(
                self._update_virtual_service(
                    ref,
                    lambda vs, ref=ref: plan_weight(
                        vs, weight=weight, ref=ref, rollout=self.rollout, rule=rule
                    ),
                )
            )
        if not hashes_first:
            self._update_hashes(canary_hash=canary_hash, stable_hash=stable_hash)
        return change

    def read_weight(self) -> int | None:
        weights = {
            canary_weight(
                self._get_virtual_service(ref),
                ref=ref,
                rollout=self.rollout,
                rule=self.config.destination_rule,
            )
            for ref in self.config.virtual_services
        }
        return weights.pop() if len(weights) == 1 else None

    def reset_to_stable(self) -> base.WeightChange:
        change = self.set_weight(0)
        self.remove_managed_routes()
        return change

    def _set_managed_route(self, name: str, build: Any) -> bool:
        changed = False
        for ref in self.config.virtual_services:

            def plan(vs: dict[str, Any], ref: VirtualServiceRef = ref) -> base.Plan:
                return base.Plan(
                    patch=plan_managed_route(vs, name=name, route=build(vs, ref), rollout=self.rollout)
                )

            changed = self._update_virtual_service(ref, plan).changed or changed
        return changed

    def remove_managed_routes(self) -> bool:
        changed = False
        for name in self.rollout.managed_routes:
            changed = self._set_managed_route(name, lambda vs, ref: None) or changed
        return changed

    def set_header_route(self, route: base.HeaderRoute) -> bool:
        rule = self.config.destination_rule
        return self._set_managed_route(
            route.name,
            lambda vs, ref: header_route(vs, header=route, ref=ref, rollout=self.rollout, rule=rule),
        )

    def set_mirror_route(self, route: base.MirrorRoute) -> bool:
        rule = self.config.destination_rule
        return self._set_managed_route(
            route.name,
            lambda vs, ref: mirror_route(vs, mirror=route, ref=ref, rollout=self.rollout, rule=rule),
        )

    def release(self) -> None:
        with contextlib.suppress(base.RouterError):
            self.remove_managed_routes()
        for ref in self.config.virtual_services:
            try:
                self._update_virtual_service(
                    ref,
                    lambda vs, ref=ref: plan_weight(
                        vs,
                        weight=0,
                        ref=ref,
                        rollout=self.rollout,
                        rule=self.config.destination_rule,
                        record=False,
                    ),
                )
            except base.RouterError:
                continue  # gone, or no longer naming the Services: nothing of ours to undo


def create(
    config: Mapping[str, Any], *, path: str, rollout: base.RolloutRef, clients: kube_client.Clients
) -> IstioRouter:
    """The router for a valid config; RouterError naming the first bad field otherwise."""
    issues = validate(
        config,
        path=path,
        stable_service=rollout.stable_service,
        canary_service=rollout.canary_service,
        managed_routes=rollout.managed_routes,
    )
    if issues:
        raise base.RouterError(issues[0].path, issues[0].message)
    return IstioRouter(config=parse_config(config, path=path).require(), rollout=rollout, clients=clients)
