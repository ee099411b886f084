"""`rollwave get rollout` prints what a person needs to follow a canary: status as clients see it, the step with
its countdown, desired and actual weight, images, and one branch per revision with stable/canary markers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.cli import tree

START = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
STEPS = [{"setWeight": 25}, {"pause": {"duration": "30s"}}, {"setWeight": 50}, {"pause": {}}]


def _rollout(
    *, status: dict[str, Any], generation: int = 2, steps: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo", "namespace": "shop", "generation": generation, "uid": "u-1"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "demo"}},
            "template": {
                "metadata": {"labels": {"app": "demo"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]},
            },
            "strategy": {"canary": {"steps": STEPS if steps is None else steps}},
        },
        "status": status,
    }


def _replica_set(
    name: str, *, pod_hash: str, revision: int, replicas: int, ready: int, image: str
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"app": "demo", "rollouts-pod-template-hash": pod_hash},
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
            "ownerReferences": [{"uid": "u-1", "controller": True}],
        },
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "app", "image": image}]}},
        },
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready},
    }


PAUSED_STATUS = {
    "observedGeneration": "2",
    "phase": "Paused",
    "message": "CanaryPauseStep",
    "currentPodHash": "bbb",
    "stableRS": "aaa",
    "currentStepIndex": 1,
    "controllerPause": True,
    "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-03-01T12:00:00Z"}],
    "replicas": 4,
    "updatedReplicas": 1,
    "readyReplicas": 4,
    "availableReplicas": 4,
}
STABLE = _replica_set("demo-aaa", pod_hash="aaa", revision=1, replicas=3, ready=3, image="nginx:1.25")
CANARY = _replica_set("demo-bbb", pod_hash="bbb", revision=2, replicas=1, ready=1, image="nginx:1.26")


def _line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(label))


def test_paused_canary_shows_status_step_countdown_and_weights() -> None:
    text = tree.render_rollout(
        _rollout(status=PAUSED_STATUS), [STABLE, CANARY], now=START + datetime.timedelta(seconds=18)
    )
    assert _line(text, "Name:").split() == ["Name:", "demo"]
    assert _line(text, "Namespace:").split() == ["Namespace:", "shop"]
    assert _line(text, "Status:").endswith("॥ Paused")
    assert _line(text, "Message:").endswith("CanaryPauseStep")
    assert _line(text, "Step:").split() == ["Step:", "1/4"]
    assert _line(text, "Current step:").endswith("pause 30s (12s left)")
    assert _line(text, "SetWeight:").split() == ["SetWeight:", "25"]
    assert _line(text, "ActualWeight:").split() == ["ActualWeight:", "25"]
    assert "nginx:1.26 (canary)" in text
    assert "nginx:1.25 (stable)" in text
    assert _line(text, "Desired:").split() == ["Desired:", "4"]
    assert _line(text, "Updated:").split() == ["Updated:", "1"]


def test_revisions_are_listed_newest_first_with_markers_and_pods() -> None:
    text = tree.render_rollout(_rollout(status=PAUSED_STATUS), [STABLE, CANARY], now=START)
    lines = text.splitlines()
    revision_2 = next(i for i, line in enumerate(lines) if "# revision:2" in line)
    revision_1 = next(i for i, line in enumerate(lines) if "# revision:1" in line)
    assert revision_2 < revision_1
    canary_line = lines[revision_2 + 1]
    stable_line = lines[revision_1 + 1]
    assert "demo-bbb" in canary_line and "canary" in canary_line and "ready 1/1" in canary_line
    assert "demo-aaa" in stable_line and "✔ stable" in stable_line and "ready 3/3" in stable_line
    assert "stable" not in canary_line


def test_analysis_runs_hang_under_their_revision() -> None:
    run = {
        "metadata": {
            "name": "demo-bbb-2-1",
            "labels": {"rollouts-pod-template-hash": "bbb", "rollout-type": "Step", "step-index": "1"},
        },
        "status": {"phase": "Inconclusive"},
    }
    text = tree.render_rollout(
        _rollout(status=PAUSED_STATUS), [STABLE, CANARY], analysis_runs=[run], now=START
    )
    lines = text.splitlines()
    revision_2 = next(i for i, line in enumerate(lines) if "# revision:2" in line)
    revision_1 = next(i for i, line in enumerate(lines) if "# revision:1" in line)
    run_line = next(i for i, line in enumerate(lines) if "demo-bbb-2-1" in line)
    assert revision_2 < run_line < revision_1
    assert (
        "AnalysisRun" in lines[run_line]
        and "⚠ Inconclusive" in lines[run_line]
        and "Step step 1" in lines[run_line]
    )


def test_healthy_rollout_is_at_full_weight_with_only_a_stable_revision() -> None:
    status = {
        "observedGeneration": "2",
        "phase": "Healthy",
        "currentPodHash": "aaa",
        "stableRS": "aaa",
        "currentStepIndex": 4,
        "replicas": 4,
        "updatedReplicas": 4,
        "readyReplicas": 4,
        "availableReplicas": 4,
    }
    stable = _replica_set("demo-aaa", pod_hash="aaa", revision=1, replicas=4, ready=4, image="nginx:1.25")
    text = tree.render_rollout(_rollout(status=status), [stable], now=START)
    assert _line(text, "Status:").endswith("✔ Healthy")
    assert "Message:" not in text
    assert _line(text, "Step:").split() == ["Step:", "4/4"]
    assert "Current step:" not in text
    assert _line(text, "SetWeight:").split() == ["SetWeight:", "100"]
    assert _line(text, "ActualWeight:").split() == ["ActualWeight:", "100"]
    assert "✔ stable  ready 4/4" in text


def test_aborted_rollout_reads_degraded_with_canary_scaled_down() -> None:
    status = {
        **PAUSED_STATUS,
        "phase": "Degraded",
        "message": "RolloutAborted: Rollout aborted update to revision 2",
        "abort": True,
        "currentStepIndex": 0,
        "controllerPause": False,
        "pauseConditions": None,
    }
    canary = _replica_set("demo-bbb", pod_hash="bbb", revision=2, replicas=0, ready=0, image="nginx:1.26")
    stable = _replica_set("demo-aaa", pod_hash="aaa", revision=1, replicas=4, ready=4, image="nginx:1.25")
    text = tree.render_rollout(_rollout(status=status), [stable, canary], now=START)
    assert _line(text, "Status:").endswith("✖ Degraded")
    assert _line(text, "SetWeight:").split() == ["SetWeight:", "0"]
    assert _line(text, "ActualWeight:").split() == ["ActualWeight:", "0"]
    canary_line = next(line for line in text.splitlines() if "demo-bbb" in line)
    assert "• ScaledDown" in canary_line and "ready 0/0" in canary_line
    # Images of scaled-down revisions are not running, so not shown.
    assert "nginx:1.26" not in _line(text, "Images:")


@pytest.mark.parametrize(
    ("metadata", "status", "expected"),
    [
        pytest.param(
            {"generation": 3},
            {"observedGeneration": "2", "phase": "Healthy"},
            ("Progressing", "waiting for rollout spec update to be observed"),
            id="spec-not-yet-observed",
        ),
        pytest.param(
            {"generation": 1},
            {},
            ("Progressing", "waiting for rollout spec update to be observed"),
            id="never-observed",
        ),
        pytest.param(
            {"generation": 2},
            {
                "observedGeneration": "2",
                "phase": "Paused",
                "message": "CanaryPauseStep",
                "controllerPause": True,
            },
            ("Progressing", "waiting for rollout to unpause"),
            id="promoted-not-yet-processed",
        ),
        pytest.param(
            {"generation": 2},
            {
                "observedGeneration": "2",
                "phase": "Paused",
                "message": "CanaryPauseStep",
                "controllerPause": True,
                "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-03-01T12:00:00Z"}],
            },
            ("Paused", "CanaryPauseStep"),
            id="paused",
        ),
        pytest.param(
            {"generation": 5},
            {"observedGeneration": "5", "phase": "Degraded", "message": "RolloutAborted: x"},
            ("Degraded", "RolloutAborted: x"),
            id="stored-phase",
        ),
    ],
)
def test_status_is_computed_the_way_clients_see_it(
    metadata: dict[str, Any], status: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert tree.client_phase({"metadata": metadata, "status": status}) == expected


@pytest.mark.parametrize(
    ("step", "seconds_in", "expected"),
    [
        pytest.param(
            {"pause": {"duration": "30s"}}, 18, "pause 30s (12s left)", id="timed-pause-counts-down"
        ),
        pytest.param({"pause": {"duration": "2m"}}, 30, "pause 2m (1m30s left)", id="minutes"),
        pytest.param({"pause": {"duration": 10}}, 40, "pause 10s (0s left)", id="overdue-is-zero"),
        pytest.param({"pause": {}}, 5, "pause (until promoted)", id="indefinite"),
        pytest.param({"setWeight": 40}, 0, "setWeight 40", id="set-weight"),
        pytest.param({"setCanaryScale": {"replicas": 2}}, 0, "setCanaryScale replicas 2", id="canary-scale"),
        pytest.param(
            {"analysis": {"templates": [{"templateName": "success-rate"}]}},
            0,
            "analysis (success-rate)",
            id="analysis",
        ),
    ],
)
def test_current_step_is_described(step: dict[str, Any], seconds_in: int, expected: str) -> None:
    status = {**PAUSED_STATUS, "currentStepIndex": 0}
    text = tree.render_rollout(
        _rollout(status=status, steps=[step, {"setWeight": 100}]),
        [STABLE, CANARY],
        now=START + datetime.timedelta(seconds=seconds_in),
    )
    assert _line(text, "Current step:").strip().removeprefix("Current step:").strip() == expected


def test_list_shows_one_row_per_rollout_with_argo_columns() -> None:
    other = _rollout(status={**PAUSED_STATUS, "phase": "Healthy", "currentStepIndex": 4, "stableRS": "bbb"})
    other["metadata"] = {**other["metadata"], "name": "api", "namespace": "alpha"}
    text = tree.render_rollout_list([_rollout(status=PAUSED_STATUS), other], all_namespaces=True, now=START)
    header, *rows = text.splitlines()
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        "STRATEGY",
        "STATUS",
        "STEP",
        "SET-WEIGHT",
        "READY",
        "DESIRED",
        "UP-TO-DATE",
        "AVAILABLE",
    ]
    assert rows[0].split() == ["alpha", "api", "Canary", "Healthy", "4/4", "100", "4/4", "4", "1", "4"]
    assert rows[1].split() == ["shop", "demo", "Canary", "Paused", "1/4", "25", "4/4", "4", "1", "4"]
