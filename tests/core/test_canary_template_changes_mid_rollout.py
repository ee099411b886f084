"""A new template (or new steps) mid-rollout restarts the steps; going back to the stable template skips them.

Semantics 2.7 "New template (or new steps) mid-rollout": pauseConditions and abort cleared, `currentStepIndex=0`;
the intermediate RS (V2 in V1 -> V2 -> V3) becomes "other" and is scaled down within the budget; the new hash
equal to `stableRS` emits SkipSteps and sets `currentStepIndex=len(steps)`. Semantics 2.2: a change of
`currentStepHash` resets the step index to 0.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from rollouts.core import decisions, replicas
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "30s"}},
    {"setWeight": 50},
    {"pause": {}},
]
SECOND = datetime.timedelta(seconds=1)


def at_fifty_percent(lag: int = 1) -> tuple[sim.Cluster, str, str]:
    cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=STEPS), lag=lag)
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert v1 is not None and v2 is not None
    assert cluster.split() == {v1: 5, v2: 5}
    assert cluster.status.phase == model.RolloutPhase.PAUSED
    return cluster, v1, v2


class TestAThirdTemplateArrives:
    def test_first_pass_restarts_the_steps_and_clears_the_pause(self) -> None:
        cluster, v1, v2 = at_fifty_percent()
        cluster.set_image("web:v3")
        decision = cluster.step(cluster.now + SECOND)
        status = decision.status
        v3 = status.current_pod_hash
        assert v3 not in (v1, v2)
        assert status.current_step_index == 0
        assert not status.pause_conditions
        assert not status.controller_pause
        assert status.stable_rs == v1
        assert status.phase != model.RolloutPhase.PAUSED
        creates = [e for e in decision.effects if isinstance(e, decisions.CreateReplicaSet)]
        assert [c.pod_template_hash for c in creates] == [v3]
        assert creates[0].revision == 3
        assert "RolloutUpdated" in [e.reason for e in decision.events]

    def test_the_intermediate_revision_is_drained_within_budget_and_v3_walks_the_steps(self) -> None:
        cluster, v1, v2 = at_fifty_percent()
        cluster.set_image("web:v3")
        cluster.settle(follow_requeue=False)
        v3 = cluster.status.current_pod_hash
        assert v3 is not None
        assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 1)
        canary_pods, stable_pods = replicas.approximate_weighted_counts(replicas=10, weight=20, max_surge=3)
        assert cluster.split() == {v1: stable_pods, v2: 0, v3: canary_pods}
        assert cluster.service_hash("web-canary") == v3
        assert cluster.service_hash("web-stable") == v1

        cluster.settle()
        assert cluster.split() == {v1: 5, v2: 0, v3: 5}
        cluster.promote()
        cluster.settle()
        status = cluster.status
        assert (status.phase, status.stable_rs, status.current_pod_hash) == (
            model.RolloutPhase.HEALTHY,
            v3,
            v3,
        )
        assert cluster.split() == {v1: 0, v2: 0, v3: 10}
        assert cluster.service_hash("web-canary") == v3
        assert cluster.service_hash("web-stable") == v3
        sim.assert_within_budget(cluster, max_surge=3, max_unavailable=2)

    def test_the_first_set_weight_waits_until_the_intermediate_revision_has_no_available_pods(self) -> None:
        cluster, _, v2 = at_fifty_percent(lag=2)
        cluster.set_image("web:v3")
        for _ in range(50):
            decision = cluster.step(cluster.now + SECOND)
            if any(e.reason == "RolloutStepCompleted" for e in decision.events):
                break
        else:
            raise AssertionError("setWeight 20 never completed")
        view = cluster.history[-1].view
        intermediate = [rs for rs in view.replica_sets if rs.pod_template_hash == v2]
        assert intermediate and intermediate[0].available_replicas == 0


class TestRollbackToTheStableTemplate:
    def test_skips_the_steps_and_goes_straight_back_to_full_stable(self) -> None:
        cluster, v1, v2 = at_fifty_percent()
        cluster.set_image("web:v1")
        decision = cluster.step(cluster.now + SECOND)
        status = decision.status
        assert status.current_pod_hash == v1
        assert status.stable_rs == v1
        assert status.current_step_index == len(STEPS)
        assert not status.pause_conditions
        assert "SkipSteps" in [e.reason for e in decision.events]
        assert not any(isinstance(e, decisions.CreateReplicaSet) for e in decision.effects)
        assert status.canary.weights is not None and status.canary.weights.canary.weight == 100

        cluster.settle()
        assert (cluster.status.phase, cluster.status.message) == (model.RolloutPhase.HEALTHY, "")
        assert cluster.split() == {v1: 10, v2: 0}
        assert cluster.service_hash("web-canary") == v1
        assert cluster.service_hash("web-stable") == v1
        # No step was walked for the rollback.
        steps_before = [r for r in cluster.history if any(e.reason == "SkipSteps" for e in r.decision.events)]
        after = cluster.history[cluster.history.index(steps_before[0]) :]
        assert not [
            e
            for r in after
            for e in r.decision.events
            if e.reason in ("RolloutStepCompleted", "RolloutPaused")
        ]
        sim.assert_within_budget(cluster, max_surge=3, max_unavailable=2)

    def test_the_old_replica_set_becomes_the_newest_revision(self) -> None:
        cluster, v1, v2 = at_fifty_percent()
        cluster.set_image("web:v1")
        decision = cluster.step(cluster.now + SECOND)
        assert decisions.SetReplicaSetRevision(name=f"web-{v1}", revision=3) in decision.effects
        cluster.settle()
        assert (cluster.revision_of(v1), cluster.revision_of(v2)) == (3, 2)

    def test_rolling_back_while_the_new_revision_holds_most_pods_stays_within_surge(self) -> None:
        manifest = sim.rollout_manifest(replicas=3, steps=[{"setWeight": 0}], max_surge=1, max_unavailable=1)
        cluster = sim.deployed(manifest)
        cluster.set_image("web:v2")
        cluster.settle(until=lambda c: c.spec_replicas(c.status.current_pod_hash) == 3)
        cluster.set_image("web:v1")
        cluster.settle()
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        sim.assert_within_budget(cluster, max_surge=1, max_unavailable=1)


class TestNewStepsOnly:
    def test_new_steps_mid_rollout_restart_from_step_zero(self) -> None:
        cluster, v1, v2 = at_fifty_percent()
        cluster.set_steps([{"setWeight": 30}, {"pause": {}}])
        decision = cluster.step(cluster.now + SECOND)
        assert decision.status.current_step_index == 0
        assert decision.status.current_pod_hash == v2
        assert not decision.status.pause_conditions
        cluster.settle()
        canary_pods, stable_pods = replicas.approximate_weighted_counts(replicas=10, weight=30, max_surge=3)
        assert cluster.split() == {v1: stable_pods, v2: canary_pods}
        assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 1)

    def test_new_steps_mid_rollout_do_not_count_the_old_pause_as_promoted(self) -> None:
        cluster, v1, v2 = at_fifty_percent()  # paused at the indefinite pause: controllerPause is true
        assert cluster.status.controller_pause
        cluster.set_steps([{"pause": {}}, {"setWeight": 80}])
        cluster.settle()
        status = cluster.status
        assert (status.phase, status.current_step_index) == (model.RolloutPhase.PAUSED, 0)
        assert status.stable_rs == v1
        assert cluster.spec_replicas(v2) < 10

    def test_new_steps_after_abort_clear_abort(self) -> None:
        cluster, v1, v2 = at_fifty_percent()
        cluster.abort()
        cluster.settle()
        cluster.set_steps([{"setWeight": 30}, {"pause": {}}])
        decision = cluster.step(cluster.now + SECOND)
        assert not decision.status.abort
        assert decision.status.current_step_index == 0
        cluster.settle()
        assert (cluster.status.phase, cluster.status.current_step_index) == (model.RolloutPhase.PAUSED, 1)
        assert cluster.split() == {v1: 7, v2: 3}

    def test_new_steps_on_a_healthy_rollout_do_nothing(self) -> None:
        cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=STEPS))
        before = cluster.split()
        cluster.set_steps([{"setWeight": 10}, {"pause": {}}, {"setWeight": 90}])
        decision = cluster.step(cluster.now + SECOND)
        assert decision.effects == ()
        assert decision.status.current_step_index == 3
        assert decision.status.phase == model.RolloutPhase.HEALTHY
        assert cluster.split() == before
        assert decision.status.current_step_hash != cluster.history[-2].decision.status.current_step_hash


def test_observed_generation_follows_every_spec_edit() -> None:
    cluster, _, _ = at_fifty_percent()
    generation = cluster.rollout["metadata"]["generation"]
    cluster.set_image("web:v3")
    decision = cluster.step(cluster.now + SECOND)
    assert decision.status.observed_generation == str(generation + 1)


def test_undo_with_the_stored_template_reuses_the_old_revision() -> None:
    """`undo` copies a ReplicaSet's stored template (API-server defaults included) back into the Rollout; that is
    the old revision again, not a new one, so it is a rollback to stable without steps."""
    cluster = sim.deployed(sim.rollout_manifest(replicas=4, steps=[{"setWeight": 50}, {"pause": {}}]))
    v1 = cluster.status.stable_rs
    assert v1 is not None
    cluster.set_image("web:v2")
    cluster.settle(max_passes=30)
    stored = copy.deepcopy(cluster.replica_sets[f"web-{v1}"]["spec"]["template"])
    del stored["metadata"]["labels"]["rollouts-pod-template-hash"]
    container = stored["spec"]["containers"][0]
    container.update(
        imagePullPolicy="IfNotPresent",
        resources={},
        terminationMessagePath="/dev/termination-log",
        terminationMessagePolicy="File",
    )
    stored["spec"].update(
        restartPolicy="Always",
        dnsPolicy="ClusterFirst",
        schedulerName="default-scheduler",
        securityContext={},
        terminationGracePeriodSeconds=30,
    )
    cluster.edit_spec(lambda spec: spec.__setitem__("template", stored))
    cluster.settle(max_passes=30)
    assert cluster.status.current_pod_hash == v1 == cluster.status.stable_rs
    assert len(cluster.replica_sets) == 2
    assert cluster.events_with("SkipSteps")
