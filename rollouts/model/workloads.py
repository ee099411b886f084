"""Read-only views of the Kubernetes objects a Rollout owns or points at: ReplicaSets and Services.

Only the fields the core reads are kept. Views are built from the raw API dicts with `from_dict`; they are
never written back (the kube adapters patch objects with explicit merge patches).

Label selectors are evaluated here as well, because both the Rollout validation (selector vs. template
labels) and the Service checks need them.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from rollouts.model import fields

POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
DESIRED_REPLICAS_ANNOTATION = "rollout.argoproj.io/desired-replicas"
# Set on an old ReplicaSet when it is due to be scaled down after scaleDownDelaySeconds (RFC 3339).
SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline"
MANAGED_BY_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts"


def _mapping(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def _int(raw: object, default: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        return default
    return raw


def _str_map(raw: object) -> dict[str, str]:
    return {key: value for key, value in _mapping(raw).items() if isinstance(value, str)}


def _optional_int_text(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _optional_time(raw: object) -> datetime.datetime | None:
    if raw is None:
        return None
    try:
        return fields.parse_timestamp(raw)
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaSetView:
    """A ReplicaSet as the core sees it.

    `replicas` is the desired count (`spec.replicas`); `status_replicas`, `ready_replicas` and
    `available_replicas` are what the ReplicaSet controller observed. Annotations that do not parse
    (a revision that is not a number) read as None rather than failing: these objects may have been
    edited by hand, and the core treats "unknown" conservatively.
    """

    name: str
    namespace: str | None
    uid: str | None
    pod_template_hash: str | None
    revision: int | None
    replicas: int
    status_replicas: int
    ready_replicas: int
    available_replicas: int
    observed_generation: int
    generation: int
    template: Mapping[str, Any]
    annotations: Mapping[str, str]
    labels: Mapping[str, str]
    creation_timestamp: datetime.datetime | None
    scale_down_deadline: datetime.datetime | None
    desired_replicas: int | None
    controller_uid: str | None  # uid of the owner reference marked `controller: true`
    deleting: bool

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ReplicaSetView:
        metadata = _mapping(raw.get("metadata"))
        spec = _mapping(raw.get("spec"))
        status = _mapping(raw.get("status"))
        labels = _str_map(metadata.get("labels"))
        annotations = _str_map(metadata.get("annotations"))
        selector_labels = _str_map(_mapping(spec.get("selector")).get("matchLabels"))
        controller_uid = next(
            (
                owner.get("uid")
                for owner in metadata.get("ownerReferences") or ()
                if isinstance(owner, Mapping) and owner.get("controller") is True
            ),
            None,
        )
        return cls(
            name=str(metadata.get("name", "")),
            namespace=metadata.get("namespace"),
            uid=metadata.get("uid"),
            pod_template_hash=labels.get(POD_TEMPLATE_HASH_LABEL)
            or selector_labels.get(POD_TEMPLATE_HASH_LABEL),
            revision=_optional_int_text(annotations.get(REVISION_ANNOTATION)),
            # The API server defaults spec.replicas to 1.
            replicas=_int(spec.get("replicas"), 1),
            status_replicas=_int(status.get("replicas"), 0),
            ready_replicas=_int(status.get("readyReplicas"), 0),
            available_replicas=_int(status.get("availableReplicas"), 0),
            observed_generation=_int(status.get("observedGeneration"), 0),
            generation=_int(metadata.get("generation"), 0),
            template=copy.deepcopy(dict(_mapping(spec.get("template")))),
            annotations=annotations,
            labels=labels,
            creation_timestamp=_optional_time(metadata.get("creationTimestamp")),
            scale_down_deadline=_optional_time(annotations.get(SCALE_DOWN_DEADLINE_ANNOTATION)),
            desired_replicas=_optional_int_text(annotations.get(DESIRED_REPLICAS_ANNOTATION)),
            controller_uid=controller_uid if isinstance(controller_uid, str) else None,
            deleting=metadata.get("deletionTimestamp") is not None,
        )

    @property
    def observed(self) -> bool:
        """Whether the ReplicaSet controller has seen the latest spec (so the status counts are current)."""
        return self.observed_generation >= self.generation


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ServiceView:
    """A Service: its selector (which the controller switches) and its annotations."""

    name: str
    namespace: str | None
    selector: Mapping[str, str]
    annotations: Mapping[str, str]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ServiceView:
        metadata = _mapping(raw.get("metadata"))
        return cls(
            name=str(metadata.get("name", "")),
            namespace=metadata.get("namespace"),
            selector=_str_map(_mapping(raw.get("spec")).get("selector")),
            annotations=_str_map(metadata.get("annotations")),
        )

    @property
    def managed_by(self) -> str | None:
        """The Rollout that manages this Service's selector, from the Argo annotation."""
        return self.annotations.get(MANAGED_BY_ANNOTATION)

    @property
    def pod_template_hash(self) -> str | None:
        return self.selector.get(POD_TEMPLATE_HASH_LABEL)


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a LabelSelector (`matchLabels` + `matchExpressions`) selects the given labels.

    An empty selector matches everything (as in Kubernetes; Rollout validation rejects it separately).

    >>> selector_matches({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "front"})
    True
    >>> expression = {"key": "tier", "operator": "NotIn", "values": ["back"]}
    >>> selector_matches({"matchExpressions": [expression]}, {"app": "web"})
    True
    >>> selector_matches({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"app": "web"})
    False
    """
    for key, value in _mapping(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key = expression.get("key")
        operator = expression.get("operator")
        values = expression.get("values") or ()
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def format_selector(selector: Mapping[str, Any]) -> str:
    """A LabelSelector in Kubernetes' string form, as written to `status.selector` for the scale subresource.

    Requirements are sorted by key; set values are sorted.

    >>> format_selector({"matchLabels": {"app": "web"}, "matchExpressions": [
    ...     {"key": "tier", "operator": "In", "values": ["b", "a"]},
    ...     {"key": "canary", "operator": "DoesNotExist"}]})
    'app=web,!canary,tier in (a,b)'
    """
    requirements: list[tuple[str, str]] = []
    for key, value in _mapping(selector.get("matchLabels")).items():
        requirements.append((key, f"{key}={value}"))
    for expression in selector.get("matchExpressions") or ():
        key = str(expression.get("key", ""))
        operator = expression.get("operator")
        values = ",".join(sorted(str(value) for value in expression.get("values") or ()))
        if operator == "In":
            requirements.append((key, f"{key} in ({values})"))
        elif operator == "NotIn":
            requirements.append((key, f"{key} notin ({values})"))
        elif operator == "Exists":
            requirements.append((key, key))
        elif operator == "DoesNotExist":
            requirements.append((key, f"!{key}"))
    return ",".join(text for _, text in sorted(requirements, key=lambda requirement: requirement[0]))
