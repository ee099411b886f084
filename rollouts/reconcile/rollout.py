"""Reconcile one Rollout: read its view, let the core decide, apply the effects in order, write status once.

Reads come from the watch cache (the Rollout, its ReplicaSets and AnalysisRuns) plus a GET per steered Service.
If an effect fails, the status is not written: the next pass re-derives the same decision from the cluster, and
since effects are idempotent nothing is done twice.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from rollouts.core import canary, decisions, rollout_analysis
from rollouts.kube import cache as kube_cache
from rollouts.kube import custom, errors, pods, replicasets, services
from rollouts.model import fields, workloads
from rollouts.model import rollout as model
from rollouts.observability import metrics
from rollouts.reconcile import runtime as reconcile_runtime
from rollouts.routers import base as router_base
from rollouts.routers import registry as router_registry

logger = logging.getLogger("rollwave.rollout")

EFFECT_RETRY_SECONDS = 5.0
STALE_RETRY_SECONDS = 0.5

# Unsupported fields that change what a rollout does: acting without them would not be the rollout the user wrote.
_BLOCKING_PREFIXES = (
    "spec.workloadRef",
    "spec.strategy.canary.steps",
    "spec.strategy.canary.trafficRouting",
    "spec.strategy.blueGreen",
    "spec.strategy.canary.analysis",
)


def reconcile(key: kube_cache.ObjectKey, runtime: reconcile_runtime.Runtime) -> float | None:
    body = runtime.cache.get("rollouts", key)
    if body is None:
        return None  # deleted: owner references let the garbage collector remove the ReplicaSets
    now = datetime.datetime.now(datetime.UTC)
    parsed = model.parse_rollout(body)
    if parsed.value is None:
        _write_unparseable(body, parsed.issues, runtime=runtime, now=now)
        return None
    rollout = parsed.value
    blocking, reported = classify_issues(parsed.issues, rollout=rollout)
    strategy = rollout.spec.strategy
    reference_issues = (
        rollout_analysis.check_references(
            strategy,
            rollout=body,
            templates=_referenced_templates(strategy, rollout=rollout, runtime=runtime),
        )
        if isinstance(strategy, model.CanaryStrategy) and not blocking
        else ()
    )
    router, router_issues, traffic_weight = (
        _traffic_router(rollout, runtime=runtime)
        if not blocking and not reference_issues
        else (None, (), None)
    )
    view = canary.CanaryView(
        rollout=rollout,
        replica_sets=tuple(
            workloads.ReplicaSetView.from_dict(rs)
            for rs in runtime.cache.owned_by("replicasets", rollout.uid or "")
        ),
        services=_read_services(rollout, runtime=runtime) if not blocking else {},
        pods=_read_pods(rollout, runtime=runtime, now=now),
        analysis_runs=_analysis_runs(rollout, runtime=runtime),
        replicas_unset=(body.get("spec") or {}).get("replicas") is None,
        blocking_issues=blocking,
        reported_issues=reported,
        reference_issues=(*reference_issues, *router_issues),
        traffic_weight=traffic_weight,
    )
    decision = canary.decide(view, now=now)
    try:
        for effect in decision.effects:
            apply_effect(effect, rollout_body=body, rollout=rollout, runtime=runtime, router=router)
    except router_base.RouterError as err:
        runtime.events.record(body, reason="TrafficRoutingError", message=str(err), warning=True)
        return EFFECT_RETRY_SECONDS
    except errors.KubeError as err:
        runtime.events.record(
            body, reason="ReconcileError", message=f"{type(err).__name__}: {err.message}", warning=True
        )
        logger.warning("rollout %s/%s: effect failed: %s", rollout.namespace, rollout.name, err.message)
        return EFFECT_RETRY_SECONDS
    try:
        stored = custom.patch_status(
            runtime.clients.custom,
            group_version=custom.ARGO,
            plural="rollouts",
            namespace=rollout.namespace or "",
            name=rollout.name,
            old_status=body.get("status"),
            new_status=decision.status.to_dict(),
            resource_version=body["metadata"].get("resourceVersion"),
        )
    except errors.Conflict:
        # We decided from a stale copy (the object changed since, e.g. a promote): the watch event carrying the
        # newer version queues this Rollout again; decide from that instead of overwriting it.
        return STALE_RETRY_SECONDS
    if stored is not None:
        # The next pass may be woken by its timer before the watch delivers our own write: give it our write.
        runtime.cache.put("rollouts", stored)
    # After the write: a pass whose status was refused must not announce what it did not record.
    for note in decision.events:
        runtime.events.record(body, reason=note.reason, message=note.message, warning=note.warning)
        metrics.rollout_events_total.labels(
            type="Warning" if note.warning else "Normal", reason=note.reason
        ).inc()
    _export_metrics(rollout, decision.status)
    delays = [d.total_seconds() for d in (decision.requeue_after, decision.resync_after) if d is not None]
    return min(delays) if delays else None


def classify_issues(
    issues: tuple[fields.FieldIssue, ...], *, rollout: model.Rollout
) -> tuple[tuple[fields.FieldIssue, ...], tuple[fields.FieldIssue, ...]]:
    """(blocking, reported): invalid values, and unsupported fields that change the rollout, block it."""
    blocking: list[fields.FieldIssue] = []
    reported: list[fields.FieldIssue] = []
    for issue in issues:
        if issue.kind == fields.IssueKind.INVALID or issue.path.startswith(_BLOCKING_PREFIXES):
            blocking.append(issue)
        else:
            reported.append(issue)
    strategy = rollout.spec.strategy
    if isinstance(strategy, model.BlueGreenStrategy):
        blocking.append(
            fields.FieldIssue(
                path="spec.strategy.blueGreen",
                message="the blue-green strategy is not implemented in this version of rollwave",
                kind=fields.IssueKind.UNSUPPORTED,
            )
        )
    elif strategy.traffic_routing is not None:
        # The router's own checks (its config, the Services it needs), without the ones the model made already.
        known = {(i.path, i.message) for i in blocking}
        blocking.extend(
            issue
            for issue in router_registry.validate(
                strategy.traffic_routing,
                stable_service=strategy.stable_service,
                canary_service=strategy.canary_service,
            )
            if (issue.path, issue.message) not in known
        )
        for index, step in enumerate(strategy.steps):
            if isinstance(step, model.SetHeaderRoute | model.SetMirrorRoute):
                action = "setHeaderRoute" if isinstance(step, model.SetHeaderRoute) else "setMirrorRoute"
                problem = router_registry.step_issue(
                    strategy.traffic_routing.router,
                    action=action,
                    path=f"spec.strategy.canary.steps[{index}].{action}",
                )
                if problem is not None:
                    blocking.append(problem)
    return tuple(blocking), tuple(reported)


def apply_effect(
    effect: decisions.Effect,
    *,
    rollout_body: Mapping[str, Any],
    rollout: model.Rollout,
    runtime: reconcile_runtime.Runtime,
    router: router_base.TrafficRouter | None = None,
) -> None:
    apps, core = runtime.clients.apps, runtime.clients.core
    namespace = rollout.namespace or ""
    match effect:
        case decisions.CreateReplicaSet():
            replicasets.create(
                apps,
                owner=rollout_body,
                name=effect.name,
                pod_template_hash=effect.pod_template_hash,
                revision=effect.revision,
                replicas=effect.replicas,
                desired_replicas=rollout.spec.replicas,
                template=effect.template,
                selector=effect.selector,
                min_ready_seconds=effect.min_ready_seconds,
            )
        case decisions.ScaleReplicaSet():
            replicasets.scale(
                apps,
                namespace=namespace,
                name=effect.name,
                replicas=effect.to_replicas,
                desired_replicas=rollout.spec.replicas,
            )
        case decisions.SetReplicaSetRevision():
            replicasets.set_revision(apps, namespace=namespace, name=effect.name, revision=effect.revision)
        case decisions.DeleteReplicaSet():
            replicasets.delete(apps, namespace=namespace, name=effect.name)
        case decisions.SetServiceSelector():
            services.set_selector(
                core,
                namespace=namespace,
                name=effect.service,
                pod_template_hash=effect.pod_template_hash,
                rollout=rollout.name,
            )
        case decisions.EvictPod():
            pods.delete(core, namespace=namespace, name=effect.name)
        case decisions.CreateAnalysisRun():
            templates = _referenced_templates(rollout.spec.strategy, rollout=rollout, runtime=runtime)
            try:
                run = rollout_analysis.build_run(effect.request, rollout=rollout_body, templates=templates)
            except rollout_analysis.RunBuildError as err:
                # Checked before deciding; only a template changed in between gets here. Retried.
                raise errors.KubeError(f"cannot create AnalysisRun {effect.request.name}: {err}") from err
            created = custom.create_if_missing(
                runtime.clients.custom,
                group_version=custom.ARGO,
                plural="analysisruns",
                namespace=namespace,
                body=run,
            )
            if created is not None:
                runtime.cache.put("analysisruns", created)
        case decisions.TerminateAnalysisRun():
            try:
                stopped = custom.patch(
                    runtime.clients.custom,
                    group_version=custom.ARGO,
                    plural="analysisruns",
                    namespace=namespace,
                    name=effect.name,
                    body={"spec": {"terminate": True}},
                )
            except errors.NotFound:
                return
            runtime.cache.put("analysisruns", stopped)
        case decisions.DeleteAnalysisRun():
            custom.delete(
                runtime.clients.custom,
                group_version=custom.ARGO,
                plural="analysisruns",
                namespace=namespace,
                name=effect.name,
            )
        case decisions.SetTrafficWeight():
            if router is None:
                raise errors.KubeError("no traffic router to set the weight on")
            change = router.set_weight(
                effect.weight, canary_hash=effect.canary_hash, stable_hash=effect.stable_hash
            )
            if change.restored:
                runtime.events.record(
                    rollout_body,
                    reason="TrafficWeightRestored",
                    message="traffic weights changed outside rollwave were set back: "
                    + "; ".join(change.restored),
                    warning=True,
                )
        case decisions.SetHeaderRoute():
            if not isinstance(router, router_base.HeaderRouting):
                raise errors.KubeError("the traffic router cannot set header routes")
            router.set_header_route(effect.route)
        case decisions.SetMirrorRoute():
            if not isinstance(router, router_base.MirrorRouting):
                raise errors.KubeError("the traffic router cannot set mirror routes")
            router.set_mirror_route(effect.route)
        case decisions.RemoveManagedRoutes():
            if router is not None:
                router.remove_managed_routes()
        case decisions.SetRolloutReplicas():
            custom.patch(
                runtime.clients.custom,
                group_version=custom.ARGO,
                plural="rollouts",
                namespace=namespace,
                name=rollout.name,
                body={"spec": {"replicas": effect.replicas}},
            )


def _read_services(
    rollout: model.Rollout, *, runtime: reconcile_runtime.Runtime
) -> dict[str, workloads.ServiceView | None]:
    strategy = rollout.spec.strategy
    names = []
    if isinstance(strategy, model.CanaryStrategy):
        names = [n for n in (strategy.canary_service, strategy.stable_service) if n]
    found: dict[str, workloads.ServiceView | None] = {}
    for name in names:
        # The watch cache first; a miss may only mean the watch has not listed it yet, so ask the API server.
        raw = runtime.cache.get("services", (rollout.namespace or "", name)) or services.get(
            runtime.clients.core, namespace=rollout.namespace or "", name=name
        )
        found[name] = workloads.ServiceView.from_dict(raw) if raw is not None else None
    return found


def _read_pods(
    rollout: model.Rollout, *, runtime: reconcile_runtime.Runtime, now: datetime.datetime
) -> tuple[canary.PodView, ...]:
    restart_at = rollout.spec.restart_at
    if restart_at is None or restart_at == rollout.status.restarted_at or restart_at > now:
        return ()
    selector = workloads.format_selector(rollout.spec.selector)
    found = []
    for pod in pods.list_matching(runtime.clients.core, namespace=rollout.namespace or "", selector=selector):
        meta = pod["metadata"]
        if not any(ref.get("kind") == "ReplicaSet" for ref in meta.get("ownerReferences") or []):
            continue
        conditions = {c["type"]: c["status"] for c in (pod.get("status") or {}).get("conditions") or []}
        found.append(
            canary.PodView(
                name=meta["name"],
                pod_template_hash=(meta.get("labels") or {}).get(canary.HASH_LABEL),
                created=datetime.datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00")),
                ready=conditions.get("Ready") == "True",
                deleting=bool(meta.get("deletionTimestamp")),
            )
        )
    return tuple(found)


def _traffic_router(
    rollout: model.Rollout, *, runtime: reconcile_runtime.Runtime
) -> tuple[router_base.TrafficRouter | None, tuple[fields.FieldIssue, ...], int | None]:
    """The Rollout's traffic router and the canary weight it holds now; a problem with the objects it names
    (missing, or not routing to both Services) is an issue naming the field, retried."""
    strategy = rollout.spec.strategy
    if not isinstance(strategy, model.CanaryStrategy) or strategy.traffic_routing is None:
        return None, (), None
    ref = router_registry.rollout_ref(
        strategy.traffic_routing,
        namespace=rollout.namespace or "",
        name=rollout.name,
        uid=rollout.uid or "",
        stable_service=strategy.stable_service,
        canary_service=strategy.canary_service,
    )
    try:
        router = router_registry.create(strategy.traffic_routing, rollout=ref, clients=runtime.clients)
        return router, (), router.read_weight()
    except router_base.RouterError as err:
        return None, (err.issue(),), None


def _analysis_runs(
    rollout: model.Rollout, *, runtime: reconcile_runtime.Runtime
) -> tuple[rollout_analysis.AnalysisRunView, ...]:
    owned = {
        run["metadata"]["name"]: run for run in runtime.cache.owned_by("analysisruns", rollout.uid or "")
    }
    canary_status = rollout.status.canary
    for record in (
        canary_status.current_step_analysis_run_status,
        canary_status.current_background_analysis_run_status,
    ):
        # A run we recorded but the watch has not shown yet: ask the API server before calling it deleted.
        if record is not None and record.name not in owned:
            found = custom.get(
                runtime.clients.custom,
                group_version=custom.ARGO,
                plural="analysisruns",
                namespace=rollout.namespace or "",
                name=record.name,
            )
            if found is not None and any(
                ref.get("uid") == rollout.uid for ref in found["metadata"].get("ownerReferences") or []
            ):
                owned[record.name] = found
    return tuple(rollout_analysis.AnalysisRunView.from_body(run) for run in owned.values())


def _referenced_templates(
    strategy: model.CanaryStrategy | model.BlueGreenStrategy,
    *,
    rollout: model.Rollout,
    runtime: reconcile_runtime.Runtime,
) -> dict[model.TemplateRef, Mapping[str, Any] | None]:
    """The templates the Rollout's analyses name: from the watch cache, else from the API server."""
    if not isinstance(strategy, model.CanaryStrategy):
        return {}
    found: dict[model.TemplateRef, Mapping[str, Any] | None] = {}
    for _, analysis in rollout_analysis.referenced_analyses(strategy):
        for ref in analysis.templates:
            if ref in found:
                continue
            if ref.cluster_scope:
                found[ref] = runtime.cache.get(
                    "clusteranalysistemplates", ("", ref.name)
                ) or custom.get_cluster_scoped(
                    runtime.clients.custom,
                    group_version=custom.ARGO,
                    plural="clusteranalysistemplates",
                    name=ref.name,
                )
            else:
                namespace = rollout.namespace or ""
                found[ref] = runtime.cache.get("analysistemplates", (namespace, ref.name)) or custom.get(
                    runtime.clients.custom,
                    group_version=custom.ARGO,
                    plural="analysistemplates",
                    namespace=namespace,
                    name=ref.name,
                )
    return found


