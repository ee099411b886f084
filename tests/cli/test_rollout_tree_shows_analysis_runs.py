"""`rollwave get rollout` hangs each AnalysisRun the Rollout owns under its revision with Argo's counts
(`<alpha> <name>  AnalysisRun  <phase>  ✔ n ✖ m`); runs still going and the Rollout's current ones show each metric's
latest measurement below them; and `--watch` redraws when only an AnalysisRun changed."""

from __future__ import annotations

import datetime
import io
from typing import Any

from rollouts.cli import rollouts, tree

START = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
A = tree.ANALYSIS_RUN_ICON  # Argo's alpha


def _rollout(*, canary_status: dict[str, Any] | None = None, phase: str = "Paused") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "demo",
            "namespace": "shop",
            "generation": 2,
            "uid": "u-1",
            "resourceVersion": "7",
        },
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "demo"}},
            "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}},
            "strategy": {"canary": {"steps": [{"setWeight": 25}, {"analysis": {"templates": []}}]}},
        },
        "status": {
            "observedGeneration": "2",
            "phase": phase,
            "currentPodHash": "bbb",
            "stableRS": "aaa",
            "currentStepIndex": 1,
            "canary": canary_status or {},
        },
    }


def _replica_set(name: str, pod_hash: str, revision: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"rollouts-pod-template-hash": pod_hash},
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
        },
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
    }


def _run(
    name: str,
    pod_hash: str,
    phase: str,
    results: list[dict[str, Any]],
    *,
    step: str | None = "1",
    version: str = "1",
) -> dict[str, Any]:
    labels = {"rollouts-pod-template-hash": pod_hash, "rollout-type": "Step" if step else "Background"}
    if step:
        labels["step-index"] = step
    return {
        "metadata": {"name": name, "labels": labels, "resourceVersion": version},
        "status": {"phase": phase, "metricResults": results},
    }


REPLICA_SETS = [_replica_set("demo-aaa", "aaa", 1), _replica_set("demo-bbb", "bbb", 2)]
RUNNING = _run(
    "demo-bbb-2-1",
    "bbb",
    "Running",
    [
        {
            "name": "success-rate",
            "phase": "Running",
            "count": 3,
            "successful": 2,
            "failed": 1,
            "measurements": [
                {"phase": "Successful", "value": "[0.99]"},
                {"phase": "Successful", "value": "[0.98]"},
                {"phase": "Failed", "value": "[0.91234567891]"},
            ],
        },
        {
            "name": "smoke",
            "phase": "Running",
            "error": 1,
            "measurements": [{"phase": "Error", "message": "received non 2xx response code: 503"}],
        },
        {"name": "latency", "phase": "Pending", "dryRun": True},
    ],
)
OLD = _run(
    "demo-aaa-1-1",
    "aaa",
    "Successful",
    [
        {
            "name": "success-rate",
            "phase": "Successful",
            "count": 4,
            "successful": 4,
            "measurements": [{"phase": "Successful", "value": "1"}],
        }
    ],
)
BACKGROUND = _run(
    "demo-bbb-2",
    "bbb",
    "Inconclusive",
    [
        {
            "name": "rate",
            "phase": "Inconclusive",
            "count": 2,
            "successful": 1,
            "inconclusive": 1,
            "measurements": [{"phase": "Successful", "value": "1"}, {"phase": "Inconclusive", "value": "[]"}],
        }
    ],
    step=None,
)


def _tree(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index(next(line for line in lines if line.startswith("NAME "))) :]


def test_a_running_run_shows_counts_and_each_metrics_latest_measurement_under_its_revision() -> None:
    text = tree.render_rollout(_rollout(), REPLICA_SETS, analysis_runs=[RUNNING, OLD], now=START)
    assert _tree(text) == [
        "NAME                   KIND         STATUS        INFO",
        "⟳ demo                 Rollout      ॥ Paused",
        "├──# revision:2",
        "│  ├──⧉ demo-bbb       ReplicaSet   ✔ Healthy     canary  ready 1/1",
        f"│  └──{A} demo-bbb-2-1   AnalysisRun  ◌ Running     Step step 1  ✔ 2 ✖ 1 ⚠ 1",
        "│     ├──success-rate  Metric       ✖ Failed      [0.912346]",
        "│     ├──smoke         Metric       ⚠ Error       received non 2xx response code: 503",
        "│     └──latency       Metric       ◌ Pending     no measurements yet (dry run)",
        "└──# revision:1",
        "   ├──⧉ demo-aaa       ReplicaSet   ✔ Healthy     ✔ stable  ready 1/1",
        f"   └──{A} demo-aaa-1-1   AnalysisRun  ✔ Successful  Step step 1  ✔ 4",
    ]


