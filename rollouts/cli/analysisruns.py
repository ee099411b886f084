"""`rollwave get analysisrun NAME [--watch]` and `rollwave list analysisruns`: an AnalysisRun's metrics and their
measurements, as they arrive.

What is printed is a pure function of the objects read and `now` (`render_analysis_run`,
`render_analysis_run_list`); the commands only fetch, and `--watch` polls with the loop `get rollout --watch`
uses (a terminal is redrawn, a pipe gets one frame per new resourceVersion). A run reads like this::

    Name:            demo-bbb-2-1
    Namespace:       shop
    Status:          ◌ Running
    Started:         2026-03-01T12:00:00Z (25s ago)
    Rollout:         demo (Step analysis, step 1, pod-template hash bbb)
    Run summary:     1 metric: 1 in progress

    Metric:          success-rate
      Status:        ◌ Running
      Provider:      prometheus
      Query:         sum(rate(http_requests_total{code!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))
      Measured:      2 of 5, every 10s
      Successful:    1
      Failed:        1 (failureLimit 1)
      Inconclusive:  0 (inconclusiveLimit 0)
      Errors:        0 (consecutiveErrorLimit 4)
      Success when:  result[0] >= 0.95

      #  TIME      STATUS        VALUE   MESSAGE
      1  12:00:00  ✔ Successful  [0.99]
      2  12:00:10  ✖ Failed      [0.91]

Measurements are numbered from the metric's counters (`count` + `error`), so when only the last ten are kept
the numbers still say which measurement it was. Values are put on one line, long decimals cut to six
significant digits and the whole to 40 characters; messages are kept whole (they name queries and policies).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Mapping, Sequence
from typing import Any, cast

from rollouts.cli import rollouts, tree
from rollouts.core import analysis as core_analysis
from rollouts.kube import custom, errors, rollout_actions
from rollouts.model import analysis, fields

PLURAL = "analysisruns"
VALUE_WIDTH = 40
MESSAGE_WIDTH = 400
_COMPLETED = frozenset(phase.value for phase in analysis.AnalysisPhase if phase.completed)
_PENDING = analysis.AnalysisPhase.PENDING.value


def _mapping(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def _int(raw: Mapping[str, Any], key: str) -> int:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _timestamp(raw: object) -> datetime.datetime | None:
    try:
        return fields.parse_timestamp(raw)
    except ValueError:
        return None


def phase_of(run: Mapping[str, Any]) -> str:
    """The run's phase; Pending before the controller first wrote one (Argo writes "")."""
    return str(_mapping(run.get("status")).get("phase") or _PENDING)


def is_completed(run: Mapping[str, Any]) -> bool:
    return phase_of(run) in _COMPLETED


def age(delta: datetime.timedelta) -> str:
    """Elapsed time the way kubectl prints ages: precise when short, coarse when long.

    >>> [age(datetime.timedelta(seconds=s)) for s in (-3, 42, 150, 7200, 90000, 864000)]
    ['0s', '42s', '2m30s', '2h', '25h', '10d']
    """
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 1:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if days < 2:
        return f"{hours}h"
    return f"{days}d"


def _clock(moment: datetime.datetime, *, now: datetime.datetime) -> str:
    """The time of day (UTC) of a measurement; with the date when it was not today."""
    if moment.date() == now.astimezone(datetime.UTC).date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _summary(raw: object) -> str | None:
    """`runSummary` in words: `3 metrics: 1 successful, 1 failed, 1 in progress`; None without metrics.

    >>> _summary({"count": 3, "successful": 1, "error": 1})
    '3 metrics: 1 successful, 1 error, 1 in progress'
    """
    summary = _mapping(raw)
    count = _int(summary, "count")
    if count == 0:
        return None
    parts = [
        f"{_int(summary, key)} {key}{'s' if key == 'error' and _int(summary, key) > 1 else ''}"
        for key in ("successful", "failed", "inconclusive", "error")
        if _int(summary, key)
    ]
    finished = sum(_int(summary, key) for key in ("successful", "failed", "inconclusive", "error"))
    if count > finished:
        parts.append(f"{count - finished} in progress")
    return f"{count} metric{'s' if count != 1 else ''}: {', '.join(parts)}"


