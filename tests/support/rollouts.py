"""Building, driving and observing Rollouts in cluster tests (the same patches the CLI and Argo CD send)."""

from __future__ import annotations

import json
from typing import Any

from tests.support import kube

HASH = "rollouts-pod-template-hash"


def rollout_manifest(
    name: str,
    *,
    replicas: int,
    steps: list[dict[str, Any]],
    image: str = "nginx:1.0",
    services: bool = True,
    **canary: Any,
) -> dict[str, Any]:
    strategy: dict[str, Any] = {"steps": steps, **canary}
    if services:
        strategy.setdefault("canaryService", f"{name}-canary")
        strategy.setdefault("stableService", f"{name}-stable")
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {"canary": strategy},
        },
    }


def service_manifest(name: str, *, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def create(manifest: dict[str, Any], *, namespace: str) -> None:
    name = manifest["metadata"]["name"]
    canary = manifest["spec"]["strategy"].get("canary", {})
    for service in (canary.get("canaryService"), canary.get("stableService")):
        if service:
            kube.apply(service_manifest(service, app=name), namespace=namespace)
    kube.apply(manifest, namespace=namespace)


def get(name: str, *, namespace: str) -> dict[str, Any]:
    found = kube.get("rollout", name, namespace=namespace)
    assert found is not None, f"rollout {name} missing"
    return found


def status(name: str, *, namespace: str) -> dict[str, Any]:
    result: dict[str, Any] = get(name, namespace=namespace).get("status") or {}
    return result


def client_phase(rollout: dict[str, Any]) -> str:
    """The phase as Argo's clients compute it: stale observedGeneration or an unobserved resume is Progressing."""
    status = rollout.get("status") or {}
    if status.get("observedGeneration") != str(rollout["metadata"]["generation"]):
        return "Progressing"
    if status.get("controllerPause") and not status.get("pauseConditions"):
        return "Progressing"
    return str(status.get("phase") or "")


def wait_phase(name: str, phase: str, *, namespace: str, timeout: float = 60) -> dict[str, Any]:
    seen: list[str] = []

    def reached() -> dict[str, Any] | None:
        rollout = get(name, namespace=namespace)
        status = rollout.get("status") or {}
        seen[:] = [
            f"{client_phase(rollout)} ({status.get('phase')}: {status.get('message')}), "
            f"step {status.get('currentStepIndex')}, abort {status.get('abort')}"
        ]
        return rollout if client_phase(rollout) == phase else None

    try:
        return kube.wait_for(reached, timeout=timeout, what=f"rollout {name} phase {phase}")
    except AssertionError as err:
        raise AssertionError(f"{err}; last seen: {seen}") from None


def wait_step(name: str, index: int, *, namespace: str, timeout: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        current = status(name, namespace=namespace)
        return current if current.get("currentStepIndex") == index else None

    return kube.wait_for(reached, timeout=timeout, what=f"rollout {name} at step {index}")


def set_image(name: str, image: str, *, namespace: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    kube.kubectl("patch", "rollout", name, "-n", namespace, "--type", "merge", "-p", json.dumps(patch))


def patch_status(name: str, status_patch: dict[str, Any], *, namespace: str) -> None:
    kube.kubectl(
        "patch",
        "rollout",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        json.dumps({"status": status_patch}),
    )


def promote(name: str, *, namespace: str) -> None:
    patch_status(name, {"pauseConditions": None}, namespace=namespace)


def abort(name: str, *, namespace: str) -> None:
    patch_status(name, {"abort": True}, namespace=namespace)


def retry(name: str, *, namespace: str) -> None:
    patch_status(name, {"abort": False}, namespace=namespace)


def ready_pods_by_hash(name: str, *, namespace: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in kube.list_objects("pods", namespace=namespace, selector=f"app={name}"):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or []
        )
        if ready:
            pod_hash = pod["metadata"]["labels"].get(HASH, "")
            counts[pod_hash] = counts.get(pod_hash, 0) + 1
    return counts


def replica_sets(name: str, *, namespace: str) -> dict[str, dict[str, Any]]:
    return {
        rs["metadata"]["labels"][HASH]: rs
        for rs in kube.list_objects("replicasets", namespace=namespace, selector=f"app={name}")
    }


def wait_split(
    name: str, *, namespace: str, canary: int, stable: int, timeout: float = 60
) -> tuple[str, str]:
    """Waits until exactly `canary` ready pods run the current hash and `stable` the stable hash."""

    def check() -> tuple[str, str] | None:
        current = status(name, namespace=namespace)
        new_hash, stable_hash = current.get("currentPodHash"), current.get("stableRS")
        pods = ready_pods_by_hash(name, namespace=namespace)
        expected = {new_hash: canary, stable_hash: stable} if new_hash != stable_hash else {new_hash: canary}
        actual = {h: pods.get(h, 0) for h in expected}
        others = sum(n for h, n in pods.items() if h not in expected)
        return (new_hash, stable_hash) if actual == expected and others == 0 else None

    return kube.wait_for(check, timeout=timeout, what=f"{canary} canary / {stable} stable pods")


def service_hash(service: str, *, namespace: str) -> str | None:
    found = kube.get("service", service, namespace=namespace)
    assert found is not None
    selector: dict[str, str] = found["spec"].get("selector") or {}
    return selector.get(HASH)


def event_reasons(name: str, *, namespace: str) -> list[str]:
    return [e["reason"] for e in kube.events_for(namespace, name)]
