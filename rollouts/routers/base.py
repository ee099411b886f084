"""What every traffic router shares: the `TrafficRouter` seam, its result (`WeightChange`) and its error.

A router moves the canary's share of traffic on one kind of object (HTTPRoute, Ingress, VirtualService,
TrafficSplit). Each router module keeps two halves apart:

- pure functions: the current object (a plain API dict) plus the weight and the Services in, the desired object
  (or None: nothing to write) out, with what had drifted;
- one class that reads the object, calls those functions and writes the result once (a merge patch that
  carries the `resourceVersion` it was computed from, so a concurrent edit is never undone blindly: the
  server answers 409, and the router reads and computes again).

Ownership. A router touches only what rollwave manages: the weights of the stable and canary backends in the
routes the Rollout names (Gateway API, Istio), the `rollouts-pod-template-hash` labels of the two subsets
(Istio DestinationRule), the objects it creates itself (NGINX canary Ingress, SMI TrafficSplit), the header
and mirror routes it adds (`managedRoutes`), and one annotation. Everything else on those objects is left as
it was found.

Conflicts. The annotation `rollwave.dev/traffic-weights` (JSON, rollout name -> canary weight) records what
rollwave last wrote, in the same patch as the weights. When weights on the object differ from that record, and
rollwave has to write them back, someone else (a GitOps tool, a person with kubectl) changed them: the
`WeightChange` says so in `restored`, for the caller to record an Event. Without a record (first write, or the
annotation was removed) a difference is just the first change, not a conflict.

Errors. `RouterError(path, message, retryable)` names the Rollout field that leads to the problem
(`spec.strategy.canary.trafficRouting.istio.virtualService.routes[0]`). `retryable` is True when the cluster
may still fix itself (an object not created yet); False when the spec must change (a route that does not send
traffic to both Services). API failures are `kube.errors.KubeError`, as for any other effect.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from rollouts.model import fields

# The step bodies live in the model (parsed with the Rollout); routers take them from there.
from rollouts.model.routes import HeaderRoute as HeaderRoute
from rollouts.model.routes import MirrorMatch as MirrorMatch
from rollouts.model.routes import MirrorRoute as MirrorRoute
from rollouts.model.routes import StringMatch as StringMatch
from rollouts.model.routes import parse_header_route as parse_header_route
from rollouts.model.routes import parse_mirror_route as parse_mirror_route
from rollouts.model.routes import parse_string_match as parse_string_match

WEIGHTS_ANNOTATION = "rollwave.dev/traffic-weights"
ROUTING_PATH = "spec.strategy.canary.trafficRouting"
CANARY_PATH = "spec.strategy.canary"
CONFLICT_RETRIES = 3


class RouterError(Exception):
    """A traffic router cannot act on what the Rollout names. `path` is the Rollout field to look at.

    >>> err = RouterError("spec.strategy.canary.trafficRouting.nginx.stableIngress", "Ingress web not found",
    ...                   retryable=True)
    >>> str(err)
    'spec.strategy.canary.trafficRouting.nginx.stableIngress: Ingress web not found'
    """

    def __init__(self, path: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.retryable = retryable

    def issue(self) -> fields.FieldIssue:
        """The same problem as a FieldIssue, for an InvalidSpec condition."""
        return fields.FieldIssue(path=self.path, message=self.message, kind=fields.IssueKind.INVALID)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RolloutRef:
    """The Rollout a router works for: identity (for ownership and the weights record) and its Services."""

    namespace: str
    name: str
    uid: str
    stable_service: str | None = None
    canary_service: str | None = None
    max_weight: int = 100
    managed_routes: tuple[str, ...] = ()

    def owner_reference(self) -> dict[str, Any]:
        """What objects rollwave creates for this Rollout carry, so deleting the Rollout deletes them."""
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WeightChange:
    """What a `set_weight` did. `restored` lists what someone else had changed and rollwave put back.

    >>> WeightChange(changed=True, restored=("HTTPRoute web rules[0]: canary 35/stable 65",)).conflicted
    True
    """

    changed: bool = False
    restored: tuple[str, ...] = ()

    @property
    def conflicted(self) -> bool:
        return bool(self.restored)

    def merged(self, other: WeightChange) -> WeightChange:
        return WeightChange(changed=self.changed or other.changed, restored=self.restored + other.restored)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a router's pure half decided for one object: a merge patch for it, or a whole object to create,
    or neither (it is already as wanted); and what the write puts back that someone else had changed."""

    patch: dict[str, Any] | None = None
    create: dict[str, Any] | None = None
    restored: tuple[str, ...] = ()

    @property
    def noop(self) -> bool:
        return self.patch is None and self.create is None


