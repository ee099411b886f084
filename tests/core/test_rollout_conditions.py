"""Rollout condition transitions: Argo's SetRolloutCondition rules and the Progressing clock.

Semantics 2.4: a condition is left alone when status and reason are unchanged; `lastTransitionTime` is kept when
only the reason changes; Progressing's `lastUpdateTime` is refreshed on every sign of progress (the clock of
progressDeadlineSeconds).
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.core import conditions as cond
from rollouts.model import rollout as model

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(minutes=1)
T2 = T0 + datetime.timedelta(minutes=2)


def condition(
    kind: str, status: str, reason: str, message: str = "m", *, at: datetime.datetime = T0
) -> model.Condition:
    return model.Condition(
        type=kind,
        status=model.ConditionStatus(status),
        reason=reason,
        message=message,
        last_update_time=at,
        last_transition_time=at,
    )


PROGRESSING = condition("Progressing", "True", "ReplicaSetUpdated", 'ReplicaSet "web-a" is progressing.')
AVAILABLE = condition("Available", "True", "AvailableReason", "Rollout has minimum availability")
PAUSED = condition("Paused", "False", "RolloutPaused", "Rollout is not paused")
EXISTING = (PROGRESSING, AVAILABLE, PAUSED)


def only(conditions: tuple[model.Condition, ...], kind: str) -> model.Condition:
    found = [c for c in conditions if c.type == kind]
    assert len(found) == 1
    return found[0]


def test_an_unchanged_condition_is_left_identical() -> None:
    result = cond.set_condition(
        EXISTING,
        kind=cond.ConditionType.AVAILABLE,
        status="True",
        reason=cond.Reason.AVAILABLE,
        message="Rollout has minimum availability",
        now=T2,
    )
    assert result == EXISTING
    assert all(a is b for a, b in zip(result, EXISTING, strict=True))


def test_a_new_reason_with_the_same_status_keeps_the_transition_time() -> None:
    result = cond.set_condition(
        EXISTING,
        kind=cond.ConditionType.PROGRESSING,
        status="True",
        reason=cond.Reason.NEW_REPLICA_SET_AVAILABLE,
        message='ReplicaSet "web-a" has successfully progressed.',
        now=T2,
    )
    updated = only(result, "Progressing")
    assert updated.reason == "NewReplicaSetAvailable"
    assert updated.message == 'ReplicaSet "web-a" has successfully progressed.'
    assert updated.status == model.ConditionStatus.TRUE
    assert updated.last_transition_time == T0
    assert updated.last_update_time == T2


def test_a_new_status_moves_both_times() -> None:
    result = cond.set_condition(
        EXISTING,
        kind=cond.ConditionType.PROGRESSING,
        status="False",
        reason=cond.Reason.PROGRESS_DEADLINE_EXCEEDED,
        message='ReplicaSet "web-a" has timed out progressing.',
        now=T2,
    )
    updated = only(result, "Progressing")
    assert (updated.status, updated.reason) == (model.ConditionStatus.FALSE, "ProgressDeadlineExceeded")
    assert updated.last_transition_time == T2
    assert updated.last_update_time == T2


def test_a_new_message_alone_keeps_the_transition_time() -> None:
    result = cond.set_condition(
        EXISTING,
        kind=cond.ConditionType.PROGRESSING,
        status="True",
        reason=cond.Reason.REPLICA_SET_UPDATED,
        message='ReplicaSet "web-b" is progressing.',
        now=T2,
    )
    updated = only(result, "Progressing")
    assert updated.message == 'ReplicaSet "web-b" is progressing.'
    assert updated.last_transition_time == T0


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(cond.ConditionType.PROGRESSING, id="progressing"),
        pytest.param(cond.ConditionType.AVAILABLE, id="available"),
        pytest.param(cond.ConditionType.PAUSED, id="paused"),
    ],
)
def test_other_conditions_are_untouched_and_the_order_is_kept(kind: cond.ConditionType) -> None:
    result = cond.set_condition(
        EXISTING, kind=kind, status="Unknown", reason=cond.Reason.ROLLOUT_RETRY, message="x", now=T2
    )
    assert [c.type for c in result] == [c.type for c in EXISTING]
    for before, after in zip(EXISTING, result, strict=True):
        if before.type != kind.value:
            assert after is before


def test_a_missing_condition_is_added_at_the_end_with_now_for_both_times() -> None:
    result = cond.set_condition(
        EXISTING,
        kind=cond.ConditionType.INVALID_SPEC,
        status="True",
        reason=cond.Reason.INVALID_SPEC,
        message='The Rollout "web" is invalid: spec.x: bad',
        now=T1,
    )
    assert result[:3] == EXISTING
    added = result[3]
    assert (added.type, added.status, added.reason) == (
        "InvalidSpec",
        model.ConditionStatus.TRUE,
        "InvalidSpec",
    )
    assert added.last_transition_time == T1 == added.last_update_time


def test_find_and_remove() -> None:
    assert cond.find(EXISTING, cond.ConditionType.AVAILABLE) is AVAILABLE
    assert cond.find(EXISTING, cond.ConditionType.HEALTHY) is None
    removed = cond.remove_condition(EXISTING, cond.ConditionType.AVAILABLE)
    assert removed == (PROGRESSING, PAUSED)
    assert cond.remove_condition(EXISTING, cond.ConditionType.HEALTHY) == EXISTING


def test_mark_progress_refreshes_only_progressings_update_time() -> None:
    result = cond.mark_progress(EXISTING, now=T2)
    progressing = only(result, "Progressing")
    assert progressing.last_update_time == T2
    assert progressing.last_transition_time == T0
    assert (progressing.status, progressing.reason, progressing.message) == (
        PROGRESSING.status,
        PROGRESSING.reason,
        PROGRESSING.message,
    )
    assert result[1] is AVAILABLE and result[2] is PAUSED


def test_mark_progress_without_a_progressing_condition_changes_nothing() -> None:
    assert cond.mark_progress((AVAILABLE, PAUSED), now=T2) == (AVAILABLE, PAUSED)


def test_wire_strings_are_argos() -> None:
    assert [kind.value for kind in cond.ConditionType][:6] == [
        "Progressing",
        "Available",
        "Paused",
        "Completed",
        "Healthy",
        "InvalidSpec",
    ]
    assert cond.Reason.PROGRESS_DEADLINE_EXCEEDED.value == "ProgressDeadlineExceeded"
    assert cond.Reason.ROLLOUT_ABORTED.value == "RolloutAborted"
    assert cond.Reason.AVAILABLE.value == "AvailableReason"
    assert cond.Reason.NEW_REPLICA_SET_AVAILABLE.value == "NewReplicaSetAvailable"


@given(
    kind=st.sampled_from(list(cond.ConditionType)),
    status=st.sampled_from(["True", "False", "Unknown"]),
    reason=st.sampled_from(list(cond.Reason)),
    message=st.text(max_size=20),
    minutes=st.integers(min_value=0, max_value=100),
)
def test_setting_the_same_condition_twice_is_setting_it_once(
    kind: cond.ConditionType, status: str, reason: cond.Reason, message: str, minutes: int
) -> None:
    now = T0 + datetime.timedelta(minutes=minutes)
    once = cond.set_condition(EXISTING, kind=kind, status=status, reason=reason, message=message, now=now)
    later = now + datetime.timedelta(minutes=5)
    twice = cond.set_condition(once, kind=kind, status=status, reason=reason, message=message, now=later)
    assert twice == once
    assert len([c for c in once if c.type == kind.value]) == 1
