"""AnalysisRun semantics as pure functions: judge a sample, count it, assess metrics and runs, schedule.

The orchestrator runs one reconcile of an AnalysisRun like this (names are this module's)::

    terminating = is_terminating(spec.terminate, status.metric_results, dry_run_names=dry_names)
    for metric in due_metrics(metrics, status.metric_results, started_at=..., now=now, terminating=...):
        sample = await provider.measure(metric, now=now)           # or resume / terminate in_flight(...)
        measurement = judged_measurement(metric, sample, started_at=now, now=now)
        result = record(result, measurement, retention=limits.get(metric.name, DEFAULT_MEASUREMENT_RETENTION))
    assessment = assess_run(metrics, results, terminating=terminating, dry_run_names=dry_names, ...)
    requeue = requeue_at(metrics, assessment.metric_results, started_at=..., now=now, terminating=...)

**Judging one sample** (`judge`, Argo's EvaluateResult). A provider error is an Error measurement; a
provider's own verdict (Job) is taken as it is; a sample still in progress (`resume_at`) is Running.
Otherwise the conditions decide:

    no conditions                  -> Successful
    only successCondition          -> Successful when true, else Failed
    only failureCondition          -> Failed when true, else Successful
    both                           -> Failed when failure is true (failure wins); Successful when only
                                      success is true; Inconclusive when neither is
    a condition cannot be evaluated -> Error: could not evaluate successCondition "<text>": <reason>

**No data** (rollwave's `noDataPolicy`, a field of the metric). Argo turns an empty result into an
Error measurement once a condition cannot read it, so four empty scrapes in a row abort a rollout with an
error about the provider (Argo issues #1466, #1905, #2101). "No data" is: nil, `[]`, NaN, or a list of
only NaN. The policy says what such a sample means:

    (unset)        Argo's behaviour exactly: the conditions see the empty result (so the documented guards
                   `len(result) == 0 || ...` and `isNaN(result) || ...` keep working); a condition that
                   cannot evaluate nil or [] gives Error "... metric result is nil or empty: no data
                   returned from the metric provider"
    Error          no data is an Error measurement (counts toward consecutiveErrorLimit), conditions unread
    Inconclusive   no data is Inconclusive: the rollout pauses for a person instead of aborting
    Successful     no data counts as a pass (e.g. a canary that gets no traffic at night)
    Failed         no data counts as a failure (toward failureLimit)

Every no-data message says "no data" and names the query and the value returned, e.g.
`no data returned from the metric provider: prometheus query "sum(up)" returned []; noDataPolicy is
Inconclusive`.

**Counting** (`record`, Argo's runMeasurements): Successful adds to successful, count and
consecutiveSuccess and clears consecutiveError; Failed and Inconclusive add to their counter and count and
clear both consecutive counters; Error adds to error and consecutiveError and clears consecutiveSuccess.
Errors never add to `count`. The last 10 measurements are kept (or `measurementRetention.limit`).

**Assessing a metric** (`assess_metric`, Argo's assessMetricStatus), first match wins:

    already completed                          -> unchanged
    no measurements                            -> Successful when terminating, else Pending
    last measurement in flight                 -> Running
    failed > failureLimit (unless -1)          -> Failed        \
    inconclusive > inconclusiveLimit           -> Inconclusive   > later wins
    consecutiveError > consecutiveErrorLimit   -> Error         /
    consecutiveSuccessLimit > 0 reached        -> Successful
    count reached                              -> Successful; with consecutiveSuccessLimit set (not
                                                  reached): Inconclusive, or Failed when failureLimit is -1
    otherwise                                  -> Successful when terminating, else Running

e.g. `Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)`.

**Assessing the run** (`assess_run`): Running while a metric is not complete; then the worst metric phase
(Successful < Running < Pending < Inconclusive < Error < Failed), dry-run metrics ignored. A terminating
run ends with the worst phase so far, or Successful; its message is "Run Terminated" when `spec.terminate`
was set and no metric explains it better.

**Scheduling** (`next_measurement`, `due_metrics`, `requeue_at`): the first measurement waits
`initialDelay` after the run started; then `interval` after the last `finishedAt`, but 10 s after an Error
whatever the interval; never once `count` is reached; a long-running measurement resumes at its
`resume_at`. A terminating run takes no new measurements and stops in-flight ones at once.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import math
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Final, Protocol

from rollouts.core import expressions
from rollouts.model import analysis as model
from rollouts.model.analysis import AnalysisPhase

DEFAULT_MEASUREMENT_RETENTION: Final = 10
ERROR_RETRY_INTERVAL: Final = datetime.timedelta(seconds=10)
RUN_TERMINATED: Final = "Run Terminated"
# The message of an in-flight measurement that a provider stopped successfully because the run ended.
METRIC_TERMINATED: Final = "Metric Terminated"
NIL_OR_EMPTY: Final = "metric result is nil or empty: no data returned from the metric provider"
NO_DATA: Final = "no data returned from the metric provider"
_MAX_SOURCE_LENGTH: Final = 200

# Argo's IsWorse order.
_SEVERITY: Final = {
    AnalysisPhase.SUCCESSFUL: 0,
    AnalysisPhase.RUNNING: 1,
    AnalysisPhase.PENDING: 2,
    AnalysisPhase.INCONCLUSIVE: 3,
    AnalysisPhase.ERROR: 4,
    AnalysisPhase.FAILED: 5,
}


class AnalysisSpecError(ValueError):
    """A part of the analysis spec that cannot be used (a dryRun rule matching nothing, a bad policy)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoDataPolicy(enum.StrEnum):
    """Values of the rollwave metric field `noDataPolicy`: the phase a sample without data gets."""

    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"

    @property
    def phase(self) -> AnalysisPhase:
        return AnalysisPhase(self.value)