def _owner_line(metadata: Mapping[str, Any]) -> str | None:
    """The Rollout that made the run, with what the run is for (its labels); None for a run of its own."""
    owner = next(
        (
            _mapping(ref).get("name")
            for ref in metadata.get("ownerReferences") or ()
            if _mapping(ref).get("kind") == "Rollout"
        ),
        None,
    )
    if not owner:
        return None
    labels = _mapping(metadata.get("labels"))
    details = []
    if labels.get("rollout-type"):
        details.append(f"{labels['rollout-type']} analysis")
    if labels.get("step-index") is not None:
        details.append(f"step {labels['step-index']}")
    if labels.get(tree.HASH_LABEL):
        details.append(f"pod-template hash {labels[tree.HASH_LABEL]}")
    return f"{owner} ({', '.join(details)})" if details else str(owner)


def _dry_run_names(spec: Mapping[str, Any], names: Sequence[str]) -> frozenset[str]:
    """Metric names the run's `dryRun` rules match; a rule that matches nothing or does not compile is skipped."""
    matched: set[str] = set()
    for rule in spec.get("dryRun") or ():
        pattern = _mapping(rule).get("metricName")
        if not isinstance(pattern, str):
            continue
        try:
            matched |= core_analysis.dry_run_metric_names([analysis.DryRun(metric_name=pattern)], names)
        except core_analysis.AnalysisSpecError:
            continue
    return frozenset(matched)


def _provider_detail(metric: analysis.Metric) -> list[tuple[str, str]]:
    config = metric.provider.config
    if metric.provider.kind == "prometheus" and config.get("query"):
        return [("  Query:", tree.shorten(config.get("query"), width=MESSAGE_WIDTH))]
    if metric.provider.kind == "web" and config.get("url"):
        method = str(config.get("method") or "GET")
        return [("  URL:", tree.shorten(f"{method} {config.get('url')}", width=MESSAGE_WIDTH))]
    return []


def _measured(result: Mapping[str, Any], metric: analysis.Metric | None) -> str:
    """`count` against the metric's effective count: `2 of 5, every 10s`, or `7 (no count limit), every 30s`."""
    text = str(_int(result, "count"))
    if metric is None or metric.has_placeholders:
        return text
    wanted = metric.effective_count
    text += f" of {wanted}" if wanted is not None else " (no count limit)"
    if metric.interval is not None:
        text += f", every {fields.format_duration(metric.interval)}"
    return text


def _limits(result: Mapping[str, Any], metric: analysis.Metric | None) -> list[tuple[str, str]]:
    """Counters of one metric, each beside the limit (Argo's field name) that ends the metric."""
    successful = str(_int(result, "successful"))
    failed = str(_int(result, "failed"))
    inconclusive = str(_int(result, "inconclusive"))
    error_count, in_a_row = _int(result, "error"), _int(result, "consecutiveError")
    errors_text = str(error_count) + (
        f", {in_a_row} in a row" if in_a_row and in_a_row != error_count else ""
    )
    if metric is not None and not metric.has_placeholders:
        if metric.consecutive_success_limit:
            successes_in_a_row = _int(result, "consecutiveSuccess")
            successful += f", {successes_in_a_row} in a row (consecutiveSuccessLimit {metric.consecutive_success_limit})"
        failed += (
            " (no failureLimit)" if metric.failure_limit < 0 else f" (failureLimit {metric.failure_limit})"
        )
        inconclusive += f" (inconclusiveLimit {metric.inconclusive_limit})"
        errors_text += f" (consecutiveErrorLimit {metric.consecutive_error_limit})"
    return [
        ("  Successful:", successful),
        ("  Failed:", failed),
        ("  Inconclusive:", inconclusive),
        ("  Errors:", errors_text),
    ]


def _conditions(metric: analysis.Metric | None) -> list[tuple[str, str]]:
    if metric is None:
        return []
    rows = []
    if metric.success_condition:
        rows.append(("  Success when:", metric.success_condition))
    if metric.failure_condition:
        rows.append(("  Failure when:", metric.failure_condition))
    if not rows:
        rows.append(("  Conditions:", "none (a measurement without an error is Successful)"))
    if metric.no_data:
        rows.append(("  No data:", f"{metric.no_data} (noDataPolicy)"))
    return rows


