"""Reconcile one Application: sync it from Git in phases and waves, compare it with Git, heal and poll it.

`reconcile(key, runtime)` runs in a worker thread (the queue never runs two passes of one Application at once)
and returns when to look again. One pass does the first of:

1. An invalid spec (`spec.destination.server` elsewhere, say) is reported as the condition InvalidSpecError; a
   requested sync then fails at once with that message.
2. A sync request starts an operation when none is running. Requests are Argo CD's top-level `operation` field
   (what `rollwave app sync` and Argo CD's tools set). The operation records the request's
   `metadata.generation` in `status.operationState.requestGeneration`, then the field is removed, so a request
   is run once even if the controller dies between the two writes.
3. A running operation advances: render the operation's commit, plan (`core.waves.plan_sync`), read the live
   objects (the tracked ones listed by kind, hooks one GET each), `core.sync.next_step`, perform its actions (each
   action's tasks in parallel, stopping at the first action with an error), `core.sync.record`. When a step only
   applied objects and the step function asks to go on at once, the next step follows in the same pass with the
   objects the API server returned as the live state (a wave of ConfigMaps is healthy as soon as it exists), up
   to 20 steps or 5 s. Everything the operation knows is in `status.operationState`, so a restarted controller
   resumes where the last status write left it, and a hook it had already created (stamped
   `rollwave.dev/sync-id`) is adopted, not run again.
4. Otherwise, when due, the Application is compared with Git: the repository is polled (`git ls-remote`), every
   object is dry-run applied server-side and compared with its live copy (`core.diffs`), and `status.sync`,
   `status.health` and `status.resources` are written. An automated Application may then start a sync
   (`core.sync_policy.auto_sync`: a new commit, or with selfHeal only the drifted objects, without hooks).
   Between comparisons an Application that is Progressing has its health re-read every few seconds.

The status is written once per pass, as one merge patch on the status subresource with a resourceVersion
precondition; a refused write is not retried blindly: the next pass re-derives the same step (applies are
idempotent, hooks are adopted). Events (Normal/Warning) announce what was written: operation start and end,
hook failures, prunes, self-heal, each naming the object and the file it came from.

When a comparison is due: never compared yet, every poll interval (controller flag `--app-poll-interval`,
default 3 minutes; per Application the annotation `rollwave.dev/poll-interval: 30s`), after an operation
ended, after `metadata.generation` changed, and on the annotation `argocd.argoproj.io/refresh` (Argo CD's;
`rollwave app refresh` sets it, the controller removes it once done).

Failures of the source (an unreachable repository, a revision or path that does not exist, invalid YAML, an
unknown kind, a namespace that does not exist) fail the operation with a message naming the repository,
revision, path, or file and object. Without an operation they are the condition ComparisonError; an automated
Application whose commit cannot be rendered starts one operation for that commit, which fails with the reason
(a failed commit is not auto-synced again, as in Argo CD).

The Git cache is `ApplicationSettings.git` (controller flag `--git-cache-dir`, default
`$XDG_CACHE_HOME/rollwave/git`, that is `~/.cache/rollwave/git`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import functools
import logging
import os
import pathlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from rollouts.core import diffs, sync, sync_policy, sync_status, waves
from rollouts.kube import apply as kube_apply
from rollouts.kube import cache as kube_cache
from rollouts.kube import custom, discovery, errors
from rollouts.model import application as model
from rollouts.model import fields
from rollouts.reconcile import runtime as reconcile_runtime
from rollouts.sources import git, render

logger = logging.getLogger("rollwave.application")

PLURAL = "applications"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
POLL_INTERVAL_ANNOTATION = "rollwave.dev/poll-interval"
# rollwave's own status fields (the status keeps unknown fields): which request an operation came from, which
# generation and which operation the last comparison saw.
REQUEST_GENERATION = "requestGeneration"
OBSERVED_GENERATION = "observedGeneration"
COMPARED_OPERATION = "comparedOperation"

STEP_POLL = datetime.timedelta(seconds=1)
# A pass may take several steps when waves are healthy at once; it still writes the status once, and ends after
# this many steps or this long, so progress shows.
MAX_STEPS_PER_PASS = 20
MAX_PASS_SECONDS = 5.0
HEALTH_RECHECK = datetime.timedelta(seconds=3)
STALE_RETRY_SECONDS = 0.5
PARALLEL_REQUESTS = 16
# A custom resource whose CRD is applied in the same sync: how long to wait for the API server to serve it.
KIND_WAIT_SECONDS = 3.0

T = TypeVar("T")
R = TypeVar("R")
Phase = model.OperationPhase
Health = model.HealthStatusCode

_PROPAGATION: Mapping[model.PropagationPolicy, kube_apply.Propagation] = {
    model.PropagationPolicy.FOREGROUND: "Foreground",
    model.PropagationPolicy.BACKGROUND: "Background",
    model.PropagationPolicy.ORPHAN: "Orphan",
}


# ---------------------------------------------------------------------------------------------------
# Source: Git (or inline manifests) to desired objects. Also used by `rollwave app diff`.


class SourceProblem(Exception):
    """The manifests cannot be had. `message` names the repository, revision and path, or the file and object;
    `commit` is set when the revision was resolved (the commit itself is what fails)."""

    def __init__(self, message: str, *, commit: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.commit = commit


def resolve_revision(source: model.Source, *, cache: git.Cache, revision: str | None = None) -> str:
    """The commit `revision` (default: `targetRevision`) names now; "" for inline manifests."""
    if not source.repo_url:
        return ""
    try:
        return cache.remote_commit(repo_url=source.repo_url, revision=revision or source.target_revision)
    except git.SourceError as err:
        raise SourceProblem(err.message) from err


def load_desired(
    source: model.Source, *, cache: git.Cache, commit: str, kubectl: str = "kubectl"
) -> tuple[waves.DesiredObject, ...]:
    """The manifests of `commit` (already resolved), each with the file it came from."""
    if source.repo_url:
        try:
            checkout = cache.checkout(
                repo_url=source.repo_url, revision=commit or source.target_revision, path=source.path
            )
        except git.SourceError as err:
            raise SourceProblem(err.message, commit=commit) from err
        try:
            manifests = _rendered(str(checkout.root), checkout.path, _directory_options(source), kubectl)
        except render.RenderError as err:
            raise SourceProblem(err.message, commit=commit) from err
    elif source.inline is not None:
        parsed, issues = render.parse_documents(source.inline, source="spec.source.inline")
        if issues:
            raise SourceProblem(render.RenderError(issues).message, commit=commit)
        manifests = tuple(parsed)
    else:
        manifests = tuple(
            render.Manifest(body=dict(manifest), source="spec.source.manifests", index=index)
            for index, manifest in enumerate(source.manifests)
        )
    return tuple(waves.DesiredObject(manifest=m.body, file=m.source, index=m.index) for m in manifests)


def _directory_options(source: model.Source) -> render.DirectoryOptions | None:
    options = source.directory
    if options == model.DirectoryOptions():
        return None  # not set: a Kustomize folder is rendered with kustomize
    return render.DirectoryOptions(
        recurse=options.recurse, include=options.include or "", exclude=options.exclude or ""
    )


@functools.lru_cache(maxsize=32)
def _rendered(
    root: str, path: str, directory: render.DirectoryOptions | None, kubectl: str
) -> tuple[render.Manifest, ...]:
    # A checkout is one commit's tree and never changes, so its rendering can be kept (callers never mutate it).
    return render.render(root=pathlib.Path(root), path=path, directory=directory, kubectl=kubectl)


def default_git_cache_dir() -> pathlib.Path:
    """Where Git repositories are cached unless told otherwise: `$XDG_CACHE_HOME/rollwave/git`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base, "rollwave", "git")


