"""The first revision of a Rollout skips every step: one ReplicaSet at full scale, stable at once, Healthy.

Semantics 2.7 "Initial deploy": with no stable RS, the steps are skipped, `currentStepIndex = len(steps)`,
`stableRS = currentPodHash`, the RS is scaled straight to R, and event RolloutCompleted "... Initial deploy".
"""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.core import decisions, hashing
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "30s"}},
    {"setWeight": 50},
    {"pause": {}},
]


@pytest.mark.parametrize(
    ("steps", "expected_index"),
    [
        pytest.param(STEPS, 4, id="four-steps"),
        pytest.param([{"setWeight": 20}], 1, id="one-step"),
        pytest.param(None, None, id="no-steps"),
    ],
)
def test_first_pass_creates_the_replica_set_at_full_scale_and_marks_it_stable(
    steps: list[dict[str, Any]] | None, expected_index: int | None
) -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=10, steps=steps))

    decision = cluster.step()

    creates = [e for e in decision.effects if isinstance(e, decisions.CreateReplicaSet)]
    assert len(creates) == 1
    create = creates[0]
    template_hash = hashing.pod_template_hash(cluster.spec["template"])
    assert create.pod_template_hash == template_hash
    assert create.name == f"web-{template_hash}"
    assert create.replicas == 10
    assert create.revision == 1
    assert create.template["metadata"]["labels"] == {"app": "web", sim.HASH_LABEL: template_hash}
    assert create.selector["matchLabels"] == {"app": "web", sim.HASH_LABEL: template_hash}
    status = decision.status
    assert status.current_pod_hash == template_hash
    assert status.stable_rs == template_hash
    assert status.current_step_index == expected_index
    assert status.observed_generation == "1"
    completed = [e for e in decision.events if e.reason == "RolloutCompleted"]
    assert len(completed) == 1
    assert completed[0].message == f"Rollout completed update to revision 1 ({template_hash}): Initial deploy"
    assert not completed[0].warning


def test_the_replica_set_carries_the_hash_label_and_revision_annotation() -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=3, steps=STEPS))
    cluster.step()

    (raw,) = cluster.replica_sets.values()
    template_hash = cluster.status.current_pod_hash
    assert raw["metadata"]["labels"][sim.HASH_LABEL] == template_hash
    assert raw["metadata"]["annotations"][sim.REVISION_ANNOTATION] == "1"
    assert raw["spec"]["template"]["metadata"]["labels"][sim.HASH_LABEL] == template_hash
    assert raw["spec"]["selector"]["matchLabels"][sim.HASH_LABEL] == template_hash


def test_settles_healthy_with_services_on_the_stable_hash() -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=10, steps=STEPS), lag=1)
    cluster.settle()

    status = cluster.status
    template_hash = status.current_pod_hash
    assert (status.phase, status.message) == (model.RolloutPhase.HEALTHY, "")
    assert status.stable_rs == template_hash
    assert status.current_step_index == len(STEPS)
    assert (status.replicas, status.updated_replicas, status.ready_replicas, status.available_replicas) == (
        10,
        10,
        10,
        10,
    )
    assert status.hpa_replicas == 10
    assert status.selector == "app=web"
    assert cluster.split() == {template_hash: 10}
    assert cluster.service_hash("web-stable") == template_hash
    assert cluster.service_hash("web-canary") == template_hash
    managed = cluster.services["web-stable"]["metadata"]["annotations"][sim.MANAGED_BY_ANNOTATION]
    assert managed == "web"
    assert not status.pause_conditions
    assert not status.abort
    conditions = {c.type: (c.status.value, c.reason) for c in status.conditions}
    assert conditions["Progressing"] == ("True", "NewReplicaSetAvailable")
    assert conditions["Available"] == ("True", "AvailableReason")
    assert conditions["Completed"] == ("True", "RolloutCompleted")
    assert conditions["Healthy"] == ("True", "RolloutHealthy")
    assert conditions["Paused"][0] == "False"
    assert "InvalidSpec" not in conditions
    # No step was walked: no step events, no scaling of the one ReplicaSet.
    assert not cluster.events_with("RolloutStepCompleted")
    assert not cluster.events_with("RolloutPaused")
    assert cluster.event_reasons().count("RolloutCompleted") == 1


def test_is_progressing_until_the_pods_are_available() -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=4, steps=STEPS), lag=2)
    cluster.step()  # counts come from the ReplicaSets as read: none yet
    assert (cluster.status.phase, cluster.status.message) == (
        model.RolloutPhase.PROGRESSING,
        "more replicas need to be updated",
    )
    cluster.step()  # the pods exist but are still starting
    assert (cluster.status.phase, cluster.status.message) == (
        model.RolloutPhase.PROGRESSING,
        "updated replicas are still becoming available",
    )
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY


def test_a_settled_rollout_decides_nothing_more() -> None:
    cluster = sim.deployed(sim.rollout_manifest(replicas=5, steps=STEPS))
    before = cluster.raw_status
    decision = cluster.step(cluster.now + sim.ONE_SECOND * 3600)
    assert decision.effects == ()
    assert decision.events == ()
    assert decision.requeue_after is None
    assert cluster.raw_status == before


def test_zero_replicas_deploys_and_is_healthy() -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=0, steps=STEPS))
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert list(cluster.split().values()) == [0]


def test_an_unset_replicas_is_written_back_as_one() -> None:
    cluster = sim.Cluster(sim.rollout_manifest(replicas=None, steps=STEPS))
    decision = cluster.step()
    assert decisions.SetRolloutReplicas(replicas=1) in decision.effects
