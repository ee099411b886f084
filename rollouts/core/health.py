"""Health of one live object, from its plain dict: Argo CD's built-in checks, plus rollwave's own kinds.

`resource_health(obj)` returns `(status, message)`. Built-in checks (Argo CD's gitops-engine rules):

    Deployment               paused -> Suspended; generation not observed -> Progressing;
                             ProgressDeadlineExceeded -> Degraded; replicas not updated/available -> Progressing
    StatefulSet, DaemonSet, ReplicaSet                     the same shape (kubectl rollout status rules)
    Pod                      Always: Err*/*Error/*BackOff waiting -> Degraded; Running+Ready -> Healthy;
                             Never/OnFailure: Progressing until Succeeded (Healthy) or Failed (Degraded)
    Job                      Complete -> Healthy; Failed -> Degraded; Suspended -> Suspended; else Progressing
    Service                  LoadBalancer without status.loadBalancer.ingress -> Progressing, else Healthy
    Ingress                  status.loadBalancer.ingress empty -> Progressing, else Healthy
    PersistentVolumeClaim    Bound -> Healthy, Pending -> Progressing, Lost -> Degraded, else Unknown
    argoproj.io Rollout      Argo CD's Lua check: spec not observed -> Progressing; status.phase (Paused ->
                             Suspended); without a phase: conditions, pause, replicas, stable == current
    rollwave.dev Application its status.health

Every other kind is Healthy once it exists, as in Argo CD, with two rollwave guards so that a wave does not
move on too early (argo-cd#14442, #4669): `status.observedGeneration` below `metadata.generation` is
Progressing, and a `Ready` condition that is False is Progressing with its message.

An object being deleted (`metadata.deletionTimestamp`) is Progressing "Pending deletion", unless it carries the
hook finalizer (a hook is judged on its result while rollwave still holds it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rollouts.model import application as model

Health = model.HealthStatusCode
Verdict = tuple[model.HealthStatusCode, str]

HOOK_FINALIZER = "rollwave.dev/hook-finalizer"

# Argo CD's order, best to worst (`IsWorse`): the app health is the worst child's.
HEALTH_ORDER: tuple[model.HealthStatusCode, ...] = (
    Health.HEALTHY,
    Health.SUSPENDED,
    Health.PROGRESSING,
    Health.MISSING,
    Health.DEGRADED,
    Health.UNKNOWN,
)


def is_worse(candidate: model.HealthStatusCode, current: model.HealthStatusCode) -> bool:
    """Whether `candidate` is worse than `current` in Argo CD's order.

    >>> is_worse(Health.MISSING, Health.PROGRESSING), is_worse(Health.SUSPENDED, Health.PROGRESSING)
    (True, False)
    """
    return HEALTH_ORDER.index(candidate) > HEALTH_ORDER.index(current)


def resource_health(obj: Mapping[str, Any]) -> Verdict:
    """The health of one live object.

    >>> resource_health({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Lost"}})
    (<HealthStatusCode.DEGRADED: 'Degraded'>, '')
    >>> resource_health({"apiVersion": "v1", "kind": "ConfigMap"})
    (<HealthStatusCode.HEALTHY: 'Healthy'>, '')
    """
    metadata = _mapping(obj.get("metadata"))
    if metadata.get("deletionTimestamp") and HOOK_FINALIZER not in _strings(metadata.get("finalizers")):
        return Health.PROGRESSING, "Pending deletion"
    group = _group(obj)
    check = _CHECKS.get((group, str(obj.get("kind") or "")))
    if check is None:
        return _generic(obj)
    return check(obj)


def has_builtin_check(group: str, kind: str) -> bool:
    """Whether the kind has a health check of its own (a Missing one then counts in the app health)."""
    return (group, kind) in _CHECKS


# ---------------------------------------------------------------------------------------------------
# Small readers for plain dicts (live objects come straight from the API server)


def _mapping(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def _list(raw: object) -> Sequence[Any]:
    return raw if isinstance(raw, list | tuple) else ()


def _strings(raw: object) -> tuple[str, ...]:
    return tuple(item for item in _list(raw) if isinstance(item, str))


def _int(raw: object, default: int = 0) -> int:
    value = _optional_int(raw)
    return default if value is None else value


def _optional_int(raw: object) -> int | None:
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            return None
    return None


def _group(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "")
    return api_version.split("/")[0] if "/" in api_version else ""


def _conditions(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [condition for condition in _list(status.get("conditions")) if isinstance(condition, Mapping)]


def _condition(status: Mapping[str, Any], condition_type: str) -> Mapping[str, Any] | None:
    return next((c for c in _conditions(status) if c.get("type") == condition_type), None)


def _parts(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]:
    return _mapping(obj.get("metadata")), _mapping(obj.get("spec")), _mapping(obj.get("status"))


def _replicas(spec: Mapping[str, Any]) -> int:
    # The API server defaults spec.replicas to 1.
    return _int(spec.get("replicas"), 1)


# ---------------------------------------------------------------------------------------------------
# Built-in checks


def _deployment(obj: Mapping[str, Any]) -> Verdict:
    metadata, spec, status = _parts(obj)
    if spec.get("paused") is True:
        return Health.SUSPENDED, "Deployment is paused"
    if _int(metadata.get("generation")) > _int(status.get("observedGeneration")):
        return (
            Health.PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        )
    progressing = _condition(status, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health.DEGRADED, f"Deployment {metadata.get('name', '')!r} exceeded its progress deadline"
    replicas = _replicas(spec)
    updated = _int(status.get("updatedReplicas"))
    total = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    if updated < replicas:
        return Health.PROGRESSING, (
            f"Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated..."
        )
    if total > updated:
        return (
            Health.PROGRESSING,
            f"Waiting for rollout to finish: {total - updated} old replicas are pending termination...",
        )
    if available < updated:
        return Health.PROGRESSING, (
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
        )
    return Health.HEALTHY, ""


def _stateful_set(obj: Mapping[str, Any]) -> Verdict:
    metadata, spec, status = _parts(obj)
    observed = _int(status.get("observedGeneration"))
    if observed == 0 or _int(metadata.get("generation")) > observed:
        return Health.PROGRESSING, "Waiting for statefulset spec update to be observed..."
    replicas = _replicas(spec)
    ready = _int(status.get("readyReplicas"))
    updated = _int(status.get("updatedReplicas"))
    if ready < replicas:
        return Health.PROGRESSING, f"Waiting for {replicas - ready} pods to be ready..."
    strategy = _mapping(spec.get("updateStrategy"))
    strategy_type = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if (
        strategy_type == "RollingUpdate"
        and isinstance(rolling, Mapping)
        and rolling.get("partition") is not None
    ):
        wanted = replicas - _int(rolling.get("partition"))
        if updated < wanted:
            return Health.PROGRESSING, (
                f"Waiting for partitioned roll out to finish: {updated} out of {wanted} new pods have been updated..."
            )
        return Health.HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
    if strategy_type == "OnDelete":
        return Health.HEALTHY, f"statefulset has {ready} ready pods"
    update_revision = status.get("updateRevision")
    current_revision = status.get("currentRevision")
    if update_revision != current_revision:
        return Health.PROGRESSING, (
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
        )
    return (
        Health.HEALTHY,
        f"statefulset rolling update complete {ready} pods at revision {current_revision}...",
    )


def _daemon_set(obj: Mapping[str, Any]) -> Verdict:
    metadata, spec, status = _parts(obj)
    name = metadata.get("name", "")
    if _int(metadata.get("generation")) > _int(status.get("observedGeneration")):
        return (
            Health.PROGRESSING,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        )
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if _mapping(spec.get("updateStrategy")).get("type") == "OnDelete":
        return Health.HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated"
    if updated < desired:
        return Health.PROGRESSING, (
            f"Waiting for daemon set {name!r} rollout to finish: {updated} out of {desired} new pods have been updated..."
        )
    if available < desired:
        return Health.PROGRESSING, (
            f"Waiting for daemon set {name!r} rollout to finish: {available} of {desired} updated pods are available..."
        )
    return Health.HEALTHY, ""


def _replica_set(obj: Mapping[str, Any]) -> Verdict:
    metadata, spec, status = _parts(obj)
    if _int(metadata.get("generation")) > _int(status.get("observedGeneration")):
        return (
            Health.PROGRESSING,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        )
    failure = _condition(status, "ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        return Health.DEGRADED, str(failure.get("message") or "")
    replicas = _replicas(spec)
    available = _int(status.get("availableReplicas"))
    if available < replicas:
        return (
            Health.PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {replicas} new replicas are available...",
        )
    return Health.HEALTHY, ""


def _pod(obj: Mapping[str, Any]) -> Verdict:
    _, spec, status = _parts(obj)
    restart_policy = spec.get("restartPolicy") or "Always"
    message = str(status.get("message") or "")
    containers = [c for c in _list(status.get("containerStatuses")) if isinstance(c, Mapping)]
    init_containers = [c for c in _list(status.get("initContainerStatuses")) if isinstance(c, Mapping)]
    # Only long-running pods fail early on a waiting error: a hook pod (Never/OnFailure) must fail on its own,
    # or a later fix of the image would run a hook whose sync is long over.
    if restart_policy == "Always":
        waiting_errors = []
        for container in containers:
            waiting = _mapping(_mapping(container.get("state")).get("waiting"))
            reason = str(waiting.get("reason") or "")
            if reason.startswith("Err") or reason.endswith("Error") or reason.endswith("BackOff"):
                waiting_errors.append(str(waiting.get("message") or reason))
        if waiting_errors:
            return Health.DEGRADED, ", ".join(waiting_errors)
    phase = status.get("phase")
    if phase == "Pending":
        return Health.PROGRESSING, message
    if phase == "Succeeded":
        return Health.HEALTHY, message
    if phase == "Failed":
        if message:
            return Health.DEGRADED, message
        for container in (*init_containers, *containers):
            failure = _container_failure(container)
            if failure:
                return Health.DEGRADED, failure
        return Health.DEGRADED, ""
    if phase == "Running":
        if restart_policy != "Always":
            return Health.PROGRESSING, message
        ready = _condition(status, "Ready")
        if ready is not None and ready.get("status") == "True":
            return Health.HEALTHY, message
        if any(_mapping(c.get("lastState")).get("terminated") for c in containers):
            return Health.DEGRADED, message
        return Health.PROGRESSING, message
    return Health.UNKNOWN, message


def _container_failure(container: Mapping[str, Any]) -> str:
    terminated = _mapping(_mapping(container.get("state")).get("terminated"))
    if not terminated:
        return ""
    if terminated.get("message"):
        return str(terminated["message"])
    if terminated.get("reason") == "OOMKilled":
        return "OOMKilled"
    exit_code = _int(terminated.get("exitCode"))
    if exit_code:
        return f"container {container.get('name', '')!r} failed with exit code {exit_code}"
    return ""


def _job(obj: Mapping[str, Any]) -> Verdict:
    _, _, status = _parts(obj)
    failed = complete = suspended = False
    message = failure_message = ""
    for condition in _conditions(status):
        if condition.get("status") != "True":
            continue
        condition_type = condition.get("type")
        if condition_type == "Failed":
            failed = True
            failure_message = str(condition.get("message") or condition.get("reason") or "")
        elif condition_type == "Complete":
            complete = True
            message = str(condition.get("message") or "")
        elif condition_type == "Suspended":
            suspended = True
            message = str(condition.get("message") or "")
    if failed:
        return Health.DEGRADED, failure_message
    if complete:
        return Health.HEALTHY, message
    if suspended:
        return Health.SUSPENDED, message
    return Health.PROGRESSING, message


def _load_balancer_ready(status: Mapping[str, Any]) -> bool:
    return bool(_list(_mapping(status.get("loadBalancer")).get("ingress")))


def _service(obj: Mapping[str, Any]) -> Verdict:
    _, spec, status = _parts(obj)
    if spec.get("type") == "LoadBalancer" and not _load_balancer_ready(status):
        return Health.PROGRESSING, "Waiting for the load balancer to get an address"
    return Health.HEALTHY, ""


def _ingress(obj: Mapping[str, Any]) -> Verdict:
    _, _, status = _parts(obj)
    if _load_balancer_ready(status):
        return Health.HEALTHY, ""
    return Health.PROGRESSING, "Waiting for the ingress controller to publish an address"


def _persistent_volume_claim(obj: Mapping[str, Any]) -> Verdict:
    _, _, status = _parts(obj)
    phase = status.get("phase")
    if phase == "Bound":
        return Health.HEALTHY, ""
    if phase == "Pending":
        return Health.PROGRESSING, ""
    if phase == "Lost":
        return Health.DEGRADED, ""
    return Health.UNKNOWN, ""


def _rollout(obj: Mapping[str, Any]) -> Verdict:
    """Argo CD's Lua health check for argoproj.io Rollouts (resource_customizations/argoproj.io/Rollout)."""
    metadata, spec, status = _parts(obj)
    if not isinstance(obj.get("status"), Mapping):
        return Health.PROGRESSING, "Waiting for rollout spec update to be observed"
    # observedGeneration is a string on Rollouts; a missing or unparseable one counts as observed (Argo CD's
    # rule for pre-v0.10 Rollouts), a smaller one does not.
    observed = _optional_int(status.get("observedGeneration"))
    if observed is not None and observed < _int(metadata.get("generation")):
        return Health.PROGRESSING, "Waiting for rollout spec update to be observed"
    phase = status.get("phase")
    if isinstance(phase, str) and phase:
        verdict = {"Paused": Health.SUSPENDED}.get(phase)
        if verdict is None:
            try:
                verdict = Health(phase)
            except ValueError:
                verdict = Health.UNKNOWN
        return verdict, str(status.get("message") or "")
    for condition in _conditions(status):
        reason = condition.get("reason")
        if condition.get("type") == "InvalidSpec" or (
            condition.get("type") == "Progressing"
            and reason in ("RolloutAborted", "ProgressDeadlineExceeded")
        ):
            return Health.DEGRADED, str(condition.get("message") or "")
    if _list(status.get("pauseConditions")) or spec.get("paused") is True:
        return Health.SUSPENDED, "Rollout is paused"
    current = status.get("currentPodHash")
    if current is None:
        return Health.PROGRESSING, "Waiting for rollout to finish: status has not been reconciled."
    replicas = _replicas(spec)
    updated = _int(status.get("updatedReplicas"))
    total = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    strategy = _mapping(spec.get("strategy"))
    if updated < replicas:
        return Health.PROGRESSING, "Waiting for roll out to finish: More replicas need to be updated"
    if "canary" in strategy and total > updated:
        return Health.PROGRESSING, "Waiting for roll out to finish: old replicas are pending termination"
    if available < updated:
        return (
            Health.PROGRESSING,
            "Waiting for roll out to finish: updated replicas are still becoming available",
        )
    stable = status.get("stableRS") or _mapping(status.get("canary")).get("stableRS") or ""
    if "blueGreen" in strategy:
        if _mapping(status.get("blueGreen")).get("activeSelector") != current:
            return Health.PROGRESSING, "active service cutover pending"
        if stable and stable != current:
            return Health.PROGRESSING, "waiting for analysis to complete"
    elif "canary" in strategy and (not stable or stable != current):
        return Health.PROGRESSING, "Waiting for rollout to finish steps"
    return Health.HEALTHY, ""


def _application(obj: Mapping[str, Any]) -> Verdict:
    health = _mapping(_mapping(obj.get("status")).get("health"))
    raw = health.get("status")
    try:
        verdict = Health(raw) if isinstance(raw, str) and raw else Health.PROGRESSING
    except ValueError:
        verdict = Health.UNKNOWN
    return verdict, str(
        health.get("message") or ("Waiting for the application to report its health" if not raw else "")
    )


def _generic(obj: Mapping[str, Any]) -> Verdict:
    metadata, _, status = _parts(obj)
    observed = _optional_int(status.get("observedGeneration"))
    if observed is not None and observed < _int(metadata.get("generation")):
        return Health.PROGRESSING, "Waiting for the spec update to be observed"
    ready = _condition(status, "Ready")
    if ready is not None and ready.get("status") == "False":
        return Health.PROGRESSING, str(ready.get("message") or ready.get("reason") or "not Ready")
    return Health.HEALTHY, ""


_CHECKS: Mapping[tuple[str, str], Callable[[Mapping[str, Any]], Verdict]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("apps", "ReplicaSet"): _replica_set,
    ("", "Pod"): _pod,
    ("batch", "Job"): _job,
    ("", "Service"): _service,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("extensions", "Ingress"): _ingress,
    ("", "PersistentVolumeClaim"): _persistent_volume_claim,
    ("argoproj.io", "Rollout"): _rollout,
    ("rollwave.dev", "Application"): _application,
}
