"""Reconcile one AnalysisRun: resolve its arguments, take the due measurements, assess, write status once.

One pass, in Argo's order (the decisions themselves are `core.analysis`):

1. A completed run is left alone (`ttlStrategy` is reported as unsupported by the model, not acted on).
2. Arguments are resolved: `valueFrom.secretKeyRef` is read from the run's namespace, values are substituted
   into every metric. An argument without a value ends the run in Error ("Unable to resolve metric arguments:
   ..."), and so does a spec that is invalid after substitution ("Analysis spec invalid: ..."). Secret values are
   masked (`*****`) in every message and measurement.
3. A terminating run (`spec.terminate`, or a metric that Failed, Errored or was Inconclusive) takes no new
   measurements, and its in-flight long-running measurements (Jobs) are terminated.
4. Due metrics are measured concurrently: a new measurement, or the in-flight one resumed. Whatever goes wrong in
   a provider becomes an Error measurement, so `consecutiveErrorLimit` can count it.
5. The run is assessed and the whole status is written as one merge patch on the main resource (an AnalysisRun
   has no status subresource). Events follow a successful write: `Metric<Phase>` when a metric completes,
   `AnalysisRun<Phase>` when the run's phase changes.

State lives only in the status. A restarted controller continues from the recorded measurements, and a pending
Job measurement is resumed by the Job name it recorded. A measurement taken but not yet written when the
controller died is simply taken again: its Job has a name derived from the recorded counters, so the Job
provider finds its own Job instead of creating a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

from rollouts.core import analysis, decisions, templating
from rollouts.kube import cache as kube_cache
from rollouts.kube import custom, secrets
from rollouts.kube import errors as kube_errors
from rollouts.model import analysis as model
from rollouts.model import fields
from rollouts.model.analysis import AnalysisPhase
from rollouts.observability import metrics
from rollouts.providers import base, prometheus, registry
from rollouts.reconcile import runtime as reconcile_runtime

logger = logging.getLogger("rollwave.analysisrun")

PLURAL: Final = "analysisruns"
# A run is never woken more often than this, even when a metric is already overdue.
MIN_REQUEUE_SECONDS: Final = 0.5
# After a failed status write or an API server that could not be asked for a Secret.
RETRY_SECONDS: Final = 5.0
UNRESOLVED_ARGUMENTS: Final = "Unable to resolve metric arguments"
INVALID_SPEC: Final = "Analysis spec invalid"
_WARNING_PHASES: Final = frozenset({AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.INCONCLUSIVE})


class RunSpecError(Exception):
    """The run cannot be measured at all; `message` becomes its status message, with phase Error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedRun:
    """The run's metrics with their arguments substituted, and the rules that apply to them."""

    metrics: tuple[model.Metric, ...]
    dry_run_names: frozenset[str] = frozenset()
    retention: Mapping[str, int] = dataclasses.field(default_factory=dict)
    secrets: frozenset[str] = frozenset()


# ----------------------------------------------------------------------------------------------------
# The reconcile


