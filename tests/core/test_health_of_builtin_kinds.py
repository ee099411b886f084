"""health.resource_health follows Argo CD's built-in checks for Kubernetes kinds, plus rollwave's generic guards."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from rollouts.core import health
from rollouts.model import application as model

H = model.HealthStatusCode


def deployment(
    *, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, generation: int = 3
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": 3, **(spec or {})},
        "status": {
            "observedGeneration": 3,
            "replicas": 3,
            "updatedReplicas": 3,
            "availableReplicas": 3,
            **(status or {}),
        },
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(deployment(), (H.HEALTHY, ""), id="rolled-out"),
        pytest.param(deployment(spec={"paused": True}), (H.SUSPENDED, "Deployment is paused"), id="paused"),
        pytest.param(
            deployment(generation=4),
            (
                H.PROGRESSING,
                "Waiting for rollout to finish: observed deployment generation less than desired generation",
            ),
            id="generation-not-observed",
        ),
        pytest.param(
            deployment(
                status={
                    "conditions": [
                        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
                    ]
                }
            ),
            (H.DEGRADED, "Deployment 'web' exceeded its progress deadline"),
            id="deadline-exceeded",
        ),
        pytest.param(
            deployment(status={"updatedReplicas": 1}),
            (H.PROGRESSING, "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."),
            id="updating",
        ),
        pytest.param(
            deployment(status={"replicas": 5}),
            (H.PROGRESSING, "Waiting for rollout to finish: 2 old replicas are pending termination..."),
            id="old-replicas",
        ),
        pytest.param(
            deployment(status={"availableReplicas": 2}),
            (H.PROGRESSING, "Waiting for rollout to finish: 2 of 3 updated replicas are available..."),
            id="becoming-available",
        ),
    ],
)
def test_deployment(obj: dict[str, Any], expected: tuple[H, str]) -> None:
    assert health.resource_health(obj) == expected


def stateful_set(
    *, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "generation": 2},
        "spec": {"replicas": 3, **(spec or {})},
        "status": {
            "observedGeneration": 2,
            "readyReplicas": 3,
            "updatedReplicas": 3,
            "currentRevision": "r1",
            "updateRevision": "r1",
            **(status or {}),
        },
    }


@pytest.mark.parametrize(
    ("obj", "status"),
    [
        pytest.param(stateful_set(), H.HEALTHY, id="complete"),
        pytest.param(stateful_set(status={"observedGeneration": 0}), H.PROGRESSING, id="never-observed"),
        pytest.param(stateful_set(status={"observedGeneration": 1}), H.PROGRESSING, id="old-generation"),
        pytest.param(stateful_set(status={"readyReplicas": 2}), H.PROGRESSING, id="not-ready"),
        pytest.param(stateful_set(status={"updateRevision": "r2"}), H.PROGRESSING, id="rolling"),
        pytest.param(
            stateful_set(spec={"updateStrategy": {"type": "OnDelete"}}, status={"updateRevision": "r2"}),
            H.HEALTHY,
            id="on-delete",
        ),
        pytest.param(
            stateful_set(
                spec={"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}},
                status={"updatedReplicas": 1, "updateRevision": "r2"},
            ),
            H.HEALTHY,
            id="partition-reached",
        ),
        pytest.param(
            stateful_set(
                spec={"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
                status={"updatedReplicas": 1, "updateRevision": "r2"},
            ),
            H.PROGRESSING,
            id="partition-pending",
        ),
    ],
)
def test_stateful_set(obj: dict[str, Any], status: H) -> None:
    assert health.resource_health(obj)[0] is status


def daemon_set(
    *, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, generation: int = 1
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": generation},
        "spec": spec or {},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": 4,
            "updatedNumberScheduled": 4,
            "numberAvailable": 4,
            **(status or {}),
        },
    }


@pytest.mark.parametrize(
    ("obj", "status"),
    [
        pytest.param(daemon_set(), H.HEALTHY, id="complete"),
        pytest.param(daemon_set(generation=2), H.PROGRESSING, id="not-observed"),
        pytest.param(daemon_set(status={"updatedNumberScheduled": 3}), H.PROGRESSING, id="updating"),
        pytest.param(daemon_set(status={"numberAvailable": 3}), H.PROGRESSING, id="becoming-available"),
        pytest.param(
            daemon_set(spec={"updateStrategy": {"type": "OnDelete"}}, status={"updatedNumberScheduled": 0}),
            H.HEALTHY,
            id="on-delete",
        ),
    ],
)
def test_daemon_set(obj: dict[str, Any], status: H) -> None:
    assert health.resource_health(obj)[0] is status


def replica_set(status: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "rs", "generation": generation},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, **status},
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(replica_set({"availableReplicas": 2}), (H.HEALTHY, ""), id="available"),
        pytest.param(
            replica_set({"availableReplicas": 1}),
            (H.PROGRESSING, "Waiting for rollout to finish: 1 out of 2 new replicas are available..."),
            id="partial",
        ),
        pytest.param(
            replica_set(
                {"conditions": [{"type": "ReplicaFailure", "status": "True", "message": "quota exceeded"}]}
            ),
            (H.DEGRADED, "quota exceeded"),
            id="replica-failure",
        ),
        pytest.param(
            replica_set({"availableReplicas": 2}, generation=2),
            (
                H.PROGRESSING,
                "Waiting for rollout to finish: observed replica set generation less than desired generation",
            ),
            id="not-observed",
        ),
    ],
)
def test_replica_set(obj: dict[str, Any], expected: tuple[H, str]) -> None:
    assert health.resource_health(obj) == expected


def pod(
    phase: str,
    *,
    restart_policy: str | None = None,
    containers: list[dict[str, Any]] | None = None,
    ready: bool = False,
    message: str = "",
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "containerStatuses": containers or []}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True"}]
    if message:
        status["message"] = message
    spec = {"restartPolicy": restart_policy} if restart_policy else {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec, "status": status}


BACKOFF = {
    "name": "app",
    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}},
}
CRASHED_BEFORE = {"name": "app", "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1}}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(pod("Running", ready=True), (H.HEALTHY, ""), id="running-ready"),
        pytest.param(pod("Running"), (H.PROGRESSING, ""), id="running-not-ready"),
        pytest.param(pod("Running", containers=[CRASHED_BEFORE]), (H.DEGRADED, ""), id="restarted"),
        pytest.param(
            pod("Pending", containers=[BACKOFF]), (H.DEGRADED, "Back-off pulling image"), id="image-backoff"
        ),
        pytest.param(
            pod("Pending", restart_policy="Never", containers=[BACKOFF]),
            (H.PROGRESSING, ""),
            id="hook-pod-backoff-waits",
        ),
        pytest.param(
            pod("Running", restart_policy="Never", ready=True), (H.PROGRESSING, ""), id="hook-pod-running"
        ),
        pytest.param(pod("Succeeded", restart_policy="Never"), (H.HEALTHY, ""), id="succeeded"),
        pytest.param(pod("Failed", message="OOM"), (H.DEGRADED, "OOM"), id="failed-with-message"),
        pytest.param(
            pod(
                "Failed",
                restart_policy="OnFailure",
                containers=[{"name": "app", "state": {"terminated": {"exitCode": 3}}}],
            ),
            (H.DEGRADED, "container 'app' failed with exit code 3"),
            id="failed-exit-code",
        ),
        pytest.param(pod("Unknown"), (H.UNKNOWN, ""), id="unknown-phase"),
    ],
)
def test_pod(obj: dict[str, Any], expected: tuple[H, str]) -> None:
    assert health.resource_health(obj) == expected


def job(*conditions: tuple[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "status": {
            "conditions": [{"type": t, "status": s, "message": f"{t} message"} for t, s in conditions]
        },
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(job(), (H.PROGRESSING, ""), id="running"),
        pytest.param(job(("Complete", "True")), (H.HEALTHY, "Complete message"), id="complete"),
        pytest.param(job(("Failed", "True")), (H.DEGRADED, "Failed message"), id="failed"),
        pytest.param(job(("Suspended", "True")), (H.SUSPENDED, "Suspended message"), id="suspended"),
        pytest.param(job(("Suspended", "False")), (H.PROGRESSING, ""), id="resumed"),
        pytest.param(job(("FailureTarget", "True")), (H.PROGRESSING, ""), id="failure-target-not-final"),
    ],
)
def test_job(obj: dict[str, Any], expected: tuple[H, str]) -> None:
    assert health.resource_health(obj) == expected


@pytest.mark.parametrize(
    ("obj", "status"),
    [
        pytest.param(
            {"apiVersion": "v1", "kind": "Service", "spec": {"type": "ClusterIP"}}, H.HEALTHY, id="cluster-ip"
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}},
            H.PROGRESSING,
            id="lb-pending",
        ),
        pytest.param(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "spec": {"type": "LoadBalancer"},
                "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}},
            },
            H.HEALTHY,
            id="lb-ready",
        ),
        pytest.param(
            {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress"}, H.PROGRESSING, id="ingress-pending"
        ),
        pytest.param(
            {
                "apiVersion": "extensions/v1beta1",
                "kind": "Ingress",
                "status": {"loadBalancer": {"ingress": [{"hostname": "x"}]}},
            },
            H.HEALTHY,
            id="ingress-ready",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}},
            H.HEALTHY,
            id="pvc-bound",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}},
            H.PROGRESSING,
            id="pvc-pending",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Lost"}},
            H.DEGRADED,
            id="pvc-lost",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {}}, H.UNKNOWN, id="pvc-no-phase"
        ),
    ],
)
def test_service_ingress_and_claims(obj: dict[str, Any], status: H) -> None:
    assert health.resource_health(obj)[0] is status


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({"apiVersion": "v1", "kind": "ConfigMap"}, (H.HEALTHY, ""), id="configmap"),
        pytest.param(
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"generation": 2},
                "status": {"observedGeneration": 1},
            },
            (H.PROGRESSING, "Waiting for the spec update to be observed"),
            id="cr-generation-not-observed",
        ),
        pytest.param(
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "status": {"conditions": [{"type": "Ready", "status": "False", "message": "warming up"}]},
            },
            (H.PROGRESSING, "warming up"),
            id="cr-not-ready",
        ),
        pytest.param(
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            },
            (H.HEALTHY, ""),
            id="cr-ready",
        ),
        pytest.param(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
            },
            (H.PROGRESSING, "Pending deletion"),
            id="being-deleted",
        ),
        pytest.param(
            {
                "apiVersion": "rollwave.dev/v1alpha1",
                "kind": "Application",
                "status": {"health": {"status": "Degraded", "message": "Deployment/web: boom"}},
            },
            (H.DEGRADED, "Deployment/web: boom"),
            id="child-application",
        ),
    ],
)
def test_other_kinds_are_healthy_once_they_exist_with_rollwave_guards(
    obj: dict[str, Any], expected: tuple[H, str]
) -> None:
    assert health.resource_health(obj) == expected


def test_a_hook_being_deleted_is_judged_on_its_result_while_rollwave_holds_it() -> None:
    obj = job(("Complete", "True"))
    obj["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=[health.HOOK_FINALIZER])
    assert health.resource_health(obj)[0] is H.HEALTHY


def test_health_order_is_argo_cds() -> None:
    order = [H.HEALTHY, H.SUSPENDED, H.PROGRESSING, H.MISSING, H.DEGRADED, H.UNKNOWN]
    for better, worse in itertools.pairwise(order):
        assert health.is_worse(worse, better) and not health.is_worse(better, worse)