class TrafficRouter(Protocol):
    """One Rollout's traffic on one router. All methods are idempotent; each reads before it writes."""

    def set_weight(
        self, weight: int, *, canary_hash: str | None = None, stable_hash: str | None = None
    ) -> WeightChange:
        """Send `weight` (out of `RolloutRef.max_weight`) to the canary and the rest to the stable.

        The hashes matter only to routers that route by pod labels (Istio subsets); others ignore them.
        """
        ...

    def read_weight(self) -> int | None:
        """The canary weight the router holds now, read back from the API server; None when it holds none
        (object missing) or the managed routes disagree."""
        ...

    def reset_to_stable(self) -> WeightChange:
        """All traffic to stable (abort): weight 0, and managed header/mirror routes removed."""
        ...

    def remove_managed_routes(self) -> bool:
        """Remove the header and mirror routes rollwave added; True if something was removed."""
        ...

    def release(self) -> None:
        """The Rollout is gone or no longer routes: delete what rollwave created, leave routes at full stable."""
        ...


# ---------------------------------------------------------------------------------------------------------------
# Optional capabilities: header and mirror routes (Argo's setHeaderRoute / setMirrorRoute steps)


@runtime_checkable
class HeaderRouting(Protocol):
    def set_header_route(self, route: HeaderRoute) -> bool:
        """Add, update or (without matches) remove the named header route; True if something was written."""
        ...


@runtime_checkable
class MirrorRouting(Protocol):
    def set_mirror_route(self, route: MirrorRoute) -> bool:
        """Add, update or (without matches) remove the named mirror route; True if something was written."""
        ...


# ---------------------------------------------------------------------------------------------------------------
# Shared pure helpers


def missing_services(
    router: str, *, stable_service: str | None, canary_service: str | None
) -> list[fields.FieldIssue]:
    """The routers that route between two Services need both named in the canary strategy.

    >>> [str(i) for i in missing_services("smi", stable_service="web", canary_service=None)]
    ['spec.strategy.canary.canaryService: is required with the smi traffic router']
    """
    return [
        fields.FieldIssue(
            path=f"{CANARY_PATH}.{key}",
            message=f"is required with the {router} traffic router",
            kind=fields.IssueKind.INVALID,
        )
        for key, service in (("stableService", stable_service), ("canaryService", canary_service))
        if not service
    ]


def recorded_weight(obj: Mapping[str, Any] | None, *, rollout: str) -> int | None:
    """The canary weight rollwave last wrote on `obj` for `rollout`, or None without a (readable) record.

    >>> recorded_weight({"metadata": {"annotations": {WEIGHTS_ANNOTATION: '{"web": 20}'}}}, rollout="web")
    20
    >>> recorded_weight({"metadata": {"annotations": {WEIGHTS_ANNOTATION: 'garbage'}}}, rollout="web") is None
    True
    """
    raw = ((obj or {}).get("metadata") or {}).get("annotations", {}) or {}
    try:
        record = json.loads(raw.get(WEIGHTS_ANNOTATION, "{}"))
    except ValueError:
        return None
    value = record.get(rollout) if isinstance(record, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_weight(
    annotations: Mapping[str, str] | None, *, rollout: str, weight: int | None
) -> dict[str, str]:
    """`annotations` with rollwave's record for `rollout` set to `weight` (None: the entry removed).

    >>> record_weight({"team": "a"}, rollout="web", weight=50)
    {'team': 'a', 'rollwave.dev/traffic-weights': '{"web": 50}'}
    >>> record_weight({WEIGHTS_ANNOTATION: '{"web": 50}'}, rollout="web", weight=None)
    {}
    """
    result = dict(annotations or {})
    try:
        record = json.loads(result.get(WEIGHTS_ANNOTATION, "{}"))
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    if weight is None:
        record.pop(rollout, None)
    else:
        record[rollout] = weight
    if record:
        result[WEIGHTS_ANNOTATION] = json.dumps(record, sort_keys=True)
    else:
        result.pop(WEIGHTS_ANNOTATION, None)
    return result


def check_weight(weight: int, *, max_weight: int) -> None:
    if not 0 <= weight <= max_weight:
        raise ValueError(f"weight must be between 0 and {max_weight} (got {weight})")


def split_name_namespace(name: str, *, default_namespace: str) -> tuple[str, str]:
    """Argo's `name.namespace` form for routes in another namespace.

    >>> split_name_namespace("vsvc.istio-system", default_namespace="apps")
    ('vsvc', 'istio-system')
    >>> split_name_namespace("vsvc", default_namespace="apps")
    ('vsvc', 'apps')
    """
    base_name, _, namespace = name.partition(".")
    return base_name, namespace or default_namespace


def owned_by(obj: Mapping[str, Any], *, uid: str) -> bool:
    """Whether `obj`'s controller owner is the object with `uid`."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return any(owner.get("uid") == uid and owner.get("controller") for owner in owners)