async def reconcile(key: kube_cache.ObjectKey, runtime: reconcile_runtime.Runtime) -> float | None:
    """One pass over the AnalysisRun `key`; returns the seconds until it should run again, or None."""
    body = runtime.cache.get(PLURAL, key)
    if body is None:
        _forget_metrics(key)
        return None
    now = _clock()
    parsed = model.parse_analysis_run(body)
    run = parsed.value
    if run is not None and run.status.phase is not None and run.status.phase.completed:
        _export_metrics(key, run.status.phase)
        return None
    old = run.status if run is not None else model.AnalysisRunStatus()
    try:
        problem = spec_problem(parsed)
        if problem is not None:
            raise RunSpecError(problem)
        assert run is not None  # spec_problem reports a run that could not be built
        secret_values = await _read_secrets(run, runtime=runtime)
        resolved = resolve_run(run, secret_values=secret_values)
    except RunSpecError as err:
        logger.info("analysis run %s/%s: %s", *key, err.message)
        status = errored_status(old, message=err.message, now=now)
        if not await _write_status(body, status, runtime=runtime):
            return RETRY_SECONDS
        await _record_events(body, phase_events(old, status), runtime=runtime)
        _export_metrics(key, status.phase)
        return None
    except kube_errors.KubeError as err:
        # The API server could not be asked; a Secret that does not exist is a RunSpecError instead.
        logger.warning("analysis run %s/%s: could not read its secrets: %s", *key, err.message)
        return RETRY_SECONDS

    started_at = old.started_at or now
    results = {result.name: result for result in old.metric_results}
    terminating = analysis.is_terminating(
        run.spec.terminate, results.values(), dry_run_names=resolved.dry_run_names
    )
    due = analysis.due_metrics(
        resolved.metrics, results.values(), started_at=started_at, now=now, terminating=terminating
    )
    measurements = await asyncio.gather(
        *(
            take_measurement(
                metric,
                results.get(metric.name),
                run=run,
                deps=runtime.providers,
                secrets=resolved.secrets,
                terminating=terminating,
            )
            for metric in due
        )
    )
    for metric, measurement in zip(due, measurements, strict=True):
        result = results.get(metric.name) or analysis.empty_result(
            metric.name, dry_run=metric.name in resolved.dry_run_names
        )
        results[metric.name] = recorded(
            result,
            measurement,
            retention=resolved.retention.get(metric.name, analysis.DEFAULT_MEASUREMENT_RETENTION),
        )
    assessment = analysis.assess_run(
        resolved.metrics,
        results.values(),
        terminating=terminating,
        dry_run_names=resolved.dry_run_names,
        spec_terminate=run.spec.terminate,
    )
    finished = _clock()
    status = assessed_status(
        assessment, started_at=started_at, now=finished, has_dry_run=bool(resolved.dry_run_names)
    )
    if not await _write_status(body, status, runtime=runtime):
        return RETRY_SECONDS
    await _record_events(body, phase_events(old, status), runtime=runtime)
    _export_metrics(key, status.phase)
    return requeue_after(
        resolved,
        status,
        spec_terminate=run.spec.terminate,
        started_at=started_at,
        terminating=terminating,
        now=datetime.datetime.now(datetime.UTC),
    )


def _clock() -> datetime.datetime:
    # Status timestamps have second precision; deciding with the same precision keeps a pass reproducible.
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


# ----------------------------------------------------------------------------------------------------
# Arguments and spec


def spec_problem(parsed: fields.Parsed[model.AnalysisRun]) -> str | None:
    """Why a parsed run cannot be measured at all, or None. Unsupported fields are not a problem here:
    an unsupported provider fails its own measurements (counted as errors), `ttlStrategy` is ignored.

    >>> spec_problem(model.parse_analysis_run({"kind": "AnalysisRun", "metadata": {"name": "r"}, "spec": {}}))
    'Analysis spec invalid: spec.metrics: at least one metric is required'
    """
    spec_issues = [issue for issue in parsed.invalid if not issue.path.startswith("status")]
    if spec_issues or parsed.value is None:
        described = "; ".join(str(issue) for issue in spec_issues) or "the AnalysisRun cannot be read"
        return f"{INVALID_SPEC}: {described}"
    status_issues = [issue for issue in parsed.invalid if issue.path.startswith("status")]
    if status_issues:
        return "AnalysisRun status cannot be read: " + "; ".join(str(issue) for issue in status_issues)
    return None


def secret_refs(run: model.AnalysisRun) -> dict[str, model.SecretKeyRef]:
    """The run's arguments that take their value from a Secret, by argument name."""
    return {
        arg.name: arg.value_from.secret_key_ref
        for arg in run.spec.args
        if arg.value is None and arg.value_from is not None and arg.value_from.secret_key_ref is not None
    }


async def _read_secrets(run: model.AnalysisRun, *, runtime: reconcile_runtime.Runtime) -> dict[str, str]:
    """Secret values by argument name. A missing Secret or key is a RunSpecError; other API trouble raises."""
    values: dict[str, str] = {}
    for name, ref in secret_refs(run).items():
        try:
            values[name] = await asyncio.to_thread(
                secrets.read_key,
                runtime.clients.core,
                namespace=run.namespace or "",
                name=ref.name,
                key=ref.key,
            )
        except (kube_errors.NotFound, kube_errors.Forbidden, kube_errors.Invalid) as err:
            raise RunSpecError(f'{UNRESOLVED_ARGUMENTS}: argument "{name}": {err.message}') from err
    return values