def source_info(source: model.Source) -> dict[str, Any]:
    """`syncResult.source` / `history[].source`: where the manifests came from."""
    if not source.repo_url:
        return {"inline": True} if source.inline is not None else {"manifests": len(source.manifests)}
    info: dict[str, Any] = {"repoURL": git.redact(source.repo_url), "targetRevision": source.target_revision}
    if source.path:
        info["path"] = source.path
    return info


# ---------------------------------------------------------------------------------------------------
# Reading the cluster


def namespaced_lookup(kinds: discovery.Discovery, objects: Iterable[Mapping[str, Any]]) -> waves.Namespaced:
    """`waves.Namespaced` answered from API discovery, for the kinds (and their apiVersions) in `objects`."""
    versions: dict[tuple[str, str], str] = {}
    for obj in objects:
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        if api_version and kind:
            versions.setdefault((waves.split_api_version(api_version)[0], kind), api_version)
    answers: dict[tuple[str, str], bool | None] = {}

    def namespaced(group: str, kind: str) -> bool | None:
        if (group, kind) not in answers:
            api_version = versions.get((group, kind))
            answer = None
            if api_version:
                try:
                    answer = kinds.resolve(api_version=api_version, kind=kind).namespaced
                except discovery.UnknownKind:
                    answer = None
            answers[(group, kind)] = answer
        return answers[(group, kind)]

    return namespaced


def tracked_types(
    desired: Iterable[waves.DesiredObject], status: model.ApplicationStatus
) -> set[tuple[str, str]]:
    """(apiVersion, kind) of everything the Application may own: Git's kinds, and those it recorded before."""
    types = {
        (str(item.manifest.get("apiVersion")), str(item.manifest.get("kind")))
        for item in desired
        if item.manifest.get("apiVersion") and item.manifest.get("kind")
    }
    recorded: list[model.ResourceStatus | model.ResourceResult] = [*status.resources]
    if status.operation_state is not None:
        recorded += status.operation_state.results
    for entry in recorded:
        if entry.kind and entry.version:
            types.add((f"{entry.group}/{entry.version}" if entry.group else entry.version, entry.kind))
    return types


def read_live(
    kinds: discovery.Discovery, plan: waves.SyncPlan, tracked: Sequence[Mapping[str, Any]]
) -> dict[waves.ObjectKey, Mapping[str, Any]]:
    """The live objects of the plan: the tracked ones (listed), plus a GET for each hook and created namespace
    (those carry no tracking label)."""
    live: dict[waves.ObjectKey, Mapping[str, Any]] = {waves.ObjectKey.of(obj): obj for obj in tracked}
    wanted: dict[waves.ObjectKey, waves.SyncTask] = {}
    for task in plan.tasks:
        if (task.is_hook or task.auto_namespace) and task.key.name and task.key not in live:
            wanted.setdefault(task.key, task)

    def fetch(task: waves.SyncTask) -> tuple[waves.ObjectKey, dict[str, Any] | None]:
        try:
            found = kube_apply.get(
                kinds,
                api_version=task.api_version,
                kind=task.key.kind,
                name=task.key.name,
                namespace=task.key.namespace or None,
            )
        except discovery.UnknownKind:
            found = None
        return task.key, found

    for key, found in parallel(list(wanted.values()), fetch):
        if found is not None:
            live[key] = found
    return live