def _write_unparseable(
    body: Mapping[str, Any],
    issues: tuple[fields.FieldIssue, ...],
    *,
    runtime: reconcile_runtime.Runtime,
    now: datetime.datetime,
) -> None:
    meta = body["metadata"]
    message = f'The Rollout "{meta["name"]}" is invalid: ' + "; ".join(
        f"{i.path}: {i.message}" for i in issues
    )
    old = body.get("status") or {}
    conditions = [c for c in old.get("conditions") or [] if c.get("type") != "InvalidSpec"]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions.append(
        {
            "type": "InvalidSpec",
            "status": "True",
            "reason": "InvalidSpec",
            "message": message,
            "lastUpdateTime": stamp,
            "lastTransitionTime": stamp,
        }
    )
    new = {
        **old,
        "conditions": conditions,
        "phase": "Degraded",
        "message": f"InvalidSpec: {message}",
        "observedGeneration": str(meta.get("generation", "")),
    }
    if custom.merge_patch(old, new):
        runtime.events.record(body, reason="InvalidSpec", message=message, warning=True)
    custom.patch_status(
        runtime.clients.custom,
        group_version=custom.ARGO,
        plural="rollouts",
        namespace=meta["namespace"],
        name=meta["name"],
        old_status=old,
        new_status=new,
    )


def _export_metrics(rollout: model.Rollout, status: model.RolloutStatus) -> None:
    strategy = "canary" if isinstance(rollout.spec.strategy, model.CanaryStrategy) else "blueGreen"
    for phase in ("Healthy", "Progressing", "Paused", "Degraded"):
        metrics.rollout_info.labels(
            namespace=rollout.namespace or "",
            name=rollout.name,
            strategy=strategy,
            traffic_router=(
                rollout.spec.strategy.traffic_routing.router
                if isinstance(rollout.spec.strategy, model.CanaryStrategy)
                and rollout.spec.strategy.traffic_routing
                else ""
            ),
            phase=phase,
        ).set(1 if status.phase == phase else 0)
    available = status.available_replicas or 0
    for kind, value in (
        ("desired", rollout.spec.replicas),
        ("available", available),
        ("unavailable", max(rollout.spec.replicas - available, 0)),
        ("updated", status.updated_replicas or 0),
    ):
        metrics.rollout_replicas.labels(namespace=rollout.namespace or "", name=rollout.name, kind=kind).set(
            value
        )
