"""The Rollout phase and message, derived from spec and status (Argo's rules, first match wins).

The phase is written to `status.phase` because people and tools read it (`kubectl get rollout`, Argo CD health
checks); no decision in rollwave ever branches on it.

    InvalidSpec condition                          -> Degraded    "InvalidSpec: <message>"
    RolloutAborted / ProgressDeadlineExceeded      -> Degraded    "<reason>: <message>"
    spec.paused                                    -> Paused      "manually paused"
    any pause condition                            -> Paused      "<first reason>"
    restartAt pending                              -> Progressing "rollout is restarting"
    updated < desired                              -> Progressing "more replicas need to be updated"
    available < updated                            -> Progressing "updated replicas are still becoming available"
    blue-green active/stable not yet moved         -> Progressing "active service cutover pending" / ...
    canary: old replicas left (no router)          -> Progressing "old replicas are pending termination"
    canary: stable != current                      -> Progressing "waiting for all steps to complete"
    otherwise                                      -> Healthy     ""
"""

from __future__ import annotations

from rollouts.core import conditions as cond
from rollouts.model import rollout as model

Phase = model.RolloutPhase


def derive_phase(spec: model.RolloutSpec, status: model.RolloutStatus) -> tuple[Phase, str]:
    invalid = cond.find(status.conditions, cond.ConditionType.INVALID_SPEC)
    if invalid is not None and invalid.status == "True":
        return Phase.DEGRADED, f"{cond.Reason.INVALID_SPEC.value}: {invalid.message}"
    for condition in status.conditions:
        if condition.reason in (cond.Reason.ROLLOUT_ABORTED, cond.Reason.PROGRESS_DEADLINE_EXCEEDED):
            return Phase.DEGRADED, f"{condition.reason}: {condition.message}"
    if spec.paused:
        return Phase.PAUSED, "manually paused"
    if status.pause_conditions:
        return Phase.PAUSED, status.pause_conditions[0].reason.value
    if spec.restart_at is not None and spec.restart_at != status.restarted_at:
        return Phase.PROGRESSING, "rollout is restarting"
    if (status.updated_replicas or 0) < spec.replicas:
        return Phase.PROGRESSING, "more replicas need to be updated"
    if (status.available_replicas or 0) < (status.updated_replicas or 0):
        return Phase.PROGRESSING, "updated replicas are still becoming available"
    if isinstance(spec.strategy, model.BlueGreenStrategy):
        active = status.blue_green.active_selector
        if not active or active != status.current_pod_hash:
            return Phase.PROGRESSING, "active service cutover pending"
        if not status.stable_rs or status.stable_rs != status.current_pod_hash:
            post = status.blue_green.post_promotion_analysis_run_status
            if post is not None and (post.status is None or not post.status.completed):
                return Phase.PROGRESSING, "waiting for analysis to complete"
            return Phase.PROGRESSING, "waiting for post-promotion verification to complete"
    else:
        if spec.strategy.traffic_routing is None and (status.replicas or 0) > (status.updated_replicas or 0):
            return Phase.PROGRESSING, "old replicas are pending termination"
        if not status.stable_rs or status.stable_rs != status.current_pod_hash:
            return Phase.PROGRESSING, "waiting for all steps to complete"
    return Phase.HEALTHY, ""
