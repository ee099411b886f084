"""RolloutStatus speaks Argo's wire form and survives a round trip through it."""

import datetime
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.model import analysis, rollout

UTC = datetime.UTC

timestamps = st.datetimes(
    min_value=datetime.datetime(1970, 1, 1),
    max_value=datetime.datetime(9999, 12, 31),
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=0))
texts = st.text(max_size=12)
counts = st.integers(min_value=0, max_value=2**31 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)

run_refs = st.builds(
    rollout.AnalysisRunStatusRef,
    name=texts,
    status=st.none() | st.sampled_from(analysis.AnalysisPhase),
    message=st.none() | texts,
)
destinations = st.builds(
    rollout.WeightDestination,
    weight=st.integers(min_value=0, max_value=100),
    service_name=st.none() | texts,
    pod_template_hash=st.none() | texts,
)
canary_statuses = st.builds(
    rollout.CanaryStatus,
    current_step_analysis_run_status=st.none() | run_refs,
    current_background_analysis_run_status=st.none() | run_refs,
    current_experiment=st.none() | texts,
    weights=st.none()
    | st.builds(
        rollout.TrafficWeights,
        canary=destinations,
        stable=destinations,
        additional=st.lists(destinations, max_size=2).map(tuple),
        verified=st.none() | st.booleans(),
    ),
    extra=st.dictionaries(st.sampled_from(["stablePingPong", "stepPluginStatuses"]), json_values, max_size=2),
)
blue_green_statuses = st.builds(
    rollout.BlueGreenStatus,
    active_selector=st.none() | texts,
    preview_selector=st.none() | texts,
    scale_up_preview_check_point=st.booleans(),
    pre_promotion_analysis_run_status=st.none() | run_refs,
    post_promotion_analysis_run_status=st.none() | run_refs,
)
conditions = st.builds(
    rollout.Condition,
    type=st.sampled_from(rollout.ConditionType) | texts,
    status=st.sampled_from(rollout.ConditionStatus),
    reason=texts,
    message=texts,
    last_update_time=timestamps,
    last_transition_time=timestamps,
)
statuses = st.builds(
    rollout.RolloutStatus,
    phase=st.none() | st.sampled_from(rollout.RolloutPhase),
    message=st.none() | texts,
    observed_generation=st.none() | counts.map(str),
    current_pod_hash=st.none() | texts,
    stable_rs=st.none() | texts,
    current_step_index=st.none() | st.integers(min_value=0, max_value=50),
    current_step_hash=st.none() | texts,
    pause_conditions=st.lists(
        st.builds(rollout.PauseCondition, reason=st.sampled_from(rollout.PauseReason), start_time=timestamps),
        max_size=2,
    ).map(tuple),
    controller_pause=st.booleans(),
    abort=st.booleans(),
    aborted_at=st.none() | timestamps,
    promote_full=st.booleans(),
    replicas=counts,
    updated_replicas=counts,
    ready_replicas=counts,
    available_replicas=counts,
    hpa_replicas=counts,
    selector=st.none() | texts,
    canary=canary_statuses,
    blue_green=blue_green_statuses,
    restarted_at=st.none() | timestamps,
    collision_count=st.none() | counts,
    workload_observed_generation=st.none() | texts,
    conditions=st.lists(conditions, max_size=3).map(tuple),
    extra=st.dictionaries(st.sampled_from(["alb", "albs", "duration"]), json_values, max_size=2),
)


@given(statuses)
def test_status_round_trips_through_the_wire_form(status: rollout.RolloutStatus) -> None:
    wire = status.to_dict()
    # What goes to the API server is plain JSON.
    assert json.loads(json.dumps(wire)) == wire
    assert rollout.RolloutStatus.from_dict(wire) == status


ARGO_STATUS: dict[str, Any] = {
    "HPAReplicas": 5,
    "abort": True,
    "abortedAt": "2026-11-22T10:05:00Z",
    "availableReplicas": 5,
    "blueGreen": {},
    "canary": {
        "currentStepAnalysisRunStatus": {
            "message": 'Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)',
            "name": "web-6d4b5c-2-1",
            "status": "Failed",
        },
        "weights": {
            "canary": {"podTemplateHash": "6d4b5c", "serviceName": "web-canary", "weight": 0},
            "stable": {"podTemplateHash": "58c9f7", "serviceName": "web-stable", "weight": 100},
        },
    },
    "conditions": [
        {
            "lastTransitionTime": "2026-11-22T10:05:00Z",
            "lastUpdateTime": "2026-11-22T10:05:00Z",
            "message": "Rollout aborted update to revision 2",
            "reason": "RolloutAborted",
            "status": "False",
            "type": "Progressing",
        }
    ],
    "currentPodHash": "6d4b5c",
    "currentStepHash": "7f9c8d",
    "currentStepIndex": 0,
    "message": "RolloutAborted: Rollout aborted update to revision 2",
    "observedGeneration": "4",
    "phase": "Degraded",
    "readyReplicas": 5,
    "replicas": 5,
    "selector": "app=web",
    "stableRS": "58c9f7",
    "updatedReplicas": 0,
}


