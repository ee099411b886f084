"""Sync planning: desired manifests and tracked live objects in, the ordered task list out (Argo CD's rules).

`plan_sync(...)` is pure and deterministic: called again with the same revision, operation and recorded results
it returns the same plan, so a restarted controller rebuilds exactly the tasks it was running.

Tasks (gitops-engine `getSyncTasks`):
- a plain object is one task in phase Sync; an object annotated `argocd.argoproj.io/hook: PreSync,PostSync` is a
  hook with one task per type; `hook: Skip` alone is not synced (nor compared, nor pruned); Helm hooks map
  `pre-install`/`pre-upgrade` to PreSync and `post-install`/`post-upgrade` to PostSync, and a Helm hook of no
  supported type is ignored. Hooks are left out when the operation skips them (apply strategy, selective sync).
- the wave is `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`, else 0. Unlike Argo CD, a wave that is
  not an integer is an error naming the object (Argo CD silently uses 0).
- a hook's delete policies are the Argo and Helm ones together; none means BeforeHookCreation.
- a hook with only `generateName` gets a name stable for the operation:
  `<generateName><revision[:7]>-<phase>-<startedAt unix>`, lowercased (`migrate-5baed56-presync-1700000000`).
  rollwave also stamps each hook with `rollwave.dev/sync-id` (the operation attempt) and the finalizer
  `rollwave.dev/hook-finalizer`, so a restarted controller recognises the hook it already created.
- namespaced objects without a namespace get `spec.destination.namespace`; cluster-scoped ones get none.
- live objects tracked by rollwave that left Git become prune tasks in phase Sync at their own wave, then the
  unique prune waves are mirrored (the highest is pruned first); PruneLast (app option or the object's
  `argocd.argoproj.io/sync-options`) moves a prune task to (last Sync wave) + 1.
- `CreateNamespace=true` adds a PreSync Namespace task for the destination namespace (applied before the
  dry run, never tracked, never pruned).

Order (`syncTasks.Less`): phase (PreSync, Sync, PostSync, SyncFail), wave, kind (Argo's list; unknown kinds
last), name; then kind, group and namespace so that the order is total. After sorting, a Namespace is moved
before the first object in it and a CRD before the first object of its kind, taking that object's phase and
wave (`adjustDeps`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from rollouts.core import health
from rollouts.model import application as model

ANNOTATION_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ANNOTATION_HOOK = "argocd.argoproj.io/hook"
ANNOTATION_HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
ANNOTATION_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ANNOTATION_IGNORE_HEALTHCHECK = "argocd.argoproj.io/ignore-healthcheck"
ANNOTATION_HELM_HOOK = "helm.sh/hook"
ANNOTATION_HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
ANNOTATION_HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"
# rollwave's stamp on each hook it creates: which operation attempt and phase created it (`hook_stamp`).
ANNOTATION_SYNC_ID = "rollwave.dev/sync-id"
HOOK_FINALIZER = health.HOOK_FINALIZER
# Kubernetes caps names used as label values (a Job's name is one) at 63 characters.
MAX_HOOK_NAME = 63

KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: index - len(KIND_ORDER) for index, kind in enumerate(KIND_ORDER)}
PHASE_ORDER: Mapping[model.SyncPhase, int] = {
    model.SyncPhase.PRE_SYNC: -1,
    model.SyncPhase.SYNC: 0,
    model.SyncPhase.POST_SYNC: 1,
    model.SyncPhase.SYNC_FAIL: 2,
}
_HOOK_PHASES = {
    model.HookType.PRE_SYNC: model.SyncPhase.PRE_SYNC,
    model.HookType.SYNC: model.SyncPhase.SYNC,
    model.HookType.POST_SYNC: model.SyncPhase.POST_SYNC,
    model.HookType.SYNC_FAIL: model.SyncPhase.SYNC_FAIL,
}
_HELM_HOOKS = {
    "pre-install": model.HookType.PRE_SYNC,
    "pre-upgrade": model.HookType.PRE_SYNC,
    "post-install": model.HookType.POST_SYNC,
    "post-upgrade": model.HookType.POST_SYNC,
}
_HELM_DELETE_POLICIES = {
    "before-hook-creation": model.HookDeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": model.HookDeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": model.HookDeletePolicy.HOOK_FAILED,
}

Namespaced = Callable[[str, str], "bool | None"]
"""(group, kind) -> whether the API server serves the kind namespaced; None when it does not know the kind."""


def kind_rank(kind: str) -> int:
    """Argo's kind order value: negative for known kinds, 0 (last) for everything else.

    >>> kind_rank("Namespace") < kind_rank("Deployment") < kind_rank("Ingress") < kind_rank("Rollout") == 0
    True
    """
    return _KIND_RANK.get(kind, 0)


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """An object's identity: API group (empty for core), kind, namespace (empty if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectKey:
        raw_metadata = obj.get("metadata")
        metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, Mapping) else {}
        group, _ = split_api_version(str(obj.get("apiVersion") or ""))
        return cls(
            group=group,
            kind=str(obj.get("kind") or ""),
            namespace=str(metadata.get("namespace") or ""),
            name=str(metadata.get("name") or ""),
        )


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`)."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DesiredObject:
    """One rendered manifest and where it came from (`file`, 0-based `index` of the document in it)."""

    manifest: Mapping[str, Any]
    file: str = ""
    index: int = 0

    @property
    def origin(self) -> str:
        return f"{self.file} (document {self.index + 1})" if self.file else ""


TaskId = tuple[str, str, str, str, str]
"""(group, kind, namespace, name, syncPhase): the key of a task and of its `ResourceResult`."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncTask:
    """One thing to do in one phase: apply an object, run a hook, or prune a live object.

    `manifest` is what to apply (namespace filled in; hooks named and stamped); None for prune tasks.
    `error` set means the task cannot run (an unknown kind, a bad annotation, a duplicate) and fails the
    sync before anything is applied.
    """

    key: ObjectKey
    api_version: str
    phase: model.SyncPhase
    wave: int
    manifest: Mapping[str, Any] | None
    hook_type: model.HookType | None = None
    delete_policies: frozenset[model.HookDeletePolicy] = frozenset()
    prune: bool = False
    prune_disabled: bool = False
    prune_last: bool = False  # the object's own PruneLast=true (prune tasks)
    original_wave: int | None = None
    validate: bool = True
    # The destination namespace made by CreateNamespace=true: applied before the dry run, never tracked.
    auto_namespace: bool = False
    skip_dry_run: bool = False
    # The kind is served only once a CRD of this same sync is applied.
    kind_pending: bool = False
    ignore_health: bool = False
    origin: str = ""
    error: str | None = None
    # Moved by the Namespace/CRD adjustment (so its kind/name is out of the sort order on purpose).
    moved: bool = False

    @property
    def id(self) -> TaskId:
        return (self.key.group, self.key.kind, self.key.namespace, self.key.name, self.phase.value)

    @property
    def is_hook(self) -> bool:
        return self.hook_type is not None

    @property
    def version(self) -> str:
        return split_api_version(self.api_version)[1]

    @property
    def kind_rank(self) -> int:
        return kind_rank(self.key.kind)

    @property
    def step(self) -> tuple[int, int]:
        """(phase order, wave): tasks with the same step run together."""
        return PHASE_ORDER[self.phase], self.wave

    @property
    def sort_key(self) -> tuple[int, int, int, str, str, str, str]:
        return (*self.step, self.kind_rank, self.key.name, self.key.kind, self.key.group, self.key.namespace)

    @property
    def label(self) -> str:
        """How messages name the task: `Job/migrate (hooks.yaml, document 2)`."""
        where = self.origin or ("live object" if self.prune else "")
        return f"{self.key} ({where})" if where else str(self.key)

    def has_policy(self, policy: model.HookDeletePolicy) -> bool:
        return policy in self.delete_policies


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncPlan:
    """The ordered tasks of one operation, plus what planning found.

    `errors` are objects that cannot become tasks at all (no kind or name); `warnings` are things rollwave
    does not do (an unsupported hook type, an unknown delete policy) and says so instead of silently.
    `skipped` are objects not synced on purpose (hook: Skip, Helm hooks of other types): not compared and
    never pruned.
    """

    tasks: tuple[SyncTask, ...]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    skipped: tuple[ObjectKey, ...] = ()
    sync_id: str = ""
    # The Application's sync options with the operation's on top, and whether this operation prunes.
    options: model.SyncOptions = dataclasses.field(default_factory=model.SyncOptions)
    prune: bool = False

    def object_keys(self) -> frozenset[ObjectKey]:
        """Every object the I/O layer should read back (live state) before the next step."""
        return frozenset(task.key for task in self.tasks)

    @property
    def multi_step(self) -> bool:
        """More than one (phase, wave): then every wave but the last is waited on."""
        return bool(self.tasks) and self.tasks[0].step != self.tasks[-1].step

    def task(self, task_id: TaskId) -> SyncTask | None:
        return next((task for task in self.tasks if task.id == task_id), None)


# ---------------------------------------------------------------------------------------------------
# Annotations


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        return {}
    return {str(key): str(value) for key, value in annotations.items() if value is not None}


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _wave(annotations: Mapping[str, str]) -> tuple[int, str | None]:
    """The object's wave and, if an annotation is not an integer, the error."""
    for key in (ANNOTATION_SYNC_WAVE, ANNOTATION_HELM_HOOK_WEIGHT):
        text = annotations.get(key)
        if text is None:
            continue
        try:
            return int(text.strip()), None
        except ValueError:
            return 0, f"annotation {key}={text!r} must be an integer"
    return 0, None


def sync_options_of(annotations: Mapping[str, str]) -> frozenset[str]:
    """The object's own `argocd.argoproj.io/sync-options`, e.g. {"Prune=false", "Validate=false"}."""
    return frozenset(_csv(annotations.get(ANNOTATION_SYNC_OPTIONS)))


@dataclasses.dataclass(frozen=True, slots=True)
class _HookInfo:
    types: tuple[model.HookType, ...]
    is_hook: bool  # annotated as a hook (even of no supported type)
    warning: str | None = None


def _hook_info(annotations: Mapping[str, str]) -> _HookInfo:
    if ANNOTATION_HOOK in annotations:
        types: list[model.HookType] = []
        unsupported: list[str] = []
        for text in _csv(annotations[ANNOTATION_HOOK]):
            try:
                types.append(model.HookType(text))
            except ValueError:
                unsupported.append(text)
        warning = f"hook type {', '.join(unsupported)} is not supported by rollwave" if unsupported else None
        return _HookInfo(tuple(dict.fromkeys(types)), True, warning)
    if ANNOTATION_HELM_HOOK in annotations:
        helm_types = [
            _HELM_HOOKS[text] for text in _csv(annotations[ANNOTATION_HELM_HOOK]) if text in _HELM_HOOKS
        ]
        return _HookInfo(tuple(dict.fromkeys(helm_types)), True)
    return _HookInfo((), False)


def _delete_policies(annotations: Mapping[str, str]) -> tuple[frozenset[model.HookDeletePolicy], list[str]]:
    policies: set[model.HookDeletePolicy] = set()
    unknown: list[str] = []
    for text in _csv(annotations.get(ANNOTATION_HOOK_DELETE_POLICY)):
        try:
            policies.add(model.HookDeletePolicy(text))
        except ValueError:
            unknown.append(text)
    for text in _csv(annotations.get(ANNOTATION_HELM_HOOK_DELETE_POLICY)):
        if text in _HELM_DELETE_POLICIES:
            policies.add(_HELM_DELETE_POLICIES[text])
        else:
            unknown.append(text)
    if not policies:
        policies.add(model.HookDeletePolicy.BEFORE_HOOK_CREATION)
    return frozenset(policies), unknown


def is_hook_object(obj: Mapping[str, Any]) -> bool:
    """Annotated as an Argo CD or Helm hook (hooks are never pruned; `hook: Skip` alone is not a hook)."""
    annotations = _annotations(obj)
    info = _hook_info(annotations)
    return info.is_hook and info.types != (model.HookType.SKIP,)


# ---------------------------------------------------------------------------------------------------
# Operation identity


def sync_id(state: model.OperationState) -> str:
    """The operation attempt, as stamped on the hooks it creates: `<startedAt unix>-<retryCount>`."""
    return f"{int(state.started_at.timestamp())}-{state.retry_count}"


def hook_stamp(attempt: str, phase: model.SyncPhase) -> str:
    """The `rollwave.dev/sync-id` value of a hook created in `phase` of an attempt: `1700000000-0/PreSync`.

    Per phase, because a named hook of two types (`PreSync,PostSync`) is one object created twice.
    """
    return f"{attempt}/{phase.value}"


def stamped_by(obj: Mapping[str, Any], attempt: str) -> bool:
    """Whether a live hook was created by this operation attempt (any phase)."""
    return (_annotations(obj).get(ANNOTATION_SYNC_ID) or "").startswith(f"{attempt}/")


def hook_name(
    *, generate_name: str, revision: str, phase: model.SyncPhase, started_at: datetime.datetime
) -> str:
    """Argo CD's stable name for a `generateName` hook, capped at 63 characters.

    >>> import datetime
    >>> hook_name(generate_name="schema-migrate-", revision="5baed560abc", phase=model.SyncPhase.PRE_SYNC,
    ...           started_at=datetime.datetime.fromtimestamp(1700000000, tz=datetime.UTC))
    'schema-migrate-5baed56-presync-1700000000'
    """
    suffix = f"{revision[:7]}-{phase.value}-{int(started_at.timestamp())}".lower()
    if not revision:
        suffix = suffix.removeprefix("-")
    prefix = generate_name.lower()[: max(MAX_HOOK_NAME - len(suffix), 1)]
    return prefix + suffix


# ---------------------------------------------------------------------------------------------------
# Planning


def plan_sync(
    *,
    desired: Sequence[DesiredObject],
    live: Sequence[Mapping[str, Any]],
    spec: model.ApplicationSpec,
    state: model.OperationState | None,
    namespaced: Namespaced,
) -> SyncPlan:
    """Build the ordered task list for the operation in `state` (None: only to compare, hooks unnamed).

    `live` are the live objects rollwave tracks for this Application (its tracking label); those not in
    `desired` become prune tasks. `namespaced(group, kind)` answers from API discovery.
    """
    operation = state.operation if state is not None else model.Operation()
    options = model.effective_sync_options(spec, operation)
    app_namespace = spec.destination.namespace or ""
    selected = _selector(operation.sync.resources)
    errors: list[str] = []
    warnings: list[str] = []
    skipped: list[ObjectKey] = []
    tasks: list[SyncTask] = []
    crd_scopes = _crd_scopes(desired)
    desired_keys: set[ObjectKey] = set()

    for item in desired:
        manifest = item.manifest
        where = item.origin or "an object"
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            errors.append(f"{where}: apiVersion and kind are required")
            continue
        annotations = _annotations(manifest)
        object_options = sync_options_of(annotations)
        info = _hook_info(annotations)
        key, error, kind_pending = _resolve_key(
            manifest,
            namespaced,
            crd_scopes,
            app_namespace,
            skip_dry_run="SkipDryRunOnMissingResource=true" in object_options,
        )
        desired_keys.add(key)
        if info.is_hook and not info.types:
            warnings.append(f"{key} ({where}): {info.warning or 'a hook of no supported type'}; not synced")
            skipped.append(key)
            continue
        if info.types == (model.HookType.SKIP,):
            skipped.append(key)
            continue
        if info.warning:
            warnings.append(f"{key} ({where}): {info.warning}; the other types run")
        hook_types = tuple(t for t in info.types if t is not model.HookType.SKIP)
        if not _is_selected(selected, key) or (hook_types and operation.sync.skip_hooks):
            continue
        wave, wave_error = _wave(annotations)
        base = SyncTask(
            key=key,
            api_version=api_version,
            phase=model.SyncPhase.SYNC,
            wave=wave,
            manifest=_with_namespace(manifest, key.namespace),
            validate=options.validate and "Validate=false" not in object_options,
            skip_dry_run="SkipDryRunOnMissingResource=true" in object_options,
            kind_pending=kind_pending,
            ignore_health=annotations.get(ANNOTATION_IGNORE_HEALTHCHECK) == "true",
            origin=item.origin,
            error=wave_error or error,
        )
        if not hook_types:
            if not key.name:
                base = dataclasses.replace(
                    base,
                    error=base.error
                    or "metadata.name is required (generateName is only supported for hooks)",
                )
            tasks.append(base)
            continue
        policies, unknown_policies = _delete_policies(annotations)
        if unknown_policies:
            warnings.append(
                f"{key} ({where}): unknown hook delete policy {', '.join(unknown_policies)} ignored"
            )
        generate_name = _generate_name(manifest)
        for hook_type in hook_types:
            phase = _HOOK_PHASES[hook_type]
            hook_key = key
            hook_error = base.error
            if not key.name:
                if not generate_name:
                    hook_error = hook_error or "metadata.name or metadata.generateName is required"
                elif state is not None:
                    name = hook_name(
                        generate_name=generate_name,
                        revision=state.revision,
                        phase=phase,
                        started_at=state.started_at,
                    )
                    hook_key = dataclasses.replace(key, name=name)
                else:
                    hook_key = dataclasses.replace(key, name=generate_name)
            tasks.append(
                dataclasses.replace(
                    base,
                    key=hook_key,
                    phase=phase,
                    manifest=_stamped_hook(
                        manifest, hook_key, hook_stamp(sync_id(state), phase) if state is not None else ""
                    ),
                    hook_type=hook_type,
                    delete_policies=policies,
                    error=hook_error,
                )
            )
    tasks = _without_duplicates(tasks)

    if options.create_namespace and app_namespace and not operation.sync.resources:
        namespace_key = ObjectKey(group="", kind="Namespace", namespace="", name=app_namespace)
        if namespace_key not in desired_keys:
            tasks.append(_namespace_task(namespace_key, spec.sync_policy.managed_namespace_metadata))

    tasks.extend(
        _prune_tasks(
            live=live,
            desired_keys=desired_keys,
            app_namespace=app_namespace,
            selected=selected,
            recorded=state.results if state is not None else (),
        )
    )
    tasks = _assign_prune_waves(tasks, prune_last=options.prune_last)
    tasks.sort(key=lambda task: task.sort_key)
    tasks = _adjust_dependencies(tasks)
    return SyncPlan(
        tasks=tuple(tasks),
        errors=tuple(errors),
        warnings=tuple(warnings),
        skipped=tuple(skipped),
        sync_id=sync_id(state) if state is not None else "",
        options=options,
        prune=operation.sync.prune,
    )


def _selector(resources: Sequence[model.ResourceRef]) -> tuple[model.ResourceRef, ...] | None:
    return tuple(resources) if resources else None


def _is_selected(selected: tuple[model.ResourceRef, ...] | None, key: ObjectKey) -> bool:
    if selected is None:
        return True
    return any(
        ref.group == key.group
        and ref.kind == key.kind
        and ref.name == key.name
        and (not ref.namespace or ref.namespace == key.namespace)
        for ref in selected
    )


def _crd_scopes(desired: Iterable[DesiredObject]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for the CRDs in this sync."""
    scopes: dict[tuple[str, str], bool] = {}
    for item in desired:
        manifest = item.manifest
        if manifest.get("kind") != "CustomResourceDefinition":
            continue
        spec = manifest.get("spec")
        if not isinstance(spec, Mapping):
            continue
        names = spec.get("names")
        group, kind = spec.get("group"), names.get("kind") if isinstance(names, Mapping) else None
        if isinstance(group, str) and isinstance(kind, str):
            scopes[(group, kind)] = spec.get("scope", "Namespaced") == "Namespaced"
    return scopes


def _resolve_key(
    manifest: Mapping[str, Any],
    namespaced: Namespaced,
    crd_scopes: Mapping[tuple[str, str], bool],
    app_namespace: str,
    *,
    skip_dry_run: bool,
) -> tuple[ObjectKey, str | None, bool]:
    """The object's key with its namespace resolved, an error (unknown kind, no namespace), and whether the
    kind only becomes known during the sync (its CRD is in it, or SkipDryRunOnMissingResource=true)."""
    key = ObjectKey.of(manifest)
    scope = namespaced(key.group, key.kind)
    kind_pending = False
    error = None
    if scope is None:
        kind_pending = True
        if (key.group, key.kind) in crd_scopes:
            scope = crd_scopes[(key.group, key.kind)]
        else:
            # Assume namespaced: the CRD is expected to appear during the sync (or the object fails).
            scope = True
            if not skip_dry_run:
                api_version = manifest.get("apiVersion")
                error = (
                    f"the API server does not know kind {key.kind} in {api_version} (is its CRD installed?)"
                )
    if not scope:
        return dataclasses.replace(key, namespace=""), error, kind_pending
    namespace = key.namespace or app_namespace
    if not namespace and error is None:
        error = "has no namespace and spec.destination.namespace is not set"
    return dataclasses.replace(key, namespace=namespace), error, kind_pending


def _without_duplicates(tasks: list[SyncTask]) -> list[SyncTask]:
    """Keep the first task of each id; it fails, naming both places (the cluster holds one object)."""
    first: dict[TaskId, int] = {}
    kept: list[SyncTask] = []
    for task in tasks:
        index = first.get(task.id)
        if index is None:
            first[task.id] = len(kept)
            kept.append(task)
            continue
        original = kept[index]
        message = f"defined twice: in {original.origin or 'an object'} and in {task.origin or 'an object'}"
        kept[index] = dataclasses.replace(original, error=original.error or message)
    return kept


def _generate_name(manifest: Mapping[str, Any]) -> str:
    metadata = manifest.get("metadata")
    value = metadata.get("generateName") if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) else ""


def _with_namespace(manifest: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(manifest))
    metadata = dict(out.get("metadata") or {})
    if namespace:
        metadata["namespace"] = namespace
    else:
        metadata.pop("namespace", None)
    out["metadata"] = metadata
    return out


def _stamped_hook(manifest: Mapping[str, Any], key: ObjectKey, stamp: str) -> dict[str, Any]:
    out = _with_namespace(manifest, key.namespace)
    metadata = out["metadata"]
    metadata["name"] = key.name
    metadata.pop("generateName", None)
    if stamp:
        metadata["annotations"] = {**dict(metadata.get("annotations") or {}), ANNOTATION_SYNC_ID: stamp}
        finalizers = list(metadata.get("finalizers") or [])
        if HOOK_FINALIZER not in finalizers:
            finalizers.append(HOOK_FINALIZER)
        metadata["finalizers"] = finalizers
    return out


def _namespace_task(key: ObjectKey, metadata: model.ManagedNamespaceMetadata | None) -> SyncTask:
    manifest_metadata: dict[str, Any] = {"name": key.name}
    if metadata is not None and metadata.labels:
        manifest_metadata["labels"] = dict(metadata.labels)
    if metadata is not None and metadata.annotations:
        manifest_metadata["annotations"] = dict(metadata.annotations)
    return SyncTask(
        key=key,
        api_version="v1",
        phase=model.SyncPhase.PRE_SYNC,
        wave=0,
        manifest={"apiVersion": "v1", "kind": "Namespace", "metadata": manifest_metadata},
        auto_namespace=True,
        origin="spec.syncPolicy.syncOptions CreateNamespace=true",
    )


def _prune_tasks(
    *,
    live: Sequence[Mapping[str, Any]],
    desired_keys: Collection[ObjectKey],
    app_namespace: str,
    selected: tuple[model.ResourceRef, ...] | None,
    recorded: Sequence[model.ResourceResult],
) -> list[SyncTask]:
    tasks: list[SyncTask] = []
    live_keys: set[ObjectKey] = set()
    for obj in live:
        key = ObjectKey.of(obj)
        live_keys.add(key)
        if key in desired_keys or is_hook_object(obj) or not _is_selected(selected, key):
            continue
        # The destination namespace holds the Application's objects (maybe the Application itself).
        if key.kind == "Namespace" and not key.group and key.name == app_namespace:
            continue
        annotations = _annotations(obj)
        wave, _ = _wave(annotations)
        options = sync_options_of(annotations)
        tasks.append(
            SyncTask(
                key=key,
                api_version=str(obj.get("apiVersion") or ""),
                phase=model.SyncPhase.SYNC,
                wave=wave,
                manifest=None,
                prune=True,
                prune_disabled="Prune=false" in options,
                prune_last="PruneLast=true" in options,
                original_wave=wave,
                ignore_health=annotations.get(ANNOTATION_IGNORE_HEALTHCHECK) == "true",
            )
        )
    # Objects pruned earlier in this operation are gone from `live`; keep them as (completed) tasks so that
    # the mirrored waves of the remaining prune tasks do not move when a restarted controller replans.
    for result in recorded:
        key = ObjectKey(group=result.group, kind=result.kind, namespace=result.namespace, name=result.name)
        if result.status is not model.ResultCode.PRUNED or key in live_keys or key in desired_keys:
            continue
        wave = result.original_wave if result.original_wave is not None else (result.sync_wave or 0)
        tasks.append(
            SyncTask(
                key=key,
                api_version=f"{result.group}/{result.version}" if result.group else result.version,
                phase=model.SyncPhase.SYNC,
                wave=wave,
                manifest=None,
                prune=True,
                original_wave=wave,
            )
        )
    return tasks


def _assign_prune_waves(tasks: list[SyncTask], *, prune_last: bool) -> list[SyncTask]:
    """Mirror the prune waves (highest pruned first), then move PruneLast ones after the last Sync wave."""
    prune_waves = sorted({task.wave for task in tasks if task.prune})
    mirror = dict(zip(prune_waves, reversed(prune_waves), strict=True))
    mirrored = [dataclasses.replace(task, wave=mirror[task.wave]) if task.prune else task for task in tasks]
    last_sync_wave = max([0, *(task.wave for task in mirrored if task.phase is model.SyncPhase.SYNC)]) + 1
    return [
        dataclasses.replace(task, wave=last_sync_wave)
        if task.prune and (prune_last or task.prune_last)
        else task
        for task in mirrored
    ]


def _adjust_dependencies(tasks: list[SyncTask]) -> list[SyncTask]:
    """Move each Namespace before the first object in it, and each CRD before the first object of its kind."""
    tasks = _move_before_first_dependent(
        tasks,
        dependency=lambda task: (
            task.key.name
            if task.key.kind == "Namespace" and not task.key.group and task.manifest is not None
            else None
        ),
        depends_on=lambda task: task.key.namespace or None,
    )
    return _move_before_first_dependent(
        tasks,
        dependency=_crd_kind,
        depends_on=lambda task: f"{task.key.group}/{task.key.kind}",
    )


def _crd_kind(task: SyncTask) -> str | None:
    if task.key.kind != "CustomResourceDefinition" or task.manifest is None:
        return None
    spec = task.manifest.get("spec")
    if not isinstance(spec, Mapping):
        return None
    names = spec.get("names")
    kind = names.get("kind") if isinstance(names, Mapping) else None
    return f"{spec.get('group')}/{kind}" if kind else None


def _move_before_first_dependent(
    tasks: list[SyncTask],
    *,
    dependency: Callable[[SyncTask], str | None],
    depends_on: Callable[[SyncTask], str | None],
) -> list[SyncTask]:
    result = list(tasks)
    first_dependent: dict[str, int] = {}
    index = 0
    while index < len(result):
        task = result[index]
        if task.manifest is None:
            index += 1
            continue
        provided = dependency(task)
        if provided is not None:
            target = first_dependent.get(provided)
            if target is not None:
                anchor = result[target]
                moved = dataclasses.replace(task, phase=anchor.phase, wave=anchor.wave, moved=True)
                del result[index]
                result.insert(target, moved)
                for name, position in first_dependent.items():
                    if position >= target:
                        first_dependent[name] = position + 1
        else:
            needed = depends_on(task)
            if needed is not None:
                first_dependent.setdefault(needed, index)
        index += 1
    return result
