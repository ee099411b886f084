"""Jobs run by the Job metric provider: create, read, delete. Blocking calls; callers run them in a thread.

Errors come out as `kube.errors` types: an existing Job of the same name is `Conflict` (the caller decides
whether it is its own), a missing one is `NotFound`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes.client import BatchV1Api
from kubernetes.client.exceptions import ApiException

from rollouts.kube import errors


@errors.translated
def create(batch: BatchV1Api, *, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Creates the Job and returns it as the server stored it."""
    created = batch.create_namespaced_job(namespace, dict(body))  # type: ignore[arg-type]  # dicts serialise as-is
    job: dict[str, Any] = batch.api_client.sanitize_for_serialization(created)
    return job


@errors.translated
def read(batch: BatchV1Api, *, namespace: str, name: str) -> dict[str, Any]:
    job: dict[str, Any] = batch.api_client.sanitize_for_serialization(
        batch.read_namespaced_job(name, namespace)
    )
    return job


@errors.translated
def delete(batch: BatchV1Api, *, namespace: str, name: str) -> None:
    """Deletes the Job and, in the background, its pods. A Job already gone counts as deleted."""
    try:
        batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
    except ApiException as err:
        if err.status == 404:
            return
        raise