def resolve_run(run: model.AnalysisRun, *, secret_values: Mapping[str, str]) -> ResolvedRun:
    """The run's metrics with `{{args.*}}` substituted, its dryRun names and retention limits.

    Raises RunSpecError with Argo's message for an argument without a value or an invalid result; secret
    values never appear in the message.

    >>> provider = model.MetricProviderSpec(kind="web", config={})
    >>> metric = model.Metric(name="m", provider=provider, raw={"name": "m", "count": "{{args.n}}"}, has_placeholders=True)
    >>> spec = model.AnalysisRunSpec(metrics=(metric,), args=(model.AnalysisArg(name="n"),))
    >>> run = model.AnalysisRun(name="r", generate_name=None, namespace="ns", uid="u", labels={},
    ...                         annotations={}, spec=spec, status=model.AnalysisRunStatus())
    >>> resolve_run(run, secret_values={})
    Traceback (most recent call last):
    ...
    rollouts.reconcile.analysisrun.RunSpecError: Unable to resolve metric arguments: argument "n" was not supplied
    """
    hidden = frozenset(value for value in secret_values.values() if value)
    try:
        args = templating.resolve_args(run.spec.args, resolved=secret_values)
        resolved = tuple(
            templating.resolve_metric(metric, args, path=f"spec.metrics[{index}]")
            for index, metric in enumerate(run.spec.metrics)
        )
    except templating.ArgumentError as err:
        raise RunSpecError(
            f"{UNRESOLVED_ARGUMENTS}: {templating.mask_secrets(err.message, hidden)}"
        ) from None
    except fields.InvalidSpec as err:
        raise RunSpecError(f"{INVALID_SPEC}: {templating.mask_secrets(str(err), hidden)}") from None
    names = [metric.name for metric in resolved]
    try:
        dry_run_names = analysis.dry_run_metric_names(run.spec.dry_run, names)
        retention = analysis.measurement_retention_limits(run.spec.measurement_retention, names)
        for metric in resolved:
            analysis.no_data_policy(metric)
    except analysis.AnalysisSpecError as err:
        raise RunSpecError(f"{INVALID_SPEC}: {err.message}") from None
    return ResolvedRun(metrics=resolved, dry_run_names=dry_run_names, retention=retention, secrets=hidden)


# ----------------------------------------------------------------------------------------------------
# Measuring


def measurement_index(result: model.MetricResult | None) -> int:
    """The number of the next measurement (1-based, Argo's Job names): every completed one so far, errors too.

    Derived from the recorded counters, so the same measurement retried after a crash gets the same number.

    >>> measurement_index(None)
    1
    >>> measurement_index(model.MetricResult(name="m", phase=AnalysisPhase.RUNNING, count=2, error=1))
    4
    """
    if result is None:
        return 1
    return result.count + result.error + 1


def pending_sample(measurement: model.Measurement) -> base.Sample:
    """The provider's view of an in-flight measurement, rebuilt from the status (all a Job needs is metadata)."""
    return base.Sample(
        verdict=AnalysisPhase.RUNNING,
        metadata=dict(measurement.metadata),
        resume_at=measurement.resume_at,
    )


def terminated_measurement(pending: model.Measurement, *, now: datetime.datetime) -> model.Measurement:
    """An in-flight measurement stopped because the run ends: Successful, as Argo's providers report it."""
    return dataclasses.replace(
        pending,
        phase=AnalysisPhase.SUCCESSFUL,
        message=analysis.METRIC_TERMINATED,
        finished_at=now,
        resume_at=None,
    )


def masked(measurement: model.Measurement, secrets: Collection[str]) -> model.Measurement:
    """`measurement` with every secret value replaced by `*****` in its message, value and metadata."""
    if not secrets:
        return measurement
    return dataclasses.replace(
        measurement,
        message=(
            None if measurement.message is None else templating.mask_secrets(measurement.message, secrets)
        ),
        value=None if measurement.value is None else templating.mask_secrets(measurement.value, secrets),
        metadata={
            key: templating.mask_secrets(value, secrets) for key, value in measurement.metadata.items()
        },
    )