def no_data_policy(metric: model.Metric) -> NoDataPolicy | None:
    """The metric's `noDataPolicy`; None when unset (Argo's behaviour). Raises AnalysisSpecError if unknown."""
    if metric.no_data is None:
        return None
    try:
        return NoDataPolicy(metric.no_data)
    except ValueError:
        allowed = ", ".join(policy.value for policy in NoDataPolicy)
        raise AnalysisSpecError(
            f'metric "{metric.name}": noDataPolicy must be one of {allowed} (got "{metric.no_data}")'
        ) from None


def is_no_data(value: object) -> bool:
    """Whether a provider's result carries no data: nil, `[]`, NaN, or a list of only NaN.

    >>> [is_no_data(v) for v in (None, [], math.nan, [math.nan], [math.nan, 0.5], 0.0)]
    [True, True, True, True, False, False]
    """
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list | tuple):
        return all(isinstance(item, float) and math.isnan(item) for item in value)
    return False


class SampleLike(Protocol):
    """What `judge` reads from a provider's answer: `Sample` here, or any object with these attributes."""

    @property
    def value(self) -> object: ...
    @property
    def text(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def verdict(self) -> str | None: ...
    @property
    def metadata(self) -> Mapping[str, str]: ...
    @property
    def resume_at(self) -> datetime.datetime | None: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """What a provider returns for one measurement. Providers ask; `judge` decides.

    `value` is what conditions see as `result` (float, list of floats, dict, str or None); `text` is the
    measurement's `value` as Argo shows it ("[0.99]", "NaN"). `error` makes the measurement an Error.
    `verdict` is a phase the provider decided itself (a Job's outcome); Running with `resume_at` marks a
    long-running measurement still in progress (a Job still running), as does `resume_at` alone.
    """

    value: object = None
    text: str = ""
    error: str | None = None
    verdict: AnalysisPhase | None = None
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)
    resume_at: datetime.datetime | None = None


# ----------------------------------------------------------------------------------------------------
# Judging one sample


