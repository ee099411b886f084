"""AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun as frozen dataclasses.

Providers are kept generic: `MetricProviderSpec(kind="prometheus", config={...raw...})`. Each provider
module parses its own config later; this module only decides whether rollwave has such a provider at all.
Supported: prometheus, web and job. Argo's other providers (datadog, newRelic, ...) are reported as
Unsupported at `spec.metrics[i].provider.<kind>`.

Arguments are substituted into a metric as text (`{{args.name}}`), so a metric keeps its `raw` dict.
Typed fields that still hold a placeholder (`count: "{{args.count}}"`) are not validated; they take their
defaults and the metric says `has_placeholders`. Resolve the arguments in `raw`, then call `parse_metric`
again on the result.

`AnalysisRunStatus.from_dict`/`to_dict` speak Argo's wire form (camelCase, RFC 3339 timestamps), and
`from_dict(x.to_dict()) == x` holds.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
import re
from collections.abc import Collection, Mapping
from typing import Any

from rollouts.model import fields, wire

API_VERSION = "argoproj.io/v1alpha1"
SUPPORTED_PROVIDERS = frozenset({"prometheus", "web", "job"})
# Providers Argo has and rollwave does not; anything else under `provider` is an unknown field.
UNSUPPORTED_PROVIDERS = frozenset(
    {
        "kayenta",
        "datadog",
        "wavefront",
        "newRelic",
        "cloudWatch",
        "graphite",
        "influxdb",
        "skywalking",
        "plugin",
    }
)
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")


class AnalysisPhase(enum.StrEnum):
    """Phase of an AnalysisRun, a metric result or a measurement; Argo's exact wire strings."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"

    @property
    def completed(self) -> bool:
        """Whether the phase is final (Argo's `AnalysisPhase.Completed()`)."""
        return self in _COMPLETED_PHASES


_COMPLETED_PHASES = frozenset(
    {AnalysisPhase.SUCCESSFUL, AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.INCONCLUSIVE}
)


