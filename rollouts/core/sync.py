"""The sync state machine: one pure step per reconcile, resumable from `status.operationState` alone.

The reconcile loop calls, on every pass of a Running operation::

    plan = waves.plan_sync(desired=..., live=tracked, spec=app.spec, state=state, namespaced=...)
    step = sync.next_step(plan, state=state, observations=sync.Observations(live=...), wave_timeout=..., now=now)
    outcomes = [await perform(action) for action in step.actions]   # stop after the first one with an error
    state = sync.record(step, outcomes, now=now)                      # write it to status.operationState

All state is in `operationState`: one `ResourceResult` per task that ran, keyed (group, kind, namespace, name,
syncPhase), whose `hookPhase` says Running / Succeeded / Failed (Argo CD records it so for every task). A task
without a result is pending. Nothing else is remembered, so a restarted controller continues where the last
status write left it; applying an object twice is harmless (server-side apply), and a hook is never run twice:
a live hook stamped with this attempt's `rollwave.dev/sync-id` is adopted, not recreated.

A pass does the first thing that applies (gitops-engine `syncContext.Sync`):

1. Terminating: delete running hooks, Failed "Operation terminated". A failed attempt waiting for its retry
   (phase Running with finishedAt): wait for the backoff, then start over with no results.
2. First pass (no results yet): apply the CreateNamespace namespace, then dry-run every task; a failure fails
   the operation before anything else is applied ("one or more objects failed to apply (dry run)"). Tasks the
   planner already knows are broken (unknown kind, bad annotation, duplicate) fail here without any I/O.
3. Refresh running tasks from their live objects: Healthy -> Succeeded, Degraded -> Failed, otherwise Running;
   a hook also fails on Unknown health or when its object is gone.
4. Wait while a task is running, if the sync has more than one (phase, wave) or the task is a hook: so every
   wave but the last is health-gated, and hooks always are. rollwave addition: a wave still running after
   `waveTimeout` fails, naming each object that was not healthy with its health message. Also wait while
   pruned objects are still being deleted.
5. If a task completed unsuccessfully: delete the hooks with HookFailed, run the SyncFail hooks (all at once),
   and once they completed, Failed "one or more synchronization tasks completed unsuccessfully, reason: ...".
6. No pending task left: delete HookSucceeded hooks, Succeeded "successfully synced (no more tasks)".
7. Otherwise run the first pending (phase, wave): prune first (PruneSkipped when pruning is off or the object
   says Prune=false); if a hook of the step still exists from an earlier operation, delete it and come back
   (BeforeHookCreation; rollwave deletes any hook it stamped for another attempt, whatever its policy); then
   apply, grouped by consecutive kind. When this is the last step and it holds no hook, all actions
   succeeding completes the operation at once ("successfully synced (all tasks run)"): the last wave of plain
   objects is not waited on, as in Argo CD.

A failed operation is retried per `operation.retry` (Argo CD's `Retrying attempt #n`), waiting
`retry_delay(...)`.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from rollouts.core import health, waves
from rollouts.model import application as model
from rollouts.model import fields

Phase = model.OperationPhase
DEFAULT_POLL = datetime.timedelta(seconds=2)
NOW = datetime.timedelta(0)
TIMEOUT_MARK = "timed out after"


class ActionKind(enum.StrEnum):
    DRY_RUN = "DryRun"  # server-side dry-run apply of each task's manifest; nothing changes
    APPLY = "Apply"  # server-side apply (field manager rollwave); untracked for auto_namespace tasks
    PRUNE = "Prune"  # delete the live object with `propagation`; NotFound counts as done
    DELETE_HOOKS = "DeleteHooks"  # remove the hook finalizer, then delete (propagation Background)
    RELEASE_HOOKS = "ReleaseHooks"  # remove the hook finalizer only (the result is recorded)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """Something the I/O layer does to every task listed (in parallel within one action)."""

    kind: ActionKind
    tasks: tuple[waves.SyncTask, ...]
    reason: str = ""  # BeforeHookCreation, HookSucceeded, HookFailed, Terminate, ...
    propagation: model.PropagationPolicy | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TaskOutcome:
    """What happened to one task of an action: `error` None means it worked."""

    error: str | None = None
    message: str = ""  # e.g. "created", "configured", "unchanged"


OK = TaskOutcome()
Outcomes = Mapping[waves.TaskId, TaskOutcome]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Observations:
    """Live facts for one pass.

    `live`: the objects of `plan.object_keys()` that exist (absent = not found). `out_of_sync`: the objects
    whose live state differs from Git (only read with ApplyOutOfSyncOnly; None = treat all as out of sync).
    """

    live: Mapping[waves.ObjectKey, Mapping[str, Any]]
    out_of_sync: Collection[waves.ObjectKey] | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncStep:
    """What to do now: perform `actions` in order, then `record` the outcomes and write the state.

    `state` already holds what this pass decided without I/O (health changes, timeouts, PruneSkipped, the
    phase and message). If every action succeeds and `success_message` is set, `record` completes the
    operation with it. `requeue_after` is when to look again (None: the operation is over).
    """

    state: model.OperationState
    actions: tuple[Action, ...] = ()
    requeue_after: datetime.timedelta | None = None
    success_message: str | None = None


# ---------------------------------------------------------------------------------------------------
# Operation lifecycle


def new_operation(
    operation: model.Operation,
    *,
    revision: str,
    now: datetime.datetime,
    source: Mapping[str, Any] | None = None,
) -> model.OperationState:
    """The state of an operation that starts now, syncing `revision` (already resolved to a commit)."""
    return model.OperationState(
        operation=operation,
        phase=Phase.RUNNING,
        message="starting the sync",
        started_at=now,
        sync_result=model.SyncOperationResult(revision=revision, source=dict(source or {})),
    )


def automated_retry(spec: model.ApplicationSpec) -> model.RetryPolicy:
    """The retry policy of an automated sync: the Application's, or Argo CD's default of 5 retries."""
    return spec.sync_policy.retry or model.RetryPolicy(limit=model.DEFAULT_AUTOMATED_RETRY_LIMIT)


def retry_delay(policy: model.RetryPolicy, attempt: int) -> datetime.timedelta:
    """How long to wait before retry number `attempt` (1 = the first retry).

    `duration * factor^(attempt - 1)`, capped at `maxDuration` (a zero maxDuration means no cap):

    >>> policy = model.RetryPolicy(limit=5)
    >>> [retry_delay(policy, n).total_seconds() for n in range(1, 8)]
    [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 180.0]
    """
    backoff = policy.backoff
    exponent = max(attempt - 1, 0)
    cap = backoff.max_duration if backoff.max_duration > NOW else None
    seconds = backoff.duration.total_seconds()
    # Stop multiplying once past the cap: factor^attempt overflows long before a retry count does.
    for _ in range(exponent):
        seconds *= backoff.factor
        if cap is not None and seconds >= cap.total_seconds():
            return cap
    delay = datetime.timedelta(seconds=seconds)
    return min(delay, cap) if cap is not None else delay


def fail(
    state: model.OperationState,
    message: str,
    *,
    now: datetime.datetime,
    phase: model.OperationPhase = Phase.FAILED,
) -> model.OperationState:
    """End the attempt as Failed (or Error); retry it if `operation.retry` allows (Argo CD's messages)."""
    policy = state.operation.retry
    if policy is not None and (policy.limit < 0 or state.retry_count < policy.limit):
        attempt = state.retry_count + 1
        retry_at = now + retry_delay(policy, attempt)
        return dataclasses.replace(
            state,
            phase=Phase.RUNNING,
            retry_count=attempt,
            finished_at=now,
            message=f"{message}. Retrying attempt #{attempt} at {fields.format_timestamp(retry_at)}.",
        )
    if state.retry_count:
        message = f"{message} (retried {state.retry_count} times)."
    return dataclasses.replace(state, phase=phase, message=message, finished_at=now)


def terminate(state: model.OperationState) -> model.OperationState:
    """Ask a running operation to stop (`rollwave app terminate-op`); the next pass cleans up."""
    if state.phase.completed:
        return state
    return dataclasses.replace(state, phase=Phase.TERMINATING, message="operation is terminating")


def history_entry(state: model.OperationState, *, entry_id: int) -> model.RevisionHistory:
    """The `status.history` entry for a succeeded sync."""
    return model.RevisionHistory(
        id=entry_id,
        revision=state.revision,
        deploy_started_at=state.started_at,
        deployed_at=state.finished_at,
        source=state.sync_result.source if state.sync_result is not None else {},
        initiated_by=state.operation.initiated_by,
    )


# ---------------------------------------------------------------------------------------------------
# Results bookkeeping


class _Results:
    """The recorded results by task id, in recording order (mutable only inside one pure call)."""

    def __init__(self, results: Iterable[model.ResourceResult]) -> None:
        self._by_id: dict[waves.TaskId, model.ResourceResult] = {result.key: result for result in results}

    def get(self, task: waves.SyncTask) -> model.ResourceResult | None:
        return self._by_id.get(task.id)

    def put(
        self,
        task: waves.SyncTask,
        *,
        phase: model.OperationPhase,
        now: datetime.datetime,
        status: model.ResultCode | None = None,
        message: str | None = None,
    ) -> None:
        previous = self._by_id.get(task.id)
        self._by_id[task.id] = model.ResourceResult(
            group=task.key.group,
            version=task.version,
            kind=task.key.kind,
            namespace=task.key.namespace,
            name=task.key.name,
            status=status if status is not None else (previous.status if previous else None),
            message=message if message is not None else (previous.message if previous else None),
            hook_type=task.hook_type,
            hook_phase=phase,
            sync_phase=task.phase,
            sync_wave=task.wave,
            original_wave=task.original_wave if task.prune else None,
            started_at=previous.started_at if previous and previous.started_at else now,
            finished_at=now if phase.completed else None,
        )

    def state(self, state: model.OperationState) -> model.OperationState:
        result = state.sync_result or model.SyncOperationResult()
        return dataclasses.replace(
            state, sync_result=dataclasses.replace(result, resources=tuple(self._by_id.values()))
        )


def _running(result: model.ResourceResult | None) -> bool:
    return result is not None and result.hook_phase is Phase.RUNNING


def _completed(result: model.ResourceResult | None) -> bool:
    return result is not None and result.hook_phase is not None and result.hook_phase.completed


def _unsuccessful(result: model.ResourceResult | None) -> bool:
    return result is not None and (
        result.status is model.ResultCode.SYNC_FAILED
        or (result.hook_phase is not None and result.hook_phase.failed)
    )


def _message(result: model.ResourceResult | None) -> str:
    return (result.message or "") if result is not None else ""


def _status(result: model.ResourceResult | None) -> model.ResultCode | None:
    return result.status if result is not None else None


def _pruned(result: model.ResourceResult | None) -> bool:
    return _status(result) is model.ResultCode.PRUNED


def _stamp(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    value = annotations.get(waves.ANNOTATION_SYNC_ID) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) else None


def _deleting(obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata")
    return isinstance(metadata, Mapping) and bool(metadata.get("deletionTimestamp"))


def _holds_finalizer(obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata")
    finalizers = metadata.get("finalizers") if isinstance(metadata, Mapping) else None
    return isinstance(finalizers, list) and waves.HOOK_FINALIZER in finalizers


def _name(task: waves.SyncTask) -> str:
    key = task.key
    return f"{key.group}/{key.kind}/{key.name}" if key.group else f"{key.kind}/{key.name}"


def _step_of(task: waves.SyncTask) -> tuple[int, int]:
    # SyncFail hooks run together, whatever their waves.
    if task.phase is model.SyncPhase.SYNC_FAIL:
        return task.step[0], 0
    return task.step


# ---------------------------------------------------------------------------------------------------
# The step function


def next_step(
    plan: waves.SyncPlan,
    *,
    state: model.OperationState,
    observations: Observations,
    wave_timeout: datetime.timedelta | None,
    now: datetime.datetime,
    poll: datetime.timedelta = DEFAULT_POLL,
) -> SyncStep:
    """Decide the next step of the operation in `state` (see the module docstring for the order of checks)."""
    if state.phase.completed:
        return SyncStep(state=state)
    live = observations.live
    if state.phase is Phase.TERMINATING:
        return _terminate(plan, state, live, now)
    if state.finished_at is not None:
        return _await_retry(state, now)
    if state.operation.sync.dry_run:
        return _dry_run_operation(plan, state, live, now)

    results = _Results(state.results)
    started = bool(state.results)
    prelude: list[Action] = []
    if not started:
        broken = [task for task in plan.tasks if task.error]
        if plan.errors or broken:
            for task in broken:
                results.put(
                    task, phase=Phase.FAILED, now=now, status=model.ResultCode.SYNC_FAILED, message=task.error
                )
            reasons = [*plan.errors, *(f"{task.label}: {task.error}" for task in broken)]
            message = "one or more objects failed to apply (dry run), reason: " + "; ".join(reasons)
            return SyncStep(state=fail(results.state(state), message, now=now))
        namespace = [task for task in plan.tasks if task.auto_namespace]
        dry_run = _dry_run_tasks(plan, live, observations.out_of_sync, state)
        if namespace:
            # The namespace must exist for the dry run; apply it first, dry-run and continue on the next pass.
            actions = [Action(kind=ActionKind.APPLY, tasks=tuple(namespace), reason="CreateNamespace")]
            if dry_run:
                actions.append(Action(kind=ActionKind.DRY_RUN, tasks=dry_run))
            running = dataclasses.replace(state, message=f"creating namespace {namespace[0].key.name}")
            return SyncStep(state=running, actions=tuple(actions), requeue_after=NOW)
        if dry_run:
            prelude.append(Action(kind=ActionKind.DRY_RUN, tasks=dry_run))

    _refresh(plan, results, live, now)
    waiting = _wait(plan, results, live, wave_timeout=wave_timeout, now=now, poll=poll)
    # After the timeouts: a hook that timed out is done with too, and must not stay held.
    release = _release_actions(plan, results, live)
    if waiting is not None:
        message, requeue = waiting
        return SyncStep(
            state=dataclasses.replace(results.state(state), phase=Phase.RUNNING, message=message),
            actions=release,
            requeue_after=requeue,
        )

    failed = [
        task
        for task in plan.tasks
        if task.phase is not model.SyncPhase.SYNC_FAIL and _unsuccessful(results.get(task))
    ]
    if failed:
        return _failing(
            plan, state, results, live, failed, release=release, timeout=wave_timeout, now=now, poll=poll
        )

    pending = _pending(plan, results, observations.out_of_sync)
    if not pending:
        cleanup = _cleanup(plan, results, live, model.HookDeletePolicy.HOOK_SUCCEEDED)
        done = dataclasses.replace(
            results.state(state),
            phase=Phase.SUCCEEDED,
            message="successfully synced (no more tasks)",
            finished_at=now,
        )
        return SyncStep(state=done, actions=(*prelude, *cleanup, *_without(release, cleanup)))

    return _run_step(
        plan, state, results, live, pending, prelude=prelude, release=release, now=now, poll=poll
    )


def record(step: SyncStep, outcomes: Sequence[Outcomes], *, now: datetime.datetime) -> model.OperationState:
    """Fold what the I/O layer did (one outcome mapping per action performed, in order) into the state.

    The loop stops after the first action with an error, so `outcomes` may be shorter than `step.actions`.
    A task missing from an outcome mapping is taken as not attempted.
    """
    results = _Results(step.state.results)
    dry_run_failures: list[str] = []
    all_ok = len(outcomes) >= len(step.actions)
    for action, outcome in zip(step.actions, outcomes, strict=False):
        for task in action.tasks:
            result = outcome.get(task.id)
            if result is None:
                all_ok = all_ok and action.kind in (ActionKind.DELETE_HOOKS, ActionKind.RELEASE_HOOKS)
                continue
            if result.error is not None and action.kind not in (
                ActionKind.DELETE_HOOKS,
                ActionKind.RELEASE_HOOKS,
            ):
                all_ok = False
            _record_one(results, action, task, result, now=now, dry_run_failures=dry_run_failures)
    state = results.state(step.state)
    if dry_run_failures:
        return fail(
            state,
            "one or more objects failed to apply (dry run), reason: " + "; ".join(dry_run_failures),
            now=now,
        )
    if step.success_message is not None and all_ok and state.phase is Phase.RUNNING:
        return dataclasses.replace(
            state, phase=Phase.SUCCEEDED, message=step.success_message, finished_at=now
        )
    return state


def _record_one(
    results: _Results,
    action: Action,
    task: waves.SyncTask,
    outcome: TaskOutcome,
    *,
    now: datetime.datetime,
    dry_run_failures: list[str],
) -> None:
    error = outcome.error
    if action.kind is ActionKind.DRY_RUN:
        if error is not None:
            dry_run_failures.append(f"{task.label}: {error}")
            results.put(task, phase=Phase.FAILED, now=now, status=model.ResultCode.SYNC_FAILED, message=error)
    elif action.kind is ActionKind.APPLY:
        if error is None:
            message = outcome.message or ("created" if task.is_hook else "applied")
            results.put(task, phase=Phase.RUNNING, now=now, status=model.ResultCode.SYNCED, message=message)
        else:
            results.put(task, phase=Phase.FAILED, now=now, status=model.ResultCode.SYNC_FAILED, message=error)
    elif action.kind is ActionKind.PRUNE:
        if error is None:
            results.put(
                task, phase=Phase.SUCCEEDED, now=now, status=model.ResultCode.PRUNED, message="pruned"
            )
        else:
            results.put(task, phase=Phase.FAILED, now=now, status=model.ResultCode.SYNC_FAILED, message=error)
    elif (
        action.kind is ActionKind.DELETE_HOOKS and error is not None and action.reason == "BeforeHookCreation"
    ):
        # The old hook could not be removed, so the new one cannot be created: the task errs (as in Argo CD).
        results.put(task, phase=Phase.ERROR, now=now, message=f"failed to delete the previous hook: {error}")
    # Cleanup deletions and finalizer releases are retried on later passes; their errors change nothing.


# ---------------------------------------------------------------------------------------------------
# Pieces of a pass


def _await_retry(state: model.OperationState, now: datetime.datetime) -> SyncStep:
    assert state.finished_at is not None
    policy = state.operation.retry or model.RetryPolicy()
    retry_at = state.finished_at + retry_delay(policy, state.retry_count)
    if now < retry_at:
        return SyncStep(state=state, requeue_after=retry_at - now)
    result = state.sync_result or model.SyncOperationResult()
    fresh = dataclasses.replace(
        state,
        finished_at=None,
        message=f"Retrying operation. Attempt #{state.retry_count}",
        sync_result=dataclasses.replace(result, resources=()),
    )
    # Replan on the next pass: the hooks of the new attempt carry a new sync id.
    return SyncStep(state=fresh, requeue_after=NOW)


def _terminate(
    plan: waves.SyncPlan,
    state: model.OperationState,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    now: datetime.datetime,
) -> SyncStep:
    results = _Results(state.results)
    running_hooks = tuple(
        task for task in plan.tasks if task.is_hook and _running(results.get(task)) and task.key in live
    )
    for task in running_hooks:
        results.put(task, phase=Phase.FAILED, now=now, message="terminated")
    done = dataclasses.replace(
        results.state(state), phase=Phase.FAILED, message="Operation terminated", finished_at=now
    )
    actions = (
        (Action(kind=ActionKind.DELETE_HOOKS, tasks=running_hooks, reason="Terminate"),)
        if running_hooks
        else ()
    )
    return SyncStep(state=done, actions=actions)


def _dry_run_operation(
    plan: waves.SyncPlan,
    state: model.OperationState,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    now: datetime.datetime,
) -> SyncStep:
    """`operation.sync.dryRun`: dry-run every task once, change nothing, succeed or fail."""
    broken = [task for task in plan.tasks if task.error]
    if plan.errors or broken:
        reasons = [*plan.errors, *(f"{task.label}: {task.error}" for task in broken)]
        return SyncStep(
            state=fail(
                state, "one or more objects failed to apply (dry run), reason: " + "; ".join(reasons), now=now
            )
        )
    tasks = tuple(
        task
        for task in plan.tasks
        if not task.prune
        and not task.auto_namespace
        and not task.kind_pending
        and not task.skip_dry_run
        and not (task.is_hook and task.key in live)
    )
    actions = (Action(kind=ActionKind.DRY_RUN, tasks=tasks),) if tasks else ()
    running = dataclasses.replace(state, message="dry run")
    return SyncStep(state=running, actions=actions, success_message="successfully synced (dry run)")


def _dry_run_tasks(
    plan: waves.SyncPlan,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    out_of_sync: Collection[waves.ObjectKey] | None,
    state: model.OperationState,
) -> tuple[waves.SyncTask, ...]:
    """What the first pass dry-runs: every task that can be checked before anything exists."""
    planned_namespaces = {
        task.key.name
        for task in plan.tasks
        if task.key.kind == "Namespace" and not task.key.group and not task.auto_namespace
    }
    absent_namespaces = {
        name
        for name in planned_namespaces
        if waves.ObjectKey(group="", kind="Namespace", namespace="", name=name) not in live
    }
    candidates = _pending(plan, _Results(state.results), out_of_sync, include_sync_fail=True)
    return tuple(
        task
        for task in candidates
        if not task.prune
        and not task.auto_namespace
        and not task.skip_dry_run
        # A CR whose CRD comes with this sync, or an object in a namespace it creates, cannot be checked yet.
        and not task.kind_pending
        and task.key.namespace not in absent_namespaces
        # A hook's earlier copy still exists and will be replaced; a dry run would collide with it.
        and not (task.is_hook and task.key in live)
    )


def _pending(
    plan: waves.SyncPlan,
    results: _Results,
    out_of_sync: Collection[waves.ObjectKey] | None,
    *,
    include_sync_fail: bool = False,
) -> list[waves.SyncTask]:
    options_only_out_of_sync = plan.options.apply_out_of_sync_only and out_of_sync is not None
    pending = []
    for task in plan.tasks:
        if results.get(task) is not None:
            continue
        if task.phase is model.SyncPhase.SYNC_FAIL and not include_sync_fail:
            continue
        if options_only_out_of_sync and not task.is_hook and not task.prune and not task.auto_namespace:
            assert out_of_sync is not None
            if task.key not in out_of_sync:
                continue
        pending.append(task)
    return pending


def _refresh(
    plan: waves.SyncPlan,
    results: _Results,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    now: datetime.datetime,
) -> None:
    """Move running tasks to Succeeded/Failed from the health of their live objects."""
    for task in plan.tasks:
        result = results.get(task)
        if task.prune or not _running(result):
            continue
        obj = live.get(task.key)
        if obj is None:
            if task.is_hook:
                results.put(
                    task, phase=Phase.FAILED, now=now, message="the hook was deleted before it completed"
                )
            else:
                results.put(task, phase=Phase.RUNNING, now=now, message="Missing: the object does not exist")
            continue
        status, message = health.resource_health(obj)
        if status is model.HealthStatusCode.HEALTHY:
            phase = Phase.SUCCEEDED
        elif status is model.HealthStatusCode.DEGRADED or (
            task.is_hook and status is model.HealthStatusCode.UNKNOWN
        ):
            phase = Phase.FAILED
        else:
            phase = Phase.RUNNING
        if phase is Phase.RUNNING:
            text = f"{status.value}: {message}" if message else status.value
        else:
            text = message or (f"{task.key} completed" if task.is_hook else status.value)
        results.put(task, phase=phase, now=now, message=text)


def _wait(
    plan: waves.SyncPlan,
    results: _Results,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    *,
    wave_timeout: datetime.timedelta | None,
    now: datetime.datetime,
    poll: datetime.timedelta,
) -> tuple[str, datetime.timedelta] | None:
    """(message, requeue) while the current wave is not done; times out waves (marking their tasks Failed)."""
    waited = [
        task for task in plan.tasks if _running(results.get(task)) and (plan.multi_step or task.is_hook)
    ]
    deleting = [task for task in plan.tasks if task.prune and task.key in live and _pruned(results.get(task))]
    blocked = waited or deleting
    if not blocked:
        return None
    starts: dict[tuple[int, int], datetime.datetime] = {}
    for task in blocked:
        result = results.get(task)
        assert result is not None
        started = result.started_at or now
        step = _step_of(task)
        starts[step] = min(starts.get(step, started), started)
    still: list[waves.SyncTask] = []
    next_deadline: datetime.datetime | None = None
    for task in blocked:
        if wave_timeout is None:
            still.append(task)
            continue
        deadline = starts[_step_of(task)] + wave_timeout
        if now >= deadline:
            result = results.get(task)
            assert result is not None
            what = "deleted" if task.prune else ("complete" if task.is_hook else "healthy")
            detail = f" while {result.message}" if result.message else ""
            results.put(
                task,
                phase=Phase.FAILED,
                now=now,
                message=f"{TIMEOUT_MARK} {fields.format_duration(wave_timeout)} (spec.syncPolicy.waveTimeout) "
                f"without becoming {what}{detail}",
            )
        else:
            still.append(task)
            next_deadline = deadline if next_deadline is None else min(next_deadline, deadline)
    if not still:
        return None
    first = still[0]
    if first in deleting:
        waiting_for, more = "deletion of", "resources"
    elif first.is_hook:
        waiting_for, more = "completion of hook", "hooks"
    else:
        waiting_for, more = "healthy state of", "resources"
    message = f"waiting for {waiting_for} {_name(first)}"
    if len(still) > 1:
        message += f" and {len(still) - 1} more {more}"
    requeue = poll if next_deadline is None else max(min(poll, next_deadline - now), NOW)
    return message, requeue


def _failure_message(
    results: _Results, failed: Sequence[waves.SyncTask], timeout: datetime.timedelta | None
) -> str:
    """Argo CD's headline, then each failed task with its file and message."""
    reasons = [f"{task.label}: {_message(results.get(task)) or 'failed'}" for task in failed]
    timed_out = [task for task in failed if _message(results.get(task)).startswith(TIMEOUT_MARK)]
    if any(_status(results.get(task)) is model.ResultCode.SYNC_FAILED for task in failed):
        headline = "one or more objects failed to apply"
    elif timed_out and timeout is not None:
        first = timed_out[0]
        headline = (
            f"wave {first.wave} of phase {first.phase.value} did not become healthy within "
            f"{fields.format_duration(timeout)}"
        )
    else:
        headline = "one or more synchronization tasks completed unsuccessfully"
    return f"{headline}, reason: {'; '.join(reasons)}"


def _failing(
    plan: waves.SyncPlan,
    state: model.OperationState,
    results: _Results,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    failed: Sequence[waves.SyncTask],
    *,
    release: tuple[Action, ...],
    timeout: datetime.timedelta | None,
    now: datetime.datetime,
    poll: datetime.timedelta,
) -> SyncStep:
    message = _failure_message(results, failed, timeout)
    cleanup = _cleanup(plan, results, live, model.HookDeletePolicy.HOOK_FAILED)
    sync_fail = [task for task in plan.tasks if task.phase is model.SyncPhase.SYNC_FAIL]
    if all(_completed(results.get(task)) for task in sync_fail):
        hook_failures = [
            f"{task.label}: {_message(results.get(task)) or 'failed'}"
            for task in sync_fail
            if _unsuccessful(results.get(task))
        ]
        if hook_failures:
            message += "; SyncFail hook failed: " + "; ".join(hook_failures)
        return SyncStep(
            state=fail(results.state(state), message, now=now),
            actions=(*cleanup, *_without(release, cleanup)),
        )
    pending = [task for task in sync_fail if results.get(task) is None]
    running = dataclasses.replace(results.state(state), message=f"{message}; running SyncFail hooks")
    return _start(
        plan,
        running,
        results,
        live,
        pending,
        after=(*cleanup, *_without(release, cleanup)),
        final=False,
        now=now,
        poll=poll,
    )


def _cleanup(
    plan: waves.SyncPlan,
    results: _Results,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    policy: model.HookDeletePolicy,
) -> tuple[Action, ...]:
    """Delete the completed hooks of this operation that have `policy` (once per hook object)."""
    seen: set[waves.ObjectKey] = set()
    tasks = []
    for task in plan.tasks:
        obj = live.get(task.key)
        if not task.is_hook or obj is None or task.key in seen or not task.has_policy(policy):
            continue
        if not _completed(results.get(task)) or not waves.stamped_by(obj, plan.sync_id):
            continue
        if _deleting(obj) and not _holds_finalizer(obj):
            continue
        seen.add(task.key)
        tasks.append(task)
    return (Action(kind=ActionKind.DELETE_HOOKS, tasks=tuple(tasks), reason=policy.value),) if tasks else ()


def _release_actions(
    plan: waves.SyncPlan, results: _Results, live: Mapping[waves.ObjectKey, Mapping[str, Any]]
) -> tuple[Action, ...]:
    """Let go of completed hooks: their results are recorded, so a TTL controller may now remove them."""
    seen: set[waves.ObjectKey] = set()
    tasks = []
    for task in plan.tasks:
        obj = live.get(task.key)
        if not task.is_hook or obj is None or task.key in seen or not _holds_finalizer(obj):
            continue
        if not waves.stamped_by(obj, plan.sync_id):
            continue
        # A hook object can serve several phases (named hooks); release it only when none is running.
        if any(
            other.key == task.key and not _completed(results.get(other))
            for other in plan.tasks
            if other.is_hook
        ):
            continue
        seen.add(task.key)
        tasks.append(task)
    return (Action(kind=ActionKind.RELEASE_HOOKS, tasks=tuple(tasks)),) if tasks else ()


def _without(actions: tuple[Action, ...], cleanup: tuple[Action, ...]) -> tuple[Action, ...]:
    """`actions` minus the tasks `cleanup` already handles (a deletion releases the finalizer itself)."""
    handled = {task.key for action in cleanup for task in action.tasks}
    kept = []
    for action in actions:
        tasks = tuple(task for task in action.tasks if task.key not in handled)
        if tasks:
            kept.append(dataclasses.replace(action, tasks=tasks))
    return tuple(kept)


def _run_step(
    plan: waves.SyncPlan,
    state: model.OperationState,
    results: _Results,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    pending: Sequence[waves.SyncTask],
    *,
    prelude: Sequence[Action],
    release: tuple[Action, ...],
    now: datetime.datetime,
    poll: datetime.timedelta,
) -> SyncStep:
    step = pending[0].step
    step_tasks = [task for task in pending if task.step == step]
    remaining = [task for task in pending if task.step != step or task.is_hook]
    phase, wave = step_tasks[0].phase, step_tasks[0].wave
    actions: list[Action] = list(prelude)
    prunes = [task for task in step_tasks if task.prune]
    to_prune = []
    for task in prunes:
        if task.prune_disabled:
            results.put(
                task,
                phase=Phase.SUCCEEDED,
                now=now,
                status=model.ResultCode.PRUNE_SKIPPED,
                message="ignored (no prune)",
            )
        elif not plan.prune:
            results.put(
                task,
                phase=Phase.SUCCEEDED,
                now=now,
                status=model.ResultCode.PRUNE_SKIPPED,
                message="ignored (requires pruning)",
            )
        else:
            to_prune.append(task)
    if to_prune:
        actions.append(
            Action(
                kind=ActionKind.PRUNE,
                tasks=tuple(to_prune),
                propagation=plan.options.prune_propagation_policy,
            )
        )
    running = dataclasses.replace(
        state, phase=Phase.RUNNING, message=f"syncing wave {wave} of phase {phase.value}"
    )
    applies = [task for task in step_tasks if not task.prune]
    final = not remaining
    cleanup = _cleanup(plan, results, live, model.HookDeletePolicy.HOOK_SUCCEEDED) if final else ()
    return _start(
        plan,
        running,
        results,
        live,
        applies,
        before=tuple(actions),
        after=(*cleanup, *_without(release, cleanup)),
        final=final,
        now=now,
        poll=poll,
    )


def _start(
    plan: waves.SyncPlan,
    state: model.OperationState,
    results: _Results,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    tasks: Sequence[waves.SyncTask],
    *,
    before: tuple[Action, ...] = (),
    after: tuple[Action, ...] = (),
    final: bool,
    now: datetime.datetime,
    poll: datetime.timedelta,
) -> SyncStep:
    """Apply `tasks`, first clearing hooks left by earlier operations and adopting this attempt's own."""
    creates: list[waves.SyncTask] = []
    stale: list[waves.SyncTask] = []
    being_deleted: list[waves.SyncTask] = []
    refused = False
    for task in tasks:
        obj = live.get(task.key) if task.is_hook else None
        if obj is None:
            creates.append(task)
        elif _deleting(obj):
            being_deleted.append(task)
        elif _stamp(obj) == waves.hook_stamp(plan.sync_id, task.phase):
            # Created by this very attempt before a restart lost the status write: do not run it again.
            results.put(task, phase=Phase.RUNNING, now=now, status=model.ResultCode.SYNCED, message="created")
        elif _stamp(obj) is not None:
            stale.append(task)
        else:
            refused = True
            results.put(
                task,
                phase=Phase.FAILED,
                now=now,
                status=model.ResultCode.SYNC_FAILED,
                message=f"{task.key} exists and was not created by rollwave (no {waves.ANNOTATION_SYNC_ID} "
                "annotation); delete it or rename the hook",
            )
    if stale or being_deleted or refused:
        # Nothing of this step is applied until its hooks can be created (BeforeHookCreation).
        actions = list(before)
        if stale:
            actions.append(
                Action(kind=ActionKind.DELETE_HOOKS, tasks=tuple(stale), reason="BeforeHookCreation")
            )
        names = [_name(task) for task in (*stale, *being_deleted)]
        message = f"waiting for the previous hook {names[0]} to be deleted" if names else state.message
        waiting = dataclasses.replace(results.state(state), message=message)
        requeue = NOW if stale or refused else poll
        return SyncStep(state=waiting, actions=(*actions, *after), requeue_after=requeue)
    actions = list(before)
    for _, group in itertools.groupby(creates, key=lambda task: task.key.kind):
        actions.append(Action(kind=ActionKind.APPLY, tasks=tuple(group)))
    return SyncStep(
        state=results.state(state),
        actions=(*actions, *after),
        requeue_after=NOW,
        success_message="successfully synced (all tasks run)" if final else None,
    )
