"""The Application (rollwave.dev/v1alpha1): spec as frozen dataclasses, status with a wire round trip.

Shaped like Argo CD's Application, so a manifest from Argo CD's docs works once its apiVersion says
`rollwave.dev/v1alpha1`. `parse_application(obj)` returns `Parsed[Application]`: the typed value plus every
issue, addressed by path, for example::

    spec.destination.server: only the cluster rollwave runs in is supported ('https://kubernetes.default.svc'
        or name 'in-cluster'); got 'https://10.0.0.1:6443'                                          (Invalid)
    spec.source.helm: not supported by rollwave                                                  (Unsupported)
    spec.syncPolicy.syncOptions[2]: unknown sync option 'Foo=true'                               (Unsupported)

Defaults (Argo CD's where Argo CD has one):

    spec.source.targetRevision            HEAD
    spec.source.path                      "" (the repository root)
    spec.destination                      in-cluster; namespace unset (objects must then name their own)
    spec.syncPolicy.automated             absent = manual sync; `automated: {}` = automated, no prune/selfHeal
    spec.syncPolicy.retry.limit           0 (when `retry` is set); automated syncs without `retry` get 5
    spec.syncPolicy.retry.backoff         duration 5s, factor 2, maxDuration 3m
    spec.syncPolicy.waveTimeout           10m (rollwave extension; "0" waits forever, as Argo CD does)
    spec.revisionHistoryLimit             10

Status is read strictly (`ApplicationStatus.from_dict` raises ValueError naming the field) and written in Argo
CD's field names. rollwave extensions in status: `syncResult.resources[].syncWave` (the wave the task ran in),
`startedAt`/`finishedAt` per task (when it was applied and when it completed), `originalWave` on prune results
(the object's own wave; `syncWave` is the mirrored wave it was pruned in). Unknown status fields are carried
in `extra` and written back unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from rollouts.model import fields, wire

API_VERSION = "rollwave.dev/v1alpha1"
KIND = "Application"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"
DEFAULT_PROJECT = "default"
DEFAULT_TARGET_REVISION = "HEAD"
DEFAULT_WAVE_TIMEOUT = datetime.timedelta(minutes=10)
DEFAULT_HISTORY_LIMIT = 10
DEFAULT_RETRY_DURATION = datetime.timedelta(seconds=5)
DEFAULT_RETRY_FACTOR = 2
DEFAULT_RETRY_MAX_DURATION = datetime.timedelta(minutes=3)
# Argo CD gives automated syncs this retry limit when the Application sets no retry policy.
DEFAULT_AUTOMATED_RETRY_LIMIT = 5


# ---------------------------------------------------------------------------------------------------
# Enums (Argo CD's wire strings)


class SyncStatusCode(enum.StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatusCode(enum.StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


class OperationPhase(enum.StrEnum):
    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"

    @property
    def completed(self) -> bool:
        """Argo's `Completed()`: Failed, Error and Succeeded."""
        return self in (OperationPhase.FAILED, OperationPhase.ERROR, OperationPhase.SUCCEEDED)

    @property
    def successful(self) -> bool:
        return self is OperationPhase.SUCCEEDED

    @property
    def failed(self) -> bool:
        return self in (OperationPhase.FAILED, OperationPhase.ERROR)


class SyncPhase(enum.StrEnum):
    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"


class HookType(enum.StrEnum):
    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    SKIP = "Skip"


class HookDeletePolicy(enum.StrEnum):
    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"
    BEFORE_HOOK_CREATION = "BeforeHookCreation"


class ResultCode(enum.StrEnum):
    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"


class PropagationPolicy(enum.StrEnum):
    """`PrunePropagationPolicy=` values; the deletion propagation used when pruning."""

    FOREGROUND = "foreground"
    BACKGROUND = "background"
    ORPHAN = "orphan"


class SyncStrategy(enum.StrEnum):
    """`operation.sync.syncStrategy`: `hook` (default) runs hooks; `apply` skips them (`kubectl apply` only)."""

    HOOK = "hook"
    APPLY = "apply"


# ---------------------------------------------------------------------------------------------------
# Spec


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryOptions:
    """`spec.source.directory`: which files of `path` hold manifests."""

    recurse: bool = False
    include: str | None = None  # a glob, e.g. `{app.yaml,svc.yaml}`
    exclude: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where the manifests come from: exactly one of `repo_url`, `inline`, `manifests`.

    `kustomize` is True when `spec.source.kustomize` is present. A folder holding a kustomization file is
    rendered with kustomize either way (as Argo CD detects it); no kustomize option is supported.
    """

    repo_url: str | None = None
    target_revision: str = DEFAULT_TARGET_REVISION
    path: str = ""
    directory: DirectoryOptions = DirectoryOptions()
    kustomize: bool = False
    inline: str | None = None
    manifests: tuple[Mapping[str, Any], ...] = ()
    name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """Always the cluster rollwave runs in (anything else is reported as invalid)."""

    namespace: str | None = None
    server: str | None = None
    name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Automated:
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    enabled: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncOptions:
    """The `Key=value` sync options rollwave supports, typed. Per-resource ones live in annotations.

    rollwave always applies server-side, so `server_side_apply` is True unless `ServerSideApply=false` is given
    (which is reported as unsupported). `validate=False` asks the API server to ignore unknown fields.
    """

    create_namespace: bool = False
    prune_last: bool = False
    apply_out_of_sync_only: bool = False
    server_side_apply: bool = True
    validate: bool = True
    prune_propagation_policy: PropagationPolicy = PropagationPolicy.FOREGROUND


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    duration: datetime.timedelta = DEFAULT_RETRY_DURATION
    factor: int = DEFAULT_RETRY_FACTOR
    max_duration: datetime.timedelta = DEFAULT_RETRY_MAX_DURATION


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Retry a failed sync `limit` times (-1: forever), waiting `duration * factor^n` (capped) before each."""

    limit: int = 0
    backoff: Backoff = Backoff()
    refresh: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ManagedNamespaceMetadata:
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncPolicy:
    automated: Automated | None = None
    sync_options: SyncOptions = SyncOptions()
    # The options as written (for copying into an operation, and for display).
    sync_options_raw: tuple[str, ...] = ()
    retry: RetryPolicy | None = None
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None
    wave_timeout: datetime.timedelta | None = DEFAULT_WAVE_TIMEOUT  # None: wait forever

    @property
    def automated_enabled(self) -> bool:
        return self.automated is not None and self.automated.enabled


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IgnoreDifference:
    """Fields left out of the live/desired comparison (never out of what is applied)."""

    kind: str
    group: str = ""
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InfoEntry:
    name: str
    value: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationSpec:
    source: Source
    destination: Destination = Destination()
    project: str = DEFAULT_PROJECT
    sync_policy: SyncPolicy = SyncPolicy()
    ignore_differences: tuple[IgnoreDifference, ...] = ()
    revision_history_limit: int = DEFAULT_HISTORY_LIMIT
    info: tuple[InfoEntry, ...] = ()