def judge(metric: model.Metric, sample: SampleLike) -> tuple[AnalysisPhase, str | None]:
    """The phase of one measurement and its message.

    >>> provider = model.MetricProviderSpec(kind="prometheus", config={"query": "up"})
    >>> metric = model.Metric(name="m", provider=provider, success_condition="result[0] >= 0.95")
    >>> judge(metric, Sample(value=[0.97], text="[0.97]"))
    (<AnalysisPhase.SUCCESSFUL: 'Successful'>, None)
    >>> judge(metric, Sample(value=[0.5], text="[0.5]"))
    (<AnalysisPhase.FAILED: 'Failed'>, None)
    """
    if sample.error is not None:
        return AnalysisPhase.ERROR, sample.error
    if sample.verdict is not None:
        try:
            return AnalysisPhase(sample.verdict), None
        except ValueError:
            return AnalysisPhase.ERROR, f'the metric provider gave an unknown verdict "{sample.verdict}"'
    if sample.resume_at is not None:
        return AnalysisPhase.RUNNING, None
    try:
        policy = no_data_policy(metric)
    except AnalysisSpecError as err:
        return AnalysisPhase.ERROR, err.message
    if policy is not None and is_no_data(sample.value):
        return policy.phase, f"{NO_DATA}: {_returned(metric, sample)}; noDataPolicy is {policy.value}"
    return _apply_conditions(metric, sample)


def _apply_conditions(metric: model.Metric, sample: SampleLike) -> tuple[AnalysisPhase, str | None]:
    outcomes: dict[str, bool] = {}
    for kind, condition in (
        ("successCondition", metric.success_condition),
        ("failureCondition", metric.failure_condition),
    ):
        if condition is None:
            continue
        try:
            outcomes[kind] = expressions.evaluate_condition(condition, result=sample.value)
        except expressions.ExpressionError as err:
            if _is_nil_or_empty(sample.value):
                reason = f"{NIL_OR_EMPTY} ({_returned(metric, sample)})"
            else:
                reason = err.message
            return AnalysisPhase.ERROR, f'could not evaluate {kind} "{condition}": {reason}'
    success = outcomes.get("successCondition")
    failure = outcomes.get("failureCondition")
    if success is None and failure is None:
        return AnalysisPhase.SUCCESSFUL, None
    if failure is None:
        failure = not success
    if success is None:
        success = not failure
    if failure:
        return AnalysisPhase.FAILED, None
    if not success:
        return AnalysisPhase.INCONCLUSIVE, None
    return AnalysisPhase.SUCCESSFUL, None


def _is_nil_or_empty(value: object) -> bool:
    """Argo's isNilOrEmpty: nil or an empty list (NaN is a value to Argo)."""
    return value is None or (isinstance(value, list | tuple) and not value)


def _returned(metric: model.Metric, sample: SampleLike) -> str:
    """`prometheus query "sum(up)" returned []`: where the data should have come from, and what came."""
    return f"{_source(metric)} returned {sample.text or _value_text(sample.value)}"


def _source(metric: model.Metric) -> str:
    config = metric.provider.config
    if metric.provider.kind == "prometheus":
        return f'prometheus query "{_shorten(config.get("query"))}"'
    if metric.provider.kind == "web":
        source = f'web url "{_shorten(config.get("url"))}"'
        json_path = config.get("jsonPath")
        return f'{source} jsonPath "{json_path}"' if json_path else source
    if metric.provider.kind:
        return f"{metric.provider.kind} provider"
    return "metric provider"


def _shorten(raw: object) -> str:
    # Queries are often multi-line YAML blocks: one line reads better in a status message.
    text = " ".join(str(raw or "").split())
    return text if len(text) <= _MAX_SOURCE_LENGTH else text[: _MAX_SOURCE_LENGTH - 3] + "..."


def _value_text(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_value_text(item) for item in value) + "]"
    return str(value)


def judged_measurement(
    metric: model.Metric, sample: SampleLike, *, started_at: datetime.datetime, now: datetime.datetime
) -> model.Measurement:
    """The Measurement for a sample: judged, finished at `now` unless still in progress.

    Pass the in-flight measurement's `started_at` when the sample resumes it. Mask secrets in the message
    (`templating.mask_secrets`) before storing it.
    """
    phase, message = judge(metric, sample)
    completed = phase.completed
    return model.Measurement(
        phase=phase,
        message=message,
        started_at=started_at,
        finished_at=now if completed else None,
        value=sample.text or None,
        metadata=dict(sample.metadata),
        resume_at=None if completed else sample.resume_at,
    )


