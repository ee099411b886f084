"""The Rollout: spec as frozen dataclasses, status with a wire round trip, and `parse_rollout`.

`parse_rollout(obj)` returns `Parsed[Rollout]`: the typed Rollout plus every issue. Unsupported fields are
reported by path and never dropped silently; an unsupported canary step stays in `steps` as an
`UnsupportedStep` so that step indexes keep matching the user's list (and `status.currentStepIndex`).

The pod template is not modelled: `RolloutSpec.template` is the raw PodTemplateSpec (a deep copy), which the
core hashes and copies into ReplicaSets.

Validation follows Argo's (`pkg/apis/rollouts/validation`) where rollwave supports the feature, e.g.:

    spec.strategy: set only one of canary and blueGreen
    spec.strategy.canary.steps[0].setWeight: must be between 0 and 100 (got 120)
    spec.template.metadata.labels: `selector` does not match template `labels`

`RolloutStatus.from_dict`/`to_dict` speak Argo's wire form: camelCase, `observedGeneration` as a string,
`HPAReplicas` spelled so, RFC 3339 timestamps at second precision. Status fields rollwave does not model
(`alb`, `canary.stablePingPong`, ...) are carried in `extra` and written back unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
from collections.abc import Mapping
from typing import Any

from rollouts.model import analysis, fields, routes, wire, workloads

API_VERSION = "argoproj.io/v1alpha1"

DEFAULT_MAX_SURGE = fields.IntOrPercent(value=25, is_percent=True)
DEFAULT_MAX_UNAVAILABLE = fields.IntOrPercent(value=25, is_percent=True)
DEFAULT_MAX_TRAFFIC_WEIGHT = 100

SUPPORTED_ROUTERS = ("nginx", "istio", "smi", "gatewayAPI")  # gatewayAPI: rollwave's native field
SUPPORTED_ROUTER_PLUGINS = frozenset({"argoproj-labs/gatewayAPI"})
UNSUPPORTED_ROUTERS = ("alb", "ambassador", "appMesh", "traefik", "apisix")


# ---------------------------------------------------------------------------------------------------
# Enums


class PauseReason(enum.StrEnum):
    CANARY_PAUSE_STEP = "CanaryPauseStep"
    BLUE_GREEN_PAUSE = "BlueGreenPause"
    INCONCLUSIVE_ANALYSIS_RUN = "InconclusiveAnalysisRun"
    INCONCLUSIVE_EXPERIMENT = "InconclusiveExperiment"


class RolloutPhase(enum.StrEnum):
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"


class ConditionType(enum.StrEnum):
    """Argo's Rollout condition types. `Condition.type` is a plain str (these compare equal to it)."""

    PROGRESSING = "Progressing"
    AVAILABLE = "Available"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    HEALTHY = "Healthy"
    INVALID_SPEC = "InvalidSpec"
    REPLICA_FAILURE = "ReplicaFailure"


