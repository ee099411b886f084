"""The canary strategy as one pure function: `decide(view, now=...) -> Decision`.

The view is what the orchestrator read (the Rollout, its ReplicaSets, Services, pods and its AnalysisRuns); the Decision is the whole new status plus idempotent effects. The order of the checks follows Argo
Rollouts' reconcile: detect a new template or new steps, scale the ReplicaSets, point the Services, restart pods,
then move through the steps at most one step per pass, then promote, then persist the status once.

Worked example (10 replicas, maxSurge 25% = 3, maxUnavailable 25% = 2, steps setWeight 20 / pause 30s):
    pass 1 (new template): create RS v2 with 2 pods, stable v1 keeps 10      -> wait for v2's pods
    pass 2 (v2 has 2 available): stable v1 scaled 10 -> 8; step 1/2 done     -> requeue now
    pass 3: pause step reached: pause condition {CanaryPauseStep, now}        -> requeue in 30 s
    pass 4 (30 s later): step 2/2 done; weight 100: v2 -> 10 pods            -> wait for pods
    pass 5 (v2 has 10 available): stableRS <- v2, v1 scaled to 0, Healthy
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rollouts.core import conditions as cond
from rollouts.core import decisions, hashing, phase, podtemplates, replicas, rollout_analysis
from rollouts.model import analysis, fields, workloads
from rollouts.model import rollout as model

HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL
INVALID_REFERENCE_RETRY = datetime.timedelta(seconds=20)
ROUTER_RESYNC = datetime.timedelta(seconds=10)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PodView:
    name: str
    pod_template_hash: str | None
    created: datetime.datetime
    ready: bool
    deleting: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CanaryView:
    rollout: model.Rollout
    replica_sets: tuple[workloads.ReplicaSetView, ...]
    services: Mapping[str, workloads.ServiceView | None]  # canary/stable Service by name; None when missing
    pods: tuple[PodView, ...] = ()  # only needed while a restart is pending
    analysis_runs: tuple[rollout_analysis.AnalysisRunView, ...] = ()  # every run the Rollout owns
    replicas_unset: bool = False  # spec.replicas absent from the manifest (the model reads it as 1)
    # Invalid, or unsupported in a way that stops the rollout.
    blocking_issues: tuple[fields.FieldIssue, ...] = ()
    reported_issues: tuple[fields.FieldIssue, ...] = ()  # unsupported, reported, not acted on
    # Objects the Rollout refers to that are missing or unusable (an AnalysisTemplate): blocking, and retried.
    reference_issues: tuple[fields.FieldIssue, ...] = ()
    # The canary weight the traffic router holds now, read back from the API server (None: none set yet).
    traffic_weight: int | None = None


@dataclasses.dataclass(slots=True, kw_only=True)
class _Pass:
    """Mutable scratch for one decision; only `decide` sees it."""

    status: model.RolloutStatus
    effects: list[decisions.Effect] = dataclasses.field(default_factory=list)
    events: list[decisions.EventNote] = dataclasses.field(default_factory=list)
    wake_after: list[datetime.timedelta] = dataclasses.field(default_factory=list)
    resync_after: datetime.timedelta | None = None
    progressed: bool = False

    def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        self.events.append(decisions.EventNote(reason=reason, message=message, warning=warning))

    def wake(self, after: datetime.timedelta) -> None:
        self.wake_after.append(max(after, datetime.timedelta(0)))


def decide(view: CanaryView, *, now: datetime.datetime) -> decisions.Decision:
    rollout = view.rollout
    spec = rollout.spec
    assert isinstance(spec.strategy, model.CanaryStrategy)
    strategy = spec.strategy
    work = _Pass(status=dataclasses.replace(rollout.status, observed_generation=str(rollout.generation)))
    _report_unsupported(view, work, now=now)

    service_problems = [*_service_problems(view), *map(_issue_text, view.reference_issues)]
    if view.blocking_issues or service_problems:
        return _invalid(
            view,
            work,
            problems=[*map(_issue_text, view.blocking_issues), *service_problems],
            now=now,
            retry=bool(service_problems),
        )
    if cond.find(work.status.conditions, cond.ConditionType.INVALID_SPEC) is not None:
        work.status = dataclasses.replace(
            work.status,
            conditions=cond.remove_condition(work.status.conditions, cond.ConditionType.INVALID_SPEC),
        )

    if view.replicas_unset:
        # Written back so that an HPA, which scales through /scale and reads spec.replicas, has a value to start from.
        work.effects.append(decisions.SetRolloutReplicas(replicas=spec.replicas))
    new_hash = _revision_hash(view.replica_sets, spec.template, collision_count=work.status.collision_count)
    step_hash = hashing.steps_hash(list(strategy.raw_steps))
    _detect_new_template(view, work, new_hash=new_hash, step_hash=step_hash, now=now)
    if work.status.promote_full and work.status.stable_rs != new_hash:
        # promote --full clears pause and abort and jumps past the last step at once.
        work.status = dataclasses.replace(
            work.status,
            pause_conditions=(),
            controller_pause=False,
            abort=False,
            current_step_index=len(strategy.steps) if strategy.steps else None,
        )
    _handle_abort_and_retry(view, work, now=now)
    _drop_stray_step_pause(work, step_count=len(strategy.steps))

    new_rs = _find(view.replica_sets, new_hash)
    stable_hash = work.status.stable_rs
    stable_rs = _find(view.replica_sets, stable_hash) if stable_hash and stable_hash != new_hash else None
    others = [rs for rs in view.replica_sets if rs.pod_template_hash not in (new_hash, stable_hash)]
    if stable_hash and stable_hash != new_hash and stable_rs is None:
        # The stable ReplicaSet was deleted by hand: the new revision is all there is to run.
        stable_hash = None
    revision = _revision(view.replica_sets, new_rs)
    # Before any scaling: a failed background run aborts this very pass.
    _react_to_background_run(view, work, new_hash=new_hash, now=now)

    weight = desired_weight(strategy=strategy, status=work.status, new_hash=new_hash)
    routed = strategy.traffic_routing is not None
    if routed:
        canary_count, stable_count = _routed_counts(
            spec=spec,
            strategy=strategy,
            status=work.status,
            weight=weight,
            stable_rs=stable_rs,
            traffic_weight=view.traffic_weight,
        )
    else:
        canary_count, stable_count = _desired_counts(
            spec=spec,
            strategy=strategy,
            weight=weight,
            new_rs=new_rs,
            stable_rs=stable_rs,
            others=others,
            aborted=work.status.abort,
        )
    if not spec.paused:
        _scale(
            work,
            rollout_name=rollout.name,
            spec=spec,
            strategy=strategy,
            new_hash=new_hash,
            revision=revision,
            new_rs=new_rs,
            canary_count=canary_count,
            stable_rs=stable_rs,
            stable_count=stable_count,
            others=others,
        )
    _point_services(view, work, new_rs=new_rs, new_hash=new_hash, stable_hash=stable_hash or new_hash)
    traffic = (
        _route_traffic(
            view,
            work,
            new_rs=new_rs,
            new_hash=new_hash,
            stable_hash=stable_hash or new_hash,
            weight=weight,
            canary_count=canary_count,
        )
        if routed
        else None
    )
    _restart_pods(view, work, spec=spec, strategy=strategy, now=now)

    if new_rs is not None and not spec.paused and not work.effects:
        # A setWeight step is done at the weight's target split, not at this pass's intermediate counts.
        target_canary, target_stable = (
            replicas.approximate_weighted_counts(
                replicas=spec.replicas,
                weight=weight,
                max_weight=strategy.max_traffic_weight,
                max_surge=_surge_and_unavailable(spec, strategy)[0],
            )
            if stable_rs is not None and not routed
            else (canary_count, stable_count)
        )
        _advance_step(
            view,
            work,
            new_rs=new_rs,
            stable_rs=stable_rs,
            others=others,
            canary_count=target_canary,
            stable_count=target_stable,
            revision=revision,
            now=now,
        )
        _promote_if_done(view, work, new_rs=new_rs, new_hash=new_hash, revision=revision)

    _manage_analysis_runs(view, work, new_rs=new_rs, new_hash=new_hash, revision=revision)
    _cleanup_history(work, spec=spec, others=others)
    if routed:
        # Traffic moves before pods: Services and weights first, so no pod is scaled away while it still
        # gets traffic, and no weight goes up before the canary's pods are there (see _route_traffic).
        steering = [
            e
            for e in work.effects
            if isinstance(e, (decisions.SetServiceSelector, decisions.SetTrafficWeight))
        ]
        work.effects = steering + [e for e in work.effects if e not in steering]
    status = _with_counts(
        work.status,
        spec=spec,
        replica_sets=view.replica_sets,
        new_hash=new_hash,
        weight=weight if traffic is None else traffic,
        verified=None if traffic is None else view.traffic_weight == traffic,
        strategy=strategy,
    )
    work.status = status
    _progress_conditions(view, work, new_rs=new_rs, new_hash=new_hash, now=now)
    derived, message = phase.derive_phase(spec, work.status)
    work.status = dataclasses.replace(work.status, phase=derived, message=message)
    return decisions.Decision(
        status=work.status,
        effects=tuple(work.effects),
        events=tuple(work.events),
        requeue_after=min(work.wake_after) if work.wake_after else None,
        resync_after=work.resync_after,
    )


# ---------------------------------------------------------------------------------------------------------------
# Weights and counts


def desired_weight(*, strategy: model.CanaryStrategy, status: model.RolloutStatus, new_hash: str) -> int:
    """The canary weight this pass aims at.

    Full weight once the new revision is stable, promoted in full, or past the last step; 0 while aborted; else the
    last setWeight at or before the current step (0 when there is none yet).
    """
    full = strategy.max_traffic_weight
    if not status.stable_rs or status.stable_rs == new_hash:
        return full
    if status.abort:
        return 0
    if status.promote_full:
        return full
    index = status.current_step_index if status.current_step_index is not None else len(strategy.steps)
    if index >= len(strategy.steps):
        return full
    weight = 0
    for step in strategy.steps[: index + 1]:
        if isinstance(step, model.SetWeight):
            weight = step.weight
    return weight


def _counts(rs: workloads.ReplicaSetView | None) -> replicas.ReplicaSetCounts | None:
    if rs is None:
        return None
    return replicas.ReplicaSetCounts(
        replicas=rs.replicas, available_replicas=rs.available_replicas, status_replicas=rs.status_replicas
    )


def _desired_counts(
    *,
    spec: model.RolloutSpec,
    strategy: model.CanaryStrategy,
    weight: int,
    new_rs: workloads.ReplicaSetView | None,
    stable_rs: workloads.ReplicaSetView | None,
    others: Sequence[workloads.ReplicaSetView],
    aborted: bool,
) -> tuple[int, int]:
    surge, unavailable = _surge_and_unavailable(spec, strategy)
    new_counts = _counts(new_rs) or replicas.ReplicaSetCounts(
        replicas=0, available_replicas=0, status_replicas=0
    )
    canary_count, stable_count = replicas.basic_canary_counts(
        replicas=spec.replicas,
        weight=weight,
        max_surge=surge,
        max_unavailable=unavailable,
        new=new_counts,
        stable=_counts(stable_rs),
        others=[c for c in map(_counts, others) if c is not None],
        aborted=aborted,
    )
    if stable_rs is None and others:
        # The only revision left to grow (a rollback to stable, or after a promotion) grows into the room the
        # older ones leave, so the total never passes replicas + maxSurge while they drain.
        room = spec.replicas + surge - sum(rs.replicas for rs in others)
        canary_count = min(canary_count, max(new_counts.replicas, room))
    return canary_count, stable_count


def _routed_counts(
    *,
    spec: model.RolloutSpec,
    strategy: model.CanaryStrategy,
    status: model.RolloutStatus,
    weight: int,
    stable_rs: workloads.ReplicaSetView | None,
    traffic_weight: int | None,
) -> tuple[int, int]:
    """(canary, stable) with a traffic router: the stable stays at full scale, the canary runs what its weight
    needs (semantics 2.5). Without a stable revision the new one is all there is.

    On an abort the stable goes back to full scale; the canary keeps the pods for the traffic the router still
    sends it (with dynamicStableScale that traffic leaves only as fast as the stable's pods come back)."""
    if stable_rs is None:
        return spec.replicas, 0
    if status.abort:
        held = traffic_weight or 0
        return -(-(held * spec.replicas) // strategy.max_traffic_weight), spec.replicas
    stable_actual = status.canary.weights.stable.weight if status.canary.weights is not None else None
    return replicas.traffic_routed_counts(
        replicas=spec.replicas,
        weight=weight,
        max_weight=strategy.max_traffic_weight,
        canary_scale=_canary_scale(strategy, status),
        dynamic_stable_scale=strategy.dynamic_stable_scale,
        min_pods_per_replica_set=strategy.min_pods_per_replica_set,
        stable_weight_actual=stable_actual,
    )


def _canary_scale(strategy: model.CanaryStrategy, status: model.RolloutStatus) -> replicas.CanaryScale | None:
    """The last setCanaryScale at or before the current step, unless it asks to match the traffic weight."""
    index = status.current_step_index if status.current_step_index is not None else len(strategy.steps)
    found: replicas.CanaryScale | None = None
    for step in strategy.steps[: index + 1]:
        if isinstance(step, model.SetCanaryScale):
            found = (
                None
                if step.match_traffic_weight
                else replicas.CanaryScale(replicas=step.replicas, weight=step.weight)
            )
    return found


def _route_traffic(
    view: CanaryView,
    work: _Pass,
    *,
    new_rs: workloads.ReplicaSetView | None,
    new_hash: str,
    stable_hash: str,
    weight: int,
    canary_count: int,
) -> int:
    """The canary weight to hold on the router now; asks for a write when the router holds another.

    The weight goes up only once the canary has the pods it needs (until then the router keeps what it has);
    it drops to 0 at once on an abort (with dynamicStableScale, as fast as the stable's pods come back) and
    after a promotion (the stable Service then selects the new pods).
    A weight someone else changed reads back different and is written again.
    """
    status = work.status
    strategy = view.rollout.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    updating = bool(status.stable_rs) and status.stable_rs != new_hash and not status.abort
    stable_rs = _find(view.replica_sets, stable_hash) if stable_hash != new_hash else None
    if (
        status.abort
        and strategy.dynamic_stable_scale
        and stable_rs is not None
        and view.rollout.spec.replicas
    ):
        # The stable was scaled down with its traffic: give it back only what its available pods can serve.
        full = strategy.max_traffic_weight
        servable = min(full, stable_rs.available_replicas * full // view.rollout.spec.replicas)
        target = min(view.traffic_weight or 0, full - servable)
    elif not updating or new_rs is None or new_rs.available_replicas == 0:
        target = 0
    elif new_rs.available_replicas >= canary_count:
        target = weight
    else:
        target = min(view.traffic_weight or 0, weight)
    if view.traffic_weight != target:
        work.effects.append(
            decisions.SetTrafficWeight(weight=target, canary_hash=new_hash, stable_hash=stable_hash)
        )
        before = "none" if view.traffic_weight is None else str(view.traffic_weight)
        work.event("TrafficWeightUpdated", f"Traffic weight updated from {before} to {target}")
    # Routes can be changed behind our back without an event we watch: look again now and then.
    work.resync_after = ROUTER_RESYNC
    return target


def _remove_managed_routes(view: CanaryView, work: _Pass) -> None:
    """At the end of an update (promoted or aborted) the header and mirror routes its steps added go."""
    strategy = view.rollout.spec.strategy
    if (
        isinstance(strategy, model.CanaryStrategy)
        and strategy.traffic_routing
        and strategy.traffic_routing.managed_routes
    ):
        work.effects.append(decisions.RemoveManagedRoutes())


def _surge_and_unavailable(spec: model.RolloutSpec, strategy: model.CanaryStrategy) -> tuple[int, int]:
    return replicas.resolve_surge_and_unavailable(
        replicas=spec.replicas,
        max_surge=strategy.max_surge.to_wire(),
        max_unavailable=strategy.max_unavailable.to_wire(),
    )


# ---------------------------------------------------------------------------------------------------------------
# Template and step changes, abort and retry


def _detect_new_template(
    view: CanaryView, work: _Pass, *, new_hash: str, step_hash: str, now: datetime.datetime
) -> None:
    status = work.status
    steps = (
        view.rollout.spec.strategy.steps
        if isinstance(view.rollout.spec.strategy, model.CanaryStrategy)
        else ()
    )
    step_count = len(steps)
    if status.current_pod_hash != new_hash:
        reset = dataclasses.replace(
            status,
            current_pod_hash=new_hash,
            current_step_hash=step_hash,
            current_step_index=0 if step_count else None,
            pause_conditions=(),
            controller_pause=False,
            abort=False,
            promote_full=False,
            canary=dataclasses.replace(
                status.canary,
                current_step_analysis_run_status=None,
                current_background_analysis_run_status=None,
            ),
            conditions=cond.remove_condition(status.conditions, cond.ConditionType.PAUSED),
        )
        if not status.stable_rs:
            # Initial deploy: no steps, straight to full scale.
            reset = dataclasses.replace(
                reset, stable_rs=new_hash, current_step_index=step_count if step_count else None
            )
            work.event(
                "RolloutCompleted", f"Rollout completed update to revision 1 ({new_hash}): Initial deploy"
            )
        elif status.stable_rs == new_hash:
            reset = dataclasses.replace(reset, current_step_index=step_count if step_count else None)
            work.event("SkipSteps", "Rollback to stable ReplicaSets")
        elif status.current_pod_hash:
            work.event("RolloutUpdated", f"Rollout updated to revision for pod template hash {new_hash}")
        work.status = reset
        work.progressed = True
        return
    if status.current_step_hash != step_hash:
        done = status.stable_rs == new_hash
        work.status = dataclasses.replace(
            status,
            current_step_hash=step_hash,
            current_step_index=(step_count if done else 0) if step_count else None,
            pause_conditions=() if not done else status.pause_conditions,
            # New steps restart the update: an old controller pause must not read as a promote.
            controller_pause=False if not done else status.controller_pause,
            abort=False if not done else status.abort,
            promote_full=False if not done else status.promote_full,
        )


def _drop_stray_step_pause(work: _Pass, *, step_count: int) -> None:
    """A step pause past the last step (left by a write from a stale read) has no step to hold: drop it."""
    index = work.status.current_step_index
    if index is not None and index < step_count:
        return
    kept = tuple(p for p in work.status.pause_conditions if p.reason != model.PauseReason.CANARY_PAUSE_STEP)
    if kept != work.status.pause_conditions:
        work.status = dataclasses.replace(work.status, pause_conditions=kept, controller_pause=bool(kept))


def _handle_abort_and_retry(view: CanaryView, work: _Pass, *, now: datetime.datetime) -> None:
    status = work.status
    progressing = cond.find(status.conditions, cond.ConditionType.PROGRESSING)
    was_aborted = progressing is not None and progressing.reason == cond.Reason.ROLLOUT_ABORTED.value
    if status.abort:
        if status.stable_rs == status.current_pod_hash:
            # Nothing to abort: the current revision is the stable one.
            work.status = dataclasses.replace(status, abort=False)
            return
        message = f"Rollout aborted update to revision {_revision_label(view, status.current_pod_hash)}"
        for run, label in (
            (status.canary.current_step_analysis_run_status, "Step-based"),
            (status.canary.current_background_analysis_run_status, "Background"),
        ):
            if run is not None and run.status in (
                analysis.AnalysisPhase.FAILED,
                analysis.AnalysisPhase.ERROR,
            ):
                message += f": {label} analysis phase {run.status.value.lower()}: {run.message or ''}"
                break
        if not was_aborted:
            work.event("RolloutAborted", message, warning=True)
            _remove_managed_routes(view, work)
        work.status = dataclasses.replace(
            status,
            aborted_at=status.aborted_at or now,
            pause_conditions=(),
            controller_pause=False,
            current_step_index=0 if status.current_step_index is not None else None,
            conditions=cond.set_condition(
                status.conditions,
                kind=cond.ConditionType.PROGRESSING,
                status="False",
                reason=cond.Reason.ROLLOUT_ABORTED,
                message=message,
                now=now,
            ),
        )
    elif was_aborted:
        work.event("RolloutRetry", "Retrying Rollout after abort")
        work.status = dataclasses.replace(
            status,
            # The failed runs stay as they are; the retried steps start new ones.
            canary=dataclasses.replace(
                status.canary,
                current_step_analysis_run_status=None,
                current_background_analysis_run_status=None,
            ),
            conditions=cond.mark_progress(
                cond.set_condition(
                    status.conditions,
                    kind=cond.ConditionType.PROGRESSING,
                    status="Unknown",
                    reason=cond.Reason.ROLLOUT_RETRY,
                    message="Retrying Rollout after abort",
                    now=now,
                ),
                now=now,
            ),
        )


# ---------------------------------------------------------------------------------------------------------------
# ReplicaSets


def _revision_hash(
    replica_sets: Sequence[workloads.ReplicaSetView],
    template: Mapping[str, Any],
    *,
    collision_count: int | None,
) -> str:
    """The pod-template hash of the revision `template` is: its own hash, or the hash of an existing ReplicaSet
    that runs the same pods (an undo copies a stored template back, server defaults and all)."""
    own = hashing.pod_template_hash(template, collision_count=collision_count)
    if any(rs.pod_template_hash == own for rs in replica_sets):
        return own
    for rs in sorted(replica_sets, key=lambda rs: rs.revision or 0, reverse=True):
        if rs.pod_template_hash and podtemplates.same_pods(rs.template, template):
            return rs.pod_template_hash
    return own


def _find(
    replica_sets: Sequence[workloads.ReplicaSetView], pod_hash: str | None
) -> workloads.ReplicaSetView | None:
    if not pod_hash:
        return None
    return next((rs for rs in replica_sets if rs.pod_template_hash == pod_hash), None)


def _revision(
    replica_sets: Sequence[workloads.ReplicaSetView], new_rs: workloads.ReplicaSetView | None
) -> int:
    """The new RS keeps its revision while it is the newest; one brought back (undo) becomes max + 1."""
    older = [rs.revision or 0 for rs in replica_sets if rs is not new_rs]
    top = max(older, default=0)
    if new_rs is not None and (new_rs.revision or 0) > top:
        return new_rs.revision or 0
    return top + 1


def _revision_label(view: CanaryView, pod_hash: str | None) -> str:
    rs = _find(view.replica_sets, pod_hash)
    return str(rs.revision) if rs is not None and rs.revision is not None else "?"


def _scale(
    work: _Pass,
    *,
    rollout_name: str,
    spec: model.RolloutSpec,
    strategy: model.CanaryStrategy,
    new_hash: str,
    revision: int,
    new_rs: workloads.ReplicaSetView | None,
    canary_count: int,
    stable_rs: workloads.ReplicaSetView | None,
    stable_count: int,
    others: Sequence[workloads.ReplicaSetView],
) -> None:
    if new_rs is None:
        template = _template_with_hash(spec.template, new_hash)
        selector = _selector_with_hash(spec.selector, new_hash)
        work.effects.append(
            decisions.CreateReplicaSet(
                name=f"{rollout_name}-{new_hash}",
                pod_template_hash=new_hash,
                revision=revision,
                replicas=canary_count,
                template=template,
                selector=selector,
                min_ready_seconds=spec.min_ready_seconds,
            )
        )
        work.event(
            "NewReplicaSetCreated",
            f"Created ReplicaSet {rollout_name}-{new_hash} (revision {revision}) with size {canary_count}",
        )
        work.progressed = True
    else:
        if (new_rs.revision or 0) != revision:
            work.effects.append(decisions.SetReplicaSetRevision(name=new_rs.name, revision=revision))
    if stable_rs is not None and stable_rs.replicas != stable_count:
        _scale_one(work, stable_rs, stable_count)
    if new_rs is not None and new_rs.replicas != canary_count:
        _scale_one(work, new_rs, canary_count)
    if others:
        _, unavailable = _surge_and_unavailable(spec, strategy)
        sizes = replicas.scale_down_others(
            replicas=spec.replicas,
            max_unavailable=unavailable,
            new=_counts(new_rs),
            stable=_counts(stable_rs),
            others=[c for c in map(_counts, others) if c is not None],
        )
        for rs, size in zip(others, sizes, strict=True):
            if rs.replicas != size:
                _scale_one(work, rs, size)


def _scale_one(work: _Pass, rs: workloads.ReplicaSetView, to_replicas: int) -> None:
    work.effects.append(
        decisions.ScaleReplicaSet(
            name=rs.name, revision=rs.revision, from_replicas=rs.replicas, to_replicas=to_replicas
        )
    )
    direction = "up" if to_replicas > rs.replicas else "down"
    work.event(
        "ScalingReplicaSet",
        f"Scaled {direction} ReplicaSet {rs.name} (revision {rs.revision}) "
        f"from {rs.replicas} to {to_replicas}",
    )
    work.progressed = True


def _template_with_hash(template: Mapping[str, Any], pod_hash: str) -> dict[str, Any]:
    copied = json.loads(json.dumps(template))
    metadata = copied.setdefault("metadata", {})
    metadata.setdefault("labels", {})[HASH_LABEL] = pod_hash
    return dict(copied)


def _selector_with_hash(selector: Mapping[str, Any], pod_hash: str) -> dict[str, Any]:
    copied = json.loads(json.dumps(selector))
    copied.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    return dict(copied)


def _cleanup_history(
    work: _Pass, *, spec: model.RolloutSpec, others: Sequence[workloads.ReplicaSetView]
) -> None:
    idle = sorted(
        (rs for rs in others if rs.replicas == 0 and rs.status_replicas == 0),
        key=lambda rs: rs.revision or 0,
    )
    excess = len(idle) - spec.revision_history_limit
    for rs in idle[: max(excess, 0)]:
        work.effects.append(decisions.DeleteReplicaSet(name=rs.name))


# ---------------------------------------------------------------------------------------------------------------
# Services


def _service_problems(view: CanaryView) -> list[str]:
    strategy = view.rollout.spec.strategy
    if not isinstance(strategy, model.CanaryStrategy):
        return []
    problems = []
    template_labels = dict((view.rollout.spec.template.get("metadata") or {}).get("labels") or {})
    for field_name, service_name in (
        ("canaryService", strategy.canary_service),
        ("stableService", strategy.stable_service),
    ):
        if not service_name:
            continue
        service = view.services.get(service_name)
        if service is None:
            problems.append(f'spec.strategy.canary.{field_name}: service "{service_name}" not found')
            continue
        mismatched = {
            k: v for k, v in service.selector.items() if k != HASH_LABEL and template_labels.get(k) != v
        }
        if mismatched:
            problems.append(
                f'spec.strategy.canary.{field_name}: service "{service_name}" selector {mismatched} does not match '
                "the pod template's labels"
            )
        managed_by = service.annotations.get("argo-rollouts.argoproj.io/managed-by-rollouts")
        if managed_by and managed_by != view.rollout.name:
            problems.append(
                f'spec.strategy.canary.{field_name}: service "{service_name}" is managed by rollout "{managed_by}"'
            )
    return problems


def _point_services(
    view: CanaryView, work: _Pass, *, new_rs: workloads.ReplicaSetView | None, new_hash: str, stable_hash: str
) -> None:
    strategy = view.rollout.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    stable_rs = _find(view.replica_sets, stable_hash)
    targets: list[tuple[str, str, workloads.ReplicaSetView | None]] = []
    if strategy.stable_service:
        targets.append((strategy.stable_service, stable_hash, stable_rs))
    if strategy.canary_service:
        if work.status.abort:
            targets.append((strategy.canary_service, stable_hash, stable_rs))
        else:
            targets.append((strategy.canary_service, new_hash, new_rs))
    for service_name, pod_hash, rs in targets:
        service = view.services.get(service_name)
        if service is None:
            continue
        current = service.selector.get(HASH_LABEL)
        if current == pod_hash:
            continue
        # Never point a Service at a ReplicaSet with no available pod: that would drop its traffic on the floor.
        if rs is None or (rs.available_replicas < 1 and view.rollout.spec.replicas > 0):
            continue
        # A Service not yet managed by us is adopted only once the ReplicaSet is fully available.
        if service.managed_by is None and rs.available_replicas < rs.replicas:
            continue
        work.effects.append(
            decisions.SetServiceSelector(
                service=service_name, pod_template_hash=pod_hash, previous_hash=current
            )
        )
        work.event(
            "SwitchService",
            f"Switched selector for service '{service_name}' from '{current or ''}' to '{pod_hash}'",
        )


# ---------------------------------------------------------------------------------------------------------------
# Restart (spec.restartAt)


def _restart_pods(
    view: CanaryView,
    work: _Pass,
    *,
    spec: model.RolloutSpec,
    strategy: model.CanaryStrategy,
    now: datetime.datetime,
) -> None:
    restart_at = spec.restart_at
    if restart_at is None or restart_at == work.status.restarted_at:
        return
    if restart_at > now:
        work.wake(restart_at - now)
        return
    stale = [p for p in view.pods if p.created < restart_at and not p.deleting]
    if not stale:
        work.status = dataclasses.replace(work.status, restarted_at=restart_at)
        work.event("RolloutRestarted", f"Rollout restarted pods created before {_rfc3339(restart_at)}")
        return
    _, unavailable = _surge_and_unavailable(spec, strategy)
    ready = sum(1 for p in view.pods if p.ready and not p.deleting)
    budget = ready - (spec.replicas - unavailable)
    if unavailable == 0 and ready >= spec.replicas:
        # No unavailability allowed (maxSurge carries the rollout): one pod at a time, only while all are ready.
        budget = 1
    # One at a time within maxUnavailable; the ReplicaSet replaces each pod before the next goes.
    for pod in sorted(stale, key=lambda p: p.created)[: max(min(budget, 1), 0)]:
        work.effects.append(decisions.EvictPod(name=pod.name))
        work.progressed = True
    work.wake(datetime.timedelta(seconds=1))


# ---------------------------------------------------------------------------------------------------------------
# Steps


def describe_step(step: model.CanaryStep) -> str:
    if isinstance(step, model.SetWeight):
        return f"setWeight: {step.weight}"
    if isinstance(step, model.Pause):
        return "pause" if step.duration is None else f"pause: {int(step.duration.total_seconds())}s"
    if isinstance(step, model.SetCanaryScale):
        return "setCanaryScale"
    if isinstance(step, model.AnalysisStep):
        return "analysis"
    if isinstance(step, model.SetHeaderRoute):
        return f"setHeaderRoute: {step.route.name}"
    if isinstance(step, model.SetMirrorRoute):
        return f"setMirrorRoute: {step.route.name}"
    return type(step).__name__


def _advance_step(
    view: CanaryView,
    work: _Pass,
    *,
    new_rs: workloads.ReplicaSetView,
    stable_rs: workloads.ReplicaSetView | None,
    others: Sequence[workloads.ReplicaSetView],
    canary_count: int,
    stable_count: int,
    revision: int,
    now: datetime.datetime,
) -> None:
    strategy = view.rollout.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    status = work.status
    index = status.current_step_index
    if status.abort or status.promote_full or index is None or index >= len(strategy.steps):
        return
    if status.stable_rs == status.current_pod_hash:
        return
    step = strategy.steps[index]
    complete = False
    if isinstance(step, (model.SetWeight, model.SetCanaryScale)):
        new_counts = _counts(new_rs)
        assert new_counts is not None
        complete = replicas.is_set_weight_step_complete(
            desired_canary=canary_count,
            desired_stable=stable_count,
            new=new_counts,
            stable=_counts(stable_rs),
            others_available=sum(rs.available_replicas for rs in others),
            traffic_routed=strategy.traffic_routing is not None,
            dynamic_stable_scale=strategy.dynamic_stable_scale,
        ) and (
            # With a router the step is done when the router holds the step's weight, read back.
            strategy.traffic_routing is None
            or view.traffic_weight
            == desired_weight(strategy=strategy, status=status, new_hash=new_rs.pod_template_hash or "")
        )
    elif isinstance(step, model.Pause):
        complete = _pause_step(work, step, now=now)
    elif isinstance(step, model.AnalysisStep):
        complete = _analysis_step(view, work, step=step, index=index, revision=revision, now=now)
    elif isinstance(step, model.SetHeaderRoute):
        # Done once the router took it: the effect is applied before this pass's status is written.
        work.effects.append(decisions.SetHeaderRoute(route=step.route))
        complete = True
    elif isinstance(step, model.SetMirrorRoute):
        work.effects.append(decisions.SetMirrorRoute(route=step.route))
        complete = True
    if not complete:
        return
    work.status = dataclasses.replace(work.status, current_step_index=index + 1)
    work.event(
        "RolloutStepCompleted",
        f"Rollout step {index + 1}/{len(strategy.steps)} completed ({describe_step(step)})",
    )
    work.progressed = True
    work.wake(datetime.timedelta(0))


def _pause_step(work: _Pass, step: model.Pause, *, now: datetime.datetime) -> bool:
    status = work.status
    condition = next(
        (p for p in status.pause_conditions if p.reason == model.PauseReason.CANARY_PAUSE_STEP), None
    )
    if condition is None:
        if status.controller_pause:
            # We paused, and the pause condition is gone: a person promoted the rollout.
            work.status = dataclasses.replace(status, controller_pause=False)
            return True
        # The start is stored to the second (as status timestamps are); the pause ends at that stored start plus
        # its duration, so wake for exactly then rather than a whole duration from the precise now.
        started = now.replace(microsecond=0)
        work.status = dataclasses.replace(
            status,
            pause_conditions=(
                *status.pause_conditions,
                model.PauseCondition(reason=model.PauseReason.CANARY_PAUSE_STEP, start_time=started),
            ),
            controller_pause=True,
        )
        work.event("RolloutPaused", "Rollout is paused (CanaryPauseStep)")
        if step.duration is not None:
            work.wake(started + step.duration - now)
        return False
    if step.duration is None:
        return False
    ends = condition.start_time + step.duration
    if now >= ends:
        remaining = tuple(p for p in status.pause_conditions if p is not condition)
        work.status = dataclasses.replace(
            status, pause_conditions=remaining, controller_pause=bool(remaining)
        )
        work.event("RolloutResumed", "Rollout is resumed")
        return True
    work.wake(ends - now)
    return False


# ---------------------------------------------------------------------------------------------------------------
# AnalysisRuns (which run counts, names, trust: core.rollout_analysis)


def _analysis_step(
    view: CanaryView,
    work: _Pass,
    *,
    step: model.AnalysisStep,
    index: int,
    revision: int,
    now: datetime.datetime,
) -> bool:
    status = work.status
    recorded = status.canary.current_step_analysis_run_status
    run = rollout_analysis.current_run(
        view.analysis_runs,
        run_type=rollout_analysis.RunType.STEP,
        pod_template_hash=status.current_pod_hash or "",
        step_index=index,
        recorded=recorded.name if recorded is not None else None,
    )
    if run is None:
        _start_run(
            view,
            work,
            run_type=rollout_analysis.RunType.STEP,
            step_index=index,
            rollout_analysis_spec=step.analysis,
            analysis_path=f"spec.strategy.canary.steps[{index}].analysis",
            revision=revision,
        )
        return False
    return _react_to_run(view, work, run, run_type=rollout_analysis.RunType.STEP, now=now)


def _react_to_background_run(view: CanaryView, work: _Pass, *, new_hash: str, now: datetime.datetime) -> None:
    strategy = view.rollout.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    if strategy.analysis is None or not _analysing(work.status, new_hash=new_hash):
        return
    recorded = work.status.canary.current_background_analysis_run_status
    run = rollout_analysis.current_run(
        view.analysis_runs,
        run_type=rollout_analysis.RunType.BACKGROUND,
        pod_template_hash=new_hash,
        step_index=None,
        recorded=recorded.name if recorded is not None else None,
    )
    if run is not None:
        _react_to_run(view, work, run, run_type=rollout_analysis.RunType.BACKGROUND, now=now)


def _analysing(status: model.RolloutStatus, *, new_hash: str) -> bool:
    """Whether an update is under way whose analysis counts: not aborted, not promoted in full."""
    return (
        bool(status.stable_rs)
        and status.stable_rs != new_hash
        and not status.abort
        and not status.promote_full
    )


def _run_record(
    status: model.RolloutStatus, run_type: rollout_analysis.RunType
) -> model.AnalysisRunStatusRef | None:
    if run_type == rollout_analysis.RunType.STEP:
        return status.canary.current_step_analysis_run_status
    return status.canary.current_background_analysis_run_status


def _with_run_record(
    status: model.RolloutStatus, run_type: rollout_analysis.RunType, record: model.AnalysisRunStatusRef | None
) -> model.RolloutStatus:
    if run_type == rollout_analysis.RunType.STEP:
        canary = dataclasses.replace(status.canary, current_step_analysis_run_status=record)
    else:
        canary = dataclasses.replace(status.canary, current_background_analysis_run_status=record)
    return dataclasses.replace(status, canary=canary)


def _start_run(
    view: CanaryView,
    work: _Pass,
    *,
    run_type: rollout_analysis.RunType,
    step_index: int | None,
    rollout_analysis_spec: model.RolloutAnalysis,
    analysis_path: str,
    revision: int,
) -> str:
    taken = {run.name for run in view.analysis_runs}
    recorded = _run_record(work.status, run_type)
    label = "Step" if run_type == rollout_analysis.RunType.STEP else "Background"
    if recorded is not None and recorded.name not in taken:
        work.event(
            "AnalysisRunDeleted",
            f"{label} Analysis Run '{recorded.name}' no longer exists; starting a new one",
            warning=True,
        )
    pod_hash = work.status.current_pod_hash or ""
    name = rollout_analysis.run_name(
        rollout=view.rollout.name,
        pod_template_hash=pod_hash,
        revision=revision,
        step_index=step_index,
        taken=taken,
    )
    work.effects.append(
        decisions.CreateAnalysisRun(
            request=rollout_analysis.RunRequest(
                name=name,
                run_type=run_type,
                step_index=step_index,
                analysis=rollout_analysis_spec,
                analysis_path=analysis_path,
                pod_template_hash=pod_hash,
                stable_pod_template_hash=work.status.stable_rs,
                revision=revision,
            )
        )
    )
    work.status = _with_run_record(
        work.status, run_type, model.AnalysisRunStatusRef(name=name, status=analysis.AnalysisPhase.PENDING)
    )
    return name


def _react_to_run(
    view: CanaryView,
    work: _Pass,
    run: rollout_analysis.AnalysisRunView,
    *,
    run_type: rollout_analysis.RunType,
    now: datetime.datetime,
) -> bool:
    """Record the run and act on its phase; True when it lets the rollout go on (a step completes)."""
    recorded = _run_record(work.status, run_type)
    previous = recorded.status if recorded is not None and recorded.name == run.name else None
    run_phase, message = run.phase, run.message
    if run.distrust is not None:
        run_phase, message = "Error", f"AnalysisRun '{run.name}' cannot be trusted: {run.distrust}"
    work.status = _with_run_record(
        work.status,
        run_type,
        model.AnalysisRunStatusRef(
            name=run.name, status=analysis.AnalysisPhase(run_phase), message=message or None
        ),
    )
    label = "Step" if run_type == rollout_analysis.RunType.STEP else "Background"
    if run_phase == "Successful":
        return True
    if run_phase in ("Failed", "Error"):
        text = f"{label} Analysis Run '{run.name}' Status New: '{run_phase}'"
        if previous is not None and previous.value != run_phase:
            text += f" Previous: '{previous.value}'"
        metric = run.failing_metric()
        if run.distrust is not None:
            text += f": {message}"
        elif metric is not None:
            value = "no value" if metric.last_value is None else f"last value {metric.last_value}"
            text += f': metric "{metric.name}" {metric.phase}, {value}'
        work.event(f"AnalysisRun{run_phase}", text, warning=True)
        work.status = dataclasses.replace(work.status, abort=True)
        _handle_abort_and_retry(view, work, now=now)
        return False
    if run_phase == "Inconclusive":
        if any(p.reason == model.PauseReason.INCONCLUSIVE_ANALYSIS_RUN for p in work.status.pause_conditions):
            return False
        if previous == analysis.AnalysisPhase.INCONCLUSIVE:
            # We paused for this run before and a person removed the pause: they decided to go on. Our pause
            # is over too, or the next pause step would read it as a promote.
            work.status = dataclasses.replace(
                work.status, controller_pause=bool(work.status.pause_conditions)
            )
            return True
        work.status = dataclasses.replace(
            work.status,
            pause_conditions=(
                *work.status.pause_conditions,
                model.PauseCondition(reason=model.PauseReason.INCONCLUSIVE_ANALYSIS_RUN, start_time=now),
            ),
            controller_pause=True,
        )
        work.event("RolloutPaused", "Rollout is paused (InconclusiveAnalysisRun)")
    return False


def _manage_analysis_runs(
    view: CanaryView,
    work: _Pass,
    *,
    new_rs: workloads.ReplicaSetView | None,
    new_hash: str,
    revision: int,
) -> None:
    """Start the background run when it is due, stop runs that decide nothing any more, prune old ones."""
    strategy = view.rollout.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    status = work.status
    analysing = _analysing(status, new_hash=new_hash)
    index = status.current_step_index if status.current_step_index is not None else len(strategy.steps)
    deciding: set[str] = set()

    step = strategy.steps[index] if analysing and index < len(strategy.steps) else None
    if isinstance(step, model.AnalysisStep):
        step_record = status.canary.current_step_analysis_run_status
        step_run = rollout_analysis.current_run(
            view.analysis_runs,
            run_type=rollout_analysis.RunType.STEP,
            pod_template_hash=new_hash,
            step_index=index,
            recorded=step_record.name if step_record is not None else None,
        )
        deciding.update(
            name for name in (step_run and step_run.name, step_record and step_record.name) if name
        )
    elif not status.abort and status.canary.current_step_analysis_run_status is not None:
        # Off an analysis step the record goes (Argo); an abort keeps it, as it says why.
        work.status = _with_run_record(work.status, rollout_analysis.RunType.STEP, None)

    background = strategy.analysis
    background_record = work.status.canary.current_background_analysis_run_status
    starting_step = background.starting_step if background is not None else None
    if (
        background is not None
        and analysing
        and new_rs is not None
        and (starting_step is None or index >= starting_step)
    ):
        run = rollout_analysis.current_run(
            view.analysis_runs,
            run_type=rollout_analysis.RunType.BACKGROUND,
            pod_template_hash=new_hash,
            step_index=None,
            recorded=background_record.name if background_record is not None else None,
        )
        if run is None:
            deciding.add(
                _start_run(
                    view,
                    work,
                    run_type=rollout_analysis.RunType.BACKGROUND,
                    step_index=None,
                    rollout_analysis_spec=background,
                    analysis_path="spec.strategy.canary.analysis",
                    revision=revision,
                )
            )
        else:
            deciding.add(run.name)
    elif (
        background_record is not None
        and not status.abort
        and (not status.stable_rs or status.stable_rs == new_hash)
    ):
        # Promoted: the background run is over (terminated below, and it ends Successful).
        work.status = _with_run_record(work.status, rollout_analysis.RunType.BACKGROUND, None)

    for run in view.analysis_runs:
        if not run.completed and not run.terminating and run.name not in deciding:
            work.effects.append(decisions.TerminateAnalysisRun(name=run.name))
    recorded = {
        record.name
        for record in (
            work.status.canary.current_step_analysis_run_status,
            work.status.canary.current_background_analysis_run_status,
        )
        if record is not None
    }
    for name in rollout_analysis.runs_to_delete(
        view.analysis_runs,
        keep=deciding | recorded,
        successful_limit=view.rollout.spec.successful_run_history_limit,
        unsuccessful_limit=view.rollout.spec.unsuccessful_run_history_limit,
    ):
        work.effects.append(decisions.DeleteAnalysisRun(name=name))


def _promote_if_done(
    view: CanaryView, work: _Pass, *, new_rs: workloads.ReplicaSetView, new_hash: str, revision: int
) -> None:
    strategy = view.rollout.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    status = work.status
    if status.abort or status.stable_rs == new_hash:
        return
    index = status.current_step_index if status.current_step_index is not None else len(strategy.steps)
    if not status.promote_full and index < len(strategy.steps):
        return
    if new_rs.available_replicas < view.rollout.spec.replicas:
        return
    reason = (
        "Full promotion requested"
        if status.promote_full
        else f"Completed all {len(strategy.steps)} canary steps"
    )
    work.status = dataclasses.replace(
        status,
        stable_rs=new_hash,
        promote_full=False,
        pause_conditions=(),
        controller_pause=False,
        current_step_index=len(strategy.steps) if strategy.steps else None,
    )
    work.event("RolloutCompleted", f"Rollout completed update to revision {revision} ({new_hash}): {reason}")
    _remove_managed_routes(view, work)
    work.progressed = True
    work.wake(datetime.timedelta(0))


# ---------------------------------------------------------------------------------------------------------------
# Status


def _with_counts(
    status: model.RolloutStatus,
    *,
    spec: model.RolloutSpec,
    replica_sets: Sequence[workloads.ReplicaSetView],
    new_hash: str,
    weight: int,
    verified: bool | None,
    strategy: model.CanaryStrategy,
) -> model.RolloutStatus:
    new_rs = _find(replica_sets, new_hash)
    total = sum(rs.status_replicas for rs in replica_sets)
    full = strategy.max_traffic_weight
    canary = dataclasses.replace(
        status.canary,
        weights=model.TrafficWeights(
            canary=model.WeightDestination(
                weight=weight, service_name=strategy.canary_service, pod_template_hash=new_hash
            ),
            stable=model.WeightDestination(
                weight=full - weight, service_name=strategy.stable_service, pod_template_hash=status.stable_rs
            ),
            verified=verified,
        ),
    )
    return dataclasses.replace(
        status,
        replicas=total,
        updated_replicas=new_rs.status_replicas if new_rs is not None else 0,
        ready_replicas=sum(rs.ready_replicas for rs in replica_sets),
        available_replicas=sum(rs.available_replicas for rs in replica_sets),
        hpa_replicas=total,
        selector=workloads.format_selector(spec.selector),
        canary=canary,
    )


def _progress_conditions(
    view: CanaryView,
    work: _Pass,
    *,
    new_rs: workloads.ReplicaSetView | None,
    new_hash: str,
    now: datetime.datetime,
) -> None:
    spec = view.rollout.spec
    status = work.status
    conditions = status.conditions
    rs_name = new_rs.name if new_rs is not None else f"{view.rollout.name}-{new_hash}"
    completed = status.stable_rs == new_hash
    healthy_counts = (
        (status.updated_replicas or 0) >= spec.replicas
        and (status.available_replicas or 0) >= spec.replicas
        and (status.replicas or 0) == (status.updated_replicas or 0)
    )
    progressing = cond.find(conditions, cond.ConditionType.PROGRESSING)
    aborted = status.abort
    # A pause does not count against the deadline: resuming restarts its clock (Argo's RolloutResumed).
    paused_before = cond.find(conditions, cond.ConditionType.PAUSED)
    resumed = (
        paused_before is not None
        and paused_before.status == "True"
        and not (status.pause_conditions or spec.paused)
    )
    if not aborted:
        if completed and healthy_counts:
            conditions = cond.set_condition(
                conditions,
                kind=cond.ConditionType.PROGRESSING,
                status="True",
                reason=cond.Reason.NEW_REPLICA_SET_AVAILABLE,
                message=f'ReplicaSet "{rs_name}" has successfully progressed.',
                now=now,
            )
        elif (
            work.progressed
            or resumed
            or progressing is None
            or progressing.reason
            in (cond.Reason.ROLLOUT_RETRY.value, cond.Reason.NEW_REPLICA_SET_AVAILABLE.value)
        ):
            conditions = cond.mark_progress(
                cond.set_condition(
                    conditions,
                    kind=cond.ConditionType.PROGRESSING,
                    status="True",
                    reason=cond.Reason.REPLICA_SET_UPDATED,
                    message=f'ReplicaSet "{rs_name}" is progressing.',
                    now=now,
                ),
                now=now,
            )
        elif progressing.reason == cond.Reason.PROGRESS_DEADLINE_EXCEEDED.value:
            pass
        elif _deadline_applies(view, status) and progressing.last_update_time is not None:
            deadline = progressing.last_update_time + datetime.timedelta(
                seconds=spec.progress_deadline_seconds
            )
            if now >= deadline:
                conditions = cond.set_condition(
                    conditions,
                    kind=cond.ConditionType.PROGRESSING,
                    status="False",
                    reason=cond.Reason.PROGRESS_DEADLINE_EXCEEDED,
                    message=f'ReplicaSet "{rs_name}" has timed out progressing.',
                    now=now,
                )
                work.event(
                    "RolloutTimedOut", f'ReplicaSet "{rs_name}" has timed out progressing.', warning=True
                )
                if spec.progress_deadline_abort:
                    work.status = dataclasses.replace(work.status, abort=True)
                    work.wake(datetime.timedelta(0))
            else:
                work.wake(deadline - now)
    paused = bool(status.pause_conditions) or spec.paused
    conditions = cond.set_condition(
        conditions,
        kind=cond.ConditionType.PAUSED,
        status="True" if paused else "False",
        reason=cond.Reason.ROLLOUT_PAUSED,
        message="Rollout is paused" if paused else "Rollout is not paused",
        now=now,
    )
    available = (status.available_replicas or 0) >= spec.replicas
    conditions = cond.set_condition(
        conditions,
        kind=cond.ConditionType.AVAILABLE,
        status="True" if available else "False",
        reason=cond.Reason.AVAILABLE,
        message="Rollout has minimum availability"
        if available
        else "Rollout does not have minimum availability",
        now=now,
    )
    conditions = cond.set_condition(
        conditions,
        kind=cond.ConditionType.COMPLETED,
        status="True" if completed else "False",
        reason=cond.Reason.ROLLOUT_COMPLETED,
        message="Rollout completed update to the current revision" if completed else "Rollout not completed",
        now=now,
    )
    healthy = completed and healthy_counts and not aborted
    conditions = cond.set_condition(
        conditions,
        kind=cond.ConditionType.HEALTHY,
        status="True" if healthy else "False",
        reason=cond.Reason.ROLLOUT_HEALTHY,
        message="Rollout is healthy" if healthy else "Rollout is not healthy",
        now=now,
    )
    work.status = dataclasses.replace(work.status, conditions=conditions)


def _deadline_applies(view: CanaryView, status: model.RolloutStatus) -> bool:
    """Paused, aborted, pause and analysis steps do not count against progressDeadlineSeconds."""
    if status.abort or status.pause_conditions or view.rollout.spec.paused:
        return False
    strategy = view.rollout.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    index = status.current_step_index
    if index is not None and index < len(strategy.steps):
        return not isinstance(strategy.steps[index], (model.Pause, model.AnalysisStep))
    return True


# ---------------------------------------------------------------------------------------------------------------
# Invalid spec and unsupported fields


def _issue_text(issue: fields.FieldIssue) -> str:
    return f"{issue.path}: {issue.message}"


def _invalid(
    view: CanaryView, work: _Pass, *, problems: Sequence[str], now: datetime.datetime, retry: bool
) -> decisions.Decision:
    message = f'The Rollout "{view.rollout.name}" is invalid: ' + "; ".join(problems)
    previous = cond.find(work.status.conditions, cond.ConditionType.INVALID_SPEC)
    if previous is None or previous.message != message:
        work.event("InvalidSpec", message, warning=True)
    work.status = dataclasses.replace(
        work.status,
        conditions=cond.set_condition(
            work.status.conditions,
            kind=cond.ConditionType.INVALID_SPEC,
            status="True",
            reason=cond.Reason.INVALID_SPEC,
            message=message,
            now=now,
        ),
    )
    derived, phase_message = phase.derive_phase(view.rollout.spec, work.status)
    work.status = dataclasses.replace(work.status, phase=derived, message=phase_message)
    return decisions.Decision(
        status=work.status,
        events=tuple(work.events),
        requeue_after=INVALID_REFERENCE_RETRY if retry else None,
    )


def _report_unsupported(view: CanaryView, work: _Pass, *, now: datetime.datetime) -> None:
    conditions = work.status.conditions
    if not view.reported_issues:
        if cond.find(conditions, cond.ConditionType.UNSUPPORTED_FIELDS) is not None:
            work.status = dataclasses.replace(
                work.status,
                conditions=cond.remove_condition(conditions, cond.ConditionType.UNSUPPORTED_FIELDS),
            )
        return
    message = "rollwave does not act on these fields: " + "; ".join(map(_issue_text, view.reported_issues))
    previous = cond.find(conditions, cond.ConditionType.UNSUPPORTED_FIELDS)
    if previous is None or previous.message != message:
        work.event("UnsupportedFields", message, warning=True)
    work.status = dataclasses.replace(
        work.status,
        conditions=cond.set_condition(
            conditions,
            kind=cond.ConditionType.UNSUPPORTED_FIELDS,
            status="True",
            reason=cond.Reason.UNSUPPORTED_FIELDS,
            message=message,
            now=now,
        ),
    )


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