class PodTemplateHashValue(enum.StrEnum):
    """Which ReplicaSet's pod-template hash a Rollout argument takes (`valueFrom.podTemplateHashValue`)."""

    STABLE = "Stable"
    LATEST = "Latest"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SecretKeyRef:
    name: str
    key: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ArgValueFrom:
    """Where an argument's value comes from; exactly one field is set.

    Rollout arguments allow `pod_template_hash` and `field_path`; template and run arguments allow
    `secret_key_ref` and `field_path`.
    """

    pod_template_hash: PodTemplateHashValue | None = None
    field_path: str | None = None
    secret_key_ref: SecretKeyRef | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisArg:
    """`{name, value?, valueFrom?}`. In a template, an argument with neither is required from the caller."""

    name: str
    value: str | None = None
    value_from: ArgValueFrom | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DryRun:
    """`dryRun[{metricName}]`: an unanchored regular expression over metric names."""

    metric_name: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MeasurementRetention:
    """`measurementRetention[{metricName, limit}]`: keep the last `limit` measurements of matching metrics."""

    metric_name: str
    limit: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MetricProviderSpec:
    """Which provider measures a metric, with its raw config (parsed by the provider module)."""

    kind: str
    config: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric of a template or run. Defaults as Argo: `consecutiveErrorLimit` 4, other limits 0."""

    name: str
    provider: MetricProviderSpec
    interval: datetime.timedelta | None = None
    initial_delay: datetime.timedelta | None = None
    count: int | None = None
    # The count as written: an int, a numeric string, or a "{{args.count}}" placeholder not yet resolved.
    count_raw: int | str | None = None
    failure_limit: int = 0  # -1 disables the failure limit
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4
    consecutive_success_limit: int = 0
    success_condition: str | None = None
    failure_condition: str | None = None
    # rollwave extension `noDataPolicy`: what an empty result means (documented with the analysis core).
    no_data: str | None = None
    has_placeholders: bool = False
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def effective_count(self) -> int | None:
        """Argo's EffectiveCount: 1 with neither count nor interval; None (unlimited) with only an interval.

        Meaningless while `has_placeholders` (a `"{{args.count}}"` count reads as unset): resolve first.

        >>> provider = MetricProviderSpec(kind="web", config={})
        >>> Metric(name="m", provider=provider).effective_count
        1
        >>> every_5s = datetime.timedelta(seconds=5)
        >>> Metric(name="m", provider=provider, interval=every_5s).effective_count is None
        True
        """
        if not self.count:
            return 1 if self.interval is None else None
        return self.count


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisTemplateSpec:
    metrics: tuple[Metric, ...]
    args: tuple[AnalysisArg, ...] = ()
    dry_run: tuple[DryRun, ...] = ()
    measurement_retention: tuple[MeasurementRetention, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisTemplate:
    """An AnalysisTemplate, or a ClusterAnalysisTemplate when `cluster_scope` (then `namespace` is None)."""

    name: str
    namespace: str | None
    cluster_scope: bool
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: AnalysisTemplateSpec


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRunSpec:
    metrics: tuple[Metric, ...]
    args: tuple[AnalysisArg, ...] = ()
    terminate: bool = False
    dry_run: tuple[DryRun, ...] = ()
    measurement_retention: tuple[MeasurementRetention, ...] = ()


# ----------------------------------------------------------------------------------------------------
# AnalysisRun status


def _require(raw: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] is None:
        raise ValueError(f"{where}.{key} is required")
    return raw[key]


def _phase(value: object, where: str) -> AnalysisPhase:
    try:
        return AnalysisPhase(str(value))
    except ValueError:
        raise ValueError(
            f"{where} must be one of {[phase.value for phase in AnalysisPhase]} (got {value!r})"
        ) from None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """Counts of metrics per final phase (`runSummary`, `dryRunSummary`)."""

    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "runSummary") -> RunSummary:
        data = wire.mapping(raw, where)
        return cls(
            count=wire.count(data, "count", where),
            successful=wire.count(data, "successful", where),
            failed=wire.count(data, "failed", where),
            inconclusive=wire.count(data, "inconclusive", where),
            error=wire.count(data, "error", where),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "successful": self.successful,
            "failed": self.failed,
            "inconclusive": self.inconclusive,
            "error": self.error,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One measurement of one metric. `resume_at` is when a long-running provider (Job) is polled again."""

    phase: AnalysisPhase
    message: str | None = None
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    value: str | None = None
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)
    resume_at: datetime.datetime | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "measurement") -> Measurement:
        data = wire.mapping(raw, where)
        return cls(
            phase=_phase(_require(data, "phase", where), f"{where}.phase"),
            message=wire.optional_str(data, "message", where),
            started_at=wire.timestamp(data, "startedAt", where),
            finished_at=wire.timestamp(data, "finishedAt", where),
            value=wire.optional_str(data, "value", where),
            metadata=wire.string_map(data, "metadata", where),
            resume_at=wire.timestamp(data, "resumeAt", where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"phase": self.phase.value}
        if self.message is not None:
            out["message"] = self.message
        wire.put_time(out, "startedAt", self.started_at)
        wire.put_time(out, "finishedAt", self.finished_at)
        if self.value is not None:
            out["value"] = self.value
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        wire.put_time(out, "resumeAt", self.resume_at)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MetricResult:
    """Counters and recent measurements of one metric. `count` excludes errors (Argo)."""

    name: str
    phase: AnalysisPhase
    measurements: tuple[Measurement, ...] = ()
    message: str | None = None
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0
    consecutive_success: int = 0
    dry_run: bool = False
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "metricResult") -> MetricResult:
        data = wire.mapping(raw, where)
        name = _require(data, "name", where)
        if not isinstance(name, str):
            raise ValueError(f"{where}.name must be a string (got {name!r})")
        measurements = data.get("measurements")
        if measurements is None:
            measurements = []
        if not isinstance(measurements, list):
            raise ValueError(f"{where}.measurements must be a list")
        dry_run = data.get("dryRun", False)
        if not isinstance(dry_run, bool):
            raise ValueError(f"{where}.dryRun must be true or false (got {dry_run!r})")
        return cls(
            name=name,
            phase=_phase(_require(data, "phase", where), f"{where}.phase"),
            measurements=tuple(
                Measurement.from_dict(entry, where=f"{where}.measurements[{index}]")
                for index, entry in enumerate(measurements)
            ),
            message=wire.optional_str(data, "message", where),
            count=wire.count(data, "count", where),
            successful=wire.count(data, "successful", where),
            failed=wire.count(data, "failed", where),
            inconclusive=wire.count(data, "inconclusive", where),
            error=wire.count(data, "error", where),
            consecutive_error=wire.count(data, "consecutiveError", where),
            consecutive_success=wire.count(data, "consecutiveSuccess", where),
            dry_run=dry_run,
            metadata=wire.string_map(data, "metadata", where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "phase": self.phase.value}
        if self.measurements:
            out["measurements"] = [measurement.to_dict() for measurement in self.measurements]
        if self.message is not None:
            out["message"] = self.message
        out.update(
            count=self.count,
            successful=self.successful,
            failed=self.failed,
            inconclusive=self.inconclusive,
            error=self.error,
            consecutiveError=self.consecutive_error,
            consecutiveSuccess=self.consecutive_success,
        )
        if self.dry_run:
            out["dryRun"] = True
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRunStatus:
    """`status` of an AnalysisRun. `phase` is None before the first reconcile (Argo writes "" then)."""

    phase: AnalysisPhase | None = None
    message: str | None = None
    metric_results: tuple[MetricResult, ...] = ()
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    run_summary: RunSummary = RunSummary()
    dry_run_summary: RunSummary | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> AnalysisRunStatus:
        """Parse Argo's wire form; raises ValueError naming the first malformed field."""
        where = "status"
        data = wire.mapping(raw or {}, where)
        phase_raw = data.get("phase")
        results = data.get("metricResults")
        if results is None:
            results = []
        if not isinstance(results, list):
            raise ValueError(f"{where}.metricResults must be a list")
        summary = data.get("runSummary")
        dry_summary = data.get("dryRunSummary")
        return cls(
            phase=_phase(phase_raw, f"{where}.phase") if phase_raw else None,
            message=wire.optional_str(data, "message", where),
            metric_results=tuple(
                MetricResult.from_dict(entry, where=f"{where}.metricResults[{index}]")
                for index, entry in enumerate(results)
            ),
            started_at=wire.timestamp(data, "startedAt", where),
            completed_at=wire.timestamp(data, "completedAt", where),
            run_summary=(
                RunSummary.from_dict(summary, where=f"{where}.runSummary")
                if summary is not None
                else RunSummary()
            ),
            dry_run_summary=(
                RunSummary.from_dict(dry_summary, where=f"{where}.dryRunSummary")
                if dry_summary is not None
                else None
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.phase is not None:
            out["phase"] = self.phase.value
        if self.message is not None:
            out["message"] = self.message
        if self.metric_results:
            out["metricResults"] = [result.to_dict() for result in self.metric_results]
        wire.put_time(out, "startedAt", self.started_at)
        wire.put_time(out, "completedAt", self.completed_at)
        out["runSummary"] = self.run_summary.to_dict()
        if self.dry_run_summary is not None:
            out["dryRunSummary"] = self.dry_run_summary.to_dict()
        return out

    def metric_result(self, name: str) -> MetricResult | None:
        """The result of the metric called `name`, if it has one yet."""
        return next((result for result in self.metric_results if result.name == name), None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRun:
    """An AnalysisRun. `name` is "" for a manifest that only has `generateName`."""

    name: str
    generate_name: str | None
    namespace: str | None
    uid: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: AnalysisRunSpec
    status: AnalysisRunStatus


# ----------------------------------------------------------------------------------------------------
# Parsing helpers shared with rollout.py


def has_placeholders(raw: object) -> bool:
    """Whether any string inside `raw` holds a `{{...}}` placeholder.

    >>> has_placeholders({"count": "{{args.count}}"})
    True
    >>> has_placeholders({"count": 3, "provider": {"web": {"url": "https://x"}}})
    False
    """
    if isinstance(raw, str):
        return _PLACEHOLDER.search(raw) is not None
    if isinstance(raw, Mapping):
        return any(has_placeholders(value) for value in raw.values())
    if isinstance(raw, list | tuple):
        return any(has_placeholders(value) for value in raw)
    return False


def read_arguments(
    reader: fields.FieldReader,
    container: Mapping[str, Any],
    path: str,
    *,
    value_sources: Collection[str],
) -> tuple[AnalysisArg, ...]:
    """Read `args[]`; `value_sources` are the `valueFrom` keys allowed here (Rollouts differ)."""
    args_path = fields.child(path, "args")
    result: list[AnalysisArg] = []
    seen: set[str] = set()
    for index, raw in enumerate(reader.sequence(container, "args", path)):
        arg_path = fields.item(args_path, index)
        entry = reader.mapping_value(raw, arg_path)
        if entry is None:
            if raw is None:
                reader.invalid(arg_path, "must be an object")
            continue
        reader.check_keys(entry, arg_path, known=("name", "value", "valueFrom"))
        name = reader.string(entry, "name", arg_path)
        if not name:
            reader.invalid(fields.child(arg_path, "name"), "is required")
            name = ""
        elif name in seen:
            reader.invalid(fields.child(arg_path, "name"), f"duplicate argument name {name!r}")
        seen.add(name)
        value = reader.string(entry, "value", arg_path)
        value_from = _read_value_from(reader, entry, arg_path, value_sources=value_sources)
        if value is not None and value_from is not None:
            reader.invalid(arg_path, "set only one of value and valueFrom")
        result.append(AnalysisArg(name=name, value=value, value_from=value_from))
    return tuple(result)


def _read_value_from(
    reader: fields.FieldReader, entry: Mapping[str, Any], path: str, *, value_sources: Collection[str]
) -> ArgValueFrom | None:
    raw = reader.mapping(entry, "valueFrom", path)
    if raw is None:
        return None
    path = fields.child(path, "valueFrom")
    reader.check_keys(raw, path, known=value_sources)
    present = [key for key in raw if key in value_sources]
    # An unknown source alone was reported above already; saying "set one" as well would be noise.
    if len(present) > 1 or not raw:
        reader.invalid(path, f"must set exactly one of {', '.join(sorted(value_sources))}")
    pod_template_hash: PodTemplateHashValue | None = None
    field_path: str | None = None
    secret_key_ref: SecretKeyRef | None = None
    if "podTemplateHashValue" in value_sources and "podTemplateHashValue" in raw:
        text = reader.string(raw, "podTemplateHashValue", path)
        try:
            pod_template_hash = PodTemplateHashValue(text or "")
        except ValueError:
            if text is not None:
                reader.invalid(
                    fields.child(path, "podTemplateHashValue"), f"must be Stable or Latest (got {text!r})"
                )
    if "fieldRef" in value_sources and "fieldRef" in raw:
        ref_path = fields.child(path, "fieldRef")
        ref = reader.mapping(raw, "fieldRef", path)
        if ref is not None:
            reader.check_keys(ref, ref_path, known=("fieldPath",))
            field_path = reader.string(ref, "fieldPath", ref_path)
        if not field_path:
            reader.invalid(fields.child(ref_path, "fieldPath"), "is required")
    if "secretKeyRef" in value_sources and "secretKeyRef" in raw:
        ref_path = fields.child(path, "secretKeyRef")
        ref = reader.mapping(raw, "secretKeyRef", path)
        if ref is not None:
            reader.check_keys(ref, ref_path, known=("name", "key"))
            secret_name = reader.string(ref, "name", ref_path)
            secret_key = reader.string(ref, "key", ref_path)
            for key, value in (("name", secret_name), ("key", secret_key)):
                if not value:
                    reader.invalid(fields.child(ref_path, key), "is required")
            secret_key_ref = SecretKeyRef(name=secret_name or "", key=secret_key or "")
    if pod_template_hash is None and field_path is None and secret_key_ref is None:
        return None
    return ArgValueFrom(
        pod_template_hash=pod_template_hash, field_path=field_path, secret_key_ref=secret_key_ref
    )


def read_dry_run(reader: fields.FieldReader, container: Mapping[str, Any], path: str) -> tuple[DryRun, ...]:
    """Read `dryRun[{metricName}]`; each metricName must be a valid regular expression."""
    list_path = fields.child(path, "dryRun")
    result: list[DryRun] = []
    for index, raw in enumerate(reader.sequence(container, "dryRun", path)):
        entry_path = fields.item(list_path, index)
        entry = reader.mapping_value(raw, entry_path)
        if entry is None:
            continue
        reader.check_keys(entry, entry_path, known=("metricName",))
        metric_name = _metric_name_pattern(reader, entry, entry_path)
        if metric_name is not None:
            result.append(DryRun(metric_name=metric_name))
    return tuple(result)


def read_measurement_retention(
    reader: fields.FieldReader, container: Mapping[str, Any], path: str
) -> tuple[MeasurementRetention, ...]:
    """Read `measurementRetention[{metricName, limit}]`."""
    list_path = fields.child(path, "measurementRetention")
    result: list[MeasurementRetention] = []
    for index, raw in enumerate(reader.sequence(container, "measurementRetention", path)):
        entry_path = fields.item(list_path, index)
        entry = reader.mapping_value(raw, entry_path)
        if entry is None:
            continue
        reader.check_keys(entry, entry_path, known=("metricName", "limit"))
        metric_name = _metric_name_pattern(reader, entry, entry_path)
        limit = reader.integer(entry, "limit", entry_path, minimum=0)
        if "limit" not in entry:
            reader.invalid(fields.child(entry_path, "limit"), "is required")
        if metric_name is not None and limit is not None:
            result.append(MeasurementRetention(metric_name=metric_name, limit=limit))
    return tuple(result)


def _metric_name_pattern(reader: fields.FieldReader, entry: Mapping[str, Any], path: str) -> str | None:
    metric_name = reader.string(entry, "metricName", path)
    if not metric_name:
        reader.invalid(fields.child(path, "metricName"), "is required")
        return None
    try:
        re.compile(metric_name)
    except re.error as err:
        reader.invalid(fields.child(path, "metricName"), f"is not a valid regular expression: {err}")
        return None
    return metric_name


# ----------------------------------------------------------------------------------------------------
# Metrics

_METRIC_KEYS = (
    "name",
    "interval",
    "initialDelay",
    "count",
    "successCondition",
    "failureCondition",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "consecutiveSuccessLimit",
    "provider",
    "noDataPolicy",
)


def _is_placeholder(raw: object) -> bool:
    return isinstance(raw, str) and _PLACEHOLDER.search(raw) is not None


def _int_or_numeric_string(
    reader: fields.FieldReader, container: Mapping[str, Any], key: str, path: str, *, minimum: int
) -> int | None:
    """An Argo `IntOrString` count or limit: an int, or a string holding one after argument substitution."""
    raw = container.get(key)
    if raw is None or _is_placeholder(raw):
        return None
    if isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            reader.invalid(fields.child(path, key), f"must be an integer (got {raw!r})")
            return None
    return reader.integer_value(raw, fields.child(path, key), minimum=minimum)


def _go_duration(
    reader: fields.FieldReader, container: Mapping[str, Any], key: str, path: str
) -> datetime.timedelta | None:
    raw = container.get(key)
    if raw is None or raw == "" or _is_placeholder(raw):
        return None
    try:
        return fields.parse_go_duration(raw)
    except ValueError as err:
        reader.invalid(fields.child(path, key), str(err))
        return None


def _read_provider(reader: fields.FieldReader, metric: Mapping[str, Any], path: str) -> MetricProviderSpec:
    provider_path = fields.child(path, "provider")
    raw = reader.mapping(metric, "provider", path)
    if raw is None:
        if "provider" not in metric:
            reader.invalid(provider_path, "is required")
        return MetricProviderSpec(kind="", config={})
    configured = [key for key in raw if raw[key] is not None]
    reader.check_keys(raw, provider_path, known=SUPPORTED_PROVIDERS, unsupported=UNSUPPORTED_PROVIDERS)
    if not configured:
        reader.invalid(provider_path, f"must set one provider ({', '.join(sorted(SUPPORTED_PROVIDERS))})")
        return MetricProviderSpec(kind="", config={})
    if len(configured) > 1:
        reader.invalid(provider_path, f"must set exactly one provider (got {', '.join(configured)})")
    kind = configured[0]
    config = reader.mapping(raw, kind, provider_path)
    return MetricProviderSpec(kind=kind, config=copy.deepcopy(dict(config or {})))


def _read_metric(reader: fields.FieldReader, raw: Mapping[str, Any], path: str) -> Metric:
    reader.check_keys(raw, path, known=_METRIC_KEYS)
    name = reader.string(raw, "name", path)
    if not name:
        reader.invalid(fields.child(path, "name"), "is required")
    provider = _read_provider(reader, raw, path)
    interval = _go_duration(reader, raw, "interval", path)
    initial_delay = _go_duration(reader, raw, "initialDelay", path)
    count = _int_or_numeric_string(reader, raw, "count", path, minimum=0)
    failure_limit = _int_or_numeric_string(reader, raw, "failureLimit", path, minimum=-1)
    inconclusive_limit = _int_or_numeric_string(reader, raw, "inconclusiveLimit", path, minimum=0)
    consecutive_error_limit = _int_or_numeric_string(reader, raw, "consecutiveErrorLimit", path, minimum=0)
    consecutive_success_limit = _int_or_numeric_string(
        reader, raw, "consecutiveSuccessLimit", path, minimum=0
    )
    # Argo's ValidateMetric rules, checked only on values already known (not on placeholders).
    if count is not None and count > 0:
        if failure_limit is not None and count < failure_limit:
            reader.invalid(
                fields.child(path, "count"), f"must be >= failureLimit ({failure_limit}) (got {count})"
            )
        if inconclusive_limit is not None and count < inconclusive_limit:
            reader.invalid(
                fields.child(path, "count"),
                f"must be >= inconclusiveLimit ({inconclusive_limit}) (got {count})",
            )
    if count is not None and count > 1 and raw.get("interval") in (None, ""):
        reader.invalid(fields.child(path, "interval"), "is required when count > 1")
    count_raw = raw.get("count")
    return Metric(
        name=name or "",
        provider=provider,
        interval=interval,
        initial_delay=initial_delay,
        count=count,
        count_raw=count_raw if isinstance(count_raw, int | str) and not isinstance(count_raw, bool) else None,
        failure_limit=0 if failure_limit is None else failure_limit,
        inconclusive_limit=0 if inconclusive_limit is None else inconclusive_limit,
        consecutive_error_limit=4 if consecutive_error_limit is None else consecutive_error_limit,
        consecutive_success_limit=0 if consecutive_success_limit is None else consecutive_success_limit,
        success_condition=reader.string(raw, "successCondition", path) or None,
        failure_condition=reader.string(raw, "failureCondition", path) or None,
        no_data=reader.string(raw, "noDataPolicy", path),
        has_placeholders=has_placeholders(raw),
        raw=copy.deepcopy(dict(raw)),
    )


def parse_metric(raw: Mapping[str, Any], *, path: str = "metric") -> fields.Parsed[Metric]:
    """Parse one metric, e.g. again after its `{{args.*}}` placeholders were resolved in `Metric.raw`.

    >>> raw = {"name": "m", "count": "3", "interval": "5s", "provider": {"web": {"url": "u"}}}
    >>> parsed = parse_metric(raw)
    >>> parsed.value.count, parsed.issues
    (3, ())
    """
    reader = fields.FieldReader()
    metric = reader.mapping_value(raw, path)
    if metric is None:
        return fields.Parsed(value=None, issues=reader.issues or _not_an_object(path))
    return fields.Parsed(value=_read_metric(reader, metric, path), issues=reader.issues)


def read_metrics(reader: fields.FieldReader, spec: Mapping[str, Any], path: str) -> tuple[Metric, ...]:
    """Read `metrics[]`: at least one, with unique names."""
    metrics_path = fields.child(path, "metrics")
    raw_metrics = reader.sequence(spec, "metrics", path)
    if not raw_metrics:
        reader.invalid(metrics_path, "at least one metric is required")
    result: list[Metric] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_metrics):
        metric_path = fields.item(metrics_path, index)
        entry = reader.mapping_value(raw, metric_path)
        if entry is None:
            if raw is None:
                reader.invalid(metric_path, "must be an object")
            continue
        metric = _read_metric(reader, entry, metric_path)
        if metric.name and metric.name in seen:
            reader.invalid(fields.child(metric_path, "name"), f"duplicate metric name {metric.name!r}")
        seen.add(metric.name)
        result.append(metric)
    return tuple(result)


def _not_an_object(path: str) -> tuple[fields.FieldIssue, ...]:
    return (fields.FieldIssue(path=path or "", message="must be an object", kind=fields.IssueKind.INVALID),)


# ----------------------------------------------------------------------------------------------------
# Whole objects

_TOP_LEVEL_KEYS = ("apiVersion", "kind", "metadata", "spec", "status")
_TEMPLATE_SPEC_KEYS = ("metrics", "args", "dryRun", "measurementRetention")
_RUN_SPEC_KEYS = ("metrics", "args", "terminate", "dryRun", "measurementRetention")
_TEMPLATE_ARG_SOURCES = ("secretKeyRef", "fieldRef")


def _check_kind(reader: fields.FieldReader, obj: Mapping[str, Any], expected: Collection[str]) -> None:
    kind = obj.get("kind")
    if kind is not None and kind not in expected:
        reader.invalid("kind", f"must be {' or '.join(expected)} (got {kind!r})")
    api_version = obj.get("apiVersion")
    if api_version is not None and api_version != API_VERSION:
        reader.invalid("apiVersion", f"must be {API_VERSION} (got {api_version!r})")


def parse_analysis_template(obj: Mapping[str, Any]) -> fields.Parsed[AnalysisTemplate]:
    """Parse an AnalysisTemplate or a ClusterAnalysisTemplate (told apart by `kind`).

    Nested `spec.templates` (templates composed of templates) are reported as unsupported.
    """
    reader = fields.FieldReader()
    _check_kind(reader, obj, ("AnalysisTemplate", "ClusterAnalysisTemplate"))
    reader.check_keys(obj, "", known=_TOP_LEVEL_KEYS)
    metadata = fields.read_metadata(reader, obj)
    cluster_scope = obj.get("kind") == "ClusterAnalysisTemplate"
    spec = reader.mapping(obj, "spec", "")
    if spec is None:
        if "spec" not in obj:
            reader.invalid("spec", "is required")
        return fields.Parsed(value=None, issues=reader.issues)
    reader.check_keys(spec, "spec", known=_TEMPLATE_SPEC_KEYS, unsupported=("templates",))
    template_spec = AnalysisTemplateSpec(
        metrics=read_metrics(reader, spec, "spec"),
        args=read_arguments(reader, spec, "spec", value_sources=_TEMPLATE_ARG_SOURCES),
        dry_run=read_dry_run(reader, spec, "spec"),
        measurement_retention=read_measurement_retention(reader, spec, "spec"),
    )
    template = AnalysisTemplate(
        name=metadata.name,
        namespace=None if cluster_scope else metadata.namespace,
        cluster_scope=cluster_scope,
        labels=metadata.labels,
        annotations=metadata.annotations,
        spec=template_spec,
    )
    return fields.Parsed(value=template, issues=reader.issues)


def parse_analysis_run(obj: Mapping[str, Any]) -> fields.Parsed[AnalysisRun]:
    """Parse an AnalysisRun, spec and status. `spec.ttlStrategy` is reported as unsupported.

    A malformed status (which only a controller writes) is reported as INVALID under `status`.
    """
    reader = fields.FieldReader()
    _check_kind(reader, obj, ("AnalysisRun",))
    reader.check_keys(obj, "", known=_TOP_LEVEL_KEYS)
    metadata = fields.read_metadata(reader, obj, allow_generate_name=True)
    spec = reader.mapping(obj, "spec", "")
    if spec is None:
        if "spec" not in obj:
            reader.invalid("spec", "is required")
        return fields.Parsed(value=None, issues=reader.issues)
    reader.check_keys(spec, "spec", known=_RUN_SPEC_KEYS, unsupported=("ttlStrategy",))
    run_spec = AnalysisRunSpec(
        metrics=read_metrics(reader, spec, "spec"),
        args=read_arguments(reader, spec, "spec", value_sources=_TEMPLATE_ARG_SOURCES),
        terminate=bool(reader.boolean(spec, "terminate", "spec")),
        dry_run=read_dry_run(reader, spec, "spec"),
        measurement_retention=read_measurement_retention(reader, spec, "spec"),
    )
    try:
        status = AnalysisRunStatus.from_dict(obj.get("status"))
    except ValueError as err:
        reader.invalid("status", str(err))
        status = AnalysisRunStatus()
    run = AnalysisRun(
        name=metadata.name,
        generate_name=metadata.generate_name,
        namespace=metadata.namespace,
        uid=metadata.uid,
        labels=metadata.labels,
        annotations=metadata.annotations,
        spec=run_spec,
        status=status,
    )
    return fields.Parsed(value=run, issues=reader.issues)
