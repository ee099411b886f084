"""A canary Rollout's AnalysisRuns: which run decides a step, what a new run looks like, which runs to stop.

Pure functions over plain data. The orchestrator passes every AnalysisRun the Rollout owns (as
`AnalysisRunView`) and the raw templates a run is made from; it applies the effects the canary decides.

Which run counts (Argo's labels, rollwave's bookkeeping):
- A run belongs to a step or to the background analysis by its labels: `rollout-type` (Step|Background),
  `step-index`, and `rollouts-pod-template-hash`.
- The run recorded in `status.canary.current{Step,Background}AnalysisRunStatus` is the current one. With no
  record, a matching run that is still going (not completed, not terminated) is adopted: that is a run created
  by a pass whose status write did not land. A completed run is never adopted, so after an abort and a retry
  the failed run is not read again: a new run is created, named with Argo's `.1`, `.2` suffixes.
- A run is trusted only as rollwave created it: its spec hash is stamped in an annotation when it is created,
  and a run whose spec was changed since, or whose Successful phase is not backed by Successful metric
  results, cannot promote anything (`AnalysisRunView.distrust`).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from rollouts.model import analysis as analysis_model
from rollouts.model import fields, workloads
from rollouts.model import rollout as model

TYPE_LABEL = "rollout-type"
STEP_INDEX_LABEL = "step-index"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
SPEC_HASH_ANNOTATION = "rollwave.dev/analysis-spec-hash"
ARGO = "argoproj.io/v1alpha1"


class RunType(enum.StrEnum):
    STEP = "Step"
    BACKGROUND = "Background"


class RunBuildError(ValueError):
    """A run cannot be made from the Rollout and its templates; `path` is the Rollout field to fix."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    def issue(self) -> fields.FieldIssue:
        return fields.FieldIssue(path=self.path, message=self.message, kind=fields.IssueKind.INVALID)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MetricOutcome:
    name: str
    phase: str
    last_value: str | None = None
    dry_run: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRunView:
    """An AnalysisRun as the canary needs to see it."""

    name: str
    run_type: RunType | None
    step_index: int | None
    pod_template_hash: str | None
    phase: str  # Argo's phase strings; "Pending" before the run's first reconcile
    created: datetime.datetime
    message: str = ""
    terminating: bool = False  # spec.terminate
    metrics: tuple[MetricOutcome, ...] = ()
    distrust: str | None = None  # why the run's result cannot be used, when it cannot

    @property
    def completed(self) -> bool:
        return self.phase in ("Successful", "Failed", "Error", "Inconclusive")

    @property
    def successful(self) -> bool:
        return self.phase == "Successful"

    def failing_metric(self) -> MetricOutcome | None:
        """The metric that decided an unsuccessful run: the first non-dry-run metric in the run's phase."""
        counted = [m for m in self.metrics if not m.dry_run]
        return next((m for m in counted if m.phase == self.phase), None) or next(
            (m for m in counted if m.phase in ("Failed", "Error", "Inconclusive")), None
        )

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> AnalysisRunView:
        meta = body.get("metadata") or {}
        labels = meta.get("labels") or {}
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        try:
            run_type: RunType | None = RunType(labels.get(TYPE_LABEL, ""))
        except ValueError:
            run_type = None
        index_text = labels.get(STEP_INDEX_LABEL)
        metrics = tuple(
            _metric_outcome(raw) for raw in status.get("metricResults") or [] if isinstance(raw, dict)
        )
        phase = status.get("phase") or "Pending"
        return cls(
            name=meta.get("name", ""),
            run_type=run_type,
            step_index=int(index_text) if isinstance(index_text, str) and index_text.isdigit() else None,
            pod_template_hash=labels.get(workloads.POD_TEMPLATE_HASH_LABEL),
            phase=phase,
            created=_timestamp(meta.get("creationTimestamp")),
            message=status.get("message") or "",
            terminating=bool(spec.get("terminate")),
            metrics=metrics,
            distrust=_distrust(body, phase=phase, metrics=metrics),
        )


