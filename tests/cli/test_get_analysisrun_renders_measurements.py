"""`rollwave get analysisrun` shows a run the way a person follows it: the run's phase, message and summaries,
then per metric its provider, counters beside their limits, conditions, and a table of measurements, numbered
and newest last, with values shortened and messages (no data, errors) kept whole. `list analysisruns` prints one
line per run."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.cli import analysisruns, main

NOW = datetime.datetime(2026, 3, 1, 12, 1, 30, tzinfo=datetime.UTC)
NO_DATA = (
    'no data returned from the metric provider: prometheus query "sum(rate(http_requests_total[1m]))" '
    "returned []; noDataPolicy is Inconclusive"
)


def _measurement(
    phase: str, second: int, value: str | None = None, message: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "phase": phase,
        "startedAt": f"2026-03-01T12:00:{second:02d}Z",
        "finishedAt": f"2026-03-01T12:00:{second:02d}Z",
    }
    if value is not None:
        out["value"] = value
    if message is not None:
        out["message"] = message
    return out


RUN: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisRun",
    "metadata": {
        "name": "demo-bbb-2-1",
        "namespace": "shop",
        "creationTimestamp": "2026-03-01T12:00:00Z",
        "labels": {"rollouts-pod-template-hash": "bbb", "rollout-type": "Step", "step-index": "1"},
        "ownerReferences": [
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo", "uid": "u"}
        ],
    },
    "spec": {
        "metrics": [
            {
                "name": "success-rate",
                "interval": "10s",
                "count": 5,
                "failureLimit": 1,
                "successCondition": "result[0] >= 0.95",
                "provider": {"prometheus": {"address": "http://prom:9090", "query": "sum(up)"}},
            },
            {
                "name": "latency",
                "interval": "10s",
                "successCondition": "result[0] < 300",
                "failureCondition": "result[0] > 500",
                "noDataPolicy": "Inconclusive",
                "provider": {
                    "prometheus": {"address": "http://prom:9090", "query": "histogram_quantile(0.99, x)"}
                },
            },
            {
                "name": "smoke",
                "consecutiveErrorLimit": 2,
                "provider": {"web": {"url": "http://smoke.shop/health", "jsonPath": "{$.ok}"}},
            },
            {
                "name": "canary-probe",
                "interval": "10s",
                "count": 3,
                "provider": {"web": {"url": "http://probe/"}},
            },
        ],
        "dryRun": [{"metricName": "canary-.*"}],
    },
    "status": {
        "phase": "Failed",
        "message": 'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
        "startedAt": "2026-03-01T12:00:00Z",
        "runSummary": {"count": 3, "successful": 0, "failed": 1, "inconclusive": 1, "error": 1},
        "dryRunSummary": {"count": 1, "successful": 1},
        "metricResults": [
            {
                "name": "success-rate",
                "phase": "Failed",
                "count": 3,
                "successful": 1,
                "failed": 2,
                "measurements": [
                    _measurement("Successful", 0, "[0.9912345678]"),
                    _measurement("Failed", 10, "[0.91]"),
                    _measurement("Failed", 20, "[0.5]"),
                ],
            },
            {
                "name": "latency",
                "phase": "Inconclusive",
                "count": 2,
                "successful": 1,
                "inconclusive": 1,
                "message": NO_DATA,
                "measurements": [
                    _measurement("Successful", 0, "[212.5]"),
                    _measurement("Inconclusive", 10, "[]", NO_DATA),
                ],
            },
            {
                "name": "smoke",
                "phase": "Error",
                "error": 3,
                "consecutiveError": 3,
                "message": "received non 2xx response code: 503",
                "measurements": [
                    _measurement("Error", 0, message="received non 2xx response code: 503"),
                    _measurement("Error", 10, message="received non 2xx response code: 503"),
                    _measurement("Error", 20, message="received non 2xx response code: 503"),
                ],
            },
            {
                "name": "canary-probe",
                "phase": "Successful",
                "dryRun": True,
                "count": 3,
                "successful": 3,
                "measurements": [
                    _measurement("Successful", 0, '{"ok": true,\n "detail": "' + "x" * 60 + '"}'),
                    _measurement("Successful", 10, "true"),
                    _measurement("Successful", 20, "true"),
                ],
            },
        ],
    },
}


def _section(text: str, metric: str) -> list[str]:
    """The lines of one metric's section, from its `Metric:` line up to the next blank line after its table."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Metric:") and metric in line.split())
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("Metric:")), len(lines))
    return [line for line in lines[start:end] if line]