# ----------------------------------------------------------------------------------------------------
# Counting


def empty_result(
    metric_name: str, *, dry_run: bool = False, metadata: Mapping[str, str] | None = None
) -> model.MetricResult:
    """The result a metric starts with at its first measurement (Argo starts it Running)."""
    return model.MetricResult(
        name=metric_name, phase=AnalysisPhase.RUNNING, dry_run=dry_run, metadata=dict(metadata or {})
    )


def in_flight(result: model.MetricResult | None) -> model.Measurement | None:
    """The last measurement when it is still in progress (to resume or terminate), else None."""
    if result is None or not result.measurements:
        return None
    last = result.measurements[-1]
    return None if last.phase.completed else last


def record(
    result: model.MetricResult,
    measurement: model.Measurement,
    *,
    retention: int = DEFAULT_MEASUREMENT_RETENTION,
) -> model.MetricResult:
    """`result` with `measurement` added (replacing an in-flight one it continues) and counters updated.

    Only completed measurements count. `retention` <= 0 means the default of 10, as in Argo.

    >>> result = empty_result("m")
    >>> for phase in (AnalysisPhase.ERROR, AnalysisPhase.SUCCESSFUL, AnalysisPhase.SUCCESSFUL):
    ...     result = record(result, model.Measurement(phase=phase))
    >>> result.count, result.successful, result.error, result.consecutive_error, result.consecutive_success
    (2, 2, 1, 0, 2)
    """
    measurements = result.measurements
    if in_flight(result) is not None:
        measurements = measurements[:-1]
    limit = retention if retention > 0 else DEFAULT_MEASUREMENT_RETENTION
    measurements = (*measurements, measurement)[-limit:]
    phase = measurement.phase
    if phase is AnalysisPhase.SUCCESSFUL:
        return dataclasses.replace(
            result,
            measurements=measurements,
            count=result.count + 1,
            successful=result.successful + 1,
            consecutive_error=0,
            consecutive_success=result.consecutive_success + 1,
        )
    if phase in (AnalysisPhase.FAILED, AnalysisPhase.INCONCLUSIVE):
        failed = phase is AnalysisPhase.FAILED
        return dataclasses.replace(
            result,
            measurements=measurements,
            count=result.count + 1,
            failed=result.failed + failed,
            inconclusive=result.inconclusive + (not failed),
            consecutive_error=0,
            consecutive_success=0,
        )
    if phase is AnalysisPhase.ERROR:
        return dataclasses.replace(
            result,
            measurements=measurements,
            error=result.error + 1,
            consecutive_error=result.consecutive_error + 1,
            consecutive_success=0,
        )
    return dataclasses.replace(result, measurements=measurements)


# ----------------------------------------------------------------------------------------------------
# Assessing metrics and runs


def assess_metric(
    metric: model.Metric, result: model.MetricResult, *, terminating: bool
) -> tuple[AnalysisPhase, str | None]:
    """The metric's phase, and for a completed non-successful one the reason in Argo's words.

    >>> metric = model.Metric(name="m", provider=model.MetricProviderSpec(kind="web", config={}), failure_limit=1)
    >>> failed = model.Measurement(phase=AnalysisPhase.FAILED)
    >>> result = model.MetricResult(name="m", phase=AnalysisPhase.RUNNING, measurements=(failed,), count=2, failed=2)
    >>> assess_metric(metric, result, terminating=False)
    (<AnalysisPhase.FAILED: 'Failed'>, 'Metric "m" assessed Failed due to failed (2) > failureLimit (1)')
    """
    phase = _metric_phase(metric, result, terminating=terminating)
    reason = _reason(metric, result, phase) if phase.completed else None
    if reason is None:
        return phase, None
    return phase, f'Metric "{metric.name}" assessed {phase.value} due to {reason}'