def _metric_outcome(raw: Mapping[str, Any]) -> MetricOutcome:
    measurements = [m for m in raw.get("measurements") or [] if isinstance(m, dict)]
    last = measurements[-1] if measurements else {}
    value = last.get("value")
    return MetricOutcome(
        name=str(raw.get("name", "")),
        phase=str(raw.get("phase", "")),
        last_value=None if value is None else str(value),
        dry_run=bool(raw.get("dryRun")),
    )


def _timestamp(text: object) -> datetime.datetime:
    if isinstance(text, str) and text:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _distrust(body: Mapping[str, Any], *, phase: str, metrics: Sequence[MetricOutcome]) -> str | None:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    stamped = annotations.get(SPEC_HASH_ANNOTATION)
    if stamped is None:
        return None  # not made by rollwave from a Rollout: nothing to compare with
    if stamped != spec_hash(body.get("spec") or {}):
        return "its spec was changed after rollwave created it"
    if phase == "Successful" and not (body.get("spec") or {}).get("terminate"):
        names = [m.get("name") for m in (body.get("spec") or {}).get("metrics") or [] if isinstance(m, dict)]
        outcomes = {m.name: m for m in metrics}
        unbacked = [
            n
            for n in names
            if n not in outcomes or (outcomes[n].phase != "Successful" and not outcomes[n].dry_run)
        ]
        if unbacked:
            return f"its phase is Successful but metric {unbacked[0]!r} has no Successful result"
    return None