def test_the_header_shows_phase_message_owner_and_summaries() -> None:
    text = analysisruns.render_analysis_run(RUN, now=NOW)
    assert text.splitlines()[:8] == [
        "Name:            demo-bbb-2-1",
        "Namespace:       shop",
        "Status:          ✖ Failed",
        'Message:         Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
        "Started:         2026-03-01T12:00:00Z (90s ago)",
        "Rollout:         demo (Step analysis, step 1, pod-template hash bbb)",
        "Run summary:     3 metrics: 1 failed, 1 inconclusive, 1 error",
        "Dry-run summary: 1 metric: 1 successful",
    ]


def test_a_failed_metric_shows_counters_against_limits_and_numbered_measurements() -> None:
    assert _section(analysisruns.render_analysis_run(RUN, now=NOW), "success-rate") == [
        "Metric:          success-rate",
        "  Status:        ✖ Failed",
        "  Provider:      prometheus",
        "  Query:         sum(up)",
        "  Measured:      3 of 5, every 10s",
        "  Successful:    1",
        "  Failed:        2 (failureLimit 1)",
        "  Inconclusive:  0 (inconclusiveLimit 0)",
        "  Errors:        0 (consecutiveErrorLimit 4)",
        "  Success when:  result[0] >= 0.95",
        "  #  TIME      STATUS        VALUE       MESSAGE",
        "  1  12:00:00  ✔ Successful  [0.991235]",
        "  2  12:00:10  ✖ Failed      [0.91]",
        "  3  12:00:20  ✖ Failed      [0.5]",
    ]


def test_no_data_is_shown_with_its_policy_and_whole_message() -> None:
    section = _section(analysisruns.render_analysis_run(RUN, now=NOW), "latency")
    assert section[1] == "  Status:        ⚠ Inconclusive"
    assert section[4:] == [
        "  Measured:      2 (no count limit), every 10s",
        "  Successful:    1",
        "  Failed:        0 (failureLimit 0)",
        "  Inconclusive:  1 (inconclusiveLimit 0)",
        "  Errors:        0 (consecutiveErrorLimit 4)",
        "  Success when:  result[0] < 300",
        "  Failure when:  result[0] > 500",
        "  No data:       Inconclusive (noDataPolicy)",
        f"  Message:       {NO_DATA}",
        "  #  TIME      STATUS          VALUE    MESSAGE",
        "  1  12:00:00  ✔ Successful    [212.5]",
        f"  2  12:00:10  ⚠ Inconclusive  []       {NO_DATA}",
    ]


def test_errors_count_in_a_row_and_keep_their_message() -> None:
    section = _section(analysisruns.render_analysis_run(RUN, now=NOW), "smoke")
    assert section[1:6] == [
        "  Status:        ⚠ Error",
        "  Provider:      web",
        "  URL:           GET http://smoke.shop/health",
        "  Measured:      0 of 1",
        "  Successful:    0",
    ]
    assert "  Errors:        3 (consecutiveErrorLimit 2)" in section
    assert "  Conditions:    none (a measurement without an error is Successful)" in section
    assert section[-1] == "  3  12:00:20  ⚠ Error  -      received non 2xx response code: 503"


def test_a_dry_run_metric_is_marked_and_long_values_are_cut() -> None:
    section = _section(analysisruns.render_analysis_run(RUN, now=NOW), "canary-probe")
    assert section[0] == "Metric:          canary-probe (dry run)"
    first = section[section.index(next(line for line in section if line.startswith("  #"))) + 1]
    value = '{"ok": true, "detail": "' + "x" * 60
    assert first == f"  1  12:00:00  ✔ Successful  {value[:39]}…"