# ---------------------------------------------------------------------------------------------------
# Operation (spec.operation requests it; status.operationState.operation echoes it)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResourceRef:
    """One object of a selective sync (`operation.sync.resources[]`); empty group = core API group."""

    kind: str
    name: str
    group: str = ""
    namespace: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncOperation:
    revision: str | None = None
    prune: bool = False
    dry_run: bool = False
    sync_options: tuple[str, ...] = ()
    resources: tuple[ResourceRef, ...] = ()  # empty: every resource
    strategy: SyncStrategy = SyncStrategy.HOOK

    @property
    def skip_hooks(self) -> bool:
        """Hooks never run for the `apply` strategy, nor in a selective sync (self-heal is one)."""
        return self.strategy is SyncStrategy.APPLY or bool(self.resources)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InitiatedBy:
    username: str | None = None
    automated: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    sync: SyncOperation = SyncOperation()
    initiated_by: InitiatedBy = InitiatedBy()
    info: tuple[InfoEntry, ...] = ()
    retry: RetryPolicy | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "operation") -> Operation:
        """Strict: raises ValueError naming the first invalid field (unknown fields are ignored)."""
        reader = fields.FieldReader()
        data = reader.mapping_value(raw, where)
        operation = _read_operation(reader, data or {}, where)
        if reader.issues and any(issue.kind is fields.IssueKind.INVALID for issue in reader.issues):
            raise ValueError(str(next(i for i in reader.issues if i.kind is fields.IssueKind.INVALID)))
        return operation

    def to_dict(self) -> dict[str, Any]:
        sync: dict[str, Any] = {}
        wire.put(sync, "revision", self.sync.revision)
        if self.sync.prune:
            sync["prune"] = True
        if self.sync.dry_run:
            sync["dryRun"] = True
        if self.sync.sync_options:
            sync["syncOptions"] = list(self.sync.sync_options)
        if self.sync.resources:
            sync["resources"] = [_resource_ref_to_dict(ref) for ref in self.sync.resources]
        if self.sync.strategy is SyncStrategy.APPLY:
            sync["syncStrategy"] = {"apply": {}}
        out: dict[str, Any] = {"sync": sync}
        initiated: dict[str, Any] = {}
        wire.put(initiated, "username", self.initiated_by.username)
        if self.initiated_by.automated:
            initiated["automated"] = True
        if initiated:
            out["initiatedBy"] = initiated
        if self.info:
            out["info"] = [{"name": entry.name, "value": entry.value} for entry in self.info]
        if self.retry is not None:
            out["retry"] = retry_to_dict(self.retry)
        return out


def _resource_ref_to_dict(ref: ResourceRef) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": ref.kind, "name": ref.name}
    if ref.group:
        out["group"] = ref.group
    if ref.namespace:
        out["namespace"] = ref.namespace
    return out


def retry_to_dict(retry: RetryPolicy) -> dict[str, Any]:
    return {
        "limit": retry.limit,
        "backoff": {
            "duration": fields.format_duration(retry.backoff.duration),
            "factor": retry.backoff.factor,
            "maxDuration": fields.format_duration(retry.backoff.max_duration),
        },
        **({"refresh": True} if retry.refresh else {}),
    }