def parallel(items: Sequence[T], work: Callable[[T], R]) -> list[R]:
    """`work` on every item, a few API requests at a time; results in the order of `items`."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(PARALLEL_REQUESTS, len(items))) as pool:
        return list(pool.map(work, items))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """The comparison of Git with the cluster: one `Comparison` per object compared (missing objects and objects
    that left Git included), and the objects that could not be compared, with why."""

    comparisons: Mapping[waves.ObjectKey, diffs.Comparison]
    unknown: Mapping[waves.ObjectKey, str]

    @property
    def out_of_sync(self) -> frozenset[waves.ObjectKey]:
        return frozenset(key for key, comparison in self.comparisons.items() if not comparison.in_sync)


def compare(
    kinds: discovery.Discovery,
    plan: waves.SyncPlan,
    live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    *,
    app_namespace: str,
    app_name: str,
    only: Iterable[waves.ObjectKey] | None = None,
) -> Drift:
    """Server-side diff of every planned object (`only`: of these): a dry-run apply as the sync would send it,
    compared with the live copy. Hooks and the CreateNamespace namespace are not compared."""
    selected = set(only) if only is not None else None
    comparisons: dict[waves.ObjectKey, diffs.Comparison] = {}
    unknown: dict[waves.ObjectKey, str] = {}
    to_check: list[waves.SyncTask] = []
    seen: set[waves.ObjectKey] = set()
    for task in plan.tasks:
        key = task.key
        if (
            task.is_hook
            or task.auto_namespace
            or key in seen
            or (selected is not None and key not in selected)
        ):
            continue
        seen.add(key)
        if task.prune or task.manifest is None:
            comparisons[key] = diffs.compare(live=live.get(key), desired=None)
        elif task.error:
            unknown[key] = task.error
        elif key not in live:
            comparisons[key] = diffs.compare(live=None, desired=task.manifest)
        else:
            to_check.append(task)

    def check(task: waves.SyncTask) -> tuple[waves.ObjectKey, diffs.Comparison | str]:
        assert task.manifest is not None
        obj = live[task.key]
        try:
            manifest = diffs.with_rollout_selector(
                kube_apply.prepare(
                    kinds,
                    manifest=task.manifest,
                    default_namespace=task.key.namespace,
                    app_namespace=app_namespace,
                    app_name=app_name,
                ),
                obj,
            )
            predicted = kube_apply.apply(kinds, manifest=manifest, dry_run=True, validate=task.validate)
            if kube_apply.resource_version(predicted) != kube_apply.resource_version(obj):
                # The object changed between the list and the dry run: compare two reads of one version.
                return task.key, kube_apply.diff(kinds, manifest=manifest)
            return task.key, diffs.compare(live=obj, desired=manifest, predicted=predicted)
        except errors.KubeError as err:
            return task.key, err.message

    for key, outcome in parallel(to_check, check):
        if isinstance(outcome, str):
            unknown[key] = outcome
        else:
            comparisons[key] = outcome
    return Drift(comparisons=comparisons, unknown=unknown)


# ---------------------------------------------------------------------------------------------------
# Performing a step's actions


class _Performer:
    """Does what a `sync.Action` asks, on the API server."""

    def __init__(
        self,
        *,
        kinds: discovery.Discovery,
        app: model.Application,
        live: Mapping[waves.ObjectKey, Mapping[str, Any]],
    ) -> None:
        self.kinds = kinds
        self.app = app
        self.live = live
        # What the API server answered to each apply: fresh live objects for a next step in the same pass.
        self.applied: dict[waves.ObjectKey, dict[str, Any]] = {}

    def perform(self, action: sync.Action) -> dict[waves.TaskId, sync.TaskOutcome]:
        kind = action.kind
        work: Callable[[waves.SyncTask], sync.TaskOutcome]
        if kind is sync.ActionKind.DRY_RUN:
            work = functools.partial(self._apply, dry_run=True)
        elif kind is sync.ActionKind.APPLY:
            work = functools.partial(self._apply, dry_run=False)
        elif kind is sync.ActionKind.PRUNE:
            propagation = _PROPAGATION[action.propagation or model.PropagationPolicy.FOREGROUND]
            work = functools.partial(self._prune, propagation=propagation)
        elif kind is sync.ActionKind.DELETE_HOOKS:
            work = self._delete_hook
        else:
            work = self._release_hook
        outcomes = parallel(list(action.tasks), work)
        return {task.id: outcome for task, outcome in zip(action.tasks, outcomes, strict=True)}

    def manifest(self, task: waves.SyncTask) -> dict[str, Any]:
        """What is sent for the task: hooks and the created namespace as planned (hooks are stamped with their
        sync id and finalizer), everything else with the tracking label and annotation."""
        assert task.manifest is not None
        if task.is_hook or task.auto_namespace:
            return dict(task.manifest)
        prepared = kube_apply.prepare(
            self.kinds,
            manifest=task.manifest,
            default_namespace=task.key.namespace,
            app_namespace=self.app.namespace or "",
            app_name=self.app.name,
        )
        return diffs.with_rollout_selector(prepared, self.live.get(task.key))

    def _apply(self, task: waves.SyncTask, *, dry_run: bool) -> sync.TaskOutcome:
        deadline = time.monotonic() + KIND_WAIT_SECONDS
        while True:
            try:
                stored = kube_apply.apply(
                    self.kinds, manifest=self.manifest(task), dry_run=dry_run, validate=task.validate
                )
            except discovery.UnknownKind as err:
                # Its CRD was applied in an earlier wave of this sync; the API server serves it shortly after.
                if task.kind_pending and not dry_run and time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                return sync.TaskOutcome(error=err.message)
            except errors.KubeError as err:
                return sync.TaskOutcome(error=err.message)
            break
        if dry_run:
            return sync.OK
        self.applied[task.key] = stored
        return sync.TaskOutcome(message="configured" if task.key in self.live else "created")

    def _prune(self, task: waves.SyncTask, *, propagation: kube_apply.Propagation) -> sync.TaskOutcome:
        obj = self.live.get(task.key)
        if obj is None:
            return sync.OK
        try:
            kube_apply.prune(
                self.kinds,
                live=obj,
                app_namespace=self.app.namespace or "",
                app_name=self.app.name,
                propagation=propagation,
            )
        except errors.NotFound:
            return sync.OK
        except errors.KubeError as err:
            return sync.TaskOutcome(error=err.message)
        return sync.OK

    def _release(self, task: waves.SyncTask) -> None:
        kube_apply.remove_finalizer(
            self.kinds,
            api_version=task.api_version,
            kind=task.key.kind,
            name=task.key.name,
            namespace=task.key.namespace or None,
            finalizer=waves.HOOK_FINALIZER,
        )

    def _delete_hook(self, task: waves.SyncTask) -> sync.TaskOutcome:
        try:
            self._release(task)
            kube_apply.delete(
                self.kinds,
                api_version=task.api_version,
                kind=task.key.kind,
                name=task.key.name,
                namespace=task.key.namespace or None,
                propagation="Background",
            )
        except errors.NotFound:
            return sync.OK
        except errors.KubeError as err:
            return sync.TaskOutcome(error=err.message)
        return sync.OK

    def _release_hook(self, task: waves.SyncTask) -> sync.TaskOutcome:
        try:
            self._release(task)
        except errors.NotFound:
            return sync.OK
        except errors.KubeError as err:
            return sync.TaskOutcome(error=err.message)
        return sync.OK


def _chains(
    step: sync.SyncStep,
    outcomes: Sequence[Mapping[waves.TaskId, sync.TaskOutcome]],
    after: model.OperationState,
) -> bool:
    """Whether the next step may follow in this pass: the operation goes on at once (requeue now), every action
    was an apply that worked, and nothing is being deleted (a deletion is only seen done by a new read)."""
    return (
        not after.phase.completed
        and after.finished_at is None
        and step.requeue_after == sync.NOW
        and len(outcomes) == len(step.actions)
        and all(action.kind in (sync.ActionKind.APPLY, sync.ActionKind.DRY_RUN) for action in step.actions)
        and not any(result.error for outcome in outcomes for result in outcome.values())
    )


def perform(step: sync.SyncStep, performer: _Performer) -> list[Mapping[waves.TaskId, sync.TaskOutcome]]:
    """The step's actions in order, stopping after the first one with an error (as `sync.record` expects)."""
    outcomes: list[Mapping[waves.TaskId, sync.TaskOutcome]] = []
    for action in step.actions:
        outcome = performer.perform(action)
        outcomes.append(outcome)
        if any(result.error for result in outcome.values()):
            break
    return outcomes