def test_only_the_kept_measurements_are_listed_numbered_from_the_counters() -> None:
    run = {
        "metadata": {"name": "long", "namespace": "shop"},
        "spec": {"metrics": [{"name": "rate", "interval": "1s", "provider": {"web": {"url": "http://x/"}}}]},
        "status": {
            "phase": "Running",
            "metricResults": [
                {
                    "name": "rate",
                    "phase": "Running",
                    "count": 12,
                    "successful": 12,
                    "error": 2,
                    "measurements": [_measurement("Successful", s, f"{s}.5") for s in range(40, 50)]
                    + [{"phase": "Running", "startedAt": "2026-03-01T12:00:55Z"}],
                }
            ],
        },
    }
    section = _section(analysisruns.render_analysis_run(run, now=NOW), "rate")
    table = section[section.index(next(line for line in section if line.startswith("  #"))) :]
    assert table[1].split() == ["5", "12:00:40", "✔", "Successful", "40.5"]
    assert table[10].split() == ["14", "12:00:49", "✔", "Successful", "49.5"]
    assert table[11].split() == ["15", "12:00:55", "◌", "Running", "-"]
    assert table[12] == "  (the last 11 of 15 measurements are kept)"


def test_a_new_run_without_status_is_pending() -> None:
    run = {
        "metadata": {"name": "fresh", "namespace": "shop"},
        "spec": {"metrics": [{"name": "rate", "provider": {"job": {"spec": {}}}}]},
    }
    text = analysisruns.render_analysis_run(run, now=NOW)
    assert text.splitlines()[2] == "Status:          ◌ Pending"
    assert "Started:" not in text and "Run summary:" not in text
    assert _section(text, "rate")[1:3] == ["  Status:        ◌ Pending", "  Provider:      job"]
    assert text.endswith("  (no measurements yet)\n")


def test_a_date_other_than_today_is_printed_with_the_time() -> None:
    later = NOW + datetime.timedelta(days=1)
    section = _section(analysisruns.render_analysis_run(RUN, now=later), "success-rate")
    assert "  1  2026-03-01 12:00:00  ✔ Successful  [0.991235]" in section


def test_list_prints_one_line_per_run_oldest_first() -> None:
    runs: list[dict[str, Any]] = [
        {
            "metadata": {
                "name": "demo-bbb-2-1",
                "creationTimestamp": "2026-03-01T12:00:00Z",
                "labels": {"rollout-type": "Step", "step-index": "1"},
            },
            "status": {"phase": "Running"},
        },
        {"metadata": {"name": "by-hand", "creationTimestamp": "2026-02-28T10:00:00Z"}},
        {
            "metadata": {
                "name": "demo-bbb-2",
                "creationTimestamp": "2026-03-01T11:58:00Z",
                "labels": {"rollout-type": "Background"},
            },
            "status": {"phase": "Successful"},
        },
    ]
    assert analysisruns.render_analysis_run_list(runs, now=NOW).splitlines() == [
        "NAME          STATUS      TYPE        STEP  AGE",
        "by-hand       Pending     -           -     26h",
        "demo-bbb-2    Successful  Background  -     3m30s",
        "demo-bbb-2-1  Running     Step        1     90s",
    ]


@pytest.mark.parametrize("kind", ["analysisrun", "ar", "analysisruns"])
def test_get_accepts_the_kind_aliases(kind: str) -> None:
    args = main.build_parser().parse_args(["get", kind, "run-1", "-n", "shop", "--watch", "--until-done"])
    assert (args.name, args.namespace, args.watch, args.until_done) == ("run-1", "shop", True, True)
    assert args.run is analysisruns.run_get


def test_list_takes_a_rollout() -> None:
    args = main.build_parser().parse_args(["list", "ar", "--rollout", "demo"])
    assert (args.rollout, args.run) == ("demo", analysisruns.run_list)
