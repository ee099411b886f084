"""Rollout conditions with Argo's transition rules, as pure functions on plain data.

A condition whose status and reason are unchanged is left alone (so `lastTransitionTime` and `lastUpdateTime`
stay). A change of reason alone keeps `lastTransitionTime`. Progressing is special: its `lastUpdateTime` is the
clock for `progressDeadlineSeconds`, refreshed by `mark_progress` whenever the rollout moved.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Sequence

from rollouts.model import rollout as model


class ConditionType(enum.StrEnum):
    PROGRESSING = "Progressing"
    AVAILABLE = "Available"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    HEALTHY = "Healthy"
    INVALID_SPEC = "InvalidSpec"
    # rollwave: fields of the manifest rollwave does not act on, named in the message (not blocking).
    UNSUPPORTED_FIELDS = "UnsupportedFields"


class Reason(enum.StrEnum):
    NEW_REPLICA_SET_CREATED = "NewReplicaSetCreated"
    REPLICA_SET_UPDATED = "ReplicaSetUpdated"
    NEW_REPLICA_SET_AVAILABLE = "NewReplicaSetAvailable"
    PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
    ROLLOUT_ABORTED = "RolloutAborted"
    ROLLOUT_PAUSED = "RolloutPaused"
    ROLLOUT_RESUMED = "RolloutResumed"
    ROLLOUT_RETRY = "RolloutRetry"
    AVAILABLE = "AvailableReason"
    ROLLOUT_COMPLETED = "RolloutCompleted"
    ROLLOUT_HEALTHY = "RolloutHealthy"
    INVALID_SPEC = "InvalidSpec"
    UNSUPPORTED_FIELDS = "UnsupportedFields"


def find(conditions: Sequence[model.Condition], kind: ConditionType) -> model.Condition | None:
    return next((c for c in conditions if c.type == kind.value), None)


def set_condition(
    conditions: Sequence[model.Condition],
    *,
    kind: ConditionType,
    status: str,
    reason: Reason,
    message: str,
    now: datetime.datetime,
) -> tuple[model.Condition, ...]:
    existing = find(conditions, kind)
    if existing is not None and existing.status == status and existing.reason == reason:
        if existing.message == message:
            return tuple(conditions)
        updated = dataclasses.replace(existing, message=message)
    else:
        transition = (
            existing.last_transition_time if existing is not None and existing.status == status else now
        )
        updated = model.Condition(
            type=kind.value,
            status=model.ConditionStatus(status),
            reason=reason.value,
            message=message,
            last_update_time=now,
            last_transition_time=transition,
        )
    return (
        tuple(updated if c.type == kind.value else c for c in conditions)
        if existing
        else (*conditions, updated)
    )


def remove_condition(
    conditions: Sequence[model.Condition], kind: ConditionType
) -> tuple[model.Condition, ...]:
    return tuple(c for c in conditions if c.type != kind.value)


def mark_progress(
    conditions: Sequence[model.Condition], *, now: datetime.datetime
) -> tuple[model.Condition, ...]:
    """Refreshes Progressing's lastUpdateTime: the rollout moved, so the progress deadline starts again."""
    return tuple(
        dataclasses.replace(c, last_update_time=now) if c.type == ConditionType.PROGRESSING.value else c
        for c in conditions
    )