# ---------------------------------------------------------------------------------------------------
# Events


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    reason: str
    message: str
    warning: bool = False


def step_notes(plan: waves.SyncPlan, before: model.OperationState, after: model.OperationState) -> list[Note]:
    """Events for what changed in one step: hooks that failed, objects pruned, the operation ending."""
    notes: list[Note] = []
    previous = {result.key: result for result in before.results}
    for result in after.results:
        old = previous.get(result.key)
        task = plan.task(result.key)
        label = task.label if task is not None else f"{result.kind}/{result.name}"
        newly_failed = result.hook_phase is not None and result.hook_phase.failed
        if newly_failed and old is not None and old.hook_phase is not None and old.hook_phase.failed:
            newly_failed = False
        if result.hook_type is not None and newly_failed:
            notes.append(
                Note(
                    reason="HookFailed",
                    message=f"{result.hook_type.value} hook {label} failed: {result.message or 'failed'}",
                    warning=True,
                )
            )
        if result.status is model.ResultCode.PRUNED and (old is None or old.status is not result.status):
            notes.append(Note(reason="ResourcePruned", message=f"pruned {label}"))
    rev = after.revision[:7] or "the inline manifests"
    if after.phase.completed and not before.phase.completed:
        if after.phase.successful:
            notes.append(
                Note(reason="OperationCompleted", message=f"Sync to {rev} succeeded: {after.message}")
            )
        else:
            notes.append(
                Note(
                    reason="OperationCompleted",
                    message=f"Sync to {rev} {after.phase.value.lower()}: {after.message}",
                    warning=True,
                )
            )
    elif after.finished_at is not None and before.finished_at is None:
        notes.append(Note(reason="OperationFailed", message=f"Sync to {rev}: {after.message}", warning=True))
    return notes


