"""What `rollwave get rollout` and `rollwave list rollouts` print: pure functions of the objects read and `now`.

The status shown is the one clients see (Argo's `GetRolloutPhase`): the controller's stored phase, unless the
controller has not yet observed the latest spec, or a person resumed a controller pause that has not been
processed yet. A summary reads like this (a canary paused at its second step)::

    Name:            demo
    Namespace:       shop
    Status:          ॥ Paused
    Message:         CanaryPauseStep
    Strategy:        Canary
      Step:          1/4
      Current step:  pause 30s (12s left)
      SetWeight:     25
      ActualWeight:  25
    Images:          nginx:1.26 (canary)
                     nginx:1.25 (stable)
    Replicas:
      Desired:       4
      Current:       5
      Updated:       1
      Ready:         5
      Available:     5

    NAME                  KIND         STATUS        INFO
    ⟳ demo                Rollout      ॥ Paused
    ├──# revision:2
    │  ├──⧉ demo-7c9d5    ReplicaSet   ✔ Healthy     canary  ready 1/1
    │  └──α demo-7c9d5-2  AnalysisRun  ◌ Running     Background  ✔ 2
    │     └──error-rate   Metric       ✔ Successful  [0.002]
    └──# revision:1
       └──⧉ demo-5b8f4    ReplicaSet   ✔ Healthy     ✔ stable  ready 4/4

AnalysisRuns hang under the revision of their `rollouts-pod-template-hash` label with Argo's counts of their
measurements (✔ successful, ✖ failed, ? inconclusive, ⚠ error). Runs still going, and the ones the Rollout
records as current (`status.canary.current*AnalysisRunStatus`), also show each metric's latest measurement.
"""  # noqa: RUF002 (the alpha is Argo's mark for an AnalysisRun)

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rollouts.core import canary as core_canary
from rollouts.model import analysis, fields, workloads
from rollouts.model import rollout as model

HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL
REVISION_ANNOTATION = workloads.REVISION_ANNOTATION

ICONS = {
    "Healthy": "✔",
    "Progressing": "◌",
    "Paused": "॥",
    "Degraded": "✖",
    "ScaledDown": "•",
    # AnalysisRun phases
    "Successful": "✔",
    "Running": "◌",
    "Pending": "◌",
    "Failed": "✖",
    "Error": "⚠",
    "Inconclusive": "⚠",
}

# Argo's tree marks AnalysisRuns with a Greek alpha.
ANALYSIS_RUN_ICON = "\N{GREEK SMALL LETTER ALPHA}"

OBSERVING = "waiting for rollout spec update to be observed"
UNPAUSING = "waiting for rollout to unpause"


