"""Services a Rollout steers: read them, and point their selector at a pod-template hash."""

from __future__ import annotations

from typing import Any

from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

from rollouts.kube import errors
from rollouts.model import workloads

HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL
MANAGED_BY_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts"


@errors.translated
def get(core: CoreV1Api, *, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        service = core.read_namespaced_service(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    result: dict[str, Any] = core.api_client.sanitize_for_serialization(service)
    return result


@errors.translated
def set_selector(core: CoreV1Api, *, namespace: str, name: str, pod_template_hash: str, rollout: str) -> None:
    core.patch_namespaced_service(
        name,
        namespace,
        {
            "metadata": {"annotations": {MANAGED_BY_ANNOTATION: rollout}},
            "spec": {"selector": {HASH_LABEL: pod_template_hash}},
        },
    )


@errors.translated
def release(core: CoreV1Api, *, namespace: str, name: str) -> None:
    """Removes rollwave's hash key and annotation (when the Rollout is deleted)."""
    try:
        core.patch_namespaced_service(
            name,
            namespace,
            {
                "metadata": {"annotations": {MANAGED_BY_ANNOTATION: None}},
                "spec": {"selector": {HASH_LABEL: None}},
            },
        )
    except ApiException as err:
        if err.status == 404:
            return
        raise