def started_note(state: model.OperationState, *, plan: waves.SyncPlan | None = None) -> Note:
    operation = state.operation
    who = "automated " if operation.initiated_by.automated else ""
    user = f" by {operation.initiated_by.username}" if operation.initiated_by.username else ""
    target = state.revision[:7] or operation.sync.revision or "the target revision"
    message = f"Initiated {who}sync to {target}{user}"
    if operation.sync.dry_run:
        message += " (dry run)"
    if operation.sync.resources:
        names = [_ref_label(ref, plan) for ref in operation.sync.resources]
        message += f" of {len(names)} resources: {', '.join(names)}"
    return Note(reason="OperationStarted", message=message)


def _ref_label(ref: model.ResourceRef, plan: waves.SyncPlan | None) -> str:
    for task in plan.tasks if plan is not None else ():
        if (task.key.group, task.key.kind, task.key.name) == (ref.group, ref.kind, ref.name) and (
            not ref.namespace or task.key.namespace == ref.namespace
        ):
            return task.label
    return f"{ref.kind}/{ref.name}"


# ---------------------------------------------------------------------------------------------------
# The pass


def reconcile(key: kube_cache.ObjectKey, runtime: reconcile_runtime.Runtime) -> float | None:
    body = runtime.cache.get(PLURAL, key)
    if body is None:
        return None  # deleted: what it created stays (rollwave deletes nothing on Application deletion yet)
    settings = runtime.applications
    if settings is None:
        raise RuntimeError("the Application reconciler runs without ApplicationSettings")
    return _Pass(body=body, runtime=runtime, settings=settings).run()


def poll_interval(app: model.Application, *, default: datetime.timedelta) -> datetime.timedelta:
    """The Application's own `rollwave.dev/poll-interval`, else the controller's."""
    raw = app.annotations.get(POLL_INTERVAL_ANNOTATION)
    if raw:
        try:
            value = fields.parse_duration(raw)
        except ValueError:
            return default
        if value > datetime.timedelta(0):
            return value
    return default


def request_consumed(app: model.Application) -> bool:
    """Whether the `operation` request in the spec already started an operation (and only awaits removal)."""
    state = app.status.operation_state
    return (
        state is not None
        and app.generation is not None
        and state.extra.get(REQUEST_GENERATION) == app.generation
    )


def _with_condition(
    conditions: Sequence[model.AppCondition], kind: str, message: str | None, *, now: datetime.datetime
) -> tuple[model.AppCondition, ...]:
    """Set (message) or clear (None) the condition of type `kind`, keeping its time when it did not change."""
    kept = [condition for condition in conditions if condition.type != kind]
    if message is None:
        return tuple(kept)
    old = next((c for c in conditions if c.type == kind and c.message == message), None)
    kept.append(old or model.AppCondition(type=kind, message=message, last_transition_time=now))
    return tuple(kept)