def _mapping(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def with_icon(phase: str) -> str:
    """The phase with Argo's icon in front.

    >>> with_icon("Paused")
    '॥ Paused'
    """
    icon = ICONS.get(phase, "?")
    return f"{icon} {phase}" if phase else "?"


def client_phase(rollout: Mapping[str, Any]) -> tuple[str, str]:
    """The phase and message as clients see them (Argo's GetRolloutPhase).

    >>> client_phase({"metadata": {"generation": 3}, "status": {"observedGeneration": "2", "phase": "Healthy"}})
    ('Progressing', 'waiting for rollout spec update to be observed')
    >>> client_phase({"metadata": {"generation": 2}, "status": {"observedGeneration": "2", "phase": "Paused",
    ...     "controllerPause": True}})
    ('Progressing', 'waiting for rollout to unpause')
    >>> client_phase({"metadata": {"generation": 2}, "status": {"observedGeneration": "2", "phase": "Paused",
    ...     "message": "CanaryPauseStep", "controllerPause": True,
    ...     "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}]}})
    ('Paused', 'CanaryPauseStep')
    """
    metadata = _mapping(rollout.get("metadata"))
    status = _mapping(rollout.get("status"))
    observed = status.get("observedGeneration")
    if observed is None or str(observed) != str(metadata.get("generation")):
        return "Progressing", OBSERVING
    if status.get("controllerPause") and not status.get("pauseConditions"):
        return "Progressing", UNPAUSING
    return str(status.get("phase") or "Progressing"), str(status.get("message") or "")


def is_done(phase: str) -> bool:
    """Healthy and Degraded are where a rollout rests until someone acts."""
    return phase in (model.RolloutPhase.HEALTHY, model.RolloutPhase.DEGRADED)


# ---------------------------------------------------------------------------------------------------------------
# The summary shared by `get` and `list`


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """One Rollout, reduced to what a person reads first. "-" marks what does not apply (e.g. blue-green steps)."""

    name: str
    namespace: str
    phase: str
    message: str
    strategy: str  # "Canary" or "BlueGreen"
    step: str  # "1/4" (currentStepIndex / number of steps) or "-"
    current_step: str  # "pause 30s (12s left)", or "" when past the last step or not a canary
    set_weight: str
    actual_weight: str
    desired: int
    current: int
    updated: int
    ready: int
    available: int


def _parse(rollout: Mapping[str, Any]) -> model.Rollout | None:
    try:
        return model.parse_rollout(rollout).value
    except (ValueError, TypeError, KeyError):
        return None


def _views(replica_sets: Sequence[Mapping[str, Any]]) -> list[workloads.ReplicaSetView]:
    return [workloads.ReplicaSetView.from_dict(raw) for raw in replica_sets]


def summarize(
    rollout: Mapping[str, Any],
    replica_sets: Sequence[Mapping[str, Any]] = (),
    *,
    now: datetime.datetime,
) -> Summary:
    """The summary of one Rollout. Without its ReplicaSets (`list`), the actual weight reads "-"."""
    metadata = _mapping(rollout.get("metadata"))
    raw_status = _mapping(rollout.get("status"))
    phase, message = client_phase(rollout)
    parsed = _parse(rollout)
    spec = parsed.spec if parsed is not None else model.RolloutSpec()
    status = parsed.status if parsed is not None else model.RolloutStatus()
    strategy = spec.strategy
    step, current_step, set_weight, actual_weight = "-", "", "-", "-"
    if isinstance(strategy, model.CanaryStrategy):
        strategy_name = "Canary"
        if strategy.steps:
            index = status.current_step_index if status.current_step_index is not None else 0
            step = f"{index}/{len(strategy.steps)}"
            if index < len(strategy.steps):
                current_step = describe_step(strategy.steps[index], status=status, now=now)
        set_weight = str(
            core_canary.desired_weight(
                strategy=strategy, status=status, new_hash=status.current_pod_hash or ""
            )
        )
        if strategy.traffic_routing is not None:
            weights = status.canary.weights
            actual_weight = str(weights.canary.weight) if weights is not None else set_weight
        elif replica_sets:
            actual_weight = _actual_weight(_views(replica_sets), current_hash=status.current_pod_hash)
    else:
        strategy_name = "BlueGreen"
    return Summary(
        name=str(metadata.get("name") or ""),
        namespace=str(metadata.get("namespace") or ""),
        phase=phase,
        message=message,
        strategy=strategy_name,
        step=step,
        current_step=current_step,
        set_weight=set_weight,
        actual_weight=actual_weight,
        desired=spec.replicas,
        current=_count(raw_status, "replicas"),
        updated=_count(raw_status, "updatedReplicas"),
        ready=_count(raw_status, "readyReplicas"),
        available=_count(raw_status, "availableReplicas"),
    )


def _count(status: Mapping[str, Any], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _actual_weight(views: Sequence[workloads.ReplicaSetView], *, current_hash: str | None) -> str:
    """Share of available pods that run the current revision, in percent (no traffic router: pods are traffic).

    Rounded to the nearest integer, ties to even, as Go's `%.0f` does:
    >>> rs = lambda h, a: workloads.ReplicaSetView.from_dict(
    ...     {"metadata": {"labels": {HASH_LABEL: h}}, "status": {"availableReplicas": a}})
    >>> _actual_weight([rs("new", 1), rs("old", 3)], current_hash="new")
    '25'
    >>> _actual_weight([rs("new", 0), rs("old", 0)], current_hash="new")
    '0'
    """
    total = sum(view.available_replicas for view in views)
    if total == 0:
        return "0"
    current = sum(view.available_replicas for view in views if view.pod_template_hash == current_hash)
    return f"{current * 100 / total:.0f}"


def describe_step(step: model.CanaryStep, *, status: model.RolloutStatus, now: datetime.datetime) -> str:
    """The current canary step in words; a timed pause counts down from its pause condition's start time.

    >>> start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    >>> paused = model.RolloutStatus(pause_conditions=(
    ...     model.PauseCondition(reason=model.PauseReason.CANARY_PAUSE_STEP, start_time=start),))
    >>> describe_step(model.Pause(duration=datetime.timedelta(seconds=30)), status=paused,
    ...     now=start + datetime.timedelta(seconds=18))
    'pause 30s (12s left)'
    >>> describe_step(model.Pause(), status=paused, now=start)
    'pause (until promoted)'
    >>> describe_step(model.SetWeight(weight=25), status=model.RolloutStatus(), now=start)
    'setWeight 25'
    """
    if isinstance(step, model.SetWeight):
        return f"setWeight {step.weight}"
    if isinstance(step, model.Pause):
        if step.duration is None:
            return "pause (until promoted)"
        text = f"pause {fields.format_duration(step.duration)}"
        started = next(
            (
                condition.start_time
                for condition in status.pause_conditions
                if condition.reason == model.PauseReason.CANARY_PAUSE_STEP
            ),
            None,
        )
        if started is not None:
            left = max(math.ceil((started + step.duration - now).total_seconds()), 0)
            text += f" ({fields.format_duration(datetime.timedelta(seconds=left))} left)"
        return text
    if isinstance(step, model.SetCanaryScale):
        if step.match_traffic_weight:
            return "setCanaryScale matchTrafficWeight"
        if step.replicas is not None:
            return f"setCanaryScale replicas {step.replicas}"
        return f"setCanaryScale weight {step.weight}"
    if isinstance(step, model.AnalysisStep):
        names = ", ".join(template.name for template in step.analysis.templates)
        text = f"analysis ({names})" if names else "analysis"
        run = status.canary.current_step_analysis_run_status
        if run is not None:
            text += f": {run.name} {run.status.value if run.status else 'Pending'}"
        if any(p.reason == model.PauseReason.INCONCLUSIVE_ANALYSIS_RUN for p in status.pause_conditions):
            text += ", paused until promoted"
        return text
    if isinstance(step, model.SetHeaderRoute):
        return f"setHeaderRoute {step.route.name}" + ("" if step.route.headers else " (remove)")
    if isinstance(step, model.SetMirrorRoute):
        return f"setMirrorRoute {step.route.name}" + ("" if step.route.matches else " (remove)")
    return f"{step.kind or 'empty step'} (not supported by rollwave)"


# ---------------------------------------------------------------------------------------------------------------
# `get rollout`


def _label_lines(rows: Sequence[tuple[str, str]], *, width: int = 17) -> list[str]:
    return [f"{label:<{width}}{value}".rstrip() for label, value in rows]


def _images(
    rollout: Mapping[str, Any], views: Sequence[workloads.ReplicaSetView], status: Mapping[str, Any]
) -> list[str]:
    """Images of the revisions that run pods (newest first), marked stable/canary; the template's if none."""
    stable_hash, current_hash = status.get("stableRS"), status.get("currentPodHash")
    shown: list[str] = []
    running = [view for view in views if view.replicas > 0 or view.available_replicas > 0]
    for view in sorted(running, key=lambda v: v.revision or 0, reverse=True):
        markers = []
        if view.pod_template_hash and view.pod_template_hash == stable_hash:
            markers.append("stable")
        elif view.pod_template_hash and view.pod_template_hash == current_hash:
            markers.append("canary")
        suffix = f" ({', '.join(markers)})" if markers else ""
        for image in _template_images(view.template):
            line = f"{image}{suffix}"
            if line not in shown:
                shown.append(line)
    if not shown:
        template = _mapping(_mapping(rollout.get("spec")).get("template"))
        shown = _template_images(template)
    return shown


def _template_images(template: Mapping[str, Any]) -> list[str]:
    pod_spec = _mapping(template.get("spec"))
    images: list[str] = []
    for key in ("initContainers", "containers"):
        for container in pod_spec.get(key) or ():
            image = _mapping(container).get("image")
            if isinstance(image, str) and image not in images:
                images.append(image)
    return images


def _replica_set_state(view: workloads.ReplicaSetView) -> str:
    if view.replicas == 0 and view.status_replicas == 0:
        return "ScaledDown"
    if view.available_replicas >= view.replicas and view.status_replicas == view.replicas:
        return "Healthy"
    return "Progressing"


def _run_phase(run: Mapping[str, Any]) -> str:
    return str(_mapping(run.get("status")).get("phase") or analysis.AnalysisPhase.PENDING.value)


# Argo's tree counts an AnalysisRun's measurements with these marks, zeros left out.
_COUNT_MARKS = (("successful", "✔"), ("failed", "✖"), ("inconclusive", "?"), ("error", "⚠"))
_LONG_DECIMAL = re.compile(r"-?\d+\.\d{7,}(?:[eE][-+]?\d+)?")
TREE_VALUE_WIDTH = 40


def _counter(raw: Mapping[str, Any], key: str) -> int:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def metric_results(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """`status.metricResults`, skipping entries that are not objects."""
    results = _mapping(run.get("status")).get("metricResults")
    return [_mapping(result) for result in results] if isinstance(results, list) else []


def analysis_run_counts(run: Mapping[str, Any]) -> str:
    """Measurements of all metrics by result, as Argo's tree shows them.

    >>> analysis_run_counts({"status": {"metricResults": [{"successful": 2, "failed": 1},
    ...     {"successful": 1, "error": 2}]}})
    '✔ 3 ✖ 1 ⚠ 2'
    """
    results = metric_results(run)
    counted = [(mark, sum(_counter(result, key) for result in results)) for key, mark in _COUNT_MARKS]
    return " ".join(f"{mark} {total}" for mark, total in counted if total)


def shorten(text: object, *, width: int) -> str:
    """A value or message on one line: whitespace runs collapsed, decimals with more than six places cut to six
    significant digits, and at most `width` characters (an ellipsis marks a cut). None and "" read "-".

    >>> shorten('[0.99123456789, 12]', width=40)
    '[0.991235, 12]'
    >>> shorten("a  long\\n message", width=8)
    'a long …'
    """
    if text is None or text == "":
        return "-"
    flat = " ".join(str(text).split())
    flat = _LONG_DECIMAL.sub(lambda match: format(float(match.group()), ".6g"), flat)
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def latest_measurements(
    run: Mapping[str, Any], *, width: int = TREE_VALUE_WIDTH
) -> list[tuple[str, str, str]]:
    """(metric, phase of its latest measurement, that measurement's value, else its message) per metric result.

    >>> latest_measurements({"status": {"metricResults": [{"name": "rate", "measurements": [
    ...     {"phase": "Successful", "value": "0.97"}, {"phase": "Failed", "value": "0.5"}]},
    ...     {"name": "probe", "dryRun": True}]}})
    [('rate', 'Failed', '0.5'), ('probe', 'Pending', 'no measurements yet (dry run)')]
    """
    lines = []
    for result in metric_results(run):
        measurements = [_mapping(m) for m in result.get("measurements") or () if isinstance(m, Mapping)]
        if measurements:
            last = measurements[-1]
            phase = str(last.get("phase") or analysis.AnalysisPhase.PENDING.value)
            shown = last.get("value") if last.get("value") not in (None, "") else last.get("message")
            info = shorten(shown, width=width)
        else:
            phase, info = analysis.AnalysisPhase.PENDING.value, "no measurements yet"
        if result.get("dryRun") is True:
            info += " (dry run)"
        lines.append((str(result.get("name") or "?"), phase, info))
    return lines


def _current_run_names(status: Mapping[str, Any]) -> set[str]:
    """The runs the Rollout records as its current step and background analysis."""
    canary_status = _mapping(status.get("canary"))
    names = set()
    for key in ("currentStepAnalysisRunStatus", "currentBackgroundAnalysisRunStatus"):
        name = _mapping(canary_status.get(key)).get("name")
        if isinstance(name, str) and name:
            names.add(name)
    return names


def _shows_measurements(run: Mapping[str, Any], current: set[str]) -> bool:
    """Runs still going, and the Rollout's current ones, get a line per metric; finished history does not."""
    phase = _run_phase(run)
    finished = phase in {p.value for p in analysis.AnalysisPhase if p.completed}
    return not finished or _mapping(run.get("metadata")).get("name") in current


def _run_revision(run: Mapping[str, Any], by_hash: Mapping[str, int | None]) -> int | None:
    metadata = _mapping(run.get("metadata"))
    pod_hash = _mapping(metadata.get("labels")).get(HASH_LABEL)
    if isinstance(pod_hash, str) and by_hash.get(pod_hash) is not None:
        return by_hash[pod_hash]
    revision = _mapping(metadata.get("annotations")).get(REVISION_ANNOTATION)
    try:
        return int(revision) if isinstance(revision, str) else None
    except ValueError:
        return None


def _tree_rows(
    name: str,
    phase: str,
    views: Sequence[workloads.ReplicaSetView],
    analysis_runs: Sequence[Mapping[str, Any]],
    status: Mapping[str, Any],
) -> list[tuple[str, str, str, str]]:
    """(tree column, kind, status, info) rows: the Rollout, then one branch per revision, newest first."""
    stable_hash, current_hash = status.get("stableRS"), status.get("currentPodHash")
    by_hash = {view.pod_template_hash: view.revision for view in views if view.pod_template_hash}
    current_runs = _current_run_names(status)
    runs_by_revision: dict[int | None, list[Mapping[str, Any]]] = {}
    for run in analysis_runs:
        runs_by_revision.setdefault(_run_revision(run, by_hash), []).append(run)
    revisions = sorted(
        {view.revision for view in views} | set(runs_by_revision),
        key=lambda revision: (revision is not None, revision or 0),
        reverse=True,
    )
    rows = [(f"⟳ {name}", "Rollout", with_icon(phase), "")]
    for position, revision in enumerate(revisions):
        last_revision = position == len(revisions) - 1
        rows.append(
            (
                ("└──" if last_revision else "├──")
                + f"# revision:{revision if revision is not None else '?'}",
                "",
                "",
                "",
            )
        )
        indent = "   " if last_revision else "│  "
        # Each child with the rows under it (a run's latest measurement per metric).
        children: list[tuple[tuple[str, str, str, str], list[tuple[str, str, str, str]]]] = []
        for view in sorted((v for v in views if v.revision == revision), key=lambda v: v.name):
            markers = []
            if view.pod_template_hash and view.pod_template_hash == stable_hash:
                markers.append("✔ stable")
            elif view.pod_template_hash and view.pod_template_hash == current_hash:
                markers.append("canary")
            markers.append(f"ready {view.ready_replicas}/{view.replicas}")
            children.append(
                (
                    (f"⧉ {view.name}", "ReplicaSet", with_icon(_replica_set_state(view)), "  ".join(markers)),
                    [],
                )
            )
        for run in sorted(
            runs_by_revision.get(revision, ()), key=lambda r: str(_mapping(r.get("metadata")).get("name"))
        ):
            run_name = str(_mapping(run.get("metadata")).get("name") or "")
            labels = _mapping(_mapping(run.get("metadata")).get("labels"))
            info = str(labels.get("rollout-type") or "")
            if labels.get("step-index") is not None:
                info += f" step {labels.get('step-index')}"
            info = f"{info.strip()}  {analysis_run_counts(run)}".strip()
            metrics = (
                [
                    (metric, "Metric", with_icon(measured), value)
                    for metric, measured, value in latest_measurements(run)
                ]
                if _shows_measurements(run, current_runs)
                else []
            )
            children.append(
                (
                    (f"{ANALYSIS_RUN_ICON} {run_name}", "AnalysisRun", with_icon(_run_phase(run)), info),
                    metrics,
                )
            )
        for index, ((tree, kind, state, info), below) in enumerate(children):
            last_child = index == len(children) - 1
            rows.append((f"{indent}{'└──' if last_child else '├──'}{tree}", kind, state, info))
            below_indent = indent + ("   " if last_child else "│  ")
            for position_below, (tree_below, kind_below, state_below, info_below) in enumerate(below):
                branch = "└──" if position_below == len(below) - 1 else "├──"
                rows.append((f"{below_indent}{branch}{tree_below}", kind_below, state_below, info_below))
    return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    return [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


def render_rollout(
    rollout: Mapping[str, Any],
    replica_sets: Sequence[Mapping[str, Any]],
    *,
    analysis_runs: Sequence[Mapping[str, Any]] = (),
    now: datetime.datetime,
) -> str:
    """The `get rollout` view: a summary, then the tree of revisions (ReplicaSets and AnalysisRuns)."""
    summary = summarize(rollout, replica_sets, now=now)
    status = _mapping(rollout.get("status"))
    views = _views(replica_sets)
    rows: list[tuple[str, str]] = [
        ("Name:", summary.name),
        ("Namespace:", summary.namespace),
        ("Status:", with_icon(summary.phase)),
    ]
    if summary.message:
        rows.append(("Message:", summary.message))
    rows.append(("Strategy:", summary.strategy))
    if summary.strategy == "Canary":
        if summary.step != "-":
            rows.append(("  Step:", summary.step))
            if summary.current_step:
                rows.append(("  Current step:", summary.current_step))
        rows += [("  SetWeight:", summary.set_weight), ("  ActualWeight:", summary.actual_weight)]
    images = _images(rollout, views, status) or ["-"]
    rows.append(("Images:", images[0]))
    rows += [("", image) for image in images[1:]]
    rows += [
        ("Replicas:", ""),
        ("  Desired:", str(summary.desired)),
        ("  Current:", str(summary.current)),
        ("  Updated:", str(summary.updated)),
        ("  Ready:", str(summary.ready)),
        ("  Available:", str(summary.available)),
    ]
    lines = _label_lines(rows)
    lines.append("")
    lines += _table(
        ("NAME", "KIND", "STATUS", "INFO"),
        _tree_rows(summary.name, summary.phase, views, analysis_runs, status),
    )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# `list rollouts`

LIST_HEADER = (
    "NAME",
    "STRATEGY",
    "STATUS",
    "STEP",
    "SET-WEIGHT",
    "READY",
    "DESIRED",
    "UP-TO-DATE",
    "AVAILABLE",
)


def render_rollout_list(
    rollouts: Sequence[Mapping[str, Any]], *, all_namespaces: bool, now: datetime.datetime
) -> str:
    """The `list rollouts` table (a NAMESPACE column first with `-A`); READY is ready/current pods."""
    header: tuple[str, ...] = (("NAMESPACE",) if all_namespaces else ()) + LIST_HEADER
    rows = []
    ordered = sorted(
        rollouts,
        key=lambda r: (
            str(_mapping(r.get("metadata")).get("namespace")),
            str(_mapping(r.get("metadata")).get("name")),
        ),
    )
    for rollout in ordered:
        summary = summarize(rollout, now=now)
        row = (
            summary.name,
            summary.strategy,
            summary.phase,
            summary.step,
            summary.set_weight,
            f"{summary.ready}/{summary.current}",
            str(summary.desired),
            str(summary.updated),
            str(summary.available),
        )
        rows.append(((summary.namespace,) if all_namespaces else ()) + row)
    return "\n".join(_table(header, rows)) + "\n"