def _metric_phase(metric: model.Metric, result: model.MetricResult, *, terminating: bool) -> AnalysisPhase:
    if result.phase.completed:
        return result.phase
    if not result.measurements:
        return AnalysisPhase.SUCCESSFUL if terminating else AnalysisPhase.PENDING
    if not result.measurements[-1].phase.completed:
        return AnalysisPhase.RUNNING
    breached, _ = _limit_breach(metric, result)
    if breached is not None:
        return breached
    success_limit = metric.consecutive_success_limit
    if success_limit > 0 and result.consecutive_success >= success_limit:
        return AnalysisPhase.SUCCESSFUL
    if _count_reached(metric, result):
        if success_limit > 0:
            # The count ran out before enough successes in a row.
            return AnalysisPhase.INCONCLUSIVE if metric.failure_limit >= 0 else AnalysisPhase.FAILED
        return AnalysisPhase.SUCCESSFUL
    return AnalysisPhase.SUCCESSFUL if terminating else AnalysisPhase.RUNNING


def _limit_breach(
    metric: model.Metric, result: model.MetricResult
) -> tuple[AnalysisPhase | None, str | None]:
    """Argo's assessMetricFailureInconclusiveOrError: checked in this order, the later breach wins."""
    phase: AnalysisPhase | None = None
    reason: str | None = None
    if metric.failure_limit >= 0 and result.failed > metric.failure_limit:
        phase = AnalysisPhase.FAILED
        reason = f"failed ({result.failed}) > failureLimit ({metric.failure_limit})"
    if result.inconclusive > metric.inconclusive_limit:
        phase = AnalysisPhase.INCONCLUSIVE
        reason = f"inconclusive ({result.inconclusive}) > inconclusiveLimit ({metric.inconclusive_limit})"
    if result.consecutive_error > metric.consecutive_error_limit:
        phase = AnalysisPhase.ERROR
        reason = (
            f"consecutiveErrors ({result.consecutive_error}) > "
            f"consecutiveErrorLimit ({metric.consecutive_error_limit})"
        )
    return phase, reason


def _reason(metric: model.Metric, result: model.MetricResult, phase: AnalysisPhase) -> str | None:
    """Why a completed metric did not succeed, in Argo's words where Argo has them; None for a success."""
    if phase is AnalysisPhase.SUCCESSFUL:
        return None
    _, reason = _limit_breach(metric, result)
    if reason is not None:
        return reason
    success_limit = metric.consecutive_success_limit
    if (
        phase in (AnalysisPhase.INCONCLUSIVE, AnalysisPhase.FAILED)
        and success_limit > 0
        and _count_reached(metric, result)
    ):
        # Argo gives no reason here; a paused or aborted rollout deserves one.
        return (
            f"count ({result.count}) reached but consecutiveSuccess ({result.consecutive_success}) < "
            f"consecutiveSuccessLimit ({success_limit})"
        )
    return None


def _count_reached(metric: model.Metric, result: model.MetricResult) -> bool:
    count = metric.effective_count
    return count is not None and result.count >= count


def is_worse(phase: AnalysisPhase, than: AnalysisPhase) -> bool:
    """Argo's IsWorse: Successful < Running < Pending < Inconclusive < Error < Failed."""
    return _SEVERITY[phase] > _SEVERITY[than]


