"""Pod templates compared the way the API server stores them.

A ReplicaSet's stored template carries the defaults the API server filled in (imagePullPolicy, dnsPolicy,
terminationMessagePath, ...), and `kubectl argo rollouts undo` copies exactly that template back into the Rollout.
Its hash then differs from the hash of the template the user first wrote, although both run the same pods; Argo
matches ReplicaSets by template equality with defaults applied for this reason. `normalized` fills the same
defaults on both sides (and drops the pod-template-hash label) so that equal pods compare equal.

    >>> a = {"spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}
    >>> b = {"metadata": {"labels": {"rollouts-pod-template-hash": "x"}, "creationTimestamp": None},
    ...      "spec": {"containers": [{"name": "app", "image": "nginx:1", "imagePullPolicy": "IfNotPresent",
    ...               "resources": {}, "terminationMessagePath": "/dev/termination-log",
    ...               "terminationMessagePolicy": "File"}], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
    ...               "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30}}
    >>> same_pods(a, b)
    True
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rollouts.model import workloads

HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL

_POD_DEFAULTS: dict[str, Any] = {
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "securityContext": {},
    "schedulerName": "default-scheduler",
}
_CONTAINER_DEFAULTS: dict[str, Any] = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "resources": {},
}


def _image_pull_policy(image: str) -> str:
    # The API server's rule: an image without a tag, or tagged :latest, is always pulled.
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _container(raw: Mapping[str, Any]) -> dict[str, Any]:
    container = {**_CONTAINER_DEFAULTS, **copy.deepcopy(dict(raw))}
    container.setdefault("imagePullPolicy", _image_pull_policy(str(container.get("image", ""))))
    container["ports"] = [{"protocol": "TCP", **port} for port in container.get("ports") or []]
    if not container["ports"]:
        del container["ports"]
    return container


def normalized(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template with server defaults filled in, empty metadata dropped and the hash label removed."""
    result = copy.deepcopy(dict(template))
    metadata = dict(result.get("metadata") or {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != HASH_LABEL}
    metadata = {
        k: v for k, v in metadata.items() if k not in ("labels", "creationTimestamp") and v not in (None, {})
    }
    if labels:
        metadata["labels"] = labels
    result["metadata"] = metadata
    spec = {**_POD_DEFAULTS, **dict(result.get("spec") or {})}
    for key in ("containers", "initContainers"):
        if spec.get(key):
            spec[key] = [_container(c) for c in spec[key]]
    result["spec"] = spec
    return result


def same_pods(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    return normalized(left) == normalized(right)
