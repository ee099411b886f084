"""A plain-data cluster for the canary core: a Rollout, its ReplicaSets, pods and Services as API dicts.

Each `step()` is one reconcile, done the way the orchestrator does it: parse the Rollout
(`model.rollout.parse_rollout`), read the ReplicaSets and Services through their views, call `canary.decide`, apply
the effects in order exactly as the kube adapters would (create-if-missing, scale-to, set-selector-to, delete,
annotate), then write `decision.status.to_dict()` as the new status (what one merge patch of the difference gives).

Pods are simulated one by one, as the ReplicaSet controller keeps them: a scale-up creates pods at once, each
available `lag` passes after the next one (lag 0: the next pass sees them available; `NEVER`: they never are); a
scale-down removes starting pods first, then the newest available ones. ReplicaSet status counts follow the pods.

User actions mirror `kubectl argo rollouts` patches (promote, promote --full, abort, retry, pause, restart, scale,
set image). Every spec edit bumps `metadata.generation`, as the API server does.

    cluster = Cluster(rollout_manifest(replicas=10, steps=[{"setWeight": 20}, {"pause": {}}]))
    cluster.settle()                      # initial deploy: v1 at 10, Healthy
    cluster.set_image("web:v2")
    cluster.settle()                      # v2 at 2, v1 at 8, Paused "CanaryPauseStep"
    cluster.promote()
    cluster.settle()                      # v2 at 10, v1 at 0, Healthy
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rollouts.core import canary, decisions, rollout_analysis
from rollouts.model import fields, workloads
from rollouts.model import rollout as model

START = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL
REVISION_ANNOTATION = workloads.REVISION_ANNOTATION
MANAGED_BY_ANNOTATION = workloads.MANAGED_BY_ANNOTATION
NEVER = 10**9  # a pod lag meaning "never becomes available"
ONE_SECOND = datetime.timedelta(seconds=1)


def rollout_manifest(
    *,
    name: str = "web",
    replicas: int | None = 10,
    steps: Sequence[Mapping[str, Any]] | None = None,
    image: str = "web:v1",
    canary_service: str | None = "web-canary",
    stable_service: str | None = "web-stable",
    max_surge: int | str | None = None,
    max_unavailable: int | str | None = None,
    **spec_fields: Any,
) -> dict[str, Any]:
    """A Rollout as a user writes it (no status). `spec_fields` are added to `spec` as given (camelCase)."""
    canary_fields: dict[str, Any] = {}
    if steps is not None:
        canary_fields["steps"] = [dict(step) for step in steps]
    if canary_service is not None:
        canary_fields["canaryService"] = canary_service
    if stable_service is not None:
        canary_fields["stableService"] = stable_service
    if max_surge is not None:
        canary_fields["maxSurge"] = max_surge
    if max_unavailable is not None:
        canary_fields["maxUnavailable"] = max_unavailable
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": name, "image": image, "ports": [{"containerPort": 8080}]}]},
        },
        "strategy": {"canary": canary_fields},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    spec.update(spec_fields)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def service_manifest(name: str, *, selector: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": dict(selector), "ports": [{"port": 80, "targetPort": 8080}]},
    }


@dataclasses.dataclass
class SimPod:
    name: str
    created: datetime.datetime
    ready_at_pass: int
    ready: bool = False


@dataclasses.dataclass(frozen=True)
class PassRecord:
    """What one pass decided and what the cluster looked like right after its effects."""

    number: int
    now: datetime.datetime
    view: canary.CanaryView
    decision: decisions.Decision
    spec_replicas: Mapping[str, int]  # pod-template hash -> ReplicaSet spec.replicas, after the effects
    available: Mapping[str, int]  # pod-template hash -> available pods, after the effects
    total_pods: int
    total_available: int  # after the effects
    available_before: int  # as the pass read it
    rollout_replicas: int


class EffectFailed(Exception):
    """An effect the real adapter would fail on (scaling a ReplicaSet or a Service that does not exist)."""


class Cluster:
    """One Rollout and what it owns or points at, as plain API dicts."""

    def __init__(
        self,
        manifest: Mapping[str, Any],
        *,
        services: Mapping[str, Mapping[str, Any]] | None = None,
        lag: int = 0,
        now: datetime.datetime = START,
        tick: datetime.timedelta = ONE_SECOND,
        blocking_issues: Sequence[fields.FieldIssue] | None = None,
        reported_issues: Sequence[fields.FieldIssue] | None = None,
    ) -> None:
        self.rollout: dict[str, Any] = copy.deepcopy(dict(manifest))
        metadata = self.rollout.setdefault("metadata", {})
        metadata.setdefault("namespace", "default")
        metadata.setdefault("uid", f"uid-{metadata.get('name', 'rollout')}")
        metadata.setdefault("generation", 1)
        self.replica_sets: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, list[SimPod]] = {}  # ReplicaSet name -> its pods, oldest first
        self.services: dict[str, dict[str, Any]] = (
            {name: copy.deepcopy(dict(raw)) for name, raw in services.items()}
            if services is not None
            else self._default_services()
        )
        self.lag = lag
        self.now = now
        self.tick = tick
        self.passes = 0
        # AnalysisRuns by name; the simulated analysis controller only does what tests tell it (set_run_phase).
        self.analysis_runs: dict[str, dict[str, Any]] = {}
        # The canary weight on the traffic router (a Rollout with trafficRouting), and every write to it.
        self.traffic_weight: int | None = None
        self.traffic_writes: list[int] = []
        self.managed_routes: dict[str, object] = {}  # header and mirror routes on the router, by name
        self.blocking_issues = tuple(blocking_issues) if blocking_issues is not None else None
        self.reported_issues = tuple(reported_issues) if reported_issues is not None else None
        self.history: list[PassRecord] = []
        self.events: list[decisions.EventNote] = []
        # Passes that "crash" after their effects: the status write is lost.
        self.crash_on: set[int] = set()
        self._pod_serial = 0

    # -----------------------------------------------------------------------------------------------
    # Reading

    @property
    def name(self) -> str:
        return str(self.rollout["metadata"]["name"])

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.rollout["spec"]
        return spec

    @property
    def canary_spec(self) -> dict[str, Any]:
        canary_spec: dict[str, Any] = self.spec.setdefault("strategy", {}).setdefault("canary", {})
        return canary_spec

    @property
    def status(self) -> model.RolloutStatus:
        return model.RolloutStatus.from_dict(self.rollout.get("status"))

    @property
    def raw_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.rollout.setdefault("status", {})
        return status

    @property
    def replicas(self) -> int:
        value = self.spec.get("replicas")
        return 1 if value is None else int(value)

    def parsed(self) -> model.Rollout:
        rollout = model.parse_rollout(self.rollout).value
        assert rollout is not None, "the simulated Rollout must parse"
        return rollout

    def view(self) -> canary.CanaryView:
        parsed = model.parse_rollout(self.rollout)
        rollout = parsed.value
        assert rollout is not None, "the simulated Rollout must parse"
        strategy = rollout.spec.strategy
        assert isinstance(strategy, model.CanaryStrategy)
        names = [name for name in (strategy.canary_service, strategy.stable_service) if name]
        return canary.CanaryView(
            rollout=rollout,
            replica_sets=tuple(
                workloads.ReplicaSetView.from_dict(raw)
                for raw in sorted(self.replica_sets.values(), key=_revision_of)
            ),
            services={
                name: workloads.ServiceView.from_dict(self.services[name]) if name in self.services else None
                for name in names
            },
            pods=tuple(
                canary.PodView(
                    name=pod.name,
                    pod_template_hash=self._hash_of(rs_name),
                    created=pod.created,
                    ready=pod.ready,
                    deleting=False,
                )
                for rs_name, pods in self.pods.items()
                for pod in pods
            ),
            analysis_runs=tuple(
                rollout_analysis.AnalysisRunView.from_body(raw) for raw in self.analysis_runs.values()
            ),
            replicas_unset=self.rollout["spec"].get("replicas") is None,
            traffic_weight=self.traffic_weight,
            blocking_issues=self.blocking_issues if self.blocking_issues is not None else parsed.invalid,
            reported_issues=self.reported_issues if self.reported_issues is not None else parsed.unsupported,
        )

    def replica_set(self, pod_hash: str | None) -> dict[str, Any] | None:
        return next(
            (
                raw
                for raw in self.replica_sets.values()
                if raw["metadata"]["labels"].get(HASH_LABEL) == pod_hash
            ),
            None,
        )

    def spec_replicas(self, pod_hash: str | None) -> int:
        raw = self.replica_set(pod_hash)
        return int(raw["spec"]["replicas"]) if raw is not None else 0

    def available(self, pod_hash: str | None) -> int:
        raw = self.replica_set(pod_hash)
        if raw is None:
            return 0
        return sum(1 for pod in self.pods[raw["metadata"]["name"]] if pod.ready)

    def split(self) -> dict[str, int]:
        """spec.replicas of every ReplicaSet, by pod-template hash."""
        return {
            raw["metadata"]["labels"][HASH_LABEL]: int(raw["spec"]["replicas"])
            for raw in self.replica_sets.values()
        }

    def revision_of(self, pod_hash: str | None) -> int | None:
        raw = self.replica_set(pod_hash)
        return _revision_of(raw) if raw is not None else None

    def service_hash(self, name: str) -> str | None:
        selector = self.services[name]["spec"].get("selector") or {}
        value = selector.get(HASH_LABEL)
        return str(value) if value is not None else None

    def event_reasons(self) -> list[str]:
        return [note.reason for note in self.events]

    def events_with(self, reason: str) -> list[decisions.EventNote]:
        return [note for note in self.events if note.reason == reason]

    @property
    def total_pods(self) -> int:
        return sum(len(pods) for pods in self.pods.values())

    @property
    def total_available(self) -> int:
        return sum(1 for pods in self.pods.values() for pod in pods if pod.ready)

    def pods_pending(self) -> bool:
        """Whether some pod is still starting and will become available (stuck pods never will)."""
        return any(not pod.ready and pod.ready_at_pass < NEVER for pods in self.pods.values() for pod in pods)

    def state(self) -> dict[str, Any]:
        """Everything the cluster holds (a deep copy), for comparing two moments or two runs."""
        return copy.deepcopy(
            {
                "rollout": self.rollout,
                "replica_sets": self.replica_sets,
                "pods": self.pods,
                "services": self.services,
            }
        )

    def fork(self) -> Cluster:
        """An independent copy of the cluster as it is now, without history."""
        twin = copy.copy(self)
        twin.rollout = copy.deepcopy(self.rollout)
        twin.replica_sets = copy.deepcopy(self.replica_sets)
        twin.pods = copy.deepcopy(self.pods)
        twin.services = copy.deepcopy(self.services)
        twin.analysis_runs = copy.deepcopy(self.analysis_runs)
        twin.crash_on = set(self.crash_on)
        twin.history = []
        twin.events = []
        return twin

    # -----------------------------------------------------------------------------------------------
    # Reconciling

    def decide(self) -> decisions.Decision:
        """What the controller would decide now, without applying anything."""
        return canary.decide(self.view(), now=self.now)

    def step(self, now: datetime.datetime | None = None) -> decisions.Decision:
        """One reconcile at `now` (default: the current clock): pods progress, decide, apply, write status."""
        self.begin_pass(now)
        view = self.view()
        decision = canary.decide(view, now=self.now)
        self.apply(decision, write_status=self.passes not in self.crash_on)
        self.history.append(
            PassRecord(
                number=self.passes,
                now=self.now,
                view=view,
                decision=decision,
                spec_replicas=self.split(),
                available={
                    raw["metadata"]["labels"][HASH_LABEL]: self.available(
                        raw["metadata"]["labels"][HASH_LABEL]
                    )
                    for raw in self.replica_sets.values()
                },
                total_pods=self.total_pods,
                total_available=self.total_available,
                available_before=sum(rs.available_replicas for rs in view.replica_sets),
                rollout_replicas=self.replicas,
            )
        )
        return decision

    def begin_pass(self, now: datetime.datetime | None = None) -> None:
        """Move the clock to `now` and let pods progress: what happens between two reconciles."""
        if now is not None:
            assert now >= self.now, "the clock never goes back"
            self.now = now
        self.passes += 1
        self._progress_pods()

    def apply(self, decision: decisions.Decision, *, write_status: bool = True) -> None:
        """Apply the effects in order (each idempotent), record the events, then write the status once."""
        for effect in decision.effects:
            self.apply_effect(effect)
        self.events.extend(decision.events)
        if write_status:
            self.rollout["status"] = decision.status.to_dict()

    def apply_effect(self, effect: decisions.Effect) -> None:
        match effect:
            case decisions.CreateReplicaSet():
                if effect.name in self.replica_sets:
                    return  # 409 AlreadyExists: an earlier pass created it
                labels = {
                    **((effect.template.get("metadata") or {}).get("labels") or {}),
                    HASH_LABEL: effect.pod_template_hash,
                }
                self.replica_sets[effect.name] = {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": effect.name,
                        "namespace": "default",
                        "uid": f"uid-{effect.name}",
                        "generation": 1,
                        "creationTimestamp": fields.format_timestamp(self.now),
                        "labels": labels,
                        "annotations": {
                            REVISION_ANNOTATION: str(effect.revision),
                            workloads.DESIRED_REPLICAS_ANNOTATION: str(self.replicas),
                        },
                        "ownerReferences": [
                            {
                                "apiVersion": "argoproj.io/v1alpha1",
                                "kind": "Rollout",
                                "name": self.name,
                                "uid": self.rollout["metadata"]["uid"],
                                "controller": True,
                            }
                        ],
                    },
                    "spec": {
                        "replicas": effect.replicas,
                        "minReadySeconds": effect.min_ready_seconds,
                        "selector": copy.deepcopy(dict(effect.selector)),
                        "template": copy.deepcopy(dict(effect.template)),
                    },
                    "status": {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0},
                }
                self.pods[effect.name] = []
                self._sync_pods(effect.name)
            case decisions.ScaleReplicaSet():
                raw = self._existing_replica_set(effect.name)
                if raw["spec"]["replicas"] != effect.to_replicas:
                    raw["metadata"]["generation"] += 1  # the API server bumps it on a spec change only
                raw["spec"]["replicas"] = effect.to_replicas
                raw["metadata"]["annotations"][workloads.DESIRED_REPLICAS_ANNOTATION] = str(self.replicas)
                self._sync_pods(effect.name)
            case decisions.SetReplicaSetRevision():
                raw = self._existing_replica_set(effect.name)
                raw["metadata"]["annotations"][REVISION_ANNOTATION] = str(effect.revision)
            case decisions.DeleteReplicaSet():
                self.replica_sets.pop(effect.name, None)  # 404 counts as done
                self.pods.pop(effect.name, None)
            case decisions.SetServiceSelector():
                if effect.service not in self.services:
                    raise EffectFailed(f"service {effect.service} not found")
                service = self.services[effect.service]
                service["spec"].setdefault("selector", {})[HASH_LABEL] = effect.pod_template_hash
                service["metadata"].setdefault("annotations", {})[MANAGED_BY_ANNOTATION] = self.name
            case decisions.SetRolloutReplicas():
                self.edit_spec(lambda spec: spec.__setitem__("replicas", effect.replicas))
            case decisions.EvictPod():
                for rs_name, pods in self.pods.items():
                    remaining = [pod for pod in pods if pod.name != effect.name]
                    if len(remaining) != len(pods):
                        self.pods[rs_name] = remaining
                        self._sync_pods(rs_name)  # the ReplicaSet controller replaces the pod
                        return
            case decisions.CreateAnalysisRun():
                if effect.request.name in self.analysis_runs:
                    return  # 409 AlreadyExists
                templates = {
                    ref: {"spec": {"metrics": [{"name": ref.name, "provider": {"web": {"url": "http://x"}}}]}}
                    for ref in effect.request.analysis.templates
                }
                run = rollout_analysis.build_run(effect.request, rollout=self.rollout, templates=templates)
                run["metadata"]["creationTimestamp"] = fields.format_timestamp(self.now)
                self.analysis_runs[effect.request.name] = run
            case decisions.TerminateAnalysisRun():
                run = self.analysis_runs.get(effect.name)
                if run is not None:
                    run["spec"]["terminate"] = True
                    if (run.get("status") or {}).get("phase") in (None, "Pending", "Running"):
                        run["status"] = {"phase": "Successful", "message": "Run Terminated"}
            case decisions.DeleteAnalysisRun():
                self.analysis_runs.pop(effect.name, None)
            case decisions.SetTrafficWeight():
                self.traffic_weight = effect.weight
                self.traffic_writes.append(effect.weight)
            case decisions.SetHeaderRoute() | decisions.SetMirrorRoute():
                self.managed_routes[effect.route.name] = effect.route
            case decisions.RemoveManagedRoutes():
                self.managed_routes.clear()
            case _:
                raise AssertionError(f"unknown effect {effect!r}")

    def analysis_run(self, *, step_index: int | None) -> dict[str, Any]:
        """The newest run of the current revision for an analysis step (or the background run, step_index None)."""
        pod_hash = self.status.current_pod_hash
        runs = [
            raw
            for raw in self.analysis_runs.values()
            if raw["metadata"]["labels"].get(HASH_LABEL) == pod_hash
            and raw["metadata"]["labels"].get(rollout_analysis.STEP_INDEX_LABEL)
            == (None if step_index is None else str(step_index))
        ]
        assert runs, f"no AnalysisRun for step {step_index} of {pod_hash}"
        return max(runs, key=lambda raw: (raw["metadata"]["creationTimestamp"], raw["metadata"]["name"]))

    def set_run_phase(
        self, phase: str, *, step_index: int | None, message: str = "", value: str | None = None
    ) -> str:
        """What the analysis controller would write: the run's phase and its metrics' results. Returns its name."""
        run = self.analysis_run(step_index=step_index)
        metrics = [
            {
                "name": metric["name"],
                "phase": phase,
                "measurements": [] if value is None else [{"phase": phase, "value": value}],
            }
            for metric in run["spec"]["metrics"]
        ]
        run["status"] = {"phase": phase, "message": message, "metricResults": metrics}
        return str(run["metadata"]["name"])

    def settle(
        self,
        *,
        max_passes: int = 400,
        follow_requeue: bool = True,
        until: Callable[[Cluster], bool] | None = None,
    ) -> decisions.Decision:
        """Reconcile, `tick` apart, until nothing more happens (or `until` holds); returns the last decision.

        Quiet means: no effects, the status write changed nothing and no pod is still starting. A quiet pass
        asking to be requeued later (a timed pause, a progress deadline) moves the clock there when
        `follow_requeue`, otherwise it ends the run.
        """
        gap = datetime.timedelta(0) if self.passes == 0 else self.tick
        for _ in range(max_passes):
            before = copy.deepcopy(self.rollout.get("status"))
            decision = self.step(self.now + gap)
            if until is not None and until(self):
                return decision
            quiet = not decision.effects and decision.status.to_dict() == before and not self.pods_pending()
            gap = self.tick
            if not quiet:
                continue
            wait = decision.requeue_after
            if wait is None:
                return decision
            if wait > datetime.timedelta(0):
                if not follow_requeue:
                    return decision
                gap = max(wait, self.tick)
        raise AssertionError(
            f"no steady state after {max_passes} passes: status {self.rollout.get('status')}, "
            f"split {self.split()}"
        )

    # -----------------------------------------------------------------------------------------------
    # User actions (the patches `kubectl argo rollouts` sends)

    def edit_spec(self, change: Callable[[dict[str, Any]], object]) -> None:
        before = copy.deepcopy(self.spec)
        change(self.spec)
        if self.spec != before:
            self.rollout["metadata"]["generation"] += 1

    def set_image(self, image: str) -> None:
        def change(spec: dict[str, Any]) -> None:
            spec["template"]["spec"]["containers"][0]["image"] = image

        self.edit_spec(change)

    def set_steps(self, steps: Sequence[Mapping[str, Any]]) -> None:
        self.edit_spec(lambda _: self.canary_spec.__setitem__("steps", [dict(step) for step in steps]))

    def scale(self, replicas: int) -> None:
        self.edit_spec(lambda spec: spec.__setitem__("replicas", replicas))

    def set_paused(self, paused: bool) -> None:
        self.edit_spec(lambda spec: spec.__setitem__("paused", paused))

    def restart(self, at: datetime.datetime) -> None:
        self.edit_spec(lambda spec: spec.__setitem__("restartAt", fields.format_timestamp(at)))

    def promote(self) -> None:
        """`promote` (semantics 1.10): unpause; clear pauseConditions; paused for an inconclusive step analysis
        also `controllerPause: false` and the next step; not paused mid-step (an analysis): the next step."""
        if self.spec.get("paused"):
            self.set_paused(False)
        status = self.raw_status
        steps = self.canary_spec.get("steps") or []
        index = status.get("currentStepIndex")
        conditions = status.get("pauseConditions") or []
        if conditions:
            inconclusive = any(c.get("reason") == "InconclusiveAnalysisRun" for c in conditions)
            status.pop("pauseConditions", None)
            if inconclusive and status.get("controllerPause") and index is not None:
                status["controllerPause"] = False
                status["currentStepIndex"] = min(index + 1, len(steps))
            return
        if index is not None and index < len(steps):
            status["currentStepIndex"] = index + 1

    def clear_pause_conditions(self) -> None:
        """Only `{"status": {"pauseConditions": null}}`: the plain part of every promote."""
        self.raw_status.pop("pauseConditions", None)

    def promote_full(self) -> None:
        """`promote --full`: unpause and `{"promoteFull": true}`, unless already fully promoted."""
        if self.spec.get("paused"):
            self.set_paused(False)
        status = self.raw_status
        if status.get("currentPodHash") and status.get("currentPodHash") == status.get("stableRS"):
            return
        status["promoteFull"] = True

    def abort(self) -> None:
        self.raw_status["abort"] = True

    def retry(self) -> None:
        self.raw_status["abort"] = False

    def make_pods_ready(self) -> None:
        """Every pod that exists now is available from the next pass on (a stuck image finally pulled)."""
        for pods in self.pods.values():
            for pod in pods:
                pod.ready_at_pass = min(pod.ready_at_pass, self.passes + 1)

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)

    # -----------------------------------------------------------------------------------------------
    # The simulated ReplicaSet controller

    def _default_services(self) -> dict[str, dict[str, Any]]:
        canary_spec = (self.rollout.get("spec") or {}).get("strategy", {}).get("canary") or {}
        labels = ((self.rollout["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        selector = {"app": labels["app"]} if "app" in labels else dict(labels)
        return {
            name: service_manifest(name, selector=selector)
            for name in (canary_spec.get("canaryService"), canary_spec.get("stableService"))
            if name
        }

    def _existing_replica_set(self, name: str) -> dict[str, Any]:
        if name not in self.replica_sets:
            raise EffectFailed(f"replicaset {name} not found")
        return self.replica_sets[name]

    def _hash_of(self, rs_name: str) -> str | None:
        value = self.replica_sets[rs_name]["metadata"]["labels"].get(HASH_LABEL)
        return str(value) if value is not None else None

    def _progress_pods(self) -> None:
        for rs_name, pods in self.pods.items():
            for pod in pods:
                pod.ready = pod.ready_at_pass <= self.passes
            self._write_rs_status(rs_name)

    def _sync_pods(self, rs_name: str) -> None:
        """Create or delete pods until the ReplicaSet has spec.replicas; starting pods go first, newest first."""
        raw = self.replica_sets[rs_name]
        pods = self.pods[rs_name]
        desired = int(raw["spec"]["replicas"])
        while len(pods) < desired:
            self._pod_serial += 1
            pods.append(
                SimPod(
                    name=f"{rs_name}-pod{self._pod_serial}",
                    created=self.now,
                    ready_at_pass=self.passes + 1 + self.lag if self.lag < NEVER else NEVER,
                )
            )
        while len(pods) > desired:
            starting = [pod for pod in pods if not pod.ready]
            victim = starting[-1] if starting else pods[-1]
            pods.remove(victim)
        self._write_rs_status(rs_name)

    def _write_rs_status(self, rs_name: str) -> None:
        raw = self.replica_sets[rs_name]
        pods = self.pods[rs_name]
        ready = sum(1 for pod in pods if pod.ready)
        raw["status"] = {
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": raw["metadata"]["generation"],
        }


def _revision_of(raw: Mapping[str, Any]) -> int:
    text = (raw["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


def assert_within_budget(cluster: Cluster, *, max_surge: int, max_unavailable: int) -> None:
    """Every pass ends with at most R+S pods, and its own scale-downs and evictions never take the available
    pods below R-U (nor lower still when fewer than that were available to begin with). Passes of a manually
    paused Rollout are skipped: it does not scale, even when spec.replicas was lowered meanwhile."""
    for record in cluster.history:
        if record.view.rollout.spec.paused:
            continue
        assert record.total_pods <= record.rollout_replicas + max_surge, (
            f"pass {record.number}: {record.total_pods} pods > {record.rollout_replicas}+{max_surge}",
            dict(record.spec_replicas),
        )
        floor = min(record.available_before, record.rollout_replicas - max_unavailable)
        assert record.total_available >= floor, (
            f"pass {record.number}: {record.total_available} available < {floor}",
            dict(record.available),
        )


def deployed(manifest: Mapping[str, Any], **options: Any) -> Cluster:
    """A cluster whose first revision is fully deployed and Healthy."""
    cluster = Cluster(manifest, **options)
    cluster.settle()
    status = cluster.status
    assert status.phase == model.RolloutPhase.HEALTHY, (status.phase, status.message)
    return cluster