# ---------------------------------------------------------------------------------------------------
# Status


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncStatus:
    """`status.sync`; `extra` keeps `comparedTo`, `revisions` and any other field."""

    status: SyncStatusCode = SyncStatusCode.UNKNOWN
    revision: str | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "status.sync") -> SyncStatus:
        data = wire.mapping(raw, where)
        status = data.get("status")
        return cls(
            status=wire.enum_value(SyncStatusCode, status, f"{where}.status")
            if status
            else SyncStatusCode.UNKNOWN,
            revision=wire.optional_str(data, "revision", where),
            extra=_extra(data, ("status", "revision")),
        )

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(dict(self.extra))
        out["status"] = self.status.value
        wire.put(out, "revision", self.revision)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HealthStatus:
    """A health verdict: `status.health` (with lastTransitionTime) or one resource's health."""

    status: HealthStatusCode = HealthStatusCode.UNKNOWN
    message: str | None = None
    last_transition_time: datetime.datetime | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "status.health") -> HealthStatus:
        data = wire.mapping(raw, where)
        status = data.get("status")
        return cls(
            status=wire.enum_value(HealthStatusCode, status, f"{where}.status")
            if status
            else HealthStatusCode.UNKNOWN,
            message=wire.optional_str(data, "message", where) or None,
            last_transition_time=wire.timestamp(data, "lastTransitionTime", where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value}
        wire.put(out, "message", self.message)
        wire.put_time(out, "lastTransitionTime", self.last_transition_time)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResourceResult:
    """One task's result in `syncResult.resources[]`, keyed by (group, kind, namespace, name, syncPhase).

    `hook_phase` is the task's own phase for every task, hooks or not (as Argo CD records it): Running after
    apply, Succeeded once healthy/complete, Failed otherwise.
    """

    kind: str
    name: str
    group: str = ""
    version: str = ""
    namespace: str = ""
    status: ResultCode | None = None
    message: str | None = None
    hook_type: HookType | None = None
    hook_phase: OperationPhase | None = None
    sync_phase: SyncPhase | None = None
    sync_wave: int | None = None
    original_wave: int | None = None
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    images: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (
            self.group,
            self.kind,
            self.namespace,
            self.name,
            self.sync_phase.value if self.sync_phase else "",
        )

    @classmethod
    def from_dict(cls, raw: object, *, where: str) -> ResourceResult:
        data = wire.mapping(raw, where)
        status = data.get("status")
        hook_type = data.get("hookType")
        hook_phase = data.get("hookPhase")
        sync_phase = data.get("syncPhase")
        images = wire.list_of(data, "images", where)
        if not all(isinstance(image, str) for image in images):
            raise ValueError(f"{where}.images must be a list of strings (got {images!r})")
        return cls(
            group=wire.optional_str(data, "group", where) or "",
            version=wire.optional_str(data, "version", where) or "",
            kind=wire.optional_str(data, "kind", where) or "",
            namespace=wire.optional_str(data, "namespace", where) or "",
            name=wire.optional_str(data, "name", where) or "",
            status=wire.enum_value(ResultCode, status, f"{where}.status") if status else None,
            message=wire.optional_str(data, "message", where) or None,
            hook_type=wire.enum_value(HookType, hook_type, f"{where}.hookType") if hook_type else None,
            hook_phase=wire.enum_value(OperationPhase, hook_phase, f"{where}.hookPhase")
            if hook_phase
            else None,
            sync_phase=wire.enum_value(SyncPhase, sync_phase, f"{where}.syncPhase") if sync_phase else None,
            sync_wave=wire.optional_int(data, "syncWave", where),
            original_wave=wire.optional_int(data, "originalWave", where),
            started_at=wire.timestamp(data, "startedAt", where),
            finished_at=wire.timestamp(data, "finishedAt", where),
            images=tuple(images),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }
        wire.put(out, "status", self.status.value if self.status else None)
        wire.put(out, "message", self.message)
        wire.put(out, "hookType", self.hook_type.value if self.hook_type else None)
        wire.put(out, "hookPhase", self.hook_phase.value if self.hook_phase else None)
        wire.put(out, "syncPhase", self.sync_phase.value if self.sync_phase else None)
        wire.put(out, "syncWave", self.sync_wave)
        wire.put(out, "originalWave", self.original_wave)
        wire.put_time(out, "startedAt", self.started_at)
        wire.put_time(out, "finishedAt", self.finished_at)
        if self.images:
            out["images"] = list(self.images)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncOperationResult:
    """`operationState.syncResult`: the revision being synced and one result per task that ran."""

    revision: str = ""
    resources: tuple[ResourceResult, ...] = ()
    source: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(
        cls, raw: object, *, where: str = "status.operationState.syncResult"
    ) -> SyncOperationResult:
        data = wire.mapping(raw, where)
        source = data.get("source")
        return cls(
            revision=wire.optional_str(data, "revision", where) or "",
            resources=tuple(
                ResourceResult.from_dict(entry, where=f"{where}.resources[{index}]")
                for index, entry in enumerate(wire.list_of(data, "resources", where))
            ),
            source=copy.deepcopy(dict(wire.mapping(source, f"{where}.source"))) if source is not None else {},
            extra=_extra(data, ("revision", "resources", "source")),
        )

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(dict(self.extra))
        out["revision"] = self.revision
        if self.source:
            out["source"] = copy.deepcopy(dict(self.source))
        if self.resources:
            out["resources"] = [result.to_dict() for result in self.resources]
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OperationState:
    """`status.operationState`: progress of the current (or last) operation.

    A failed attempt that will be retried is `phase=Running` with `finished_at` set (Argo CD's encoding):
    the retry starts once its backoff has passed, with `finished_at` cleared and the results emptied.
    """

    operation: Operation
    phase: OperationPhase
    started_at: datetime.datetime
    message: str | None = None
    finished_at: datetime.datetime | None = None
    retry_count: int = 0
    sync_result: SyncOperationResult | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "status.operationState") -> OperationState:
        data = wire.mapping(raw, where)
        phase = data.get("phase")
        sync_result = data.get("syncResult")
        return cls(
            operation=Operation.from_dict(data.get("operation") or {}, where=f"{where}.operation"),
            phase=wire.enum_value(OperationPhase, phase, f"{where}.phase"),
            message=wire.optional_str(data, "message", where) or None,
            started_at=wire.required_timestamp(data, "startedAt", where),
            finished_at=wire.timestamp(data, "finishedAt", where),
            retry_count=wire.count(data, "retryCount", where),
            sync_result=SyncOperationResult.from_dict(sync_result, where=f"{where}.syncResult")
            if sync_result is not None
            else None,
            extra=_extra(
                data,
                ("operation", "phase", "message", "startedAt", "finishedAt", "retryCount", "syncResult"),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(dict(self.extra))
        out["operation"] = self.operation.to_dict()
        out["phase"] = self.phase.value
        wire.put(out, "message", self.message)
        wire.put_time(out, "startedAt", self.started_at)
        wire.put_time(out, "finishedAt", self.finished_at)
        if self.retry_count:
            out["retryCount"] = self.retry_count
        if self.sync_result is not None:
            out["syncResult"] = self.sync_result.to_dict()
        return out

    @property
    def results(self) -> tuple[ResourceResult, ...]:
        return self.sync_result.resources if self.sync_result is not None else ()

    @property
    def revision(self) -> str:
        return self.sync_result.revision if self.sync_result is not None else ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResourceStatus:
    """One managed object in `status.resources[]`: its sync status and health."""

    kind: str
    name: str
    group: str = ""
    version: str = ""
    namespace: str = ""
    status: SyncStatusCode | None = None
    health: HealthStatus | None = None
    hook: bool = False
    requires_pruning: bool = False
    requires_deletion_confirmation: bool = False
    sync_wave: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.group, self.kind, self.namespace, self.name)

    @classmethod
    def from_dict(cls, raw: object, *, where: str) -> ResourceStatus:
        data = wire.mapping(raw, where)
        status = data.get("status")
        health = data.get("health")
        return cls(
            group=wire.optional_str(data, "group", where) or "",
            version=wire.optional_str(data, "version", where) or "",
            kind=wire.optional_str(data, "kind", where) or "",
            namespace=wire.optional_str(data, "namespace", where) or "",
            name=wire.optional_str(data, "name", where) or "",
            status=wire.enum_value(SyncStatusCode, status, f"{where}.status") if status else None,
            health=HealthStatus.from_dict(health, where=f"{where}.health") if health is not None else None,
            hook=wire.boolean(data, "hook", where),
            requires_pruning=wire.boolean(data, "requiresPruning", where),
            requires_deletion_confirmation=wire.boolean(data, "requiresDeletionConfirmation", where),
            sync_wave=wire.optional_int(data, "syncWave", where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.group:
            out["group"] = self.group
        wire.put(out, "version", self.version or None)
        out["kind"] = self.kind
        if self.namespace:
            out["namespace"] = self.namespace
        out["name"] = self.name
        wire.put(out, "status", self.status.value if self.status else None)
        if self.health is not None:
            out["health"] = self.health.to_dict()
        if self.hook:
            out["hook"] = True
        if self.requires_pruning:
            out["requiresPruning"] = True
        if self.requires_deletion_confirmation:
            out["requiresDeletionConfirmation"] = True
        wire.put(out, "syncWave", self.sync_wave)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RevisionHistory:
    """One past sync in `status.history[]` (newest last)."""

    id: int
    revision: str = ""
    deploy_started_at: datetime.datetime | None = None
    deployed_at: datetime.datetime | None = None
    source: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    initiated_by: InitiatedBy | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str) -> RevisionHistory:
        data = wire.mapping(raw, where)
        source = data.get("source")
        initiated = data.get("initiatedBy")
        initiated_by = None
        if initiated is not None:
            initiated_data = wire.mapping(initiated, f"{where}.initiatedBy")
            initiated_by = InitiatedBy(
                username=wire.optional_str(initiated_data, "username", f"{where}.initiatedBy"),
                automated=wire.boolean(initiated_data, "automated", f"{where}.initiatedBy"),
            )
        return cls(
            id=wire.count(data, "id", where),
            revision=wire.optional_str(data, "revision", where) or "",
            deploy_started_at=wire.timestamp(data, "deployStartedAt", where),
            deployed_at=wire.timestamp(data, "deployedAt", where),
            source=copy.deepcopy(dict(wire.mapping(source, f"{where}.source"))) if source is not None else {},
            initiated_by=initiated_by,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "revision": self.revision}
        wire.put_time(out, "deployStartedAt", self.deploy_started_at)
        wire.put_time(out, "deployedAt", self.deployed_at)
        if self.source:
            out["source"] = copy.deepcopy(dict(self.source))
        if self.initiated_by is not None:
            initiated: dict[str, Any] = {}
            wire.put(initiated, "username", self.initiated_by.username)
            if self.initiated_by.automated:
                initiated["automated"] = True
            out["initiatedBy"] = initiated
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AppCondition:
    """`status.conditions[]`: SyncError, InvalidSpecError, UnsupportedFields, ..."""

    type: str
    message: str = ""
    last_transition_time: datetime.datetime | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str) -> AppCondition:
        data = wire.mapping(raw, where)
        return cls(
            type=wire.required_str(data, "type", where),
            message=wire.optional_str(data, "message", where) or "",
            last_transition_time=wire.timestamp(data, "lastTransitionTime", where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "message": self.message}
        wire.put_time(out, "lastTransitionTime", self.last_transition_time)
        return out


_STATUS_KEYS = (
    "sync",
    "health",
    "operationState",
    "resources",
    "history",
    "conditions",
    "reconciledAt",
    "observedAt",
    "sourceType",
    "summary",
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationStatus:
    sync: SyncStatus = SyncStatus()
    health: HealthStatus = HealthStatus()
    operation_state: OperationState | None = None
    resources: tuple[ResourceStatus, ...] = ()
    history: tuple[RevisionHistory, ...] = ()
    conditions: tuple[AppCondition, ...] = ()
    reconciled_at: datetime.datetime | None = None
    observed_at: datetime.datetime | None = None
    source_type: str | None = None
    summary: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> ApplicationStatus:
        """Parse the wire form; raises ValueError naming the first malformed field."""
        where = "status"
        data = wire.mapping(raw or {}, where)
        sync = data.get("sync")
        health = data.get("health")
        operation_state = data.get("operationState")
        summary = data.get("summary")
        return cls(
            sync=SyncStatus.from_dict(sync) if sync is not None else SyncStatus(),
            health=HealthStatus.from_dict(health) if health is not None else HealthStatus(),
            operation_state=OperationState.from_dict(operation_state)
            if operation_state is not None
            else None,
            resources=tuple(
                ResourceStatus.from_dict(entry, where=f"{where}.resources[{index}]")
                for index, entry in enumerate(wire.list_of(data, "resources", where))
            ),
            history=tuple(
                RevisionHistory.from_dict(entry, where=f"{where}.history[{index}]")
                for index, entry in enumerate(wire.list_of(data, "history", where))
            ),
            conditions=tuple(
                AppCondition.from_dict(entry, where=f"{where}.conditions[{index}]")
                for index, entry in enumerate(wire.list_of(data, "conditions", where))
            ),
            reconciled_at=wire.timestamp(data, "reconciledAt", where),
            observed_at=wire.timestamp(data, "observedAt", where),
            source_type=wire.optional_str(data, "sourceType", where),
            summary=copy.deepcopy(dict(wire.mapping(summary, f"{where}.summary")))
            if summary is not None
            else {},
            extra=_extra(data, _STATUS_KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(dict(self.extra))
        out["sync"] = self.sync.to_dict()
        out["health"] = self.health.to_dict()
        if self.operation_state is not None:
            out["operationState"] = self.operation_state.to_dict()
        if self.resources:
            out["resources"] = [resource.to_dict() for resource in self.resources]
        if self.history:
            out["history"] = [entry.to_dict() for entry in self.history]
        if self.conditions:
            out["conditions"] = [condition.to_dict() for condition in self.conditions]
        wire.put_time(out, "reconciledAt", self.reconciled_at)
        wire.put_time(out, "observedAt", self.observed_at)
        wire.put(out, "sourceType", self.source_type)
        if self.summary:
            out["summary"] = copy.deepcopy(dict(self.summary))
        return out

    def with_history(
        self, entry: RevisionHistory, *, limit: int = DEFAULT_HISTORY_LIMIT
    ) -> ApplicationStatus:
        """Append `entry` (newest last), keeping at most `limit` entries.

        >>> status = ApplicationStatus(history=tuple(RevisionHistory(id=i) for i in range(3)))
        >>> [entry.id for entry in status.with_history(RevisionHistory(id=3), limit=2).history]
        [2, 3]
        """
        kept = (*self.history, entry)
        return dataclasses.replace(self, history=kept[-limit:] if limit > 0 else ())

    def next_history_id(self) -> int:
        return max((entry.id for entry in self.history), default=-1) + 1


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    name: str
    namespace: str | None
    uid: str | None
    generation: int | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: ApplicationSpec
    operation: Operation | None = None
    status: ApplicationStatus = ApplicationStatus()


def _extra(data: Mapping[str, Any], known: Sequence[str]) -> dict[str, Any]:
    return copy.deepcopy({key: value for key, value in data.items() if key not in known})


# ---------------------------------------------------------------------------------------------------
# Parsing

_TOP_LEVEL_KEYS = ("apiVersion", "kind", "metadata", "spec", "operation", "status")
_SPEC_KEYS = (
    "project",
    "source",
    "destination",
    "syncPolicy",
    "ignoreDifferences",
    "revisionHistoryLimit",
    "info",
)
_UNSUPPORTED_SPEC_KEYS = ("sources", "sourceHydrator")
_SOURCE_KEYS = ("repoURL", "targetRevision", "path", "directory", "inline", "manifests", "kustomize", "name")
_UNSUPPORTED_SOURCE_KEYS = ("helm", "chart", "plugin", "ref")
_DIRECTORY_KEYS = ("recurse", "include", "exclude")
_UNSUPPORTED_DIRECTORY_KEYS = ("jsonnet",)
_DESTINATION_KEYS = ("server", "name", "namespace")
_SYNC_POLICY_KEYS = ("automated", "syncOptions", "retry", "managedNamespaceMetadata", "waveTimeout")
_AUTOMATED_KEYS = ("prune", "selfHeal", "allowEmpty", "enabled")
_RETRY_KEYS = ("limit", "backoff", "refresh")
_BACKOFF_KEYS = ("duration", "factor", "maxDuration")
_IGNORE_DIFFERENCE_KEYS = ("group", "kind", "name", "namespace", "jsonPointers", "managedFieldsManagers")
_UNSUPPORTED_IGNORE_DIFFERENCE_KEYS = ("jqPathExpressions",)
_OPERATION_KEYS = ("sync", "initiatedBy", "info", "retry")
_SYNC_OPERATION_KEYS = ("revision", "prune", "dryRun", "syncOptions", "resources", "syncStrategy")
_UNSUPPORTED_SYNC_OPERATION_KEYS = ("revisions", "source", "sources", "manifests", "autoHealAttemptsCount")

# Sync options: supported ones with their allowed values; Argo CD options rollwave does not implement.
_BOOLEAN_OPTIONS = ("CreateNamespace", "PruneLast", "ApplyOutOfSyncOnly", "ServerSideApply", "Validate")
_UNSUPPORTED_OPTIONS = (
    "Replace",
    "Force",
    "RespectIgnoreDifferences",
    "FailOnSharedResource",
    "SkipDryRunOnMissingResource",
    "ClientSideApplyMigration",
    "Prune",
    "Delete",
)


def parse_application(obj: Mapping[str, Any]) -> fields.Parsed[Application]:
    """Parse an Application (spec, operation and status) and report every unsupported or invalid field.

    >>> parsed = parse_application({"metadata": {"name": "guestbook"}, "spec": {
    ...     "source": {"repoURL": "https://git.example/apps.git", "path": "guestbook", "helm": {}},
    ...     "destination": {"server": "https://10.0.0.1:6443", "namespace": "guestbook"}}})
    >>> [str(issue) for issue in parsed.issues]  # doctest: +NORMALIZE_WHITESPACE
    ['spec.source.helm: not supported by rollwave',
     "spec.destination.server: only the cluster rollwave runs in is supported ('https://kubernetes.default.svc'
       or name 'in-cluster'); got 'https://10.0.0.1:6443'"]
    """
    reader = fields.FieldReader()
    kind = obj.get("kind")
    if kind is not None and kind != KIND:
        reader.invalid("kind", f"must be {KIND} (got {kind!r})")
    api_version = obj.get("apiVersion")
    if api_version is not None and api_version != API_VERSION:
        hint = " (change argoproj.io/v1alpha1 to it)" if api_version == "argoproj.io/v1alpha1" else ""
        reader.invalid("apiVersion", f"must be {API_VERSION}{hint} (got {api_version!r})")
    reader.check_keys(obj, "", known=_TOP_LEVEL_KEYS)
    metadata = fields.read_metadata(reader, obj)
    spec_raw = reader.mapping(obj, "spec", "")
    if spec_raw is None:
        if "spec" not in obj:
            reader.invalid("spec", "is required")
        return fields.Parsed(value=None, issues=reader.issues)
    spec = _read_spec(reader, spec_raw)
    operation = None
    operation_raw = reader.mapping(obj, "operation", "")
    if operation_raw is not None:
        operation = _read_operation(reader, operation_raw, "operation", report_unknown=True)
    try:
        status = ApplicationStatus.from_dict(obj.get("status"))
    except ValueError as err:
        reader.invalid("status", str(err))
        status = ApplicationStatus()
    application = Application(
        name=metadata.name,
        namespace=metadata.namespace,
        uid=metadata.uid,
        generation=metadata.generation,
        labels=metadata.labels,
        annotations=metadata.annotations,
        spec=spec,
        operation=operation,
        status=status,
    )
    return fields.Parsed(value=application, issues=reader.issues)


def _read_spec(reader: fields.FieldReader, spec: Mapping[str, Any]) -> ApplicationSpec:
    path = "spec"
    reader.check_keys(spec, path, known=_SPEC_KEYS, unsupported=_UNSUPPORTED_SPEC_KEYS)
    project = reader.string(spec, "project", path) or DEFAULT_PROJECT
    if project != DEFAULT_PROJECT:
        reader.unsupported(
            "spec.project", f"projects are {fields.NOT_SUPPORTED}; only 'default' (got {project!r})"
        )
    history_limit = reader.integer(spec, "revisionHistoryLimit", path, minimum=0)
    return ApplicationSpec(
        project=project,
        source=_read_source(reader, spec, required="sources" not in spec),
        destination=_read_destination(reader, spec),
        sync_policy=_read_sync_policy(reader, reader.mapping(spec, "syncPolicy", path) or {}),
        ignore_differences=_read_ignore_differences(reader, spec),
        revision_history_limit=DEFAULT_HISTORY_LIMIT if history_limit is None else history_limit,
        info=_read_info(reader, spec, path),
    )


def _read_source(reader: fields.FieldReader, spec: Mapping[str, Any], *, required: bool) -> Source:
    path = "spec.source"
    source = reader.mapping(spec, "source", "spec")
    if source is None:
        if required and "source" not in spec:
            reader.invalid(path, "is required")
        return Source()
    reader.check_keys(source, path, known=_SOURCE_KEYS, unsupported=_UNSUPPORTED_SOURCE_KEYS)
    repo_url = reader.string(source, "repoURL", path)
    inline = reader.string(source, "inline", path)
    manifests: list[Mapping[str, Any]] = []
    for index, entry in enumerate(reader.sequence(source, "manifests", path)):
        manifest = reader.mapping_value(entry, fields.item(f"{path}.manifests", index))
        if manifest is not None:
            manifests.append(copy.deepcopy(dict(manifest)))
    given = [key for key in ("repoURL", "inline", "manifests") if key in source]
    if len(given) > 1:
        reader.invalid(path, f"set only one of repoURL, inline or manifests (got {', '.join(given)})")
    elif not given and not any(key in source for key in _UNSUPPORTED_SOURCE_KEYS):
        reader.invalid(path, "set one of repoURL, inline or manifests")
    if repo_url is not None and not repo_url.strip():
        reader.invalid(f"{path}.repoURL", "must not be empty")
    target_revision = reader.string(source, "targetRevision", path) or DEFAULT_TARGET_REVISION
    source_path = _read_source_path(reader, source, path)
    directory = _read_directory(reader, source, path)
    kustomize = reader.mapping(source, "kustomize", path)
    if kustomize is not None:
        for key in kustomize:
            reader.unsupported(
                fields.child(f"{path}.kustomize", key), "kustomize options are " + fields.NOT_SUPPORTED
            )
        if "directory" in source:
            reader.invalid(path, "set only one of directory and kustomize")
    return Source(
        repo_url=repo_url,
        target_revision=target_revision,
        path=source_path,
        directory=directory,
        kustomize=kustomize is not None,
        inline=inline,
        manifests=tuple(manifests),
        name=reader.string(source, "name", path),
    )


def _read_source_path(reader: fields.FieldReader, source: Mapping[str, Any], path: str) -> str:
    raw = reader.string(source, "path", path) or ""
    normalized = posixpath.normpath(raw) if raw else ""
    if normalized == ".":
        return ""
    # The path names a folder inside the checkout; it must not reach outside it.
    if normalized.startswith("/") or normalized == ".." or normalized.startswith("../"):
        reader.invalid(f"{path}.path", f"must be a relative path inside the repository (got {raw!r})")
        return ""
    return normalized


def _read_directory(reader: fields.FieldReader, source: Mapping[str, Any], path: str) -> DirectoryOptions:
    directory = reader.mapping(source, "directory", path)
    if directory is None:
        return DirectoryOptions()
    sub = f"{path}.directory"
    reader.check_keys(directory, sub, known=_DIRECTORY_KEYS, unsupported=_UNSUPPORTED_DIRECTORY_KEYS)
    return DirectoryOptions(
        recurse=bool(reader.boolean(directory, "recurse", sub)),
        include=reader.string(directory, "include", sub) or None,
        exclude=reader.string(directory, "exclude", sub) or None,
    )


def _read_destination(reader: fields.FieldReader, spec: Mapping[str, Any]) -> Destination:
    path = "spec.destination"
    destination = reader.mapping(spec, "destination", "spec")
    if destination is None:
        return Destination()
    reader.check_keys(destination, path, known=_DESTINATION_KEYS)
    server = reader.string(destination, "server", path) or None
    name = reader.string(destination, "name", path) or None
    wanted = f"('{IN_CLUSTER_SERVER}' or name '{IN_CLUSTER_NAME}')"
    if server is not None and name is not None:
        reader.invalid(path, "set only one of server and name (as Argo CD requires)")
    if server is not None and server.rstrip("/") != IN_CLUSTER_SERVER:
        reader.invalid(
            f"{path}.server", f"only the cluster rollwave runs in is supported {wanted}; got {server!r}"
        )
    if name is not None and name != IN_CLUSTER_NAME:
        reader.invalid(
            f"{path}.name", f"only the cluster rollwave runs in is supported {wanted}; got {name!r}"
        )
    return Destination(
        namespace=reader.string(destination, "namespace", path) or None,
        server=server,
        name=name,
    )


def _read_sync_policy(reader: fields.FieldReader, policy: Mapping[str, Any]) -> SyncPolicy:
    path = "spec.syncPolicy"
    reader.check_keys(policy, path, known=_SYNC_POLICY_KEYS)
    automated = None
    automated_raw = reader.mapping(policy, "automated", path)
    if automated_raw is not None:
        sub = f"{path}.automated"
        reader.check_keys(automated_raw, sub, known=_AUTOMATED_KEYS)
        enabled = reader.boolean(automated_raw, "enabled", sub)
        automated = Automated(
            prune=bool(reader.boolean(automated_raw, "prune", sub)),
            self_heal=bool(reader.boolean(automated_raw, "selfHeal", sub)),
            allow_empty=bool(reader.boolean(automated_raw, "allowEmpty", sub)),
            enabled=True if enabled is None else enabled,
        )
    raw_options = _read_strings(reader, policy, "syncOptions", path)
    options = read_sync_options(reader, raw_options, f"{path}.syncOptions")
    retry = None
    retry_raw = reader.mapping(policy, "retry", path)
    if retry_raw is not None:
        retry = _read_retry(reader, retry_raw, f"{path}.retry")
    namespace_metadata = None
    metadata_raw = reader.mapping(policy, "managedNamespaceMetadata", path)
    if metadata_raw is not None:
        sub = f"{path}.managedNamespaceMetadata"
        reader.check_keys(metadata_raw, sub, known=("labels", "annotations"))
        namespace_metadata = ManagedNamespaceMetadata(
            labels=reader.string_map(metadata_raw, "labels", sub),
            annotations=reader.string_map(metadata_raw, "annotations", sub),
        )
    wave_timeout: datetime.timedelta | None = DEFAULT_WAVE_TIMEOUT
    if policy.get("waveTimeout") is not None:
        try:
            parsed_timeout = fields.parse_go_duration(policy["waveTimeout"])
        except ValueError as err:
            reader.invalid(f"{path}.waveTimeout", str(err))
        else:
            wave_timeout = parsed_timeout if parsed_timeout > datetime.timedelta(0) else None
    return SyncPolicy(
        automated=automated,
        sync_options=options,
        sync_options_raw=tuple(raw_options),
        retry=retry,
        managed_namespace_metadata=namespace_metadata,
        wave_timeout=wave_timeout,
    )


def read_sync_options(
    reader: fields.FieldReader, raw_options: Sequence[str], path: str, *, base: SyncOptions = SyncOptions()
) -> SyncOptions:
    """Fold `Key=value` strings onto `base` (later ones win), reporting unknown and unsupported ones by index.

    >>> reader = fields.FieldReader()
    >>> read_sync_options(reader, ["CreateNamespace=true", "Replace=true"], "opts").create_namespace
    True
    >>> [str(issue) for issue in reader.issues]
    ['opts[1]: Replace=true is not supported by rollwave']
    """
    values: dict[str, Any] = {}
    for index, option in enumerate(raw_options):
        where = fields.item(path, index)
        key, sep, value = option.partition("=")
        key, value = key.strip(), value.strip()
        if key in _BOOLEAN_OPTIONS:
            if not sep or value not in ("true", "false"):
                reader.invalid(where, f"{key} must be {key}=true or {key}=false (got {option!r})")
                continue
            enabled = value == "true"
            if key == "ServerSideApply" and not enabled:
                reader.unsupported(where, "ServerSideApply=false: rollwave always applies server-side")
                continue
            values[_OPTION_FIELDS[key]] = enabled
        elif key == "PrunePropagationPolicy":
            try:
                values["prune_propagation_policy"] = PropagationPolicy(value)
            except ValueError:
                reader.invalid(
                    where, f"PrunePropagationPolicy must be foreground, background or orphan (got {value!r})"
                )
        elif key in _UNSUPPORTED_OPTIONS:
            reader.unsupported(where, f"{option} is {fields.NOT_SUPPORTED}")
        else:
            reader.unsupported(where, f"unknown sync option {option!r}")
    return dataclasses.replace(base, **values)


_OPTION_FIELDS = {
    "CreateNamespace": "create_namespace",
    "PruneLast": "prune_last",
    "ApplyOutOfSyncOnly": "apply_out_of_sync_only",
    "ServerSideApply": "server_side_apply",
    "Validate": "validate",
}


def effective_sync_options(spec: ApplicationSpec, operation: Operation) -> SyncOptions:
    """The Application's sync options with the operation's own (`operation.sync.syncOptions`) on top.

    Issues in the operation's options are ignored here; `parse_application` reports them.
    """
    return read_sync_options(
        fields.FieldReader(),
        operation.sync.sync_options,
        "operation.sync.syncOptions",
        base=spec.sync_policy.sync_options,
    )


def _read_retry(reader: fields.FieldReader, retry: Mapping[str, Any], path: str) -> RetryPolicy:
    reader.check_keys(retry, path, known=_RETRY_KEYS)
    limit = reader.integer(retry, "limit", path, minimum=-1)
    backoff = Backoff()
    backoff_raw = reader.mapping(retry, "backoff", path)
    if backoff_raw is not None:
        sub = f"{path}.backoff"
        reader.check_keys(backoff_raw, sub, known=_BACKOFF_KEYS)
        factor = reader.integer(backoff_raw, "factor", sub, minimum=1)
        backoff = Backoff(
            duration=_read_duration(reader, backoff_raw, "duration", sub, default=DEFAULT_RETRY_DURATION),
            factor=DEFAULT_RETRY_FACTOR if factor is None else factor,
            max_duration=_read_duration(
                reader, backoff_raw, "maxDuration", sub, default=DEFAULT_RETRY_MAX_DURATION
            ),
        )
    return RetryPolicy(
        limit=0 if limit is None else limit,
        backoff=backoff,
        refresh=bool(reader.boolean(retry, "refresh", path)),
    )


def _read_duration(
    reader: fields.FieldReader,
    container: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: datetime.timedelta,
) -> datetime.timedelta:
    raw = container.get(key)
    if raw is None:
        return default
    try:
        # Argo CD also accepts a bare number of seconds here.
        return fields.parse_duration(raw)
    except ValueError as err:
        reader.invalid(fields.child(path, key), str(err))
        return default


def _read_ignore_differences(
    reader: fields.FieldReader, spec: Mapping[str, Any]
) -> tuple[IgnoreDifference, ...]:
    path = "spec.ignoreDifferences"
    entries: list[IgnoreDifference] = []
    for index, raw in enumerate(reader.sequence(spec, "ignoreDifferences", "spec")):
        where = fields.item(path, index)
        entry = reader.mapping_value(raw, where)
        if entry is None:
            continue
        reader.check_keys(
            entry, where, known=_IGNORE_DIFFERENCE_KEYS, unsupported=_UNSUPPORTED_IGNORE_DIFFERENCE_KEYS
        )
        kind = reader.string(entry, "kind", where)
        if not kind:
            reader.invalid(f"{where}.kind", "is required")
            continue
        entries.append(
            IgnoreDifference(
                kind=kind,
                group=reader.string(entry, "group", where) or "",
                name=reader.string(entry, "name", where) or None,
                namespace=reader.string(entry, "namespace", where) or None,
                json_pointers=tuple(_read_strings(reader, entry, "jsonPointers", where)),
                managed_fields_managers=tuple(_read_strings(reader, entry, "managedFieldsManagers", where)),
            )
        )
    return tuple(entries)


def _read_info(reader: fields.FieldReader, container: Mapping[str, Any], path: str) -> tuple[InfoEntry, ...]:
    entries: list[InfoEntry] = []
    for index, raw in enumerate(reader.sequence(container, "info", path)):
        where = fields.item(fields.child(path, "info"), index)
        entry = reader.mapping_value(raw, where)
        if entry is None:
            continue
        reader.check_keys(entry, where, known=("name", "value"))
        entries.append(
            InfoEntry(
                name=reader.string(entry, "name", where) or "",
                value=reader.string(entry, "value", where) or "",
            )
        )
    return tuple(entries)


def _read_strings(reader: fields.FieldReader, container: Mapping[str, Any], key: str, path: str) -> list[str]:
    values: list[str] = []
    for index, raw in enumerate(reader.sequence(container, key, path)):
        value = reader.string_value(raw, fields.item(fields.child(path, key), index))
        if value is not None:
            values.append(value)
    return values


def _read_operation(
    reader: fields.FieldReader, operation: Mapping[str, Any], path: str, *, report_unknown: bool = False
) -> Operation:
    if report_unknown:
        reader.check_keys(operation, path, known=_OPERATION_KEYS)
    sync_path = fields.child(path, "sync")
    sync = reader.mapping(operation, "sync", path) or {}
    if report_unknown:
        reader.check_keys(
            sync, sync_path, known=_SYNC_OPERATION_KEYS, unsupported=_UNSUPPORTED_SYNC_OPERATION_KEYS
        )
    raw_options = _read_strings(reader, sync, "syncOptions", sync_path)
    if report_unknown:
        read_sync_options(reader, raw_options, f"{sync_path}.syncOptions")
    resources: list[ResourceRef] = []
    for index, raw in enumerate(reader.sequence(sync, "resources", sync_path)):
        where = fields.item(f"{sync_path}.resources", index)
        entry = reader.mapping_value(raw, where)
        if entry is None:
            continue
        kind = reader.string(entry, "kind", where)
        name = reader.string(entry, "name", where)
        if not kind or not name:
            reader.invalid(where, "kind and name are required")
            continue
        resources.append(
            ResourceRef(
                kind=kind,
                name=name,
                group=reader.string(entry, "group", where) or "",
                namespace=reader.string(entry, "namespace", where) or "",
            )
        )
    strategy = SyncStrategy.HOOK
    strategy_raw = reader.mapping(sync, "syncStrategy", sync_path)
    if strategy_raw is not None:
        strategy_path = f"{sync_path}.syncStrategy"
        chosen = [key for key in ("hook", "apply") if key in strategy_raw]
        if len(chosen) > 1:
            reader.invalid(strategy_path, "set only one of hook and apply")
        if chosen:
            strategy = SyncStrategy(chosen[0])
            options = reader.mapping(strategy_raw, chosen[0], strategy_path) or {}
            if report_unknown and options.get("force"):
                reader.unsupported(f"{strategy_path}.{chosen[0]}.force")
        if report_unknown:
            reader.check_keys(strategy_raw, strategy_path, known=("hook", "apply"))
    initiated = reader.mapping(operation, "initiatedBy", path) or {}
    initiated_path = fields.child(path, "initiatedBy")
    retry_raw = reader.mapping(operation, "retry", path)
    return Operation(
        sync=SyncOperation(
            revision=reader.string(sync, "revision", sync_path) or None,
            prune=bool(reader.boolean(sync, "prune", sync_path)),
            dry_run=bool(reader.boolean(sync, "dryRun", sync_path)),
            sync_options=tuple(raw_options),
            resources=tuple(resources),
            strategy=strategy,
        ),
        initiated_by=InitiatedBy(
            username=reader.string(initiated, "username", initiated_path),
            automated=bool(reader.boolean(initiated, "automated", initiated_path)),
        ),
        info=_read_info(reader, operation, path),
        retry=_read_retry(reader, retry_raw, fields.child(path, "retry")) if retry_raw is not None else None,
    )
