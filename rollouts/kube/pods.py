"""Pods of a Rollout, read only when a restart is pending, and deleted one at a time for `restartAt`."""

from __future__ import annotations

from typing import Any

from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

from rollouts.kube import errors


@errors.translated
def list_matching(core: CoreV1Api, *, namespace: str, selector: str) -> list[dict[str, Any]]:
    listed = core.api_client.sanitize_for_serialization(
        core.list_namespaced_pod(namespace, label_selector=selector)
    )
    items: list[dict[str, Any]] = listed.get("items", [])
    return items


@errors.translated
def delete(core: CoreV1Api, *, namespace: str, name: str) -> None:
    try:
        core.delete_namespaced_pod(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return
        raise
