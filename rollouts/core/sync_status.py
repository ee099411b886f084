"""The Application's comparison result: `status.resources[]`, `status.sync.status` and `status.health`.

Inputs are the plan (`waves.plan_sync(..., state=None)` is enough: it resolves namespaces and finds the objects
that left Git), the live objects, and which objects the I/O layer's diff found different.

Per resource (Argo CD's rules): a desired object is OutOfSync when it is missing or its diff is not empty,
Unknown when it could not be compared, otherwise Synced; a tracked live object that left Git is OutOfSync with
`requiresPruning` (and stays so with Prune=false). Hooks are listed (`hook: true`) when they exist, without a
sync status; skipped objects (`hook: Skip`) are not listed.

App sync status: OutOfSync if any resource is, else Unknown if any is, else Synced.

App health: the worst resource health in the order Healthy < Suspended < Progressing < Missing < Degraded <
Unknown, leaving out hooks and objects annotated `argocd.argoproj.io/ignore-healthcheck: "true"`. A Missing
object counts only if its kind has a health check of its own (a missing ConfigMap does not make the app
Missing), a child Application's Missing/Unknown does not count, and an app none of whose objects exists is
Missing. An app with no objects is Healthy.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from rollouts.core import health, waves
from rollouts.model import application as model

Sync = model.SyncStatusCode
Health = model.HealthStatusCode


def resource_statuses(
    plan: waves.SyncPlan,
    *,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    out_of_sync: Collection[waves.ObjectKey],
    unknown: Collection[waves.ObjectKey] = (),
) -> tuple[model.ResourceStatus, ...]:
    """One entry per managed object, in sync order."""
    entries: list[model.ResourceStatus] = []
    seen: set[waves.ObjectKey] = set()
    for task in plan.tasks:
        key = task.key
        if key in seen or task.auto_namespace:
            continue
        obj = live.get(key)
        if task.is_hook and obj is None:
            continue
        seen.add(key)
        if task.is_hook:
            status = None
        elif task.prune or obj is None or key in out_of_sync:
            status = Sync.OUT_OF_SYNC
        elif key in unknown:
            status = Sync.UNKNOWN
        else:
            status = Sync.SYNCED
        entries.append(
            model.ResourceStatus(
                group=key.group,
                version=task.version,
                kind=key.kind,
                namespace=key.namespace,
                name=key.name,
                status=status,
                health=_health_of(obj),
                hook=task.is_hook,
                requires_pruning=task.prune,
                sync_wave=task.original_wave if task.prune else task.wave,
            )
        )
    return tuple(entries)


def app_sync_status(resources: Collection[model.ResourceStatus]) -> model.SyncStatusCode:
    """OutOfSync if any non-hook resource is, else Unknown if any is, else Synced."""
    codes = {resource.status for resource in resources if not resource.hook}
    if Sync.OUT_OF_SYNC in codes:
        return Sync.OUT_OF_SYNC
    if Sync.UNKNOWN in codes:
        return Sync.UNKNOWN
    return Sync.SYNCED


def app_health(
    plan: waves.SyncPlan, *, live: Mapping[waves.ObjectKey, Mapping[str, Any]]
) -> model.HealthStatus:
    """The aggregated health, with a message naming the object that decided it."""
    worst = Health.HEALTHY
    worst_message = ""
    counted = 0
    any_live = False
    seen: set[waves.ObjectKey] = set()
    for task in plan.tasks:
        key = task.key
        if task.is_hook or task.auto_namespace or task.ignore_health or key in seen:
            continue
        seen.add(key)
        counted += 1
        obj = live.get(key)
        if obj is None:
            status, message = Health.MISSING, ""
        else:
            any_live = True
            status, message = health.resource_health(obj)
        if status is Health.MISSING and not health.has_builtin_check(key.group, key.kind):
            continue
        if (
            key.group == "rollwave.dev"
            and key.kind == "Application"
            and status in (Health.MISSING, Health.UNKNOWN)
        ):
            continue
        if health.is_worse(status, worst):
            worst = status
            worst_message = f"{key}: {message}" if message else str(key)
    if counted and not any_live:
        return model.HealthStatus(status=Health.MISSING, message="none of the application's objects exists")
    if worst is Health.HEALTHY:
        return model.HealthStatus(status=Health.HEALTHY)
    return model.HealthStatus(status=worst, message=worst_message)


def _health_of(obj: Mapping[str, Any] | None) -> model.HealthStatus:
    if obj is None:
        return model.HealthStatus(status=Health.MISSING)
    status, message = health.resource_health(obj)
    return model.HealthStatus(status=status, message=message or None)