def spec_hash(spec: Mapping[str, Any]) -> str:
    """A hash of what a run measures; `terminate` is left out, as rollwave sets it on runs it stops."""
    measured = {key: value for key, value in spec.items() if key != "terminate"}
    text = json.dumps(measured, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# ---------------------------------------------------------------------------------------------------------------
# Which run is current


def current_run(
    runs: Iterable[AnalysisRunView],
    *,
    run_type: RunType,
    pod_template_hash: str,
    step_index: int | None,
    recorded: str | None,
) -> AnalysisRunView | None:
    matching = [
        run
        for run in runs
        if run.run_type == run_type
        and run.pod_template_hash == pod_template_hash
        and (run_type == RunType.BACKGROUND or run.step_index == step_index)
    ]
    if recorded is not None:
        named = next((run for run in matching if run.name == recorded), None)
        if named is not None:
            return named
    going = [run for run in matching if not run.completed and not run.terminating]
    return max(going, key=lambda run: (run.created, run.name), default=None)


def run_name(
    *, rollout: str, pod_template_hash: str, revision: int, step_index: int | None, taken: Collection[str]
) -> str:
    """`<rollout>-<hash>-<revision>[-<step>]`, then `.1`, `.2`... while the name is taken (Argo's scheme)."""
    base = f"{rollout}-{pod_template_hash}-{revision}" + (f"-{step_index}" if step_index is not None else "")
    name, suffix = base, 0
    while name in taken:
        suffix += 1
        name = f"{base}.{suffix}"
    return name


def runs_to_delete(
    runs: Iterable[AnalysisRunView], *, keep: Collection[str], successful_limit: int, unsuccessful_limit: int
) -> list[str]:
    """Completed runs beyond the history limits, oldest first; runs in `keep` are never deleted."""
    completed = sorted(
        (run for run in runs if run.completed and run.name not in keep),
        key=lambda run: (run.created, run.name),
        reverse=True,
    )
    successful = [run for run in completed if run.successful]
    unsuccessful = [run for run in completed if not run.successful]
    beyond = [*successful[successful_limit:], *unsuccessful[unsuccessful_limit:]]
    return [run.name for run in sorted(beyond, key=lambda run: (run.created, run.name))]


# ---------------------------------------------------------------------------------------------------------------
# What a Rollout references


def referenced_analyses(strategy: model.CanaryStrategy) -> list[tuple[str, model.RolloutAnalysis]]:
    """(field path, analysis) for each analysis step and the background analysis."""
    found: list[tuple[str, model.RolloutAnalysis]] = []
    for index, step in enumerate(strategy.steps):
        if isinstance(step, model.AnalysisStep):
            found.append((f"spec.strategy.canary.steps[{index}].analysis", step.analysis))
    if strategy.analysis is not None:
        found.append(("spec.strategy.canary.analysis", strategy.analysis))
    return found


# ---------------------------------------------------------------------------------------------------------------
# Building a run


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """Everything about a new run that the canary decides; templates come from the cluster."""

    name: str
    run_type: RunType
    step_index: int | None
    analysis: model.RolloutAnalysis
    analysis_path: str  # where the analysis is in the Rollout, for messages
    pod_template_hash: str
    stable_pod_template_hash: str | None
    revision: int


def build_run(
    request: RunRequest,
    *,
    rollout: Mapping[str, Any],
    templates: Mapping[model.TemplateRef, Mapping[str, Any] | None],
) -> dict[str, Any]:
    """The AnalysisRun object for `request`: templates merged, the Rollout's args resolved, owned by the Rollout.

    Raises RunBuildError naming the Rollout field when a template is missing, two templates define the same
    metric, or an argument cannot be resolved.
    """
    path = request.analysis_path
    metrics: list[dict[str, Any]] = []
    template_args: list[dict[str, Any]] = []
    dry_run: list[Any] = []
    retention: list[Any] = []
    for index, ref in enumerate(request.analysis.templates):
        ref_path = f"{path}.templates[{index}].templateName"
        template = templates.get(ref)
        if template is None:
            kind = "ClusterAnalysisTemplate" if ref.cluster_scope else "AnalysisTemplate"
            where = (
                ""
                if ref.cluster_scope
                else f' in namespace "{(rollout.get("metadata") or {}).get("namespace", "")}"'
            )
            raise RunBuildError(ref_path, f'{kind} "{ref.name}" not found{where}')
        spec = template.get("spec") or {}
        if spec.get("templates"):
            raise RunBuildError(
                ref_path, f'template "{ref.name}" nests other templates, which rollwave does not support'
            )
        for metric in spec.get("metrics") or []:
            if any(m.get("name") == metric.get("name") for m in metrics):
                raise RunBuildError(
                    ref_path, f'metric "{metric.get("name")}" is defined by more than one template'
                )
            metrics.append(dict(metric))
        for arg in spec.get("args") or []:
            same = next((a for a in template_args if a.get("name") == arg.get("name")), None)
            if same is None:
                template_args.append(dict(arg))
            elif same != arg:
                raise RunBuildError(
                    ref_path, f'argument "{arg.get("name")}" is declared differently by two templates'
                )
        dry_run.extend(spec.get("dryRun") or [])
        retention.extend(spec.get("measurementRetention") or [])
    args = _merged_args(template_args, request, rollout=rollout)
    dry_run.extend({"metricName": d.metric_name} for d in request.analysis.dry_run)
    retention.extend(
        {"metricName": r.metric_name, "limit": r.limit} for r in request.analysis.measurement_retention
    )
    run_spec: dict[str, Any] = {"metrics": metrics}
    if args:
        run_spec["args"] = args
    if dry_run:
        run_spec["dryRun"] = dry_run
    if retention:
        run_spec["measurementRetention"] = retention
    meta = rollout.get("metadata") or {}
    selector_labels = ((rollout.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = {
        **selector_labels,
        **request.analysis.analysis_run_metadata.labels,
        workloads.POD_TEMPLATE_HASH_LABEL: request.pod_template_hash,
        TYPE_LABEL: request.run_type.value,
    }
    if request.step_index is not None:
        labels[STEP_INDEX_LABEL] = str(request.step_index)
    annotations = {
        **request.analysis.analysis_run_metadata.annotations,
        REVISION_ANNOTATION: str(request.revision),
        SPEC_HASH_ANNOTATION: spec_hash(run_spec),
    }
    return {
        "apiVersion": ARGO,
        "kind": "AnalysisRun",
        "metadata": {
            "name": request.name,
            "namespace": meta.get("namespace"),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": ARGO,
                    "kind": "Rollout",
                    "name": meta.get("name"),
                    "uid": meta.get("uid"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": run_spec,
    }


def _merged_args(
    template_args: Sequence[Mapping[str, Any]], request: RunRequest, *, rollout: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Template args, each overridden by the Rollout arg of the same name (Argo's MergeArgs).

    A secretKeyRef stays a reference (the run reads it when it measures); an arg left without a value is an error.
    """
    given = {arg.name: (index, arg) for index, arg in enumerate(request.analysis.args)}
    merged: list[dict[str, Any]] = []
    for arg in template_args:
        name = str(arg.get("name", ""))
        if name in given:
            index, rollout_arg = given[name]
            value = _rollout_arg_value(
                rollout_arg, request, rollout=rollout, path=f"{request.analysis_path}.args[{index}]"
            )
            merged.append({"name": name, "value": value})
        elif arg.get("value") is not None or arg.get("valueFrom") is not None:
            merged.append(dict(arg))
        else:
            raise RunBuildError(
                f"{request.analysis_path}.args",
                f'argument "{name}" was not supplied (the template declares it without a default)',
            )
    return merged


def _rollout_arg_value(
    arg: analysis_model.AnalysisArg, request: RunRequest, *, rollout: Mapping[str, Any], path: str
) -> str:
    if arg.value is not None:
        return arg.value
    source = arg.value_from
    if source is not None and source.pod_template_hash is not None:
        if source.pod_template_hash == analysis_model.PodTemplateHashValue.LATEST:
            return request.pod_template_hash
        return request.stable_pod_template_hash or request.pod_template_hash
    if source is not None and source.field_path is not None:
        found = field_value(rollout, source.field_path)
        if found is None:
            raise RunBuildError(
                f"{path}.valueFrom.fieldRef.fieldPath", f'"{source.field_path}" is not set on the Rollout'
            )
        return found
    return ""


_PATH_PART = re.compile(r"""([^.\[\]]+)|\[\s*['"]?([^'"\]]+)['"]?\s*\]""")


def field_value(obj: Mapping[str, Any], path: str) -> str | None:
    """A field of `obj` by a downward-API style path (`metadata.labels['env']`, `spec.template.metadata.name`).

    >>> field_value({"metadata": {"labels": {"app.kubernetes.io/name": "web"}}}, "metadata.labels['app.kubernetes.io/name']")
    'web'
    >>> field_value({"spec": {"replicas": 3}}, "spec.replicas")
    '3'
    """
    current: Any = obj
    for match in _PATH_PART.finditer(path):
        key = match.group(1) or match.group(2)
        if isinstance(current, Mapping):
            current = current.get(key)
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return None
        if current is None:
            return None
    if isinstance(current, str):
        return current
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, int | float):
        return str(current)
    return json.dumps(current, sort_keys=True)


def check_references(
    strategy: model.CanaryStrategy,
    *,
    rollout: Mapping[str, Any],
    templates: Mapping[model.TemplateRef, Mapping[str, Any] | None],
) -> tuple[fields.FieldIssue, ...]:
    """Problems that would stop a run being made, found before any is needed (Argo's InvalidSpec on a missing
    template): each analysis is built once with stand-in hashes."""
    issues: list[fields.FieldIssue] = []
    for path, rollout_analysis in referenced_analyses(strategy):
        request = RunRequest(
            name="check",
            run_type=RunType.STEP,
            step_index=0,
            analysis=rollout_analysis,
            analysis_path=path,
            pod_template_hash="latest",
            stable_pod_template_hash="stable",
            revision=1,
        )
        try:
            build_run(request, rollout=rollout, templates=templates)
        except RunBuildError as err:
            issues.append(err.issue())
    return tuple(issues)