def is_terminating(
    spec_terminate: bool,
    results: Iterable[model.MetricResult],
    *,
    dry_run_names: Collection[str] = frozenset(),
) -> bool:
    """Whether the run stops measuring: `spec.terminate`, or a non-dry-run metric Failed, Error or Inconclusive."""
    if spec_terminate:
        return True
    stopping = (AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.INCONCLUSIVE)
    return any(
        result.phase in stopping and not (result.dry_run or result.name in dry_run_names)
        for result in results
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunAssessment:
    """The run's phase and message, its summaries, and every metric result with its phase brought up to date."""

    phase: AnalysisPhase
    message: str | None
    run_summary: model.RunSummary
    dry_run_summary: model.RunSummary
    metric_results: tuple[model.MetricResult, ...]


def assess_run(
    metrics: Iterable[model.Metric],
    results: Iterable[model.MetricResult],
    *,
    terminating: bool,
    dry_run_names: Collection[str] = frozenset(),
    spec_terminate: bool = False,
) -> RunAssessment:
    """Assess every metric, then the run (Argo's assessRunStatus).

    A metric whose phase changes takes its last measurement's message (Argo). The run message names the
    worst metric and why: `Metric "m" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit
    (4): "Error Message: <last measurement's message>"`. `runSummary`/`dryRunSummary` count metrics per
    final phase. Metrics that have no result yet keep the run Running (unless terminating).
    """
    updated: dict[str, model.MetricResult] = {result.name: result for result in results}
    counted = {False: 0, True: 0}  # metrics, keyed by dry_run
    completed: dict[bool, collections.Counter[AnalysisPhase]] = {
        False: collections.Counter(),
        True: collections.Counter(),
    }
    worst: AnalysisPhase | None = None
    message: str | None = RUN_TERMINATED if spec_terminate else None
    everything_completed = True
    for metric in metrics:
        dry_run = metric.name in dry_run_names
        counted[dry_run] += 1
        result = updated.get(metric.name)
        if result is None:
            everything_completed = False
            continue
        phase = _metric_phase(metric, result, terminating=terminating)
        if phase is not result.phase:
            last = result.measurements[-1] if result.measurements else None
            result = dataclasses.replace(
                result, phase=phase, message=last.message if last is not None else result.message
            )
            updated[metric.name] = result
        if not phase.completed:
            everything_completed = False
            continue
        completed[dry_run][phase] += 1
        reason = _reason(metric, result, phase)
        if dry_run:
            # A dry-run metric never decides the run; its reason stays on its own result.
            if worst is None:
                worst = AnalysisPhase.SUCCESSFUL
            if reason is not None:
                updated[metric.name] = dataclasses.replace(
                    result, message=f"Metric assessed {phase.value} due to {reason}"
                )
        elif worst is None or is_worse(phase, worst):
            worst = phase
            if reason is not None:
                message = f'Metric "{metric.name}" assessed {phase.value} due to {reason}'
                if result.message:
                    message += f': "Error Message: {result.message}"'
    if terminating:
        final, final_message = worst or AnalysisPhase.SUCCESSFUL, message
    elif not everything_completed or worst is None:
        final, final_message = AnalysisPhase.RUNNING, None
    else:
        final, final_message = worst, message
    return RunAssessment(
        phase=final,
        message=final_message,
        run_summary=_summary(counted[False], completed[False]),
        dry_run_summary=_summary(counted[True], completed[True]),
        metric_results=tuple(updated.values()),
    )


def _summary(metrics: int, phases: collections.Counter[AnalysisPhase]) -> model.RunSummary:
    return model.RunSummary(
        count=metrics,
        successful=phases[AnalysisPhase.SUCCESSFUL],
        failed=phases[AnalysisPhase.FAILED],
        inconclusive=phases[AnalysisPhase.INCONCLUSIVE],
        error=phases[AnalysisPhase.ERROR],
    )


# ----------------------------------------------------------------------------------------------------
# Scheduling


def next_measurement(
    metric: model.Metric,
    result: model.MetricResult | None,
    *,
    started_at: datetime.datetime | None,
    now: datetime.datetime,
    terminating: bool = False,
) -> datetime.datetime | None:
    """When the metric should next be measured (or its in-flight measurement resumed); None for never.

    `started_at` is the run's `status.startedAt` (None before the first assessment: `now` stands in).
    The metric must be resolved (no `{{args.*}}` left), or its count reads as unset.

    >>> t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    >>> provider = model.MetricProviderSpec(kind="web", config={})
    >>> metric = model.Metric(name="m", provider=provider, interval=datetime.timedelta(minutes=1))
    >>> errored = model.Measurement(phase=AnalysisPhase.ERROR, finished_at=t0)
    >>> result = model.MetricResult(name="m", phase=AnalysisPhase.RUNNING, measurements=(errored,))
    >>> next_measurement(metric, result, started_at=t0, now=t0) - t0
    datetime.timedelta(seconds=10)
    """
    if result is not None and result.phase.completed:
        return None
    last = result.measurements[-1] if result is not None and result.measurements else None
    if last is None:
        if terminating:
            return None
        if metric.initial_delay:
            return (started_at or now) + metric.initial_delay
        return now
    if not last.phase.completed:
        # A terminating run stops in-flight measurements now rather than at their next poll.
        return now if terminating else (last.resume_at or now)
    if terminating or (result is not None and _count_reached(metric, result)):
        return None
    finished_at = last.finished_at or last.started_at or now
    if last.phase is AnalysisPhase.ERROR or metric.interval is None:
        # Argo retries an Error after 10 s whatever the interval (issue #1008).
        return finished_at + ERROR_RETRY_INTERVAL
    return finished_at + metric.interval


def due_metrics(
    metrics: Iterable[model.Metric],
    results: Iterable[model.MetricResult],
    *,
    started_at: datetime.datetime | None,
    now: datetime.datetime,
    terminating: bool = False,
) -> tuple[model.Metric, ...]:
    """The metrics to measure (or resume, or terminate: see `in_flight`) in this reconcile."""
    by_name = {result.name: result for result in results}
    due: list[model.Metric] = []
    for metric in metrics:
        moment = next_measurement(
            metric, by_name.get(metric.name), started_at=started_at, now=now, terminating=terminating
        )
        if moment is not None and moment <= now:
            due.append(metric)
    return tuple(due)


def requeue_at(
    metrics: Iterable[model.Metric],
    results: Iterable[model.MetricResult],
    *,
    started_at: datetime.datetime | None,
    now: datetime.datetime,
    terminating: bool = False,
) -> datetime.datetime | None:
    """The earliest moment any metric is due; None when nothing is left to measure.

    An in-flight measurement without `resume_at` is left out (Argo waits for the next change then), so a
    provider that never says when to poll cannot make the run spin. The moment may be <= `now` when a due
    metric was not measured: callers clamp it to a small minimum delay.
    """
    by_name = {result.name: result for result in results}
    moments: list[datetime.datetime] = []
    for metric in metrics:
        result = by_name.get(metric.name)
        pending = in_flight(result)
        if pending is not None and pending.resume_at is None and not terminating:
            continue
        moment = next_measurement(metric, result, started_at=started_at, now=now, terminating=terminating)
        if moment is not None:
            moments.append(moment)
    return min(moments, default=None)


# ----------------------------------------------------------------------------------------------------
# dryRun and measurementRetention rules


def dry_run_metric_names(
    dry_run_rules: Iterable[model.DryRun], metric_names: Iterable[str]
) -> frozenset[str]:
    """Names matched by any `dryRun[].metricName` (an unanchored regular expression: `.*` matches all).

    Raises AnalysisSpecError for a rule that matches no metric: `dryRun[0]: Rule didn't match any metric
    name(s)` (Argo's words).

    >>> sorted(dry_run_metric_names([model.DryRun(metric_name="error")], ["error-rate", "latency"]))
    ['error-rate']
    """
    names = tuple(metric_names)
    matched: set[str] = set()
    for index, rule in enumerate(dry_run_rules):
        hits = _matching(rule.metric_name, names, where=f"dryRun[{index}]")
        matched.update(hits)
    return frozenset(matched)


def measurement_retention_limits(
    rules: Iterable[model.MeasurementRetention], metric_names: Iterable[str]
) -> dict[str, int]:
    """How many measurements to keep per matched metric name; a later rule overrides an earlier one.

    A limit of 0 means the default (10). Metrics no rule matches keep the default too:
    `limits.get(name, DEFAULT_MEASUREMENT_RETENTION)`. A rule matching nothing raises AnalysisSpecError.
    """
    names = tuple(metric_names)
    limits: dict[str, int] = {}
    for index, rule in enumerate(rules):
        for name in _matching(rule.metric_name, names, where=f"measurementRetention[{index}]"):
            limits[name] = rule.limit if rule.limit > 0 else DEFAULT_MEASUREMENT_RETENTION
    return limits


def _matching(pattern: str, names: Iterable[str], *, where: str) -> list[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        raise AnalysisSpecError(f"{where}: metricName is not a valid regular expression: {err}") from None
    hits = [name for name in names if compiled.search(name)]
    if not hits:
        raise AnalysisSpecError(f"{where}: Rule didn't match any metric name(s)")
    return hits