def _row(lines: list[str], name: str) -> int:
    return lines.index(
        next(line for line in lines if f" {name} " in f"{line} " or f"──{name} " in f"{line} ")
    )


def test_a_completed_run_shows_its_measurements_only_while_the_rollout_calls_it_current() -> None:
    past = _tree(tree.render_rollout(_rollout(), REPLICA_SETS, analysis_runs=[BACKGROUND], now=START))
    assert past[_row(past, "demo-bbb-2")].split() == [
        *("│", f"└──{A}", "demo-bbb-2", "AnalysisRun", "⚠", "Inconclusive", "Background"),
        *("✔", "1", "?", "1"),
    ]
    assert past[_row(past, "demo-bbb-2") + 1] == "└──# revision:1"

    current = {"currentBackgroundAnalysisRunStatus": {"name": "demo-bbb-2", "status": "Inconclusive"}}
    shown = _tree(
        tree.render_rollout(
            _rollout(canary_status=current), REPLICA_SETS, analysis_runs=[BACKGROUND], now=START
        )
    )
    run_line = _row(shown, "demo-bbb-2")
    assert shown[run_line + 1].split() == ["│", "└──rate", "Metric", "⚠", "Inconclusive", "[]"]
    assert shown[run_line + 2] == "└──# revision:1"


def test_a_run_that_is_not_the_last_child_keeps_the_branch_line_beside_its_metrics() -> None:
    runs = [RUNNING, _run("demo-bbb-2-3", "bbb", "Pending", [], step="3")]
    lines = _tree(tree.render_rollout(_rollout(), REPLICA_SETS, analysis_runs=runs, now=START))
    first = _row(lines, "demo-bbb-2-1")
    assert lines[first].startswith(f"│  ├──{A} demo-bbb-2-1")
    assert lines[first + 1].startswith("│  │  ├──success-rate")
    assert lines[first + 3].startswith("│  │  └──latency")
    assert lines[first + 4].split() == [
        "│",
        f"└──{A}",
        "demo-bbb-2-3",
        "AnalysisRun",
        "◌",
        "Pending",
        "Step",
        "step",
        "3",
    ]
    assert lines[first + 5] == "└──# revision:1", "a pending run has no metric results to show yet"


def test_watch_redraws_when_only_an_analysis_run_changed() -> None:
    def with_measurements(count: int, *, version: str, phase: str = "Running") -> dict[str, Any]:
        measurements = [{"phase": "Successful", "value": f"0.9{n}"} for n in range(1, count + 1)]
        result = {
            "name": "rate",
            "phase": phase,
            "count": count,
            "successful": count,
            "measurements": measurements,
        }
        return _run("demo-bbb-2-1", "bbb", phase, [result], version=version)

    rollout = _rollout(canary_status={"currentStepAnalysisRunStatus": {"name": "demo-bbb-2-1"}})
    healthy = _rollout(phase="Healthy")
    healthy["metadata"]["resourceVersion"] = "8"
    snapshots = [
        (rollout, REPLICA_SETS, [with_measurements(1, version="1")]),
        (rollout, REPLICA_SETS, [with_measurements(1, version="1")]),
        (rollout, REPLICA_SETS, [with_measurements(2, version="2")]),
        (healthy, REPLICA_SETS, [with_measurements(3, version="3", phase="Successful")]),
    ]
    remaining = iter(snapshots)
    out = io.StringIO()
    code = rollouts.watch_rollout(
        lambda: next(remaining),
        out=out,
        is_tty=False,
        until_done=True,
        interval=0,
        now=lambda: START,
        sleep=lambda _: None,
    )
    assert code == 0
    frames = [_tree(frame) for frame in out.getvalue().split("\n\nName:")]
    assert len(frames) == 3, "one frame per new state; the run's second measurement alone makes one"
    assert frames[0][_row(frames[0], "demo-bbb-2-1") + 1].split() == [
        "│",
        "└──rate",
        "Metric",
        "✔",
        "Successful",
        "0.91",
    ]
    assert frames[1][_row(frames[1], "demo-bbb-2-1") + 1].split() == [
        "│",
        "└──rate",
        "Metric",
        "✔",
        "Successful",
        "0.92",
    ]
    done = frames[2]
    assert done[_row(done, "demo-bbb-2-1")].split()[3:] == [
        *("AnalysisRun", "✔", "Successful", "Step", "step", "1", "✔", "3")
    ]
    assert not any("Metric" in line for line in done), (
        "a finished run the Rollout no longer calls current is history"
    )
