"""An in-memory stand-in for the sync's I/O layer, to drive the pure state machine through whole operations.

`SimCluster.perform(action)` does what the reconcile loop's adapters do (apply, dry-run, prune, delete hooks,
release finalizers) on a dict of objects, and logs every change with the pass it happened in. Health is
whatever the test puts in an object's status (Jobs need `complete`/`fail`). `drive(...)` runs passes the way
the reconcile loop does, writing the state through its wire form after each pass, so every test also proves
that the operation resumes from `status.operationState` alone.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from rollouts.core import sync, waves
from rollouts.model import application as model
from rollouts.model import fields

UTC = datetime.UTC
T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
TRACKING_LABEL = "rollwave.dev/application"

CLUSTER_SCOPED = {
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
}
KNOWN_NAMESPACED = {
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "Pod"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("networking.k8s.io", "Ingress"),
    ("argoproj.io", "Rollout"),
    ("example.com", "Widget"),
}


def namespaced(group: str, kind: str) -> bool | None:
    if (group, kind) in CLUSTER_SCOPED:
        return False
    if (group, kind) in KNOWN_NAMESPACED:
        return True
    return None


def obj(
    kind: str,
    name: str,
    *,
    api_version: str | None = None,
    namespace: str | None = None,
    wave: int | None = None,
    hook: str | None = None,
    delete_policy: str | None = None,
    annotations: Mapping[str, str] | None = None,
    generate_name: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A manifest; `wave`, `hook` and `delete_policy` become Argo CD annotations."""
    default_versions = {
        "Deployment": "apps/v1",
        "StatefulSet": "apps/v1",
        "Job": "batch/v1",
        "Rollout": "argoproj.io/v1alpha1",
    }
    notes = dict(annotations or {})
    if wave is not None:
        notes[waves.ANNOTATION_SYNC_WAVE] = str(wave)
    if hook is not None:
        notes[waves.ANNOTATION_HOOK] = hook
    if delete_policy is not None:
        notes[waves.ANNOTATION_HOOK_DELETE_POLICY] = delete_policy
    metadata: dict[str, Any] = {}
    if name:
        metadata["name"] = name
    if generate_name:
        metadata["generateName"] = generate_name
    if namespace:
        metadata["namespace"] = namespace
    if notes:
        metadata["annotations"] = notes
    return {
        "apiVersion": api_version or default_versions.get(kind, "v1"),
        "kind": kind,
        "metadata": metadata,
        **extra,
    }


def desired(*manifests: Mapping[str, Any], file: str = "app.yaml") -> list[waves.DesiredObject]:
    return [
        waves.DesiredObject(manifest=manifest, file=file, index=index)
        for index, manifest in enumerate(manifests)
    ]


def spec(
    namespace: str = "shop", *, options: Sequence[str] = (), timeout: datetime.timedelta | None = None
) -> model.ApplicationSpec:
    reader_options = model.read_sync_options(fields.FieldReader(), options, "spec.syncPolicy.syncOptions")
    return model.ApplicationSpec(
        source=model.Source(repo_url="https://git.example/app.git"),
        destination=model.Destination(namespace=namespace),
        sync_policy=model.SyncPolicy(
            sync_options=reader_options, sync_options_raw=tuple(options), wave_timeout=timeout
        ),
    )


@dataclasses.dataclass
class Event:
    pass_no: int
    verb: str  # apply, create, prune, delete, release, dry-run
    key: waves.ObjectKey