class _Pass:
    def __init__(
        self,
        *,
        body: dict[str, Any],
        runtime: reconcile_runtime.Runtime,
        settings: reconcile_runtime.ApplicationSettings,
    ) -> None:
        self.body = body
        self.runtime = runtime
        self.settings = settings
        self.kinds = settings.kinds
        self.now = datetime.datetime.now(datetime.UTC)
        self.notes: list[Note] = []
        metadata = body.get("metadata") or {}
        self.namespace = str(metadata.get("namespace") or "")
        self.name = str(metadata.get("name") or "")

    # -- entry ---------------------------------------------------------------------------------------

    def run(self) -> float | None:
        parsed = model.parse_application(self.body)
        invalid = [
            issue
            for issue in parsed.issues
            if issue.kind is fields.IssueKind.INVALID and not issue.path.startswith("status")
        ]
        app = parsed.value
        if app is None or invalid:
            return self._invalid(app, "; ".join(str(issue) for issue in invalid) or "spec is required")
        unsupported = "; ".join(
            str(issue) for issue in parsed.issues if issue.kind is not fields.IssueKind.INVALID
        )
        conditions = _with_condition(app.status.conditions, "InvalidSpecError", None, now=self.now)
        conditions = _with_condition(conditions, "UnsupportedFields", unsupported or None, now=self.now)
        app = dataclasses.replace(app, status=dataclasses.replace(app.status, conditions=conditions))
        state = app.status.operation_state
        if (
            app.operation is not None
            and not request_consumed(app)
            and (state is None or state.phase.completed)
        ):
            state = self._requested(app, app.operation)
            self.notes.append(started_note(state))
            app = dataclasses.replace(app, status=dataclasses.replace(app.status, operation_state=state))
        if state is not None and not state.phase.completed:
            return self._operate(app, state)
        return self._idle(app, state)

    def _requested(self, app: model.Application, request: model.Operation) -> model.OperationState:
        operation = request
        if operation.retry is None and app.spec.sync_policy.retry is not None:
            operation = dataclasses.replace(operation, retry=app.spec.sync_policy.retry)
        # The commit is resolved by the first step (so a retry of an unreachable repository resolves again).
        state = sync.new_operation(operation, revision="", now=self.now, source=source_info(app.spec.source))
        return dataclasses.replace(state, extra={**state.extra, REQUEST_GENERATION: app.generation})

    def _invalid(self, app: model.Application | None, message: str) -> float | None:
        try:
            status = model.ApplicationStatus.from_dict(self.body.get("status"))
        except ValueError:
            status = model.ApplicationStatus()
        status = dataclasses.replace(
            status,
            conditions=_with_condition(status.conditions, "InvalidSpecError", message, now=self.now),
            sync=dataclasses.replace(status.sync, status=model.SyncStatusCode.UNKNOWN),
        )
        if app is not None and app.operation is not None and not request_consumed(app):
            state = self._requested(dataclasses.replace(app, status=status), app.operation)
            # Retrying cannot help until the spec is fixed (and a fixed spec is a new generation anyway).
            state = dataclasses.replace(state, operation=dataclasses.replace(state.operation, retry=None))
            state = sync.fail(state, f"invalid Application: {message}", now=self.now, phase=Phase.ERROR)
            status = dataclasses.replace(status, operation_state=state)
            self.notes.append(started_note(state))
            self.notes.append(
                Note(reason="OperationCompleted", message=f"Sync failed: {state.message}", warning=True)
            )
        else:
            self.notes.append(Note(reason="InvalidSpec", message=message, warning=True))
        if not self._write(status):
            return STALE_RETRY_SECONDS
        if app is not None:
            self._remove_consumed_request(dataclasses.replace(app, status=status))
        return None

    # -- a running operation ------------------------------------------------------------------------

    def _operate(self, app: model.Application, state: model.OperationState) -> float | None:
        before = app.status.operation_state or state
        if state.finished_at is not None and state.phase is Phase.RUNNING:
            # A failed attempt waiting for its retry: nothing to read until the backoff has passed.
            step = sync.next_step(
                waves.SyncPlan(tasks=()),
                state=state,
                observations=sync.Observations(live={}),
                wave_timeout=app.spec.sync_policy.wave_timeout,
                now=self.now,
            )
            return self._finish_step(app, before, step.state, step, waves.SyncPlan(tasks=()))
        source = app.spec.source
        try:
            if source.repo_url and not state.revision:
                commit = resolve_revision(
                    source, cache=self.settings.git, revision=state.operation.sync.revision
                )
                result = state.sync_result or model.SyncOperationResult()
                state = dataclasses.replace(state, sync_result=dataclasses.replace(result, revision=commit))
            desired = load_desired(
                source, cache=self.settings.git, commit=state.revision, kubectl=self.settings.kubectl
            )
        except SourceProblem as err:
            failed = sync.fail(state, err.message, now=self.now, phase=Phase.ERROR)
            step = sync.SyncStep(state=failed, requeue_after=sync.NOW)
            return self._finish_step(app, before, failed, step, waves.SyncPlan(tasks=()))
        plan, live = self._plan(app, desired, state)
        out_of_sync = None
        if plan.options.apply_out_of_sync_only and not state.results:
            out_of_sync = compare(
                self.kinds, plan, live, app_namespace=self.namespace, app_name=self.name
            ).out_of_sync
        elif plan.options.apply_out_of_sync_only:
            # Only still-pending objects matter; what ran has a result.
            done = {waves.ObjectKey(r.group, r.kind, r.namespace, r.name) for r in state.results}
            pending = [task.key for task in plan.tasks if task.key not in done]
            out_of_sync = compare(
                self.kinds, plan, live, app_namespace=self.namespace, app_name=self.name, only=pending
            ).out_of_sync
        started = time.monotonic()
        for _ in range(MAX_STEPS_PER_PASS):
            step = sync.next_step(
                plan,
                state=state,
                observations=sync.Observations(live=live, out_of_sync=out_of_sync),
                wave_timeout=app.spec.sync_policy.wave_timeout,
                now=self.now,
                poll=STEP_POLL,
            )
            performer = _Performer(kinds=self.kinds, app=app, live=live)
            outcomes = perform(step, performer)
            after = sync.record(step, outcomes, now=self.now)
            if not _chains(step, outcomes, after) or time.monotonic() - started > MAX_PASS_SECONDS:
                break
            # Only applies happened, so the plan still holds (it changes with prunes and recorded results of
            # other operations), and what the server answered is as fresh as a new read: a wave of objects that
            # are healthy once they exist moves on at once; anything else makes the next step wait.
            live = {**live, **performer.applied}
            state = after
            self.now = datetime.datetime.now(datetime.UTC)
        return self._finish_step(app, before, after, step, plan)

    def _plan(
        self,
        app: model.Application,
        desired: Sequence[waves.DesiredObject],
        state: model.OperationState | None,
    ) -> tuple[waves.SyncPlan, dict[waves.ObjectKey, Mapping[str, Any]]]:
        """The plan for `desired` against what this Application tracks, and the live objects it names."""
        tracked = kube_apply.list_tracked(
            self.kinds,
            app_namespace=self.namespace,
            app_name=self.name,
            types=tracked_types(desired, app.status),
        )
        plan = waves.plan_sync(
            desired=desired,
            live=tracked,
            spec=app.spec,
            state=state,
            namespaced=namespaced_lookup(self.kinds, [*(item.manifest for item in desired), *tracked]),
        )
        return plan, read_live(self.kinds, plan, tracked)

    def _finish_step(
        self,
        app: model.Application,
        before: model.OperationState,
        after: model.OperationState,
        step: sync.SyncStep,
        plan: waves.SyncPlan,
    ) -> float | None:
        status = dataclasses.replace(app.status, operation_state=after)
        if after.phase is Phase.SUCCEEDED and not before.phase.completed and not after.operation.sync.dry_run:
            entry = sync.history_entry(after, entry_id=status.next_history_id())
            status = status.with_history(entry, limit=app.spec.revision_history_limit)
        message = after.message if after.phase.failed else None
        status = dataclasses.replace(
            status, conditions=_with_condition(status.conditions, "SyncError", message, now=self.now)
        )
        self.notes += step_notes(plan, before, after)
        if not self._write(status):
            return STALE_RETRY_SECONDS
        self._remove_consumed_request(dataclasses.replace(app, status=status))
        if after.phase.completed:
            return 0.0  # compare with Git now
        requeue = step.requeue_after if step.requeue_after is not None else STEP_POLL
        return requeue.total_seconds()

    # -- no operation: compare, heal, poll ----------------------------------------------------------

    def _idle(self, app: model.Application, state: model.OperationState | None) -> float | None:
        poll = poll_interval(app, default=self.settings.poll_interval)
        status = app.status
        reconciled = status.reconciled_at
        due = (
            reconciled is None
            or REFRESH_ANNOTATION in app.annotations
            or status.extra.get(OBSERVED_GENERATION) != app.generation
            or (state is not None and status.extra.get(COMPARED_OPERATION) != waves.sync_id(state))
            or self.now - reconciled >= poll
        )
        if due:
            return self._compare(app, state, poll)
        assert reconciled is not None
        wait = poll - (self.now - reconciled)
        if status.health.status in (Health.PROGRESSING, Health.MISSING):
            self._recheck_health(app)
            wait = min(wait, HEALTH_RECHECK)
        self._remove_consumed_request(app)
        return max(wait.total_seconds(), 0.0)

    def _compare(
        self, app: model.Application, state: model.OperationState | None, poll: datetime.timedelta
    ) -> float | None:
        source = app.spec.source
        status = dataclasses.replace(
            app.status,
            reconciled_at=self.now,
            extra={
                **app.status.extra,
                OBSERVED_GENERATION: app.generation,
                **({COMPARED_OPERATION: waves.sync_id(state)} if state is not None else {}),
            },
        )
        commit: str | None = None
        try:
            commit = resolve_revision(source, cache=self.settings.git)
            desired = load_desired(
                source, cache=self.settings.git, commit=commit, kubectl=self.settings.kubectl
            )
        except SourceProblem as err:
            return self._comparison_failed(app, status, state, err, commit)
        plan, live = self._plan(app, desired, None)
        drift = compare(self.kinds, plan, live, app_namespace=self.namespace, app_name=self.name)
        resources = sync_status.resource_statuses(
            plan, live=live, out_of_sync=drift.out_of_sync, unknown=drift.unknown.keys()
        )
        status = dataclasses.replace(
            status,
            sync=model.SyncStatus(
                status=sync_status.app_sync_status(resources),
                revision=commit or None,
                extra={**status.sync.extra, "comparedTo": {"source": source_info(source)}},
            ),
            health=self._health(app.status.health, sync_status.app_health(plan, live=live)),
            resources=resources,
            conditions=_with_condition(status.conditions, "ComparisonError", None, now=self.now),
        )
        compared = dataclasses.replace(app, status=status)
        decision = sync_policy.auto_sync(compared, revision=commit, resources=resources)
        if decision.operation is not None:
            started = sync.new_operation(
                decision.operation, revision=commit, now=self.now, source=source_info(source)
            )
            status = dataclasses.replace(status, operation_state=started)
            if decision.operation.sync.resources:
                self.notes.append(Note(reason="SelfHeal", message=self._self_heal_message(plan, resources)))
            self.notes.append(started_note(started, plan=plan))
        elif decision.reason.startswith("Skipping") and app.spec.sync_policy.automated_enabled:
            logger.debug("application %s/%s: %s", self.namespace, self.name, decision.reason)
        if not self._write(status):
            return STALE_RETRY_SECONDS
        self._after_compare(app)
        if decision.operation is not None:
            return 0.0
        if status.health.status in (Health.PROGRESSING, Health.MISSING):
            return min(poll, HEALTH_RECHECK).total_seconds()
        return poll.total_seconds()

    def _self_heal_message(self, plan: waves.SyncPlan, resources: Sequence[model.ResourceStatus]) -> str:
        drifted = [
            resource
            for resource in resources
            if not resource.hook and resource.status is not model.SyncStatusCode.SYNCED
        ]
        labels = []
        for resource in drifted:
            key = waves.ObjectKey(resource.group, resource.kind, resource.namespace, resource.name)
            task = next((task for task in plan.tasks if task.key == key), None)
            labels.append(task.label if task is not None else str(key))
        return f"self-healing {len(labels)} drifted resources: {', '.join(labels)}"

    def _comparison_failed(
        self,
        app: model.Application,
        status: model.ApplicationStatus,
        state: model.OperationState | None,
        err: SourceProblem,
        commit: str | None,
    ) -> float | None:
        status = dataclasses.replace(
            status,
            sync=dataclasses.replace(status.sync, status=model.SyncStatusCode.UNKNOWN),
            conditions=_with_condition(status.conditions, "ComparisonError", err.message, now=self.now),
        )
        automated = app.spec.sync_policy.automated_enabled
        if automated and err.commit is not None and (state is None or state.revision != err.commit):
            # A new commit that cannot be rendered: one automated operation records why (and is not repeated).
            operation = model.Operation(
                sync=model.SyncOperation(revision=err.commit),
                initiated_by=model.InitiatedBy(automated=True),
                retry=sync.automated_retry(app.spec),
            )
            started = sync.new_operation(
                operation, revision=err.commit, now=self.now, source=source_info(app.spec.source)
            )
            status = dataclasses.replace(status, operation_state=started)
            self.notes.append(started_note(started))
        else:
            self.notes.append(Note(reason="ComparisonError", message=err.message, warning=True))
        if not self._write(status):
            return STALE_RETRY_SECONDS
        self._after_compare(app)
        if status.operation_state is not state:
            return 0.0
        return poll_interval(app, default=self.settings.poll_interval).total_seconds()

    def _recheck_health(self, app: model.Application) -> None:
        """Between comparisons: the health (and each object's) from a fresh read, sync statuses unchanged."""
        status = app.status
        revision = status.sync.revision or ""
        try:
            desired = load_desired(
                app.spec.source, cache=self.settings.git, commit=revision, kubectl=self.settings.kubectl
            )
        except SourceProblem:
            return
        tracked = kube_apply.list_tracked(
            self.kinds,
            app_namespace=self.namespace,
            app_name=self.name,
            types=tracked_types(desired, status),
        )
        plan = waves.plan_sync(
            desired=desired,
            live=tracked,
            spec=app.spec,
            state=None,
            namespaced=namespaced_lookup(self.kinds, [*(item.manifest for item in desired), *tracked]),
        )
        live = read_live(self.kinds, plan, tracked)
        previous = {resource.key: resource for resource in status.resources}
        out_of_sync = {
            waves.ObjectKey(*key)
            for key, entry in previous.items()
            if entry.status is not model.SyncStatusCode.SYNCED
        }
        resources = sync_status.resource_statuses(plan, live=live, out_of_sync=out_of_sync)
        # Objects that appeared or vanished since the comparison keep the comparison's verdict until the next.
        resources = tuple(
            dataclasses.replace(resource, status=previous[resource.key].status)
            if resource.key in previous and not resource.hook
            else resource
            for resource in resources
        )
        updated = dataclasses.replace(
            status,
            health=self._health(status.health, sync_status.app_health(plan, live=live)),
            resources=resources,
        )
        self._write(updated)

    def _health(self, old: model.HealthStatus, new: model.HealthStatus) -> model.HealthStatus:
        if old.status is new.status and old.last_transition_time is not None:
            return dataclasses.replace(new, last_transition_time=old.last_transition_time)
        return dataclasses.replace(new, last_transition_time=self.now)

    # -- writes ---------------------------------------------------------------------------------------

    def _write(self, status: model.ApplicationStatus) -> bool:
        """The status, once, only over the version read; then the Events of this pass. False: stale read."""
        try:
            stored = custom.patch_status(
                self.runtime.clients.custom,
                group_version=custom.ROLLWAVE,
                plural=PLURAL,
                namespace=self.namespace,
                name=self.name,
                old_status=self.body.get("status"),
                new_status=status.to_dict(),
                resource_version=(self.body.get("metadata") or {}).get("resourceVersion"),
            )
        except errors.Conflict:
            return False
        except errors.NotFound:
            return False  # deleted meanwhile; the watch says so
        if stored is not None:
            self.body = stored
            self.runtime.cache.put(PLURAL, stored)
        for note in self.notes:
            self.runtime.events.record(
                self.body, reason=note.reason, message=note.message, warning=note.warning
            )
            log = logger.warning if note.warning else logger.info
            log("application %s/%s: %s: %s", self.namespace, self.name, note.reason, note.message)
        self.notes = []
        return True

    def _patch(self, body: Mapping[str, Any]) -> None:
        version = (self.body.get("metadata") or {}).get("resourceVersion")
        try:
            stored = custom.patch(
                self.runtime.clients.custom,
                group_version=custom.ROLLWAVE,
                plural=PLURAL,
                namespace=self.namespace,
                name=self.name,
                body={**body, "metadata": {**dict(body.get("metadata") or {}), "resourceVersion": version}},
            )
        except (errors.Conflict, errors.NotFound):
            return  # the next pass sees the newer version and decides again
        self.body = stored
        self.runtime.cache.put(PLURAL, stored)

    def _remove_consumed_request(self, app: model.Application) -> None:
        if self.body.get("operation") is not None and request_consumed(app):
            self._patch({"operation": None})

    def _after_compare(self, app: model.Application) -> None:
        if REFRESH_ANNOTATION in ((self.body.get("metadata") or {}).get("annotations") or {}):
            self._patch({"metadata": {"annotations": {REFRESH_ANNOTATION: None}}})
        self._remove_consumed_request(app)