def test_an_argo_written_status_parses() -> None:
    status = rollout.RolloutStatus.from_dict(ARGO_STATUS)
    assert status.phase is rollout.RolloutPhase.DEGRADED
    assert status.observed_generation == "4"
    assert status.hpa_replicas == 5
    assert status.abort
    assert status.aborted_at == datetime.datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    assert status.stable_rs == "58c9f7"
    assert status.canary.current_step_analysis_run_status == rollout.AnalysisRunStatusRef(
        name="web-6d4b5c-2-1",
        status=analysis.AnalysisPhase.FAILED,
        message='Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)',
    )
    assert status.canary.weights == rollout.TrafficWeights(
        canary=rollout.WeightDestination(weight=0, service_name="web-canary", pod_template_hash="6d4b5c"),
        stable=rollout.WeightDestination(weight=100, service_name="web-stable", pod_template_hash="58c9f7"),
    )
    progressing = status.condition(rollout.ConditionType.PROGRESSING)
    assert progressing is not None
    assert (progressing.status, progressing.reason) == (rollout.ConditionStatus.FALSE, "RolloutAborted")
    assert status.condition(rollout.ConditionType.AVAILABLE) is None


def test_an_argo_written_status_is_written_back_the_same() -> None:
    """Only the empty `blueGreen: {}` (which Argo always writes) is left out."""
    expected = {key: value for key, value in ARGO_STATUS.items() if key != "blueGreen"}
    assert rollout.RolloutStatus.from_dict(ARGO_STATUS).to_dict() == expected


def test_wire_spellings() -> None:
    wire = rollout.RolloutStatus(
        observed_generation="7",
        hpa_replicas=3,
        stable_rs="abc",
        pause_conditions=(
            rollout.PauseCondition(
                reason=rollout.PauseReason.CANARY_PAUSE_STEP,
                start_time=datetime.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC),
            ),
        ),
        controller_pause=True,
    ).to_dict()
    assert wire["observedGeneration"] == "7"
    assert wire["HPAReplicas"] == 3
    assert "hpaReplicas" not in wire
    assert wire["stableRS"] == "abc"
    assert wire["pauseConditions"] == [{"reason": "CanaryPauseStep", "startTime": "2026-11-22T10:00:00Z"}]
    assert wire["controllerPause"] is True


def test_none_fields_and_false_flags_are_omitted() -> None:
    assert rollout.RolloutStatus().to_dict() == {
        "replicas": 0,
        "updatedReplicas": 0,
        "readyReplicas": 0,
        "availableReplicas": 0,
        "HPAReplicas": 0,
    }


def test_numeric_observed_generation_is_read_as_text() -> None:
    assert rollout.RolloutStatus.from_dict({"observedGeneration": 4}).observed_generation == "4"


def test_an_analysis_run_without_phase_is_written_as_empty_status() -> None:
    ref = rollout.AnalysisRunStatusRef.from_dict({"name": "r", "status": ""}, where="x")
    assert ref.status is None
    assert ref.to_dict() == {"name": "r", "status": ""}


def test_unknown_status_fields_are_carried_through() -> None:
    wire = {"alb": {"loadBalancer": {"name": "lb"}}, "canary": {"stablePingPong": "ping"}}
    status = rollout.RolloutStatus.from_dict(wire)
    assert status.extra == {"alb": {"loadBalancer": {"name": "lb"}}}
    assert status.canary.extra == {"stablePingPong": "ping"}
    written = status.to_dict()
    assert written["alb"] == wire["alb"]
    assert written["canary"] == {"stablePingPong": "ping"}


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        pytest.param({"phase": "Sleeping"}, "status.phase must be one of", id="unknown-phase"),
        pytest.param({"replicas": "5"}, "status.replicas must be an integer", id="replicas-text"),
        pytest.param({"abort": "yes"}, "status.abort must be true or false", id="abort-text"),
        pytest.param({"abortedAt": "now"}, "status.abortedAt", id="bad-timestamp"),
        pytest.param(
            {"pauseConditions": [{"reason": "CanaryPauseStep"}]}, "startTime is required", id="no-start"
        ),
        pytest.param(
            {"conditions": [{"type": "Progressing", "status": "Maybe"}]},
            "status.conditions[0].status must be one of",
            id="bad-condition-status",
        ),
        pytest.param(
            {"canary": {"currentStepAnalysisRunStatus": {"status": "Running"}}},
            "currentStepAnalysisRunStatus.name is required",
            id="run-ref-without-name",
        ),
        pytest.param({"conditions": {}}, "must be a list", id="conditions-not-a-list"),
        pytest.param(
            {"observedGeneration": ["1"]}, "observedGeneration must be a string", id="generation-list"
        ),
    ],
)
def test_malformed_statuses_name_the_field(wire: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rollout.RolloutStatus.from_dict(wire)