class ConditionStatus(enum.StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


# ---------------------------------------------------------------------------------------------------
# Spec

# A Rollout's analysis arguments have the same shape as a template's (`{name, value, valueFrom}`);
# only the allowed `valueFrom` sources differ (podTemplateHashValue and fieldRef here).
RolloutAnalysisArg = analysis.AnalysisArg


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TemplateRef:
    """`templates[{templateName, clusterScope}]`: an AnalysisTemplate, or a ClusterAnalysisTemplate."""

    name: str
    cluster_scope: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRunMetadata:
    """Extra labels and annotations put on the AnalysisRuns created from this analysis."""

    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RolloutAnalysis:
    """An analysis referenced by a Rollout: a step, a blue-green pre/post promotion check."""

    templates: tuple[TemplateRef, ...]
    args: tuple[analysis.AnalysisArg, ...] = ()
    dry_run: tuple[analysis.DryRun, ...] = ()
    measurement_retention: tuple[analysis.MeasurementRetention, ...] = ()
    analysis_run_metadata: AnalysisRunMetadata = AnalysisRunMetadata()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BackgroundAnalysis(RolloutAnalysis):
    """Canary background analysis; starts with the update, or once `starting_step` is reached."""

    starting_step: int | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetWeight:
    weight: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    """`pause: {duration}`; `duration` None means indefinite (until promoted)."""

    duration: datetime.timedelta | None = None

    @property
    def indefinite(self) -> bool:
        return self.duration is None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetCanaryScale:
    """`setCanaryScale`: canary replicas, or a weight of spec.replicas, or back to the traffic weight."""

    replicas: int | None = None
    weight: int | None = None
    match_traffic_weight: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisStep:
    analysis: RolloutAnalysis


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetHeaderRoute:
    """`setHeaderRoute`: requests with matching headers go to the canary (a router that can, e.g. Istio)."""

    route: routes.HeaderRoute


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetMirrorRoute:
    """`setMirrorRoute`: matching requests are also copied to the canary."""

    route: routes.MirrorRoute


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UnsupportedStep:
    """A step rollwave cannot run; `Parsed.issues` says why.

    `kind` is the step's action (`experiment`, `setHeaderRoute`, ...), several joined by `+` when a step
    sets more than one, or "" when it sets none. Kept so that step indexes match the user's list.
    """

    kind: str


CanaryStep = (
    SetWeight | Pause | SetCanaryScale | AnalysisStep | SetHeaderRoute | SetMirrorRoute | UnsupportedStep
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrafficRouting:
    """The traffic router, kept generic: `router` names it and `config` is its raw configuration.

    `router` is `nginx`, `istio`, `smi`, or `plugin:<name>` for a router plugin (e.g.
    `plugin:argoproj-labs/gatewayAPI`). The router modules parse their own `config`.
    """

    router: str
    config: Mapping[str, Any]
    max_traffic_weight: int = DEFAULT_MAX_TRAFFIC_WEIGHT
    managed_routes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CanaryStrategy:
    steps: tuple[CanaryStep, ...] = ()
    canary_service: str | None = None
    stable_service: str | None = None
    max_surge: fields.IntOrPercent = DEFAULT_MAX_SURGE
    max_unavailable: fields.IntOrPercent = DEFAULT_MAX_UNAVAILABLE
    traffic_routing: TrafficRouting | None = None
    analysis: BackgroundAnalysis | None = None
    dynamic_stable_scale: bool = False
    scale_down_delay_seconds: int | None = None
    abort_scale_down_delay_seconds: int | None = None
    min_pods_per_replica_set: int | None = None
    # The steps exactly as written, for hashing (`status.currentStepHash`): a hash of the raw list does
    # not change when rollwave's dataclasses gain a field.
    raw_steps: tuple[Mapping[str, Any], ...] = ()

    @property
    def max_traffic_weight(self) -> int:
        if self.traffic_routing is None:
            return DEFAULT_MAX_TRAFFIC_WEIGHT
        return self.traffic_routing.max_traffic_weight


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BlueGreenStrategy:
    active_service: str
    preview_service: str | None = None
    auto_promotion_enabled: bool = True
    auto_promotion_seconds: int | None = None
    preview_replica_count: int | None = None
    scale_down_delay_seconds: int | None = None
    abort_scale_down_delay_seconds: int | None = None
    pre_promotion_analysis: RolloutAnalysis | None = None
    post_promotion_analysis: RolloutAnalysis | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RolloutSpec:
    """A Rollout's spec with Argo's defaults applied. `selector` and `template` stay raw (deep copies)."""

    replicas: int = 1
    selector: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    template: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    min_ready_seconds: int = 0
    progress_deadline_seconds: int = 600
    progress_deadline_abort: bool = False
    revision_history_limit: int = 10
    paused: bool = False
    restart_at: datetime.datetime | None = None
    strategy: CanaryStrategy | BlueGreenStrategy = CanaryStrategy()
    successful_run_history_limit: int = 5
    unsuccessful_run_history_limit: int = 5


# ---------------------------------------------------------------------------------------------------
# Status


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PauseCondition:
    reason: PauseReason
    start_time: datetime.datetime

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "pauseCondition") -> PauseCondition:
        data = wire.mapping(raw, where)
        return cls(
            reason=wire.enum_value(PauseReason, data.get("reason"), f"{where}.reason"),
            start_time=wire.required_timestamp(data, "startTime", where),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason.value, "startTime": fields.format_timestamp(self.start_time)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """A Rollout condition. `type` is a plain str; compare it with `ConditionType` members."""

    type: str
    status: ConditionStatus
    reason: str
    message: str
    last_update_time: datetime.datetime
    last_transition_time: datetime.datetime

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "condition") -> Condition:
        data = wire.mapping(raw, where)
        return cls(
            type=wire.required_str(data, "type", where),
            status=wire.enum_value(ConditionStatus, data.get("status"), f"{where}.status"),
            reason=wire.optional_str(data, "reason", where) or "",
            message=wire.optional_str(data, "message", where) or "",
            last_update_time=wire.required_timestamp(data, "lastUpdateTime", where),
            last_transition_time=wire.required_timestamp(data, "lastTransitionTime", where),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": str(self.type),
            "status": self.status.value,
            "reason": self.reason,
            "message": self.message,
            "lastUpdateTime": fields.format_timestamp(self.last_update_time),
            "lastTransitionTime": fields.format_timestamp(self.last_transition_time),
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRunStatusRef:
    """`{name, status, message}`: the Rollout's record of one of its AnalysisRuns.

    `status` is None while the run has no phase yet (Argo writes "" then).
    """

    name: str
    status: analysis.AnalysisPhase | None
    message: str | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str) -> AnalysisRunStatusRef:
        data = wire.mapping(raw, where)
        phase = data.get("status")
        return cls(
            name=wire.required_str(data, "name", where),
            status=wire.enum_value(analysis.AnalysisPhase, phase, f"{where}.status") if phase else None,
            message=wire.optional_str(data, "message", where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status.value if self.status else ""}
        wire.put(out, "message", self.message)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WeightDestination:
    weight: int
    service_name: str | None = None
    pod_template_hash: str | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str) -> WeightDestination:
        data = wire.mapping(raw, where)
        return cls(
            weight=wire.optional_int(data, "weight", where) or 0,
            service_name=wire.optional_str(data, "serviceName", where),
            pod_template_hash=wire.optional_str(data, "podTemplateHash", where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"weight": self.weight}
        wire.put(out, "serviceName", self.service_name)
        wire.put(out, "podTemplateHash", self.pod_template_hash)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrafficWeights:
    """The weights last set on the traffic router. `verified` is None when the router cannot verify."""

    canary: WeightDestination
    stable: WeightDestination
    additional: tuple[WeightDestination, ...] = ()
    verified: bool | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str) -> TrafficWeights:
        data = wire.mapping(raw, where)
        verified = data.get("verified")
        if verified is not None and not isinstance(verified, bool):
            raise ValueError(f"{where}.verified must be true or false (got {verified!r})")
        return cls(
            canary=WeightDestination.from_dict(data.get("canary") or {}, where=f"{where}.canary"),
            stable=WeightDestination.from_dict(data.get("stable") or {}, where=f"{where}.stable"),
            additional=tuple(
                WeightDestination.from_dict(entry, where=f"{where}.additional[{index}]")
                for index, entry in enumerate(wire.list_of(data, "additional", where))
            ),
            verified=verified,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"canary": self.canary.to_dict(), "stable": self.stable.to_dict()}
        if self.additional:
            out["additional"] = [destination.to_dict() for destination in self.additional]
        wire.put(out, "verified", self.verified)
        return out


_CANARY_STATUS_KEYS = frozenset(
    {"currentStepAnalysisRunStatus", "currentBackgroundAnalysisRunStatus", "currentExperiment", "weights"}
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CanaryStatus:
    """`status.canary`. `extra` carries fields rollwave does not model (stablePingPong, ...)."""

    current_step_analysis_run_status: AnalysisRunStatusRef | None = None
    current_background_analysis_run_status: AnalysisRunStatusRef | None = None
    current_experiment: str | None = None
    weights: TrafficWeights | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "status.canary") -> CanaryStatus:
        data = wire.mapping(raw, where)
        step_run = data.get("currentStepAnalysisRunStatus")
        background_run = data.get("currentBackgroundAnalysisRunStatus")
        weights = data.get("weights")
        return cls(
            current_step_analysis_run_status=(
                AnalysisRunStatusRef.from_dict(step_run, where=f"{where}.currentStepAnalysisRunStatus")
                if step_run is not None
                else None
            ),
            current_background_analysis_run_status=(
                AnalysisRunStatusRef.from_dict(
                    background_run, where=f"{where}.currentBackgroundAnalysisRunStatus"
                )
                if background_run is not None
                else None
            ),
            current_experiment=wire.optional_str(data, "currentExperiment", where),
            weights=TrafficWeights.from_dict(weights, where=f"{where}.weights")
            if weights is not None
            else None,
            extra=copy.deepcopy(
                {key: value for key, value in data.items() if key not in _CANARY_STATUS_KEYS}
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = copy.deepcopy(dict(self.extra))
        if self.current_step_analysis_run_status is not None:
            out["currentStepAnalysisRunStatus"] = self.current_step_analysis_run_status.to_dict()
        if self.current_background_analysis_run_status is not None:
            out["currentBackgroundAnalysisRunStatus"] = self.current_background_analysis_run_status.to_dict()
        wire.put(out, "currentExperiment", self.current_experiment)
        if self.weights is not None:
            out["weights"] = self.weights.to_dict()
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BlueGreenStatus:
    """`status.blueGreen`: which pod-template hash each Service selects, and the promotion analyses."""

    active_selector: str | None = None
    preview_selector: str | None = None
    scale_up_preview_check_point: bool = False
    pre_promotion_analysis_run_status: AnalysisRunStatusRef | None = None
    post_promotion_analysis_run_status: AnalysisRunStatusRef | None = None

    @classmethod
    def from_dict(cls, raw: object, *, where: str = "status.blueGreen") -> BlueGreenStatus:
        data = wire.mapping(raw, where)
        pre = data.get("prePromotionAnalysisRunStatus")
        post = data.get("postPromotionAnalysisRunStatus")
        return cls(
            active_selector=wire.optional_str(data, "activeSelector", where),
            preview_selector=wire.optional_str(data, "previewSelector", where),
            scale_up_preview_check_point=wire.boolean(data, "scaleUpPreviewCheckPoint", where),
            pre_promotion_analysis_run_status=(
                AnalysisRunStatusRef.from_dict(pre, where=f"{where}.prePromotionAnalysisRunStatus")
                if pre is not None
                else None
            ),
            post_promotion_analysis_run_status=(
                AnalysisRunStatusRef.from_dict(post, where=f"{where}.postPromotionAnalysisRunStatus")
                if post is not None
                else None
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        wire.put(out, "activeSelector", self.active_selector)
        wire.put(out, "previewSelector", self.preview_selector)
        if self.scale_up_preview_check_point:
            out["scaleUpPreviewCheckPoint"] = True
        if self.pre_promotion_analysis_run_status is not None:
            out["prePromotionAnalysisRunStatus"] = self.pre_promotion_analysis_run_status.to_dict()
        if self.post_promotion_analysis_run_status is not None:
            out["postPromotionAnalysisRunStatus"] = self.post_promotion_analysis_run_status.to_dict()
        return out


_STATUS_KEYS = frozenset(
    {
        "phase",
        "message",
        "observedGeneration",
        "currentPodHash",
        "stableRS",
        "currentStepIndex",
        "currentStepHash",
        "pauseConditions",
        "controllerPause",
        "abort",
        "abortedAt",
        "promoteFull",
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "HPAReplicas",
        "selector",
        "canary",
        "blueGreen",
        "restartedAt",
        "collisionCount",
        "workloadObservedGeneration",
        "conditions",
    }
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RolloutStatus:
    """A Rollout's status, mirroring Argo's field by field.

    `observed_generation` is a string on the wire and here (Argo CD parses it with `tonumber`).
    Counters default to 0 and are always written; None fields and False flags are omitted, as
    Argo's `omitempty` does. `extra` carries unknown top-level fields (`alb`, `duration`, ...).

    >>> RolloutStatus.from_dict({"observedGeneration": "3", "HPAReplicas": 2}).to_dict()["HPAReplicas"]
    2
    """

    phase: RolloutPhase | None = None
    message: str | None = None
    observed_generation: str | None = None
    current_pod_hash: str | None = None
    stable_rs: str | None = None  # a pod-template hash, not a ReplicaSet name
    current_step_index: int | None = None
    current_step_hash: str | None = None
    pause_conditions: tuple[PauseCondition, ...] = ()
    controller_pause: bool = False
    abort: bool = False
    aborted_at: datetime.datetime | None = None
    promote_full: bool = False
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    hpa_replicas: int = 0
    selector: str | None = None
    canary: CanaryStatus = CanaryStatus()
    blue_green: BlueGreenStatus = BlueGreenStatus()
    restarted_at: datetime.datetime | None = None
    collision_count: int | None = None
    workload_observed_generation: str | None = None
    conditions: tuple[Condition, ...] = ()
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> RolloutStatus:
        """Parse Argo's wire form; raises ValueError naming the first malformed field."""
        where = "status"
        data = wire.mapping(raw or {}, where)
        phase = data.get("phase")
        observed_generation = data.get("observedGeneration")
        # Argo writes a string; tolerate a number written by other tools.
        if isinstance(observed_generation, int) and not isinstance(observed_generation, bool):
            observed_generation = str(observed_generation)
        elif observed_generation is not None and not isinstance(observed_generation, str):
            raise ValueError(f"{where}.observedGeneration must be a string (got {observed_generation!r})")
        canary = data.get("canary")
        blue_green = data.get("blueGreen")
        return cls(
            phase=wire.enum_value(RolloutPhase, phase, f"{where}.phase") if phase else None,
            message=wire.optional_str(data, "message", where),
            observed_generation=observed_generation,
            current_pod_hash=wire.optional_str(data, "currentPodHash", where),
            stable_rs=wire.optional_str(data, "stableRS", where),
            current_step_index=wire.optional_int(data, "currentStepIndex", where),
            current_step_hash=wire.optional_str(data, "currentStepHash", where),
            pause_conditions=tuple(
                PauseCondition.from_dict(entry, where=f"{where}.pauseConditions[{index}]")
                for index, entry in enumerate(wire.list_of(data, "pauseConditions", where))
            ),
            controller_pause=wire.boolean(data, "controllerPause", where),
            abort=wire.boolean(data, "abort", where),
            aborted_at=wire.timestamp(data, "abortedAt", where),
            promote_full=wire.boolean(data, "promoteFull", where),
            replicas=wire.optional_int(data, "replicas", where) or 0,
            updated_replicas=wire.optional_int(data, "updatedReplicas", where) or 0,
            ready_replicas=wire.optional_int(data, "readyReplicas", where) or 0,
            available_replicas=wire.optional_int(data, "availableReplicas", where) or 0,
            hpa_replicas=wire.optional_int(data, "HPAReplicas", where) or 0,
            selector=wire.optional_str(data, "selector", where),
            canary=CanaryStatus.from_dict(canary) if canary is not None else CanaryStatus(),
            blue_green=BlueGreenStatus.from_dict(blue_green) if blue_green is not None else BlueGreenStatus(),
            restarted_at=wire.timestamp(data, "restartedAt", where),
            collision_count=wire.optional_int(data, "collisionCount", where),
            workload_observed_generation=wire.optional_str(data, "workloadObservedGeneration", where),
            conditions=tuple(
                Condition.from_dict(entry, where=f"{where}.conditions[{index}]")
                for index, entry in enumerate(wire.list_of(data, "conditions", where))
            ),
            extra=copy.deepcopy({key: value for key, value in data.items() if key not in _STATUS_KEYS}),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = copy.deepcopy(dict(self.extra))
        wire.put(out, "phase", self.phase.value if self.phase else None)
        wire.put(out, "message", self.message)
        wire.put(out, "observedGeneration", self.observed_generation)
        wire.put(out, "currentPodHash", self.current_pod_hash)
        wire.put(out, "stableRS", self.stable_rs)
        wire.put(out, "currentStepIndex", self.current_step_index)
        wire.put(out, "currentStepHash", self.current_step_hash)
        if self.pause_conditions:
            out["pauseConditions"] = [condition.to_dict() for condition in self.pause_conditions]
        if self.controller_pause:
            out["controllerPause"] = True
        if self.abort:
            out["abort"] = True
        wire.put_time(out, "abortedAt", self.aborted_at)
        if self.promote_full:
            out["promoteFull"] = True
        out["replicas"] = self.replicas
        out["updatedReplicas"] = self.updated_replicas
        out["readyReplicas"] = self.ready_replicas
        out["availableReplicas"] = self.available_replicas
        out["HPAReplicas"] = self.hpa_replicas
        wire.put(out, "selector", self.selector)
        canary = self.canary.to_dict()
        if canary:
            out["canary"] = canary
        blue_green = self.blue_green.to_dict()
        if blue_green:
            out["blueGreen"] = blue_green
        wire.put_time(out, "restartedAt", self.restarted_at)
        wire.put(out, "collisionCount", self.collision_count)
        wire.put(out, "workloadObservedGeneration", self.workload_observed_generation)
        if self.conditions:
            out["conditions"] = [condition.to_dict() for condition in self.conditions]
        return out

    def condition(self, condition_type: str) -> Condition | None:
        """The condition of this type, if present."""
        return next((condition for condition in self.conditions if condition.type == condition_type), None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    name: str
    namespace: str | None
    uid: str | None
    generation: int | None  # None for a manifest that never reached the API server
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: RolloutSpec
    status: RolloutStatus


# ---------------------------------------------------------------------------------------------------
# Parsing

_TOP_LEVEL_KEYS = ("apiVersion", "kind", "metadata", "spec", "status")
_SPEC_KEYS = (
    "replicas",
    "selector",
    "template",
    "minReadySeconds",
    "progressDeadlineSeconds",
    "progressDeadlineAbort",
    "revisionHistoryLimit",
    "paused",
    "restartAt",
    "strategy",
    "analysis",
)
_UNSUPPORTED_SPEC_KEYS = ("workloadRef", "rollbackWindow")
_CANARY_KEYS = (
    "steps",
    "canaryService",
    "stableService",
    "maxSurge",
    "maxUnavailable",
    "trafficRouting",
    "analysis",
    "dynamicStableScale",
    "scaleDownDelaySeconds",
    "abortScaleDownDelaySeconds",
    "minPodsPerReplicaSet",
)
_UNSUPPORTED_CANARY_KEYS = (
    "antiAffinity",
    "canaryMetadata",
    "stableMetadata",
    "scaleDownDelayRevisionLimit",
    "pingPong",
    "replicaProgressThreshold",
)
_BLUE_GREEN_KEYS = (
    "activeService",
    "previewService",
    "autoPromotionEnabled",
    "autoPromotionSeconds",
    "previewReplicaCount",
    "scaleDownDelaySeconds",
    "abortScaleDownDelaySeconds",
    "prePromotionAnalysis",
    "postPromotionAnalysis",
)
_UNSUPPORTED_BLUE_GREEN_KEYS = (
    "maxUnavailable",
    "scaleDownDelayRevisionLimit",
    "antiAffinity",
    "previewMetadata",
    "activeMetadata",
)
_SUPPORTED_STEP_ACTIONS = (
    "setWeight",
    "pause",
    "setCanaryScale",
    "analysis",
    "setHeaderRoute",
    "setMirrorRoute",
)
_UNSUPPORTED_STEP_ACTIONS = ("experiment", "plugin")
_ANALYSIS_KEYS = ("templates", "args", "dryRun", "measurementRetention", "analysisRunMetadata")
_ROLLOUT_ARG_SOURCES = ("podTemplateHashValue", "fieldRef")
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def parse_rollout(obj: Mapping[str, Any]) -> fields.Parsed[Rollout]:
    """Parse a Rollout (spec and status) and report every unsupported or invalid field.

    >>> parsed = parse_rollout({"metadata": {"name": "demo"}, "spec": {
    ...     "selector": {"matchLabels": {"app": "demo"}},
    ...     "template": {"metadata": {"labels": {"app": "demo"}}},
    ...     "strategy": {"canary": {"steps": [{"setWeight": 120}, {"experiment": {}}]}}}})
    >>> [str(issue) for issue in parsed.issues]
    ['spec.strategy.canary.steps[0].setWeight: must be between 0 and 100 (got 120)', \
'spec.strategy.canary.steps[1].experiment: not supported by rollwave']
    """
    reader = fields.FieldReader()
    kind = obj.get("kind")
    if kind is not None and kind != "Rollout":
        reader.invalid("kind", f"must be Rollout (got {kind!r})")
    api_version = obj.get("apiVersion")
    if api_version is not None and api_version != API_VERSION:
        reader.invalid("apiVersion", f"must be {API_VERSION} (got {api_version!r})")
    reader.check_keys(obj, "", known=_TOP_LEVEL_KEYS)
    metadata = fields.read_metadata(reader, obj)
    spec_raw = reader.mapping(obj, "spec", "")
    if spec_raw is None:
        if "spec" not in obj:
            reader.invalid("spec", "is required")
        return fields.Parsed(value=None, issues=reader.issues)
    spec = _read_spec(reader, spec_raw)
    try:
        status = RolloutStatus.from_dict(obj.get("status"))
    except ValueError as err:
        reader.invalid("status", str(err))
        status = RolloutStatus()
    rollout = Rollout(
        name=metadata.name,
        namespace=metadata.namespace,
        uid=metadata.uid,
        generation=metadata.generation,
        labels=metadata.labels,
        annotations=metadata.annotations,
        spec=spec,
        status=status,
    )
    return fields.Parsed(value=rollout, issues=reader.issues)


def _read_spec(reader: fields.FieldReader, spec: Mapping[str, Any]) -> RolloutSpec:
    path = "spec"
    reader.check_keys(spec, path, known=_SPEC_KEYS, unsupported=_UNSUPPORTED_SPEC_KEYS)
    # workloadRef replaces selector and template; it is reported as unsupported above, and its absence of
    # a template is a consequence, not a second problem.
    uses_workload_ref = "workloadRef" in spec
    replicas = reader.integer(spec, "replicas", path, minimum=0)
    selector = _read_selector(reader, spec, path, required=not uses_workload_ref)
    template = reader.mapping(spec, "template", path)
    if template is None and "template" not in spec and not uses_workload_ref:
        reader.invalid("spec.template", "is required")
    template_labels = _template_labels(reader, template or {})
    matchable = selector and template is not None and template_labels is not None
    if matchable and not workloads.selector_matches(selector or {}, template_labels or {}):
        reader.invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")
    min_ready_seconds = reader.integer(spec, "minReadySeconds", path, minimum=0) or 0
    progress_deadline_seconds = reader.integer(spec, "progressDeadlineSeconds", path, minimum=0)
    if progress_deadline_seconds is None:
        progress_deadline_seconds = 600
    if progress_deadline_seconds <= min_ready_seconds:
        reader.invalid(
            "spec.progressDeadlineSeconds",
            f"must be greater than minReadySeconds ({min_ready_seconds}) (got {progress_deadline_seconds})",
        )
    revision_history_limit = reader.integer(spec, "revisionHistoryLimit", path, minimum=0)
    history = reader.mapping(spec, "analysis", path) or {}
    reader.check_keys(
        history, "spec.analysis", known=("successfulRunHistoryLimit", "unsuccessfulRunHistoryLimit")
    )
    successful_limit = reader.integer(history, "successfulRunHistoryLimit", "spec.analysis", minimum=0)
    unsuccessful_limit = reader.integer(history, "unsuccessfulRunHistoryLimit", "spec.analysis", minimum=0)
    return RolloutSpec(
        replicas=1 if replicas is None else replicas,
        selector=copy.deepcopy(dict(selector or {})),
        template=copy.deepcopy(dict(template or {})),
        min_ready_seconds=min_ready_seconds,
        progress_deadline_seconds=progress_deadline_seconds,
        progress_deadline_abort=bool(reader.boolean(spec, "progressDeadlineAbort", path)),
        revision_history_limit=10 if revision_history_limit is None else revision_history_limit,
        paused=bool(reader.boolean(spec, "paused", path)),
        restart_at=reader.timestamp(spec, "restartAt", path),
        strategy=_read_strategy(reader, spec),
        successful_run_history_limit=5 if successful_limit is None else successful_limit,
        unsuccessful_run_history_limit=5 if unsuccessful_limit is None else unsuccessful_limit,
    )


def _read_selector(
    reader: fields.FieldReader, spec: Mapping[str, Any], path: str, *, required: bool
) -> Mapping[str, Any] | None:
    """Read and check a LabelSelector's shape; None when it is absent or unusable."""
    selector_path = fields.child(path, "selector")
    selector = reader.mapping(spec, "selector", path)
    if selector is None:
        if required and "selector" not in spec:
            reader.invalid(selector_path, "is required")
        return None
    reader.check_keys(selector, selector_path, known=("matchLabels", "matchExpressions"))
    usable = True
    match_labels = reader.mapping(selector, "matchLabels", selector_path) or {}
    for key, value in match_labels.items():
        if not isinstance(value, str):
            reader.invalid(f"{selector_path}.matchLabels[{key}]", f"must be a string (got {value!r})")
            usable = False
    expressions = reader.sequence(selector, "matchExpressions", selector_path)
    for index, raw in enumerate(expressions):
        expression_path = fields.item(f"{selector_path}.matchExpressions", index)
        expression = reader.mapping_value(raw, expression_path)
        if expression is None:
            usable = False
            continue
        reader.check_keys(expression, expression_path, known=("key", "operator", "values"))
        operator = expression.get("operator")
        values = expression.get("values") or []
        if not reader.string(expression, "key", expression_path):
            reader.invalid(fields.child(expression_path, "key"), "is required")
            usable = False
        if operator not in _SELECTOR_OPERATORS:
            reader.invalid(
                fields.child(expression_path, "operator"),
                f"must be one of {', '.join(_SELECTOR_OPERATORS)} (got {operator!r})",
            )
            usable = False
        elif operator in ("In", "NotIn") and not values:
            reader.invalid(fields.child(expression_path, "values"), f"must be non-empty for {operator}")
            usable = False
        elif operator in ("Exists", "DoesNotExist") and values:
            reader.invalid(fields.child(expression_path, "values"), f"must be empty for {operator}")
            usable = False
    if not match_labels and not expressions:
        reader.invalid(selector_path, "empty selector is invalid: it would select every pod")
        return None
    return selector if usable else None


def _template_labels(reader: fields.FieldReader, template: Mapping[str, Any]) -> dict[str, str] | None:
    metadata = reader.mapping(template, "metadata", "spec.template")
    if metadata is None:
        return {}
    labels = reader.mapping(metadata, "labels", "spec.template.metadata")
    if labels is None:
        return {}
    if not all(isinstance(value, str) for value in labels.values()):
        reader.invalid("spec.template.metadata.labels", "label values must be strings")
        return None
    return dict(labels)


def _read_strategy(reader: fields.FieldReader, spec: Mapping[str, Any]) -> CanaryStrategy | BlueGreenStrategy:
    path = "spec.strategy"
    strategy = reader.mapping(spec, "strategy", "spec") or {}
    reader.check_keys(strategy, path, known=("canary", "blueGreen"))
    if "canary" in strategy and "blueGreen" in strategy:
        reader.invalid(path, "set only one of canary and blueGreen")
    if "blueGreen" in strategy and "canary" not in strategy:
        return _read_blue_green(reader, reader.mapping(strategy, "blueGreen", path) or {})
    # No strategy at all means a canary without steps, as in Argo: a plain rolling update.
    return _read_canary(reader, reader.mapping(strategy, "canary", path) or {})


def _read_canary(reader: fields.FieldReader, canary: Mapping[str, Any]) -> CanaryStrategy:
    path = "spec.strategy.canary"
    reader.check_keys(canary, path, known=_CANARY_KEYS, unsupported=_UNSUPPORTED_CANARY_KEYS)
    traffic_routing = _read_traffic_routing(reader, canary, path)
    max_weight = traffic_routing.max_traffic_weight if traffic_routing else DEFAULT_MAX_TRAFFIC_WEIGHT
    raw_steps = reader.sequence(canary, "steps", path)
    steps = tuple(
        _read_step(reader, raw, fields.item(f"{path}.steps", index), max_weight=max_weight)
        for index, raw in enumerate(raw_steps)
    )
    for index, step in enumerate(steps):
        if isinstance(step, SetCanaryScale) and traffic_routing is None:
            reader.invalid(f"{path}.steps[{index}].setCanaryScale", "requires trafficRouting")
        if isinstance(step, SetHeaderRoute | SetMirrorRoute):
            action = "setHeaderRoute" if isinstance(step, SetHeaderRoute) else "setMirrorRoute"
            if traffic_routing is None:
                reader.invalid(f"{path}.steps[{index}].{action}", "requires trafficRouting")
            elif step.route.name and step.route.name not in traffic_routing.managed_routes:
                reader.invalid(
                    f"{path}.steps[{index}].{action}.name",
                    f'route "{step.route.name}" is not listed in trafficRouting.managedRoutes',
                )
    max_surge = reader.int_or_percent(canary, "maxSurge", path, default=DEFAULT_MAX_SURGE)
    max_unavailable = reader.int_or_percent(canary, "maxUnavailable", path, default=DEFAULT_MAX_UNAVAILABLE)
    if max_surge.value == 0 and max_unavailable.value == 0:
        reader.invalid(f"{path}.maxSurge", "maxSurge and maxUnavailable cannot both be 0")
    canary_service = reader.string(canary, "canaryService", path) or None
    stable_service = reader.string(canary, "stableService", path) or None
    if canary_service and canary_service == stable_service:
        reader.invalid(f"{path}.stableService", "must differ from canaryService")
    if traffic_routing is not None and _router_needs_services(traffic_routing):
        for key, service in (("stableService", stable_service), ("canaryService", canary_service)):
            if not service:
                reader.invalid(
                    f"{path}.{key}", f"is required with the {traffic_routing.router} traffic router"
                )
    dynamic_stable_scale = bool(reader.boolean(canary, "dynamicStableScale", path))
    scale_down_delay_seconds = reader.integer(canary, "scaleDownDelaySeconds", path, minimum=0)
    if traffic_routing is None:
        if scale_down_delay_seconds is not None:
            reader.invalid(f"{path}.scaleDownDelaySeconds", "can only be used with trafficRouting")
        if dynamic_stable_scale:
            reader.invalid(f"{path}.dynamicStableScale", "can only be used with trafficRouting")
    elif dynamic_stable_scale and scale_down_delay_seconds is not None:
        reader.invalid(f"{path}.dynamicStableScale", "cannot be used with scaleDownDelaySeconds")
    background = reader.mapping(canary, "analysis", path)
    return CanaryStrategy(
        steps=steps,
        canary_service=canary_service,
        stable_service=stable_service,
        max_surge=max_surge,
        max_unavailable=max_unavailable,
        traffic_routing=traffic_routing,
        analysis=(
            _read_background_analysis(reader, background, f"{path}.analysis")
            if background is not None
            else None
        ),
        dynamic_stable_scale=dynamic_stable_scale,
        scale_down_delay_seconds=scale_down_delay_seconds,
        abort_scale_down_delay_seconds=reader.integer(canary, "abortScaleDownDelaySeconds", path, minimum=0),
        min_pods_per_replica_set=reader.integer(canary, "minPodsPerReplicaSet", path, minimum=0),
        raw_steps=tuple(copy.deepcopy(dict(raw)) for raw in raw_steps if isinstance(raw, Mapping)),
    )


def _router_needs_services(traffic_routing: TrafficRouting) -> bool:
    """Argo requires canaryService and stableService for host-level routers (not Istio subsets)."""
    if traffic_routing.router in ("nginx", "smi", "gatewayAPI", "plugin:argoproj-labs/gatewayAPI"):
        return True
    return traffic_routing.router == "istio" and "destinationRule" not in traffic_routing.config


def _read_traffic_routing(
    reader: fields.FieldReader, canary: Mapping[str, Any], path: str
) -> TrafficRouting | None:
    routing = reader.mapping(canary, "trafficRouting", path)
    if routing is None:
        return None
    path = f"{path}.trafficRouting"
    reader.check_keys(
        routing,
        path,
        known=(*SUPPORTED_ROUTERS, "plugins", "managedRoutes", "maxTrafficWeight"),
        unsupported=UNSUPPORTED_ROUTERS,
    )
    # (router name, config, path) in manifest order; unsupported routers were reported by check_keys.
    routers: list[tuple[str, Mapping[str, Any], str]] = []
    for key in routing:
        if key in SUPPORTED_ROUTERS or key in UNSUPPORTED_ROUTERS:
            routers.append((key, reader.mapping(routing, key, path) or {}, f"{path}.{key}"))
        elif key == "plugins":
            plugins = reader.mapping(routing, "plugins", path) or {}
            for name in plugins:
                plugin_path = fields.child(f"{path}.plugins", name)
                if name not in SUPPORTED_ROUTER_PLUGINS:
                    reader.unsupported(plugin_path)
                config = reader.mapping_value(plugins[name], plugin_path) or {}
                routers.append((f"plugin:{name}", config, plugin_path))
    if not routers:
        reader.invalid(path, "must configure a traffic router (nginx, istio, smi, gatewayAPI or a plugin)")
        return None
    for _, _, extra_path in routers[1:]:
        reader.unsupported(
            extra_path, "more than one traffic router per Rollout is not supported by rollwave"
        )
    router, config, _ = routers[0]
    max_traffic_weight = reader.integer(routing, "maxTrafficWeight", path, minimum=1)
    if (
        max_traffic_weight is not None
        and router not in ("nginx", "gatewayAPI")
        and not router.startswith("plugin:")
    ):
        reader.invalid(f"{path}.maxTrafficWeight", "is only supported with nginx, gatewayAPI and plugins")
    managed_routes: list[str] = []
    for index, raw in enumerate(reader.sequence(routing, "managedRoutes", path)):
        route_path = fields.item(f"{path}.managedRoutes", index)
        route = reader.mapping_value(raw, route_path)
        if route is None:
            continue
        reader.check_keys(route, route_path, known=("name",))
        route_name = reader.string(route, "name", route_path)
        if not route_name:
            reader.invalid(fields.child(route_path, "name"), "is required")
        else:
            managed_routes.append(route_name)
    return TrafficRouting(
        router=router,
        config=copy.deepcopy(dict(config)),
        max_traffic_weight=max_traffic_weight or DEFAULT_MAX_TRAFFIC_WEIGHT,
        managed_routes=tuple(managed_routes),
    )


def _read_step(reader: fields.FieldReader, raw: object, path: str, *, max_weight: int) -> CanaryStep:
    step = reader.mapping_value(raw, path)
    if step is None:
        if raw is None:
            reader.invalid(path, "must be an object")
        return UnsupportedStep(kind="")
    reader.check_keys(step, path, known=_SUPPORTED_STEP_ACTIONS, unsupported=_UNSUPPORTED_STEP_ACTIONS)
    actions = [key for key in step if key in _SUPPORTED_STEP_ACTIONS or key in _UNSUPPORTED_STEP_ACTIONS]
    if not actions:
        reader.invalid(path, f"must set one of {', '.join(_SUPPORTED_STEP_ACTIONS)}")
        return UnsupportedStep(kind="")
    if len(actions) > 1:
        reader.invalid(path, f"must set only one action per step (got {', '.join(actions)})")
        return UnsupportedStep(kind="+".join(actions))
    action = actions[0]
    action_path = f"{path}.{action}"
    if action in _UNSUPPORTED_STEP_ACTIONS:
        return UnsupportedStep(kind=action)
    if step[action] is None:
        hint = " (write `pause: {}` to pause until promoted)" if action == "pause" else ""
        reader.invalid(action_path, f"must not be null{hint}")
        return UnsupportedStep(kind=action)
    if action == "setWeight":
        weight = reader.integer(step, "setWeight", path, minimum=0, maximum=max_weight)
        return SetWeight(weight=weight) if weight is not None else UnsupportedStep(kind=action)
    if action == "pause":
        return _read_pause(reader, step, path)
    if action == "setCanaryScale":
        return _read_set_canary_scale(reader, step, path)
    if action == "setHeaderRoute":
        return SetHeaderRoute(route=routes.read_header_route(reader, step[action], path=action_path))
    if action == "setMirrorRoute":
        return SetMirrorRoute(route=routes.read_mirror_route(reader, step[action], path=action_path))
    step_analysis = reader.mapping(step, "analysis", path)
    if step_analysis is None:
        return UnsupportedStep(kind=action)
    return AnalysisStep(analysis=_read_rollout_analysis(reader, step_analysis, action_path))


def _read_pause(reader: fields.FieldReader, step: Mapping[str, Any], path: str) -> CanaryStep:
    pause = reader.mapping(step, "pause", path)
    if pause is None:
        return UnsupportedStep(kind="pause")
    pause_path = f"{path}.pause"
    reader.check_keys(pause, pause_path, known=("duration",))
    raw_duration = pause.get("duration")
    if raw_duration is None:
        return Pause(duration=None)
    try:
        return Pause(duration=fields.parse_duration(raw_duration))
    except ValueError as err:
        reader.invalid(f"{pause_path}.duration", str(err))
        return UnsupportedStep(kind="pause")


def _read_set_canary_scale(reader: fields.FieldReader, step: Mapping[str, Any], path: str) -> CanaryStep:
    scale = reader.mapping(step, "setCanaryScale", path)
    if scale is None:
        return UnsupportedStep(kind="setCanaryScale")
    scale_path = f"{path}.setCanaryScale"
    reader.check_keys(scale, scale_path, known=("replicas", "weight", "matchTrafficWeight"))
    replicas = reader.integer(scale, "replicas", scale_path, minimum=0)
    weight = reader.integer(scale, "weight", scale_path, minimum=0, maximum=100)
    match_traffic_weight = bool(reader.boolean(scale, "matchTrafficWeight", scale_path))
    if "replicas" in scale and "weight" in scale:
        reader.invalid(scale_path, "set only one of replicas and weight")
    if replicas is None and weight is None and not match_traffic_weight:
        if not any(key in scale for key in ("replicas", "weight")):
            reader.invalid(scale_path, "must set replicas, weight or matchTrafficWeight: true")
        return UnsupportedStep(kind="setCanaryScale")
    return SetCanaryScale(replicas=replicas, weight=weight, match_traffic_weight=match_traffic_weight)


def _read_templates(
    reader: fields.FieldReader, container: Mapping[str, Any], path: str
) -> tuple[TemplateRef, ...]:
    templates: list[TemplateRef] = []
    raw_templates = reader.sequence(container, "templates", path)
    if not raw_templates:
        reader.invalid(f"{path}.templates", "at least one template is required")
    for index, raw in enumerate(raw_templates):
        template_path = fields.item(f"{path}.templates", index)
        template = reader.mapping_value(raw, template_path)
        if template is None:
            continue
        reader.check_keys(template, template_path, known=("templateName", "clusterScope"))
        name = reader.string(template, "templateName", template_path)
        if not name:
            reader.invalid(fields.child(template_path, "templateName"), "is required")
            continue
        cluster_scope = bool(reader.boolean(template, "clusterScope", template_path))
        templates.append(TemplateRef(name=name, cluster_scope=cluster_scope))
    return tuple(templates)


def _read_rollout_analysis(
    reader: fields.FieldReader, raw: Mapping[str, Any], path: str, *, background: bool = False
) -> RolloutAnalysis:
    reader.check_keys(raw, path, known=(*_ANALYSIS_KEYS, "startingStep") if background else _ANALYSIS_KEYS)
    metadata = reader.mapping(raw, "analysisRunMetadata", path) or {}
    metadata_path = f"{path}.analysisRunMetadata"
    reader.check_keys(metadata, metadata_path, known=("labels", "annotations"))
    return RolloutAnalysis(
        templates=_read_templates(reader, raw, path),
        args=analysis.read_arguments(reader, raw, path, value_sources=_ROLLOUT_ARG_SOURCES),
        dry_run=analysis.read_dry_run(reader, raw, path),
        measurement_retention=analysis.read_measurement_retention(reader, raw, path),
        analysis_run_metadata=AnalysisRunMetadata(
            labels=reader.string_map(metadata, "labels", metadata_path),
            annotations=reader.string_map(metadata, "annotations", metadata_path),
        ),
    )


def _read_background_analysis(
    reader: fields.FieldReader, raw: Mapping[str, Any], path: str
) -> BackgroundAnalysis:
    common = _read_rollout_analysis(reader, raw, path, background=True)
    return BackgroundAnalysis(
        templates=common.templates,
        args=common.args,
        dry_run=common.dry_run,
        measurement_retention=common.measurement_retention,
        analysis_run_metadata=common.analysis_run_metadata,
        starting_step=reader.integer(raw, "startingStep", path, minimum=0),
    )


def _read_blue_green(reader: fields.FieldReader, blue_green: Mapping[str, Any]) -> BlueGreenStrategy:
    path = "spec.strategy.blueGreen"
    reader.check_keys(blue_green, path, known=_BLUE_GREEN_KEYS, unsupported=_UNSUPPORTED_BLUE_GREEN_KEYS)
    active_service = reader.string(blue_green, "activeService", path)
    preview_service = reader.string(blue_green, "previewService", path) or None
    if not active_service:
        reader.invalid(f"{path}.activeService", "is required")
    elif active_service == preview_service:
        reader.invalid(f"{path}.previewService", "must differ from activeService")
    analyses: dict[str, RolloutAnalysis | None] = {}
    for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
        raw = reader.mapping(blue_green, key, path)
        analyses[key] = _read_rollout_analysis(reader, raw, f"{path}.{key}") if raw is not None else None
    auto_promotion_enabled = reader.boolean(blue_green, "autoPromotionEnabled", path)
    return BlueGreenStrategy(
        active_service=active_service or "",
        preview_service=preview_service,
        auto_promotion_enabled=True if auto_promotion_enabled is None else auto_promotion_enabled,
        auto_promotion_seconds=reader.integer(blue_green, "autoPromotionSeconds", path, minimum=0),
        preview_replica_count=reader.integer(blue_green, "previewReplicaCount", path, minimum=0),
        scale_down_delay_seconds=reader.integer(blue_green, "scaleDownDelaySeconds", path, minimum=0),
        abort_scale_down_delay_seconds=reader.integer(
            blue_green, "abortScaleDownDelaySeconds", path, minimum=0
        ),
        pre_promotion_analysis=analyses["prePromotionAnalysis"],
        post_promotion_analysis=analyses["postPromotionAnalysis"],
    )