@dataclasses.dataclass
class SimCluster:
    objects: dict[waves.ObjectKey, dict[str, Any]] = dataclasses.field(default_factory=dict)
    log: list[Event] = dataclasses.field(default_factory=list)
    apply_errors: dict[str, str] = dataclasses.field(default_factory=dict)  # by object name
    dry_run_errors: dict[str, str] = dataclasses.field(default_factory=dict)
    # Deleted objects linger (deletionTimestamp) for this many passes, as with foreground deletion.
    linger_passes: int = 0
    lingering: dict[waves.ObjectKey, int] = dataclasses.field(default_factory=dict)
    pass_no: int = 0
    # Called after every apply: lets a test make objects healthy (or not) the way controllers would.
    on_apply: Callable[[dict[str, Any]], None] | None = None

    # -- what the reconcile loop reads -----------------------------------------------------------

    def tracked(self) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(item)
            for item in self.objects.values()
            if TRACKING_LABEL in (item.get("metadata", {}).get("labels") or {})
        ]

    def live(
        self, keys: Sequence[waves.ObjectKey] | frozenset[waves.ObjectKey]
    ) -> dict[waves.ObjectKey, Mapping[str, Any]]:
        return {key: copy.deepcopy(self.objects[key]) for key in keys if key in self.objects}

    def events(self, verb: str) -> list[str]:
        return [event.key.name for event in self.log if event.verb == verb]

    def pass_of(self, verb: str, name: str) -> int:
        return next(event.pass_no for event in self.log if event.verb == verb and event.key.name == name)

    # -- test controls ---------------------------------------------------------------------------

    def put(self, manifest: Mapping[str, Any], *, tracked: bool = True) -> waves.ObjectKey:
        item = copy.deepcopy(dict(manifest))
        if tracked:
            item.setdefault("metadata", {}).setdefault("labels", {})[TRACKING_LABEL] = "app"
        key = waves.ObjectKey.of(item)
        self.objects[key] = item
        return key

    def key(self, name: str) -> waves.ObjectKey:
        return next(key for key in self.objects if key.name == name)

    def complete(self, name: str) -> None:
        self._condition(name, "Complete")

    def fail(self, name: str, message: str = "BackoffLimitExceeded") -> None:
        self._condition(name, "Failed", message)

    def _condition(self, name: str, condition: str, message: str = "") -> None:
        item = self.objects[self.key(name)]
        item["status"] = {"conditions": [{"type": condition, "status": "True", "message": message}]}

    # -- what the reconcile loop does --------------------------------------------------------------

    def tick(self) -> None:
        self.pass_no += 1
        for key, remaining in list(self.lingering.items()):
            if remaining <= 1:
                self.objects.pop(key, None)
                del self.lingering[key]
            else:
                self.lingering[key] = remaining - 1

    def perform(self, action: sync.Action) -> dict[waves.TaskId, sync.TaskOutcome]:
        outcomes: dict[waves.TaskId, sync.TaskOutcome] = {}
        for task in action.tasks:
            outcomes[task.id] = self._perform_one(action, task)
        return outcomes

    def _perform_one(self, action: sync.Action, task: waves.SyncTask) -> sync.TaskOutcome:
        key = task.key
        kind = action.kind
        if kind is sync.ActionKind.DRY_RUN:
            self.log.append(Event(self.pass_no, "dry-run", key))
            error = self.dry_run_errors.get(key.name)
            return sync.TaskOutcome(error=error) if error else sync.OK
        if kind is sync.ActionKind.APPLY:
            if key.name in self.apply_errors:
                self.log.append(Event(self.pass_no, "apply-failed", key))
                return sync.TaskOutcome(error=self.apply_errors[key.name])
            assert task.manifest is not None
            item = copy.deepcopy(dict(task.manifest))
            if not task.is_hook and not task.auto_namespace:
                item.setdefault("metadata", {}).setdefault("labels", {})[TRACKING_LABEL] = "app"
            existing = self.objects.get(key)
            self.log.append(Event(self.pass_no, "apply" if existing else "create", key))
            if existing is not None and "status" in existing:
                item["status"] = existing["status"]
            self.objects[key] = item
            if self.on_apply is not None:
                self.on_apply(item)
            return sync.TaskOutcome(message="configured" if existing else "created")
        if kind in (sync.ActionKind.PRUNE, sync.ActionKind.DELETE_HOOKS):
            self.log.append(Event(self.pass_no, "prune" if kind is sync.ActionKind.PRUNE else "delete", key))
            target = self.objects.get(key)
            if target is None:
                return sync.OK
            finalizers = [f for f in target["metadata"].get("finalizers", []) if f != waves.HOOK_FINALIZER]
            target["metadata"]["finalizers"] = finalizers
            if finalizers:
                target["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:00Z"
                return sync.OK
            if self.linger_passes:
                target["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:00Z"
                self.lingering[key] = self.linger_passes
            else:
                del self.objects[key]
            return sync.OK
        if kind is sync.ActionKind.RELEASE_HOOKS:
            held = self.objects.get(key)
            if held is not None:
                self.log.append(Event(self.pass_no, "release", key))
                held["metadata"]["finalizers"] = [
                    f for f in held["metadata"].get("finalizers", []) if f != waves.HOOK_FINALIZER
                ]
            return sync.OK
        raise AssertionError(kind)


@dataclasses.dataclass
class Run:
    state: model.OperationState
    steps: list[sync.SyncStep]
    now: datetime.datetime


def start(
    *,
    revision: str = "5baed560abcdef",
    prune: bool = False,
    retry: model.RetryPolicy | None = None,
    **sync_fields: Any,
) -> model.OperationState:
    operation = model.Operation(sync=model.SyncOperation(prune=prune, **sync_fields), retry=retry)
    return sync.new_operation(operation, revision=revision, now=T0)


def one_pass(
    cluster: SimCluster,
    state: model.OperationState,
    *,
    manifests: Sequence[waves.DesiredObject],
    app: model.ApplicationSpec,
    now: datetime.datetime,
    crash_before_record: bool = False,
) -> tuple[model.OperationState, sync.SyncStep]:
    """One reconcile: plan, observe, step, perform (stop at the first error), record, write through the wire."""
    cluster.tick()
    plan = waves.plan_sync(
        desired=manifests, live=cluster.tracked(), spec=app, state=state, namespaced=namespaced
    )
    observations = sync.Observations(live=cluster.live(plan.object_keys()))
    step = sync.next_step(
        plan, state=state, observations=observations, wave_timeout=app.sync_policy.wave_timeout, now=now
    )
    outcomes = []
    for action in step.actions:
        outcome = cluster.perform(action)
        outcomes.append(outcome)
        if any(result.error for result in outcome.values()):
            break
    if crash_before_record:
        return state, step  # the controller died after acting and before writing status
    new_state = sync.record(step, outcomes, now=now)
    # Only what survives the status write survives a restart.
    return model.OperationState.from_dict(new_state.to_dict()), step


def drive(
    cluster: SimCluster,
    manifests: Sequence[waves.DesiredObject],
    *,
    app: model.ApplicationSpec | None = None,
    state: model.OperationState | None = None,
    now: datetime.datetime = T0,
    max_passes: int = 60,
    between: Callable[[SimCluster, model.OperationState, int], None] | None = None,
    crash_after: Collection[int] = (),
) -> Run:
    """Run passes until the operation completes; `between(cluster, state, pass)` plays the world in between.

    Passes numbered in `crash_after` act and then lose their status write, as a controller killed there would.
    """
    app = app or spec()
    state = state or start()
    steps = []
    for number in range(max_passes):
        if state.phase.completed:
            break
        state, step = one_pass(
            cluster, state, manifests=manifests, app=app, now=now, crash_before_record=number in crash_after
        )
        steps.append(step)
        if between is not None:
            between(cluster, state, number)
        now = now + (step.requeue_after or datetime.timedelta(seconds=1))
    return Run(state=state, steps=steps, now=now)


def result(
    state: model.OperationState, name: str, phase: model.SyncPhase | None = None
) -> model.ResourceResult:
    return next(r for r in state.results if r.name == name and (phase is None or r.sync_phase is phase))