async def take_measurement(
    metric: model.Metric,
    result: model.MetricResult | None,
    *,
    run: model.AnalysisRun,
    deps: base.ProviderDeps,
    secrets: Collection[str] = frozenset(),
    terminating: bool = False,
) -> model.Measurement:
    """Measure `metric` once: start a measurement, resume the in-flight one, or terminate it.

    Never raises (except on cancellation): a provider's trouble is an Error measurement with its reason.
    """
    pending = analysis.in_flight(result)
    started_at = pending.started_at if pending is not None and pending.started_at is not None else _clock()
    context = base.MeasureContext(
        namespace=run.namespace or "",
        run_name=run.name,
        run_uid=run.uid or "",
        measurement_index=measurement_index(result),
        # Precise, not the stored second: a query evaluated at the rounded-down second can fall before the newest
        # sample and find no data that Prometheus has.
        now=datetime.datetime.now(datetime.UTC),
    )
    try:
        provider = registry.create(metric.provider.kind, deps=deps)
        if pending is not None and terminating:
            if isinstance(provider, base.LongRunningProvider):
                await provider.terminate(metric, pending_sample(pending), context=context)
            return masked(terminated_measurement(pending, now=_clock()), secrets)
        if pending is not None and isinstance(provider, base.LongRunningProvider):
            sample = await provider.resume(metric, pending_sample(pending), context=context)
        else:
            sample = await provider.measure(metric, context=context)
    except base.ProviderError as err:
        sample = base.Sample(error=err.message)
    except kube_errors.KubeError as err:
        sample = base.Sample(
            error=err.message, metadata=dict(pending.metadata) if pending is not None else {}
        )
    except Exception as err:  # a provider bug must not stop the run: it is an Error measurement
        logger.warning(
            "analysis run %s/%s: metric %r: provider raised",
            run.namespace,
            run.name,
            metric.name,
            exc_info=True,
        )
        sample = base.Sample(
            error=f"{type(err).__name__}: {err}",
            metadata=dict(pending.metadata) if pending is not None else {},
        )
    measurement = analysis.judged_measurement(metric, sample, started_at=started_at, now=_clock())
    return masked(measurement, secrets)


def recorded(
    result: model.MetricResult, measurement: model.Measurement, *, retention: int
) -> model.MetricResult:
    """`analysis.record`, plus Argo's `metricResult.metadata.ResolvedPrometheusQuery` from the measurement."""
    updated = analysis.record(result, measurement, retention=retention)
    query = measurement.metadata.get(prometheus.RESOLVED_QUERY_KEY)
    if query is not None and updated.metadata.get(prometheus.RESOLVED_QUERY_KEY) != query:
        updated = dataclasses.replace(
            updated, metadata={**updated.metadata, prometheus.RESOLVED_QUERY_KEY: query}
        )
    return updated


# ----------------------------------------------------------------------------------------------------
# Status, events and scheduling (pure)


def errored_status(
    old: model.AnalysisRunStatus, *, message: str, now: datetime.datetime
) -> model.AnalysisRunStatus:
    """The final status of a run that cannot be measured: Error, with what was recorded so far kept."""
    return dataclasses.replace(
        old,
        phase=AnalysisPhase.ERROR,
        message=message,
        started_at=old.started_at or now,
        completed_at=now,
    )


def assessed_status(
    assessment: analysis.RunAssessment,
    *,
    started_at: datetime.datetime,
    now: datetime.datetime,
    has_dry_run: bool = False,
) -> model.AnalysisRunStatus:
    """The whole status after an assessment; `completedAt` is set when the run completes."""
    return model.AnalysisRunStatus(
        phase=assessment.phase,
        message=assessment.message,
        metric_results=assessment.metric_results,
        started_at=started_at,
        completed_at=now if assessment.phase.completed else None,
        run_summary=assessment.run_summary,
        dry_run_summary=assessment.dry_run_summary if has_dry_run else None,
    )


def requeue_after(
    resolved: ResolvedRun,
    status: model.AnalysisRunStatus,
    *,
    spec_terminate: bool,
    started_at: datetime.datetime,
    terminating: bool,
    now: datetime.datetime,
) -> float | None:
    """Seconds from `now` (the precise wall clock) until the next pass, at least MIN_REQUEUE_SECONDS; None
    when nothing is left to do.

    A metric that completed unsuccessfully in this pass makes the run terminating: the next pass comes at once.
    """
    if status.phase is not None and status.phase.completed:
        return None
    if not terminating and analysis.is_terminating(
        spec_terminate, status.metric_results, dry_run_names=resolved.dry_run_names
    ):
        return MIN_REQUEUE_SECONDS
    moment = analysis.requeue_at(
        resolved.metrics, status.metric_results, started_at=started_at, now=now, terminating=terminating
    )
    if moment is None:
        return None
    return max((moment - now).total_seconds(), MIN_REQUEUE_SECONDS)


