"""NGINX Ingress: a canary Ingress derived from the stable one, carrying ingress-nginx's canary annotations.

Argo's config (`trafficRouting.nginx`)::

    stableIngress: web                 # or stableIngresses: [web, web-internal]
    annotationPrefix: nginx.ingress.kubernetes.io        # the default
    additionalIngressAnnotations: {canary-by-header: X-Canary}   # prefixed, on the canary Ingress
    canaryIngressAnnotations: {my.org/team: checkout}            # as written, on the canary Ingress

For each stable Ingress, rollwave creates and owns `<rollout>-<stableIngress>-canary` (owner reference to the
Rollout, so it goes when the Rollout goes). It holds the stable Ingress's rules reduced to the paths whose
backend is the stable Service, with that backend replaced by the canary Service, its ingressClassName (and
`kubernetes.io/ingress.class` annotation), and the annotations `<prefix>/canary: "true"`,
`<prefix>/canary-weight: "<w>"` and, when maxTrafficWeight is not 100, `<prefix>/canary-weight-total`. The
stable Ingress itself is never written. Changes to the stable Ingress's rules reach the canary Ingress at the
next write; annotations under the prefix that rollwave did not ask for are removed from the canary Ingress,
other annotations (added by tools) are left alone.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from rollouts.kube import client as kube_client
from rollouts.kube import errors, ingresses
from rollouts.model import fields
from rollouts.routers import base

DEFAULT_PREFIX = "nginx.ingress.kubernetes.io"
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
_MAX_NAME = 253


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StableIngress:
    name: str
    path: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    stable_ingresses: tuple[StableIngress, ...]
    annotation_prefix: str = DEFAULT_PREFIX
    additional_annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    canary_annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)


def parse_config(config: Mapping[str, Any], *, path: str) -> fields.Parsed[Config]:
    """Argo's nginx config; exactly one of stableIngress and stableIngresses.

    >>> parse_config({"stableIngress": "web"}, path="p").value.stable_ingresses
    (StableIngress(name='web', path='p.stableIngress'),)
    """
    reader = fields.FieldReader()
    reader.check_keys(
        config,
        path,
        known=(
            "stableIngress",
            "stableIngresses",
            "annotationPrefix",
            "additionalIngressAnnotations",
            "canaryIngressAnnotations",
        ),
    )
    stables: list[StableIngress] = []
    single = reader.string(config, "stableIngress", path)
    if single:
        stables.append(StableIngress(name=single, path=fields.child(path, "stableIngress")))
    for index, raw in enumerate(reader.sequence(config, "stableIngresses", path)):
        item_path = fields.item(f"{path}.stableIngresses", index)
        name = reader.string_value(raw, item_path)
        if name:
            stables.append(StableIngress(name=name, path=item_path))
    if single and "stableIngresses" in config:
        reader.invalid(path, "set only one of stableIngress and stableIngresses")
    if not stables and not reader.issues:
        reader.invalid(path, "must name the stable Ingress (stableIngress or stableIngresses)")
    return fields.Parsed(
        value=Config(
            stable_ingresses=tuple(stables),
            annotation_prefix=reader.string(config, "annotationPrefix", path) or DEFAULT_PREFIX,
            additional_annotations=reader.string_map(config, "additionalIngressAnnotations", path),
            canary_annotations=reader.string_map(config, "canaryIngressAnnotations", path),
        ),
        issues=reader.issues,
    )


def validate(
    config: Mapping[str, Any], *, path: str, stable_service: str | None, canary_service: str | None
) -> tuple[fields.FieldIssue, ...]:
    issues = list(parse_config(config, path=path).issues)
    issues += base.missing_services("nginx", stable_service=stable_service, canary_service=canary_service)
    return tuple(issues)


# ---------------------------------------------------------------------------------------------------------------
# Pure


def canary_ingress_name(*, rollout: str, stable_ingress: str) -> str:
    """Argo's name for the canary Ingress, shortened to fit a Kubernetes name.

    >>> canary_ingress_name(rollout="web", stable_ingress="web-ingress")
    'web-web-ingress-canary'
    >>> len(canary_ingress_name(rollout="r" * 200, stable_ingress="s" * 200))
    253
    """
    prefix = f"{rollout}-{stable_ingress}"[: _MAX_NAME - len("-canary")]
    return f"{prefix}-canary"


def canary_annotations(*, config: Config, weight: int, max_weight: int) -> dict[str, str]:
    """The annotations rollwave manages on the canary Ingress (without its weights record).

    >>> canary_annotations(config=Config(stable_ingresses=()), weight=20, max_weight=100)
    {'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '20'}
    """
    prefix = config.annotation_prefix
    annotations = {f"{prefix}/canary": "true", f"{prefix}/canary-weight": str(weight)}
    if max_weight != 100:
        annotations[f"{prefix}/canary-weight-total"] = str(max_weight)
    for key, value in config.additional_annotations.items():
        annotations[f"{prefix}/{key}"] = value
    annotations.update(config.canary_annotations)
    return annotations


def desired_canary_ingress(
    stable: Mapping[str, Any], *, config: Config, rollout: base.RolloutRef, weight: int, path: str
) -> dict[str, Any]:
    """The canary Ingress for `stable` at `weight`. RouterError if no path of `stable` uses the stable Service."""
    base.check_weight(weight, max_weight=rollout.max_weight)
    meta = stable.get("metadata") or {}
    spec = stable.get("spec") or {}
    rules = []
    for rule in spec.get("rules") or ():
        paths = []
        for entry in (rule.get("http") or {}).get("paths") or ():
            service = (entry.get("backend") or {}).get("service") or {}
            if service.get("name") == rollout.stable_service:
                canary_entry = copy.deepcopy(entry)
                canary_entry["backend"]["service"]["name"] = rollout.canary_service
                paths.append(canary_entry)
        if paths:
            canary_rule = {key: copy.deepcopy(value) for key, value in rule.items() if key != "http"}
            canary_rule["http"] = {"paths": paths}
            rules.append(canary_rule)
    if not rules:
        raise base.RouterError(
            path,
            f"Ingress {meta.get('namespace')}/{meta.get('name')} has no path whose backend is the stable "
            f"Service {rollout.stable_service}",
        )
    annotations = canary_annotations(config=config, weight=weight, max_weight=rollout.max_weight)
    stable_class = (meta.get("annotations") or {}).get(INGRESS_CLASS_ANNOTATION)
    if stable_class is not None:
        annotations[INGRESS_CLASS_ANNOTATION] = stable_class
    canary_spec: dict[str, Any] = {"rules": rules}
    if spec.get("ingressClassName"):
        canary_spec["ingressClassName"] = spec["ingressClassName"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": canary_ingress_name(rollout=rollout.name, stable_ingress=meta.get("name") or ""),
            "namespace": rollout.namespace,
            "ownerReferences": [rollout.owner_reference()],
            "annotations": base.record_weight(annotations, rollout=rollout.name, weight=weight),
        },
        "spec": canary_spec,
    }


def plan_canary_ingress(
    current: Mapping[str, Any] | None,
    *,
    desired: dict[str, Any],
    config: Config,
    rollout: base.RolloutRef,
    path: str,
) -> base.Plan:
    """Create the canary Ingress, or patch the existing one (ours only) to match `desired`."""
    if current is None:
        return base.Plan(create=desired)
    name = desired["metadata"]["name"]
    if not base.owned_by(current, uid=rollout.uid):
        raise base.RouterError(
            path, f"Ingress {rollout.namespace}/{name} exists and is not owned by Rollout {rollout.name}"
        )
    meta = current.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    wanted = desired["metadata"]["annotations"]
    prefix = f"{config.annotation_prefix}/"
    annotation_patch: dict[str, str | None] = {
        key: value for key, value in wanted.items() if annotations.get(key) != value
    }
    for key in annotations:
        if key.startswith(prefix) and key not in wanted:
            annotation_patch[key] = None  # an nginx setting rollwave no longer asks for
    spec = current.get("spec") or {}
    spec_patch = {key: value for key, value in desired["spec"].items() if spec.get(key) != value}
    if "ingressClassName" in spec and "ingressClassName" not in desired["spec"]:
        spec_patch["ingressClassName"] = None
    if not annotation_patch and not spec_patch:
        return base.Plan()
    restored: tuple[str, ...] = ()
    recorded = base.recorded_weight(current, rollout=rollout.name)
    weight_key = f"{prefix}canary-weight"
    if (
        weight_key in annotation_patch
        and recorded is not None
        and annotations.get(weight_key) != str(recorded)
    ):
        restored = (
            f"Ingress {name} {weight_key}: {annotations.get(weight_key)} (rollwave had set {recorded})",
        )
    patch: dict[str, Any] = {"metadata": {"resourceVersion": meta.get("resourceVersion")}}
    if annotation_patch:
        patch["metadata"]["annotations"] = annotation_patch
    if spec_patch:
        patch["spec"] = spec_patch
    return base.Plan(patch=patch, restored=restored)


def canary_weight(ingress: Mapping[str, Any], *, config: Config) -> int | None:
    value = ((ingress.get("metadata") or {}).get("annotations") or {}).get(
        f"{config.annotation_prefix}/canary-weight"
    )
    return int(value) if isinstance(value, str) and value.isdigit() else None


# ---------------------------------------------------------------------------------------------------------------
# I/O


class NginxRouter:
    def __init__(self, *, config: Config, rollout: base.RolloutRef, clients: kube_client.Clients) -> None:
        self.config, self.rollout, self.clients = config, rollout, clients

    def _stable(self, ref: StableIngress) -> dict[str, Any]:
        found = ingresses.get(self.clients.api, namespace=self.rollout.namespace, name=ref.name)
        if found is None:
            raise base.RouterError(
                ref.path, f"Ingress {self.rollout.namespace}/{ref.name} not found", retryable=True
            )
        return found

    def _canary_name(self, ref: StableIngress) -> str:
        return canary_ingress_name(rollout=self.rollout.name, stable_ingress=ref.name)

    def _apply(self, ref: StableIngress, *, weight: int) -> base.WeightChange:
        for _ in range(base.CONFLICT_RETRIES):
            desired = desired_canary_ingress(
                self._stable(ref), config=self.config, rollout=self.rollout, weight=weight, path=ref.path
            )
            current = ingresses.get(
                self.clients.api, namespace=self.rollout.namespace, name=self._canary_name(ref)
            )
            plan = plan_canary_ingress(
                current, desired=desired, config=self.config, rollout=self.rollout, path=ref.path
            )
            try:
                if plan.create is not None:
                    ingresses.create(self.clients.api, namespace=self.rollout.namespace, body=plan.create)
                elif plan.patch is not None:
                    ingresses.patch(
                        self.clients.api,
                        namespace=self.rollout.namespace,
                        name=self._canary_name(ref),
                        body=plan.patch,
                    )
                else:
                    return base.WeightChange()
            except errors.Conflict:
                continue  # created or changed meanwhile: read again
            return base.WeightChange(changed=True, restored=plan.restored)
        raise errors.Conflict(f"Ingress {self._canary_name(ref)} kept changing; will retry", status=409)

    def set_weight(
        self, weight: int, *, canary_hash: str | None = None, stable_hash: str | None = None
    ) -> base.WeightChange:
        change = base.WeightChange()
        for ref in self.config.stable_ingresses:
            change = change.merged(self._apply(ref, weight=weight))
        return change

    def read_weight(self) -> int | None:
        weights = set()
        for ref in self.config.stable_ingresses:
            found = ingresses.get(
                self.clients.api, namespace=self.rollout.namespace, name=self._canary_name(ref)
            )
            weights.add(canary_weight(found, config=self.config) if found is not None else None)
        return weights.pop() if len(weights) == 1 else None

    def reset_to_stable(self) -> base.WeightChange:
        return self.set_weight(0)

    def remove_managed_routes(self) -> bool:
        return False

    def release(self) -> None:
        for ref in self.config.stable_ingresses:
            found = ingresses.get(
                self.clients.api, namespace=self.rollout.namespace, name=self._canary_name(ref)
            )
            if found is not None and base.owned_by(found, uid=self.rollout.uid):
                ingresses.delete(
                    self.clients.api,
                    namespace=self.rollout.namespace,
                    name=self._canary_name(ref),
                    uid=found["metadata"]["uid"],
                )


def create(
    config: Mapping[str, Any], *, path: str, rollout: base.RolloutRef, clients: kube_client.Clients
) -> NginxRouter:
    issues = validate(
        config, path=path, stable_service=rollout.stable_service, canary_service=rollout.canary_service
    )
    if issues:
        raise base.RouterError(issues[0].path, issues[0].message)
    return NginxRouter(config=parse_config(config, path=path).require(), rollout=rollout, clients=clients)
