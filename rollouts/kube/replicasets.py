"""ReplicaSets owned by a Rollout: create at a revision, scale, re-number, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes.client import AppsV1Api
from kubernetes.client.exceptions import ApiException

from rollouts.kube import errors
from rollouts.model import workloads

REVISION_ANNOTATION = "rollout.argoproj.io/revision"
DESIRED_REPLICAS_ANNOTATION = "rollout.argoproj.io/desired-replicas"
HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


@errors.translated
def create(
    apps: AppsV1Api,
    *,
    owner: Mapping[str, Any],
    name: str,
    pod_template_hash: str,
    revision: int,
    replicas: int,
    desired_replicas: int,
    template: Mapping[str, Any],
    selector: Mapping[str, Any],
    min_ready_seconds: int,
) -> None:
    """Creates the ReplicaSet; an existing one of the same name (a retried pass) counts as done."""
    namespace = owner["metadata"]["namespace"]
    labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: pod_template_hash}
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                REVISION_ANNOTATION: str(revision),
                DESIRED_REPLICAS_ANNOTATION: str(desired_replicas),
            },
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready_seconds,
            "selector": dict(selector),
            "template": dict(template),
        },
    }
    try:
        apps.create_namespaced_replica_set(namespace, body)  # type: ignore[arg-type]  # dicts serialise as-is
    except ApiException as err:
        if err.status == 409:  # an earlier pass created it already
            return
        raise


@errors.translated
def scale(apps: AppsV1Api, *, namespace: str, name: str, replicas: int, desired_replicas: int) -> None:
    apps.patch_namespaced_replica_set(
        name,
        namespace,
        {
            "metadata": {"annotations": {DESIRED_REPLICAS_ANNOTATION: str(desired_replicas)}},
            "spec": {"replicas": replicas},
        },
    )


@errors.translated
def set_revision(apps: AppsV1Api, *, namespace: str, name: str, revision: int) -> None:
    apps.patch_namespaced_replica_set(
        name, namespace, {"metadata": {"annotations": {REVISION_ANNOTATION: str(revision)}}}
    )


@errors.translated
def delete(apps: AppsV1Api, *, namespace: str, name: str) -> None:
    try:
        apps.delete_namespaced_replica_set(name, namespace, propagation_policy="Background")
    except ApiException as err:
        if err.status == 404:
            return
        raise


@errors.translated
def list_owned(apps: AppsV1Api, *, namespace: str, owner_uid: str) -> list[dict[str, Any]]:
    """Straight from the API server (the CLI's view); the controller reads its watch cache instead."""
    listed = apps.api_client.sanitize_for_serialization(
        apps.list_namespaced_replica_set(namespace, label_selector=HASH_LABEL)
    )
    return [
        rs
        for rs in listed.get("items", [])
        if any(ref.get("uid") == owner_uid for ref in rs["metadata"].get("ownerReferences") or [])
    ]
