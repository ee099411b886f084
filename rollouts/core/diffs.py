"""Drift: does the live object match what Git asks for? Plain dicts in; a verdict and a readable diff out.

The comparison rollwave trusts is the server-side one (Argo CD's "server-side diff"): the desired object is applied
with `dryRun=All` by the field manager `rollwave`, and the server's answer (`predicted`) is what the live object
would become. Server defaults, admission mutations and fields other managers own are then on both sides, so they are
never drift; a field rollwave applied and someone changed, or a field Git removed, is. Both sides are normalised
first: `status`, the bookkeeping in metadata (managedFields, resourceVersion, uid, generation, creationTimestamp,
selfLink) and kubectl's last-applied annotation are dropped, null values and empty label/annotation maps removed.

Without a dry run (the kind is not served yet, the namespace does not exist) `compare` falls back to checking that
every field the desired object sets has the same value live (`projected`): defaults the server added are ignored,
but so are fields Git stopped setting. That fallback can report drift for values the server rewrites
(`cpu: 0.5` stored as `500m`).

Secret values never appear in the diff text: equal values show as the same run of `+`, different values as runs
of different lengths (as Argo CD does).

    >>> live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n",
    ...         "resourceVersion": "7", "uid": "u"}, "data": {"k": "old"}}
    >>> desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"},
    ...            "data": {"k": "new"}}
    >>> result = compare(live=live, desired=desired)
    >>> result.in_sync
    False
    >>> print(result.diff)
    --- live ConfigMap n/a
    +++ desired ConfigMap n/a
    @@ -1,6 +1,6 @@
     apiVersion: v1
     data:
    -  k: old
    +  k: new
     kind: ConfigMap
     metadata:
       name: a
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

import yaml

IGNORED_METADATA = frozenset(
    {
        "managedFields",
        "resourceVersion",
        "uid",
        "generation",
        "creationTimestamp",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)
IGNORED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
SECRET_MASK = "++++++++"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """`in_sync` is the verdict; `diff` a unified diff from live to desired ("" when in sync). `live` and
    `desired` are the normalised sides that were compared (None: the object does not exist on that side)."""

    in_sync: bool
    diff: str
    live: dict[str, Any] | None
    desired: dict[str, Any] | None


ROLLOUT_MANAGED_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts"
POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"


def with_rollout_selector(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> dict[str, Any]:
    """`desired` plus the pod-template-hash key a Rollout put in the live Service's selector.

    A Rollout steers its stable and canary Services by adding `rollouts-pod-template-hash` to their selectors.
    A Service's selector is applied whole (server-side apply treats the map as atomic), so a selector from Git
    would drop the key on every sync and send traffic to every revision at once; and a comparison would call
    the Service out of sync for ever. The key is the Rollout's by contract (the Service is annotated as managed
    by it), so the desired Service keeps it.

    >>> live = {"metadata": {"annotations": {ROLLOUT_MANAGED_ANNOTATION: "web"}},
    ...         "spec": {"selector": {"app": "web", POD_TEMPLATE_HASH_LABEL: "6f8b"}}}
    >>> with_rollout_selector({"kind": "Service", "spec": {"selector": {"app": "web"}}}, live)["spec"]["selector"]
    {'app': 'web', 'rollouts-pod-template-hash': '6f8b'}
    """
    result = copy.deepcopy(dict(desired))
    if live is None or desired.get("kind") != "Service":
        return result
    managed = ((live.get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_MANAGED_ANNOTATION)
    live_hash = ((live.get("spec") or {}).get("selector") or {}).get(POD_TEMPLATE_HASH_LABEL)
    selector = (result.get("spec") or {}).get("selector")
    if managed and live_hash and isinstance(selector, dict) and POD_TEMPLATE_HASH_LABEL not in selector:
        selector[POD_TEMPLATE_HASH_LABEL] = live_hash
    return result


def normalized(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without status, server bookkeeping, null values and empty label/annotation maps; a Secret's
    `stringData` is folded into base64 `data` (the form the server stores)."""
    result: dict[str, Any] = _without_nulls(copy.deepcopy(dict(obj)))
    result.pop("status", None)
    metadata = {k: v for k, v in (result.get("metadata") or {}).items() if k not in IGNORED_METADATA}
    annotations = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k not in IGNORED_ANNOTATIONS
    }
    for key, value in (("annotations", annotations), ("labels", metadata.get("labels") or {})):
        if value:
            metadata[key] = value
        else:
            metadata.pop(key, None)
    if metadata or "metadata" in result:
        result["metadata"] = metadata
    if _is_secret(result) and isinstance(result.get("stringData"), Mapping):
        data = dict(result.get("data") or {})
        for key, value in result.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        result["data"] = data
    return result