def _measurement_rows(result: Mapping[str, Any], *, now: datetime.datetime) -> tuple[list[list[str]], int]:
    """(#, time, status, value, message) rows, oldest first, and how many measurements were taken in all."""
    measurements = [_mapping(m) for m in result.get("measurements") or () if isinstance(m, Mapping)]
    taken = _int(result, "count") + _int(result, "error")
    finished_kept = sum(1 for m in measurements if m.get("phase") in _COMPLETED)
    number = max(taken - finished_kept, 0) + 1
    rows = []
    for measurement in measurements:
        moment = _timestamp(measurement.get("finishedAt")) or _timestamp(measurement.get("startedAt"))
        message = measurement.get("message")
        rows.append(
            [
                str(number),
                _clock(moment, now=now) if moment is not None else "-",
                tree.with_icon(str(measurement.get("phase") or _PENDING)),
                tree.shorten(measurement.get("value"), width=VALUE_WIDTH),
                tree.shorten(message, width=MESSAGE_WIDTH) if message else "",
            ]
        )
        number += 1
    in_flight = len(measurements) - finished_kept
    return rows, max(taken + in_flight, len(measurements))


def _metric_section(
    name: str,
    result: Mapping[str, Any],
    metric: analysis.Metric | None,
    *,
    dry_run: bool,
    now: datetime.datetime,
) -> list[str]:
    rows: list[tuple[str, str]] = [
        ("Metric:", f"{name} (dry run)" if dry_run else name),
        ("  Status:", tree.with_icon(str(result.get("phase") or _PENDING))),
    ]
    if metric is not None:
        rows.append(("  Provider:", metric.provider.kind or "?"))
        rows += _provider_detail(metric)
    rows.append(("  Measured:", _measured(result, metric)))
    rows += _limits(result, metric)
    rows += _conditions(metric)
    if result.get("message"):
        rows.append(("  Message:", tree.shorten(result.get("message"), width=MESSAGE_WIDTH)))
    lines = tree._label_lines(rows)
    lines.append("")
    table, taken = _measurement_rows(result, now=now)
    if not table:
        lines.append("  (no measurements yet)")
        return lines
    rendered = tree._table(("#", "TIME", "STATUS", "VALUE", "MESSAGE"), table)
    lines += [f"  {line}".rstrip() for line in rendered]
    if taken > len(table):
        lines.append(f"  (the last {len(table)} of {taken} measurements are kept)")
    return lines


def render_analysis_run(run: Mapping[str, Any], *, now: datetime.datetime) -> str:
    """The `get analysisrun` view: the run, then each metric (spec order) with its counters and measurements."""
    metadata = _mapping(run.get("metadata"))
    spec = _mapping(run.get("spec"))
    status = _mapping(run.get("status"))
    rows: list[tuple[str, str]] = [
        ("Name:", str(metadata.get("name") or "")),
        ("Namespace:", str(metadata.get("namespace") or "")),
        ("Status:", tree.with_icon(phase_of(run))),
    ]
    if status.get("message"):
        rows.append(("Message:", tree.shorten(status.get("message"), width=MESSAGE_WIDTH)))
    started = _timestamp(status.get("startedAt"))
    if started is not None:
        rows.append(("Started:", f"{fields.format_timestamp(started)} ({age(now - started)} ago)"))
    completed = _timestamp(status.get("completedAt"))
    if completed is not None:
        took = f" (took {age(completed - started)})" if started is not None else ""
        rows.append(("Completed:", f"{fields.format_timestamp(completed)}{took}"))
    if spec.get("terminate") is True and not is_completed(run):
        rows.append(("Terminating:", "yes (spec.terminate)"))
    owner = _owner_line(metadata)
    if owner:
        rows.append(("Rollout:", owner))
    for label, key in (("Run summary:", "runSummary"), ("Dry-run summary:", "dryRunSummary")):
        summary = _summary(status.get(key))
        if summary:
            rows.append((label, summary))
    lines = tree._label_lines(rows)

    metrics: dict[str, analysis.Metric | None] = {}
    for raw in spec.get("metrics") or ():
        parsed = analysis.parse_metric(_mapping(raw)).value
        name = parsed.name if parsed is not None else str(_mapping(raw).get("name") or "")
        if name:
            metrics[name] = parsed
    results = {str(result.get("name")): result for result in tree.metric_results(run) if result.get("name")}
    names = list(metrics) + [name for name in results if name not in metrics]
    dry_run_rules = _dry_run_names(spec, names)
    for name in names:
        result = results.get(name, {})
        dry_run = result.get("dryRun") is True or name in dry_run_rules
        lines.append("")
        lines += _metric_section(name, result, metrics.get(name), dry_run=dry_run, now=now)
    if not names:
        lines += ["", "No metrics."]
    return "\n".join(lines) + "\n"


