"""`derive_phase(spec, status)`: Argo's CalculateRolloutPhase rules in order, the first match wins.

Semantics 2.3. Each row starts from a status where EVERY rule would match, then switches off the rules before the
one under test, so a row fails if an earlier rule is skipped or a later one takes precedence.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from rollouts.core import phase
from rollouts.model import analysis
from rollouts.model import rollout as model

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
RESTART = T0 + datetime.timedelta(minutes=5)
Phase = model.RolloutPhase


def condition(kind: str, reason: str, *, status: str = "True", message: str = "msg") -> model.Condition:
    return model.Condition(
        type=kind,
        status=model.ConditionStatus(status),
        reason=reason,
        message=message,
        last_update_time=T0,
        last_transition_time=T0,
    )


def pause(reason: model.PauseReason) -> model.PauseCondition:
    return model.PauseCondition(reason=reason, start_time=T0)


INVALID = condition("InvalidSpec", "InvalidSpec", message='The Rollout "web" is invalid: spec.x: bad')
ABORTED = condition(
    "Progressing", "RolloutAborted", status="False", message="Rollout aborted update to revision 2"
)
TIMED_OUT = condition(
    "Progressing",
    "ProgressDeadlineExceeded",
    status="False",
    message='ReplicaSet "web-b" has timed out progressing.',
)
AVAILABLE = condition("Available", "AvailableReason")
PROGRESSING = condition("Progressing", "ReplicaSetUpdated", message='ReplicaSet "web-b" is progressing.')

# Every rule matches this spec and status; rows switch rules off from the top.
ALL_WRONG_SPEC: dict[str, Any] = {"replicas": 10, "paused": True, "restart_at": RESTART}
ALL_WRONG_STATUS: dict[str, Any] = {
    "conditions": (AVAILABLE, INVALID, ABORTED),
    "pause_conditions": (pause(model.PauseReason.CANARY_PAUSE_STEP),),
    "restarted_at": None,
    "replicas": 12,
    "updated_replicas": 5,
    "available_replicas": 3,
    "current_pod_hash": "b",
    "stable_rs": "a",
}
NO_DEGRADATION = {"conditions": (AVAILABLE, PROGRESSING)}
NOT_PAUSED = {"pause_conditions": ()}
RESTARTED = {"restarted_at": RESTART}
ALL_UPDATED = {"updated_replicas": 10}
ALL_AVAILABLE = {"updated_replicas": 10, "available_replicas": 10}
ONLY_NEW = {"replicas": 10}
PROMOTED = {"stable_rs": "b"}
TRAFFIC_ROUTED = model.TrafficRouting(router="nginx", config={"stableIngress": "web"})


def canary(**fields: Any) -> model.CanaryStrategy:
    return model.CanaryStrategy(**fields)


def blue_green(**fields: Any) -> model.BlueGreenStrategy:
    return model.BlueGreenStrategy(active_service="web-active", **fields)


def run_ref(phase_value: str) -> model.AnalysisRunStatusRef:
    return model.AnalysisRunStatusRef(name="web-b-2-post", status=analysis.AnalysisPhase(phase_value))


def build(
    spec_changes: dict[str, Any], status_changes: list[dict[str, Any]], strategy: Any
) -> tuple[model.RolloutSpec, model.RolloutStatus]:
    spec = model.RolloutSpec(**{**ALL_WRONG_SPEC, **spec_changes, "strategy": strategy})
    merged: dict[str, Any] = dict(ALL_WRONG_STATUS)
    for change in status_changes:
        merged.update(change)
    return spec, model.RolloutStatus(**merged)


ROWS = [
    # 1. InvalidSpec wins over everything.
    pytest.param({}, [], canary(), Phase.DEGRADED, f"InvalidSpec: {INVALID.message}", id="1-invalid-spec"),
    # 2. A RolloutAborted or ProgressDeadlineExceeded reason on any condition.
    pytest.param(
        {},
        [{"conditions": (AVAILABLE, ABORTED)}],
        canary(),
        Phase.DEGRADED,
        f"RolloutAborted: {ABORTED.message}",
        id="2-aborted",
    ),
    pytest.param(
        {},
        [{"conditions": (AVAILABLE, TIMED_OUT)}],
        canary(),
        Phase.DEGRADED,
        f"ProgressDeadlineExceeded: {TIMED_OUT.message}",
        id="2-progress-deadline-exceeded",
    ),
    pytest.param(
        {},
        [{"conditions": (condition("Healthy", "RolloutAborted", status="False", message="x"), PROGRESSING)}],
        canary(),
        Phase.DEGRADED,
        "RolloutAborted: x",
        id="2-reason-on-any-condition-type",
    ),
    # 3. spec.paused, even with pause conditions present.
    pytest.param({}, [NO_DEGRADATION], canary(), Phase.PAUSED, "manually paused", id="3-manually-paused"),
    # 4. A pause condition: the first one's reason.
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION],
        canary(),
        Phase.PAUSED,
        "CanaryPauseStep",
        id="4-canary-pause-step",
    ),
    pytest.param(
        {"paused": False},
        [
            NO_DEGRADATION,
            {
                "pause_conditions": (
                    pause(model.PauseReason.INCONCLUSIVE_ANALYSIS_RUN),
                    pause(model.PauseReason.CANARY_PAUSE_STEP),
                )
            },
        ],
        canary(),
        Phase.PAUSED,
        "InconclusiveAnalysisRun",
        id="4-first-of-two-pause-conditions",
    ),
    # 5. restartAt not yet recorded as restartedAt.
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED],
        canary(),
        Phase.PROGRESSING,
        "rollout is restarting",
        id="5-restarting",
    ),
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, {"restarted_at": T0}],
        canary(),
        Phase.PROGRESSING,
        "rollout is restarting",
        id="5-restarting-again",
    ),
    # 6. Fewer updated replicas than desired (a restart that was recorded no longer counts).
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED],
        canary(),
        Phase.PROGRESSING,
        "more replicas need to be updated",
        id="6-more-replicas-to-update",
    ),
    pytest.param(
        {"paused": False, "restart_at": None},
        [NO_DEGRADATION, NOT_PAUSED],
        canary(),
        Phase.PROGRESSING,
        "more replicas need to be updated",
        id="6-no-restart-at-all",
    ),
    # 7. Updated pods not yet available.
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_UPDATED],
        canary(),
        Phase.PROGRESSING,
        "updated replicas are still becoming available",
        id="7-updated-not-available",
    ),
    # 9. Canary: old pods left (no traffic router), then steps not done.
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE],
        canary(),
        Phase.PROGRESSING,
        "old replicas are pending termination",
        id="9-canary-old-replicas",
    ),
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE],
        canary(traffic_routing=TRAFFIC_ROUTED),
        Phase.PROGRESSING,
        "waiting for all steps to complete",
        id="9-canary-traffic-routed-ignores-old-replicas",
    ),
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE, ONLY_NEW],
        canary(),
        Phase.PROGRESSING,
        "waiting for all steps to complete",
        id="9-canary-steps-pending",
    ),
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE, ONLY_NEW, {"stable_rs": None}],
        canary(),
        Phase.PROGRESSING,
        "waiting for all steps to complete",
        id="9-canary-no-stable-yet",
    ),
    # 10. Healthy.
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE, ONLY_NEW, PROMOTED],
        canary(),
        Phase.HEALTHY,
        "",
        id="10-canary-healthy",
    ),
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE, ONLY_NEW, PROMOTED],
        canary(traffic_routing=TRAFFIC_ROUTED),
        Phase.HEALTHY,
        "",
        id="10-canary-traffic-routed-healthy",
    ),
    # 8. Blue-green: active Service cutover, then post-promotion.
    pytest.param(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE],
        blue_green(),
        Phase.PROGRESSING,
        "active service cutover pending",
        id="8-blue-green-no-active-selector",
    ),
    pytest.param(
        {"paused": False},
        [
            NO_DEGRADATION,
            NOT_PAUSED,
            RESTARTED,
            ALL_AVAILABLE,
            {"blue_green": model.BlueGreenStatus(active_selector="a")},
        ],
        blue_green(),
        Phase.PROGRESSING,
        "active service cutover pending",
        id="8-blue-green-active-on-old",
    ),
    pytest.param(
        {"paused": False},
        [
            NO_DEGRADATION,
            NOT_PAUSED,
            RESTARTED,
            ALL_AVAILABLE,
            {"blue_green": model.BlueGreenStatus(active_selector="b")},
        ],
        blue_green(),
        Phase.PROGRESSING,
        "waiting for post-promotion verification to complete",
        id="8-blue-green-stable-not-moved",
    ),
    pytest.param(
        {"paused": False},
        [
            NO_DEGRADATION,
            NOT_PAUSED,
            RESTARTED,
            ALL_AVAILABLE,
            {
                "blue_green": model.BlueGreenStatus(
                    active_selector="b", post_promotion_analysis_run_status=run_ref("Running")
                )
            },
        ],
        blue_green(),
        Phase.PROGRESSING,
        "waiting for analysis to complete",
        id="8-blue-green-post-promotion-analysis-running",
    ),
    pytest.param(
        {"paused": False},
        [
            NO_DEGRADATION,
            NOT_PAUSED,
            RESTARTED,
            ALL_AVAILABLE,
            {
                "blue_green": model.BlueGreenStatus(
                    active_selector="b", post_promotion_analysis_run_status=run_ref("Successful")
                )
            },
        ],
        blue_green(),
        Phase.PROGRESSING,
        "waiting for post-promotion verification to complete",
        id="8-blue-green-post-promotion-analysis-done",
    ),
    pytest.param(
        {"paused": False},
        [
            NO_DEGRADATION,
            NOT_PAUSED,
            RESTARTED,
            ALL_AVAILABLE,
            PROMOTED,
            {"blue_green": model.BlueGreenStatus(active_selector="b")},
        ],
        blue_green(),
        Phase.HEALTHY,
        "",
        id="10-blue-green-healthy-old-replicas-do-not-matter",
    ),
]


@pytest.mark.parametrize(("spec_changes", "status_changes", "strategy", "expected", "message"), ROWS)
def test_first_matching_rule_wins(
    spec_changes: dict[str, Any],
    status_changes: list[dict[str, Any]],
    strategy: Any,
    expected: model.RolloutPhase,
    message: str,
) -> None:
    spec, status = build(spec_changes, status_changes, strategy)
    assert phase.derive_phase(spec, status) == (expected, message)


def test_a_fresh_rollout_with_no_status_is_progressing() -> None:
    spec = model.RolloutSpec(replicas=3)
    assert phase.derive_phase(spec, model.RolloutStatus()) == (
        Phase.PROGRESSING,
        "more replicas need to be updated",
    )


def test_zero_replicas_promoted_is_healthy() -> None:
    spec = model.RolloutSpec(replicas=0)
    status = model.RolloutStatus(current_pod_hash="a", stable_rs="a")
    assert phase.derive_phase(spec, status) == (Phase.HEALTHY, "")


def test_the_stored_phase_is_never_read() -> None:
    spec, status = build(
        {"paused": False},
        [NO_DEGRADATION, NOT_PAUSED, RESTARTED, ALL_AVAILABLE, ONLY_NEW, PROMOTED],
        canary(),
    )
    for stored in (*Phase, None):
        again = dataclasses.replace(status, phase=stored, message="stale")
        assert phase.derive_phase(spec, again) == (Phase.HEALTHY, "")