def projected(live: Any, *, onto: Any) -> Any:
    """The part of `live` that `onto` sets: mappings keep only `onto`'s keys; lists of the same length are projected
    item by item; anything else is `live` itself.

    >>> projected({"replicas": 2, "strategy": {"type": "RollingUpdate"}}, onto={"replicas": 3})
    {'replicas': 2}
    """
    if isinstance(live, Mapping) and isinstance(onto, Mapping):
        return {key: projected(live[key], onto=value) for key, value in onto.items() if key in live}
    if isinstance(live, list) and isinstance(onto, list) and len(live) == len(onto):
        return [projected(item, onto=wanted) for item, wanted in zip(live, onto, strict=True)]
    return live


def compare(
    *,
    live: Mapping[str, Any] | None,
    desired: Mapping[str, Any] | None,
    predicted: Mapping[str, Any] | None = None,
) -> Comparison:
    """Compares the live object with Git's.

    With `predicted` (the server's dry-run apply of `desired`), the whole normalised objects must be equal. Without
    it, only the fields `desired` sets are compared (see the module docstring). A side that is None is an object
    that exists only on the other side: out of sync, unless both are None.
    """
    live_side = normalized(live) if live is not None else None
    if predicted is not None:
        desired_side: dict[str, Any] | None = normalized(predicted)
    elif desired is not None:
        desired_side = normalized(desired)
        if live_side is not None:
            live_side = projected(live_side, onto=desired_side)
    else:
        desired_side = None
    in_sync = live_side == desired_side
    text = "" if in_sync else unified_diff(live=live_side, desired=desired_side)
    return Comparison(in_sync=in_sync, diff=text, live=live_side, desired=desired_side)


def unified_diff(
    *, live: Mapping[str, Any] | None, desired: Mapping[str, Any] | None, context: int = 3
) -> str:
    """A unified diff of the two objects as YAML (keys sorted), from live to desired, Secret values masked."""
    live, desired = _masked(live, desired)
    label = object_label(desired or live or {})
    live_lines = _yaml_lines(live)
    desired_lines = _yaml_lines(desired)
    lines = difflib.unified_diff(
        live_lines,
        desired_lines,
        fromfile=f"live {label}" if live is not None else "/dev/null",
        tofile=f"desired {label}" if desired is not None else "/dev/null",
        n=context,
        lineterm="",
    )
    return "\n".join(lines)


def object_label(obj: Mapping[str, Any]) -> str:
    """`<group>/<Kind> <namespace>/<name>`, the group left out for the core API.

    >>> object_label({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "n"}})
    'apps/Deployment n/w'
    >>> object_label({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    'Namespace demo'
    """
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    kind = str(obj.get("kind") or "")
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    namespace = metadata.get("namespace")
    return f"{f'{group}/' if group else ''}{kind} {f'{namespace}/' if namespace else ''}{name}"


def _yaml_lines(obj: Mapping[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    return yaml.safe_dump(
        dict(obj), sort_keys=True, default_flow_style=False, allow_unicode=True
    ).splitlines()


def _is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def _masked(
    live: Mapping[str, Any] | None, desired: Mapping[str, Any] | None
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    if not any(side is not None and _is_secret(side) for side in (live, desired)):
        return live, desired
    masks: dict[str, str] = {}

    def mask(side: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if side is None or not isinstance(side.get("data"), Mapping):
            return side
        data = {}
        for key, value in side["data"].items():
            masks.setdefault(str(value), SECRET_MASK + "+" * len(masks))
            data[key] = masks[str(value)]
        return {**side, "data": data}

    return mask(live), mask(desired)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value
