"""A Rollout is healthy only when its canary finished: Argo CD's Lua health check for argoproj.io Rollouts."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.core import health
from rollouts.model import application as model

H = model.HealthStatusCode


def rollout(
    status: dict[str, Any] | None, *, generation: int = 2, strategy: str = "canary", **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": 3, "strategy": {strategy: {}}, **spec},
    }
    if status is not None:
        body["status"] = status
    return body


DONE = {
    "observedGeneration": "2",
    "currentPodHash": "abc",
    "stableRS": "abc",
    "replicas": 3,
    "updatedReplicas": 3,
    "availableReplicas": 3,
}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            rollout(None), (H.PROGRESSING, "Waiting for rollout spec update to be observed"), id="no-status"
        ),
        pytest.param(
            rollout({**DONE, "observedGeneration": "1", "phase": "Healthy"}),
            (H.PROGRESSING, "Waiting for rollout spec update to be observed"),
            id="spec-not-observed",
        ),
        pytest.param(rollout({**DONE, "phase": "Healthy"}), (H.HEALTHY, ""), id="phase-healthy"),
        pytest.param(
            rollout({**DONE, "phase": "Progressing", "message": "waiting for all steps to complete"}),
            (H.PROGRESSING, "waiting for all steps to complete"),
            id="canary-running",
        ),
        pytest.param(
            rollout({**DONE, "phase": "Paused", "message": "CanaryPauseStep"}),
            (H.SUSPENDED, "CanaryPauseStep"),
            id="paused-is-suspended",
        ),
        pytest.param(
            rollout({**DONE, "phase": "Degraded", "message": "RolloutAborted: metric failed"}),
            (H.DEGRADED, "RolloutAborted: metric failed"),
            id="aborted",
        ),
        # Without status.phase (Rollouts older than v1.0): conditions, pause, replicas, stable vs current.
        pytest.param(
            rollout({**DONE, "conditions": [{"type": "InvalidSpec", "status": "True", "message": "bad"}]}),
            (H.DEGRADED, "bad"),
            id="legacy-invalid-spec",
        ),
        pytest.param(
            rollout(
                {**DONE, "conditions": [{"type": "Progressing", "reason": "RolloutAborted", "message": "x"}]}
            ),
            (H.DEGRADED, "x"),
            id="legacy-aborted",
        ),
        pytest.param(
            rollout({**DONE, "pauseConditions": [{"reason": "CanaryPauseStep"}]}),
            (H.SUSPENDED, "Rollout is paused"),
            id="legacy-paused",
        ),
        pytest.param(rollout(DONE, paused=True), (H.SUSPENDED, "Rollout is paused"), id="legacy-spec-paused"),
        pytest.param(
            rollout({"observedGeneration": "2"}),
            (H.PROGRESSING, "Waiting for rollout to finish: status has not been reconciled."),
            id="legacy-unreconciled",
        ),
        pytest.param(
            rollout({**DONE, "updatedReplicas": 1}),
            (H.PROGRESSING, "Waiting for roll out to finish: More replicas need to be updated"),
            id="legacy-updating",
        ),
        pytest.param(
            rollout({**DONE, "replicas": 4}),
            (H.PROGRESSING, "Waiting for roll out to finish: old replicas are pending termination"),
            id="legacy-old-replicas",
        ),
        pytest.param(
            rollout({**DONE, "stableRS": "old"}),
            (H.PROGRESSING, "Waiting for rollout to finish steps"),
            id="legacy-canary-not-finished",
        ),
        pytest.param(rollout(DONE), (H.HEALTHY, ""), id="legacy-canary-finished"),
        pytest.param(
            rollout({**DONE, "blueGreen": {"activeSelector": "old"}}, strategy="blueGreen"),
            (H.PROGRESSING, "active service cutover pending"),
            id="legacy-bluegreen-cutover",
        ),
        pytest.param(
            rollout({**DONE, "blueGreen": {"activeSelector": "abc"}}, strategy="blueGreen"),
            (H.HEALTHY, ""),
            id="legacy-bluegreen-done",
        ),
    ],
)
def test_rollout_health(obj: dict[str, Any], expected: tuple[H, str]) -> None:
    assert health.resource_health(obj) == expected


def test_rollwaves_own_status_reaches_healthy_only_when_stable_equals_current() -> None:
    # What rollwave's Rollout controller writes mid-canary and at the end (core.phase.derive_phase).
    mid = rollout(
        {**DONE, "stableRS": "old", "phase": "Progressing", "message": "waiting for all steps to complete"}
    )
    end = rollout({**DONE, "phase": "Healthy"})
    assert health.resource_health(mid)[0] is H.PROGRESSING
    assert health.resource_health(end)[0] is H.HEALTHY