LIST_HEADER = ("NAME", "STATUS", "TYPE", "STEP", "AGE")


def render_analysis_run_list(runs: Sequence[Mapping[str, Any]], *, now: datetime.datetime) -> str:
    """The `list analysisruns` table, oldest first: TYPE and STEP are the Rollout's labels ("-" for a run made
    by hand), AGE is since creation."""

    def created(run: Mapping[str, Any]) -> tuple[datetime.datetime, str]:
        metadata = _mapping(run.get("metadata"))
        stamp = _timestamp(metadata.get("creationTimestamp")) or now
        return stamp, str(metadata.get("name") or "")

    rows = []
    for run in sorted(runs, key=created):
        metadata = _mapping(run.get("metadata"))
        labels = _mapping(metadata.get("labels"))
        stamp = _timestamp(metadata.get("creationTimestamp"))
        rows.append(
            (
                str(metadata.get("name") or ""),
                phase_of(run),
                str(labels.get("rollout-type") or "-"),
                str(labels.get("step-index") if labels.get("step-index") is not None else "-"),
                age(now - stamp) if stamp is not None else "-",
            )
        )
    return "\n".join(tree._table(LIST_HEADER, rows)) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# The command line


def register(kinds: rollouts.KindParsers) -> None:
    get_run = kinds.get.add_parser(
        "analysisrun",
        aliases=["ar", "analysisruns"],
        parents=[kinds.common],
        help="an AnalysisRun: its metrics and their measurements",
    )
    get_run.add_argument("name", metavar="NAME")
    get_run.add_argument("-w", "--watch", action="store_true", help="redraw on every change until Ctrl-C")
    get_run.add_argument(
        "--until-done",
        action="store_true",
        help="with --watch: stop (exit 0) once the run is Successful, Failed, Error or Inconclusive",
    )
    get_run.set_defaults(run=run_get)

    list_runs = kinds.listing.add_parser(
        "analysisruns", aliases=["analysisrun", "ar"], parents=[kinds.common], help="one line per run"
    )
    list_runs.add_argument("--rollout", metavar="NAME", help="only the runs this Rollout owns")
    list_runs.set_defaults(run=run_list)


def _read(session: rollouts.Session, name: str) -> dict[str, Any]:
    found = custom.get(
        session.clients.custom,
        group_version=custom.ARGO,
        plural=PLURAL,
        namespace=session.namespace,
        name=name,
    )
    if found is None:
        raise rollouts.CommandError(
            f'analysisrun "{name}" not found in namespace "{session.namespace}"', code=rollouts.EXIT_MISSING
        )
    return found


@errors.translated
def _list_all(session: rollouts.Session) -> list[dict[str, Any]]:
    # Read through the client the CLI already holds; `errors.translated` turns API errors into KubeError.
    listed = session.clients.custom.list_namespaced_custom_object(*custom.ARGO, session.namespace, PLURAL)
    return list(cast(dict[str, Any], listed).get("items") or [])


@rollouts._guarded
def run_get(args: argparse.Namespace) -> int:
    session = rollouts._session(args)
    if not args.watch:
        sys.stdout.write(render_analysis_run(_read(session, args.name), now=rollouts._now()))
        return rollouts.EXIT_OK

    def look() -> rollouts.Frame:
        run = _read(session, args.name)
        return rollouts.Frame(
            text=render_analysis_run(run, now=rollouts._now()),
            state=rollouts.object_versions([run]),
            done=is_completed(run),
        )

    return rollouts.watch_frames(
        look,
        out=sys.stdout,
        is_tty=sys.stdout.isatty(),
        until_done=args.until_done,
        interval=rollouts.POLL_INTERVAL_SECONDS,
    )


@rollouts._guarded
def run_list(args: argparse.Namespace) -> int:
    session = rollouts._session(args)
    if args.rollout:
        owner = session.rollout(args.rollout)
        uid = str(_mapping(owner.get("metadata")).get("uid") or "")
        found = rollout_actions.list_owned_analysis_runs(
            session.clients.custom, namespace=session.namespace, owner_uid=uid
        )
    else:
        found = _list_all(session)
    if not found:
        owned = f' owned by rollout "{args.rollout}"' if args.rollout else ""
        print(f'No analysis runs{owned} found in namespace "{session.namespace}".', file=sys.stderr)
        return rollouts.EXIT_OK
    sys.stdout.write(render_analysis_run_list(found, now=rollouts._now()))
    return rollouts.EXIT_OK
