"""SMI: a TrafficSplit (split.smi-spec.io) between the stable and the canary Service, created and owned by
rollwave.

Argo's config (`trafficRouting.smi`): `rootService` (the Service clients call; default: stableService) and
`trafficSplitName` (default: the Rollout's name). rollwave creates the TrafficSplit with an owner reference to
the Rollout (so it goes when the Rollout goes), and writes its whole spec::

    spec: {service: <root>, backends: [{service: <canary>, weight: w}, {service: <stable>, weight: 100 - w}]}

A TrafficSplit of that name that the Rollout does not own is an error (rollwave will not take over someone
else's split). The API version is the one the server prefers for split.smi-spec.io (v1alpha4 with the
smi-sdk-go CRDs; Linkerd's SMI extension serves v1alpha2); the spec above is valid in every version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rollouts.kube import client as kube_client
from rollouts.kube import custom, discovery, errors
from rollouts.model import fields
from rollouts.routers import base

GROUP = "split.smi-spec.io"
PLURAL = "trafficsplits"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    root_service: str | None = None
    traffic_split_name: str | None = None


def parse_config(config: Mapping[str, Any], *, path: str) -> fields.Parsed[Config]:
    """Argo's smi config; both keys are optional.

    >>> parse_config({"trafficSplitName": "web-split"}, path="p").value
    Config(root_service=None, traffic_split_name='web-split')
    """
    reader = fields.FieldReader()
    reader.check_keys(config, path, known=("rootService", "trafficSplitName"))
    return fields.Parsed(
        value=Config(
            root_service=reader.string(config, "rootService", path) or None,
            traffic_split_name=reader.string(config, "trafficSplitName", path) or None,
        ),
        issues=reader.issues,
    )


def validate(
    config: Mapping[str, Any], *, path: str, stable_service: str | None, canary_service: str | None
) -> tuple[fields.FieldIssue, ...]:
    issues = list(parse_config(config, path=path).issues)
    issues += base.missing_services("smi", stable_service=stable_service, canary_service=canary_service)
    return tuple(issues)


# ---------------------------------------------------------------------------------------------------------------
# Pure


def _as_int(value: object) -> int | None:
    """Backend weights are ints from v1alpha2 on; v1alpha1 stored a quantity (`"95"`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def desired_split(
    *, name: str, config: Config, rollout: base.RolloutRef, weight: int, api_version: str
) -> dict[str, Any]:
    """The whole TrafficSplit rollwave wants for `weight`."""
    base.check_weight(weight, max_weight=rollout.max_weight)
    return {
        "apiVersion": f"{GROUP}/{api_version}",
        "kind": "TrafficSplit",
        "metadata": {
            "name": name,
            "namespace": rollout.namespace,
            "ownerReferences": [rollout.owner_reference()],
            "annotations": base.record_weight({}, rollout=rollout.name, weight=weight),
        },
        "spec": {
            "service": config.root_service or rollout.stable_service,
            "backends": [
                {"service": rollout.canary_service, "weight": weight},
                {"service": rollout.stable_service, "weight": rollout.max_weight - weight},
            ],
        },
    }


def backend_weights(split: Mapping[str, Any], *, rollout: base.RolloutRef) -> dict[str, int | None]:
    """{"canary": w, "stable": w} as found on the split (None for a backend that is missing)."""
    found: dict[str, int | None] = {"canary": None, "stable": None}
    for backend in (split.get("spec") or {}).get("backends") or ():
        role = (
            "canary"
            if backend.get("service") == rollout.canary_service
            else "stable"
            if backend.get("service") == rollout.stable_service
            else None
        )
        if role is not None:
            found[role] = _as_int(backend.get("weight"))
    return found


def plan_split(
    current: Mapping[str, Any] | None, *, desired: dict[str, Any], rollout: base.RolloutRef, path: str
) -> base.Plan:
    """Create the split, or patch the existing one (ours only) to the desired spec."""
    if current is None:
        return base.Plan(create=desired)
    name = desired["metadata"]["name"]
    if not base.owned_by(current, uid=rollout.uid):
        raise base.RouterError(
            path, f"TrafficSplit {rollout.namespace}/{name} exists and is not owned by Rollout {rollout.name}"
        )
    weight = desired["spec"]["backends"][0]["weight"]
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    new_annotations = base.record_weight(annotations, rollout=rollout.name, weight=weight)
    spec_changed = current.get("spec") != desired["spec"]
    if not spec_changed and new_annotations == annotations:
        return base.Plan()
    restored: tuple[str, ...] = ()
    recorded = base.recorded_weight(current, rollout=rollout.name)
    found = backend_weights(current, rollout=rollout)
    expected = {"canary": recorded, "stable": None if recorded is None else rollout.max_weight - recorded}
    if spec_changed and recorded is not None and found != expected:
        restored = (
            f"TrafficSplit {name}: canary {found['canary']}/stable {found['stable']} "
            f"(rollwave had set {expected['canary']}/{expected['stable']})",
        )
    patch = {
        "metadata": {
            "resourceVersion": (current.get("metadata") or {}).get("resourceVersion"),
            "annotations": {base.WEIGHTS_ANNOTATION: new_annotations[base.WEIGHTS_ANNOTATION]},
        },
        "spec": desired["spec"],
    }
    return base.Plan(patch=patch, restored=restored)


def canary_share(split: Mapping[str, Any], *, rollout: base.RolloutRef) -> int | None:
    """The canary's share out of `max_weight` (SMI weights are relative); None if a backend is missing."""
    found = backend_weights(split, rollout=rollout)
    canary, stable = found["canary"], found["stable"]
    if canary is None or stable is None or canary + stable == 0:
        return None
    return round(canary * rollout.max_weight / (canary + stable))


# ---------------------------------------------------------------------------------------------------------------
# I/O


class SmiRouter:
    def __init__(
        self, *, config: Config, rollout: base.RolloutRef, clients: kube_client.Clients, path: str
    ) -> None:
        self.config, self.rollout, self.clients, self.path = config, rollout, clients, path
        self.name = config.traffic_split_name or rollout.name
        self._api_version: str | None = None

    def _name_path(self) -> str:
        return fields.child(self.path, "trafficSplitName") if self.config.traffic_split_name else self.path

    def _group_version(self) -> tuple[str, str]:
        if self._api_version is None:
            version = discovery.preferred_version(self.clients.api, group=GROUP)
            if version is None:
                raise base.RouterError(
                    self.path,
                    f"the API server does not serve {GROUP} (is an SMI implementation installed?)",
                    retryable=True,
                )
            self._api_version = version
        return GROUP, self._api_version

    def _get(self) -> dict[str, Any] | None:
        return custom.get(
            self.clients.custom,
            group_version=self._group_version(),
            plural=PLURAL,
            namespace=self.rollout.namespace,
            name=self.name,
        )

    def set_weight(
        self, weight: int, *, canary_hash: str | None = None, stable_hash: str | None = None
    ) -> base.WeightChange:
        group_version = self._group_version()
        desired = desired_split(
            name=self.name,
            config=self.config,
            rollout=self.rollout,
            weight=weight,
            api_version=group_version[1],
        )
        for _ in range(base.CONFLICT_RETRIES):
            plan = plan_split(self._get(), desired=desired, rollout=self.rollout, path=self._name_path())
            try:
                if plan.create is not None:
                    custom.create(
                        self.clients.custom,
                        group_version=group_version,
                        plural=PLURAL,
                        namespace=self.rollout.namespace,
                        body=plan.create,
                    )
                elif plan.patch is not None:
                    custom.patch(
                        self.clients.custom,
                        group_version=group_version,
                        plural=PLURAL,
                        namespace=self.rollout.namespace,
                        name=self.name,
                        body=plan.patch,
                    )
                else:
                    return base.WeightChange()
            except errors.Conflict:
                continue  # created or changed meanwhile: read again
            return base.WeightChange(changed=True, restored=plan.restored)
        raise errors.Conflict(f"TrafficSplit {self.name} kept changing; will retry", status=409)

    def read_weight(self) -> int | None:
        split = self._get()
        return canary_share(split, rollout=self.rollout) if split is not None else None

    def reset_to_stable(self) -> base.WeightChange:
        return self.set_weight(0)

    def remove_managed_routes(self) -> bool:
        return False

    def release(self) -> None:
        split = self._get()
        if split is not None and base.owned_by(split, uid=self.rollout.uid):
            custom.delete(
                self.clients.custom,
                group_version=self._group_version(),
                plural=PLURAL,
                namespace=self.rollout.namespace,
                name=self.name,
                uid=split["metadata"]["uid"],
            )


def create(
    config: Mapping[str, Any], *, path: str, rollout: base.RolloutRef, clients: kube_client.Clients
) -> SmiRouter:
    issues = validate(
        config, path=path, stable_service=rollout.stable_service, canary_service=rollout.canary_service
    )
    if issues:
        raise base.RouterError(issues[0].path, issues[0].message)
    return SmiRouter(
        config=parse_config(config, path=path).require(), rollout=rollout, clients=clients, path=path
    )