def phase_events(
    old: model.AnalysisRunStatus, new: model.AnalysisRunStatus
) -> tuple[decisions.EventNote, ...]:
    """Events for what changed: `Metric<Phase>` per metric that completed, then `AnalysisRun<Phase>`.

    Failed, Error and Inconclusive are Warnings. The completion message is Argo's ("Analysis Completed.
    Result: Failed") followed, for an unsuccessful run, by the metric that decided it and its last value.

    >>> old = model.AnalysisRunStatus(phase=AnalysisPhase.RUNNING)
    >>> new = model.AnalysisRunStatus(phase=AnalysisPhase.SUCCESSFUL)
    >>> phase_events(old, new)
    (EventNote(reason='AnalysisRunSuccessful', message='Analysis Completed. Result: Successful', warning=False),)
    """
    notes: list[decisions.EventNote] = []
    before = {result.name: result.phase for result in old.metric_results}
    for result in new.metric_results:
        if result.phase.completed and before.get(result.name) is not result.phase:
            notes.append(
                decisions.EventNote(
                    reason=f"Metric{result.phase.value}",
                    message=f"Metric '{result.name}' Completed. Result: {result.phase.value}",
                    warning=result.phase in _WARNING_PHASES,
                )
            )
    if new.phase is not None and new.phase is not old.phase:
        notes.append(
            decisions.EventNote(
                reason=f"AnalysisRun{new.phase.value}",
                message=run_phase_message(new),
                warning=new.phase in _WARNING_PHASES,
            )
        )
    return tuple(notes)


def run_phase_message(status: model.AnalysisRunStatus) -> str:
    """The message of an `AnalysisRun<Phase>` Event.

    >>> failed = model.Measurement(phase=AnalysisPhase.FAILED, value='{"rate":0.5}')
    >>> result = model.MetricResult(name="rate", phase=AnalysisPhase.FAILED, measurements=(failed,))
    >>> print(run_phase_message(model.AnalysisRunStatus(
    ...     phase=AnalysisPhase.FAILED, metric_results=(result,),
    ...     message='Metric "rate" assessed Failed due to failed (2) > failureLimit (1)')))
    Analysis Completed. Result: Failed. Metric "rate" assessed Failed due to failed (2) > failureLimit (1); last value: {"rate":0.5}
    """
    phase = status.phase
    if phase is None or not phase.completed:
        return "Analysis Started"
    text = f"Analysis Completed. Result: {phase.value}"
    if phase is AnalysisPhase.SUCCESSFUL:
        return f"{text}. {status.message}" if status.message else text
    deciding = next(
        (result for result in status.metric_results if result.phase is phase and not result.dry_run), None
    )
    if status.message:
        text = f"{text}. {status.message}"
    elif deciding is not None:
        text = f'{text}. Metric "{deciding.name}" assessed {phase.value}'
    last_value = _last_value(deciding.measurements) if deciding is not None else None
    if last_value is not None:
        text = f"{text}; last value: {last_value}"
    return text


def _last_value(measurements: Sequence[model.Measurement]) -> str | None:
    for measurement in reversed(measurements):
        if measurement.value is not None:
            return measurement.value
    return None


# ----------------------------------------------------------------------------------------------------
# Writes


async def _write_status(
    body: Mapping[str, Any], status: model.AnalysisRunStatus, *, runtime: reconcile_runtime.Runtime
) -> bool:
    """One merge patch of `status` on the main resource; False when the API server refused it.

    The stored object goes into the cache at once: a pass woken by a timer before our own watch event arrives
    must see these measurements, or it would take them again.
    """
    meta = body["metadata"]
    patch = custom.merge_patch(body.get("status"), status.to_dict())
    if not patch:
        return True
    try:
        stored = await asyncio.to_thread(
            custom.patch,
            runtime.clients.custom,
            group_version=custom.ARGO,
            plural=PLURAL,
            namespace=meta.get("namespace") or "",
            name=meta["name"],
            body={"status": patch},
        )
    except kube_errors.NotFound:
        return True  # deleted meanwhile: nothing left to write, and its DELETED event ends the story
    except kube_errors.KubeError as err:
        logger.warning(
            "analysis run %s/%s: status write failed: %s", meta.get("namespace"), meta["name"], err
        )
        return False
    runtime.cache.put(PLURAL, stored)
    return True


async def _record_events(
    body: Mapping[str, Any], notes: Iterable[decisions.EventNote], *, runtime: reconcile_runtime.Runtime
) -> None:
    for note in notes:
        await asyncio.to_thread(
            runtime.events.record, body, reason=note.reason, message=note.message, warning=note.warning
        )


def _export_metrics(key: kube_cache.ObjectKey, phase: AnalysisPhase | None) -> None:
    namespace, name = key
    for candidate in AnalysisPhase:
        metrics.analysis_run_info.labels(namespace=namespace, name=name, phase=candidate.value).set(
            1 if candidate is phase else 0
        )


def _forget_metrics(key: kube_cache.ObjectKey) -> None:
    namespace, name = key
    for candidate in AnalysisPhase:
        with contextlib.suppress(KeyError):
            metrics.analysis_run_info.remove(namespace, name, candidate.value)
