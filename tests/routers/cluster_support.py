"""Helpers shared by the routers' cluster tests (tests/cluster/test_router_*.py): API clients for the dev cluster,
a real Rollout to own what routers create, Services, and kubectl edits standing in for "someone else"."""

from __future__ import annotations

import json
import uuid
from typing import Any

import kubernetes

from rollouts.devcluster import cluster as devcluster
from rollouts.kube import client as kube_client
from rollouts.routers import base
from tests.support import kube


def clients(dev_cluster: devcluster.DevCluster) -> kube_client.Clients:
    # kube_client.load() reads KUBECONFIG as it was when `kubernetes` was imported; name the file instead.
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(dev_cluster.kubeconfig), client_configuration=configuration
    )
    api = kubernetes.client.ApiClient(configuration)
    return kube_client.Clients(
        api=api,
        core=kubernetes.client.CoreV1Api(api),
        apps=kubernetes.client.AppsV1Api(api),
        batch=kubernetes.client.BatchV1Api(api),
        custom=kubernetes.client.CustomObjectsApi(api),
        events=kubernetes.client.EventsV1Api(api),
    )


def rollout_object(namespace: str, *, traffic_routing: dict[str, Any] | None = None) -> dict[str, Any]:
    """A real Rollout (no controller runs in these tests, so nothing acts on it): the owner of what routers
    create. Without a real owner the garbage collector would delete those objects at once."""
    name = f"web-{uuid.uuid4().hex[:5]}"
    canary: dict[str, Any] = {
        "canaryService": "web-canary",
        "stableService": "web-stable",
        "steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}],
    }
    if traffic_routing is not None:
        canary["trafficRouting"] = traffic_routing
    kube.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
                "strategy": {"canary": canary},
            },
        },
        namespace=namespace,
    )
    found = kube.get("rollout", name, namespace=namespace)
    assert found is not None
    return found


def rollout_ref(
    rollout: dict[str, Any], *, max_weight: int = 100, managed_routes: tuple[str, ...] = ()
) -> base.RolloutRef:
    canary = rollout["spec"]["strategy"]["canary"]
    return base.RolloutRef(
        namespace=rollout["metadata"]["namespace"],
        name=rollout["metadata"]["name"],
        uid=rollout["metadata"]["uid"],
        stable_service=canary.get("stableService"),
        canary_service=canary.get("canaryService"),
        max_weight=max_weight,
        managed_routes=managed_routes,
    )


def services(namespace: str, *names: str) -> None:
    kube.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name},
                "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
            }
            for name in names
        ],
        namespace=namespace,
    )


def json_patch(resource: str, name: str, *, namespace: str, operations: list[dict[str, Any]]) -> None:
    """An edit by someone else (a person with kubectl, a GitOps tool)."""
    kube.kubectl("patch", resource, name, "-n", namespace, "--type=json", "-p", json.dumps(operations))


def without_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    """The object minus what the server changes on every write, for "nothing else changed" comparisons."""
    meta = {
        key: value
        for key, value in obj["metadata"].items()
        if key not in ("resourceVersion", "managedFields", "generation", "annotations")
    }
    return {**obj, "metadata": meta}
