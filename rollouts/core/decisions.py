"""What the core asks the orchestrator to do: a Decision holding the whole new status, idempotent effects,
when to look again, and the Events to record.

Effects are applied in order and each is idempotent (create-if-missing, scale-to, set-selector-to), so a
controller that crashed between the effects and the status write re-derives the same effects and changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from rollouts.core import rollout_analysis
from rollouts.model import rollout as model
from rollouts.model import routes


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CreateReplicaSet:
    name: str
    pod_template_hash: str
    revision: int
    replicas: int
    template: Mapping[str, Any]  # the pod template, hash label included
    selector: Mapping[str, Any]  # the Rollout's selector plus the hash label
    min_ready_seconds: int = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScaleReplicaSet:
    name: str
    revision: int | None
    from_replicas: int
    to_replicas: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetReplicaSetRevision:
    """An old ReplicaSet brought back (undo, rollback) becomes the newest revision again."""

    name: str
    revision: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeleteReplicaSet:
    name: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetServiceSelector:
    service: str
    pod_template_hash: str
    previous_hash: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetRolloutReplicas:
    """An unset `spec.replicas` is written back as 1, so an HPA can scale the Rollout through /scale."""

    replicas: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EvictPod:
    """Delete one pod created before `spec.restartAt` (restart, within the maxUnavailable budget)."""

    name: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CreateAnalysisRun:
    """Make the run `request` describes from its templates (create-if-missing: its name is decided here)."""

    request: rollout_analysis.RunRequest


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TerminateAnalysisRun:
    """Stop a run that no longer decides anything (`spec.terminate: true`)."""

    name: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAnalysisRun:
    """A completed run beyond the Rollout's run history limits."""

    name: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetHeaderRoute:
    """A `setHeaderRoute` step: the router sends matching requests to the canary (no matches: removes it)."""

    route: routes.HeaderRoute


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetMirrorRoute:
    """A `setMirrorRoute` step: the router copies matching requests to the canary (no matches: removes it)."""

    route: routes.MirrorRoute


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoveManagedRoutes:
    """The update ended (promoted or aborted): the header and mirror routes the steps added go."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetTrafficWeight:
    """The canary's share of traffic on the router (out of maxTrafficWeight); the rest goes to the stable."""

    weight: int
    canary_hash: str | None
    stable_hash: str | None


Effect = (
    CreateReplicaSet
    | ScaleReplicaSet
    | SetReplicaSetRevision
    | DeleteReplicaSet
    | SetServiceSelector
    | SetRolloutReplicas
    | EvictPod
    | CreateAnalysisRun
    | TerminateAnalysisRun
    | DeleteAnalysisRun
    | SetTrafficWeight
    | SetHeaderRoute
    | SetMirrorRoute
    | RemoveManagedRoutes
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EventNote:
    reason: str
    message: str
    warning: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    status: model.RolloutStatus
    effects: tuple[Effect, ...] = ()
    requeue_after: datetime.timedelta | None = None  # something is due then (a pause ends, a deadline)
    events: tuple[EventNote, ...] = ()
    # Look again then even if nothing is due: state outside our watches (a route's weights) may drift.
    resync_after: datetime.timedelta | None = None
