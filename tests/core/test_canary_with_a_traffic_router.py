"""A canary with a traffic router (semantics 2.5, 2.7): the router splits traffic, the pods follow.

The stable stays at full scale and the canary runs ceil(w x R / W) pods; the weight goes up only once those pods
are available; a step is done when the router holds its weight (read back); an abort and a promotion move traffic
before pods; a weight someone else changed reads back different and is written again.
"""

from __future__ import annotations

import datetime
from typing import Any

from rollouts.core import decisions
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
ROUTING = {"smi": {"trafficSplitName": "web"}}
SECOND = datetime.timedelta(seconds=1)


def routed(replicas: int = 10, **canary: Any) -> sim.Cluster:
    manifest = sim.rollout_manifest(replicas=replicas, steps=STEPS)
    manifest["spec"]["strategy"]["canary"]["trafficRouting"] = ROUTING
    manifest["spec"]["strategy"]["canary"].update(canary)
    return sim.deployed(manifest, lag=1)


def test_the_initial_deploy_sends_nothing_to_the_canary() -> None:
    cluster = routed()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.traffic_weight == 0


def test_the_stable_stays_full_and_the_canary_runs_what_its_weight_needs() -> None:
    cluster = routed()
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert cluster.status.phase == model.RolloutPhase.PAUSED
    assert cluster.split() == {v1: 10, v2: 2}
    assert cluster.traffic_weight == 20
    weights = cluster.status.canary.weights
    assert weights is not None
    assert (weights.canary.weight, weights.stable.weight, weights.verified) == (20, 80, True)
    cluster.promote()
    cluster.settle()
    assert cluster.split() == {v1: 10, v2: 5}
    assert cluster.traffic_weight == 50


def test_the_weight_waits_for_the_canary_pods() -> None:
    cluster = routed()
    cluster.set_image("web:v2")
    cluster.settle()
    assert cluster.traffic_writes[-1] == 20
    # Each pass that wrote a canary weight above 0 had seen the canary's 2 pods available.
    for record in cluster.history:
        writes = [e.weight for e in record.decision.effects if isinstance(e, decisions.SetTrafficWeight)]
        weight = max(writes, default=0)
        canary_available = next(
            (
                rs.available_replicas
                for rs in record.view.replica_sets
                if rs.pod_template_hash == record.view.rollout.status.current_pod_hash
            ),
            0,
        )
        if weight > 0:
            assert canary_available >= 2, "traffic went to the canary before its pods were there"


def test_a_step_waits_until_the_router_holds_its_weight() -> None:
    cluster = routed()
    cluster.set_image("web:v2")
    cluster.settle()
    cluster.promote()
    # The router refuses to move (its write never lands): the step is not done.
    cluster.traffic_weight = 20

    def stuck(effect: decisions.Effect) -> None:
        if not isinstance(effect, decisions.SetTrafficWeight):
            original(effect)

    original, cluster.apply_effect = cluster.apply_effect, stuck  # type: ignore[method-assign]
    for _ in range(5):
        cluster.step(cluster.now + SECOND)
    assert cluster.status.current_step_index == 2
    cluster.apply_effect = original  # type: ignore[method-assign]
    cluster.settle()
    assert cluster.status.current_step_index == 3


def test_a_weight_changed_elsewhere_is_written_back() -> None:
    cluster = routed()
    cluster.set_image("web:v2")
    cluster.settle()
    cluster.traffic_weight = 70  # someone else
    decision = cluster.step(cluster.now + SECOND)
    assert (
        decisions.SetTrafficWeight(
            weight=20, canary_hash=cluster.status.current_pod_hash, stable_hash=cluster.status.stable_rs
        )
        in decision.effects
    )
    assert cluster.traffic_weight == 20


def test_abort_moves_traffic_before_pods() -> None:
    cluster = routed()
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    cluster.abort()
    decision = cluster.step(cluster.now + SECOND)
    # The pass that takes the traffic away keeps the canary's pods: they go once the router holds 0.
    assert any(isinstance(e, decisions.SetTrafficWeight) and e.weight == 0 for e in decision.effects)
    assert cluster.split()[v2] == 2
    cluster.settle()
    assert cluster.split() == {v1: 10, v2: 0}
    assert cluster.status.phase == model.RolloutPhase.DEGRADED


def test_with_dynamic_stable_scale_an_abort_gives_the_stable_only_what_its_pods_can_serve() -> None:
    cluster = routed(dynamicStableScale=True)
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    cluster.promote()
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert cluster.split() == {v1: 5, v2: 5}  # the stable shrank with its traffic
    cluster.abort()
    cluster.settle()
    assert cluster.split() == {v1: 10, v2: 0}
    assert cluster.traffic_weight == 0
    for record in cluster.history[-20:]:
        stable_available = next(
            (rs.available_replicas for rs in record.view.replica_sets if rs.pod_template_hash == v1), 0
        )
        for effect in record.decision.effects:
            if isinstance(effect, decisions.SetTrafficWeight):
                # The stable's share never exceeds what its available pods serve.
                assert (100 - effect.weight) <= stable_available * 10


def test_promotion_points_the_stable_service_at_the_new_pods_before_the_weight_drops() -> None:
    cluster = routed()
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    cluster.promote_full()
    cluster.settle()
    assert cluster.status.phase == model.RolloutPhase.HEALTHY
    assert cluster.traffic_weight == 0
    assert cluster.service_hash("web-stable") == v2
    assert cluster.split() == {v1: 0, v2: 10}
    # The pass that dropped the weight to 0 had already switched the stable Service (or did it first).
    for record in cluster.history:
        effects = list(record.decision.effects)
        drops = [
            i for i, e in enumerate(effects) if isinstance(e, decisions.SetTrafficWeight) and e.weight == 0
        ]
        scale_downs = [
            i
            for i, e in enumerate(effects)
            if isinstance(e, decisions.ScaleReplicaSet) and e.to_replicas < e.from_replicas
        ]
        if drops and scale_downs:
            assert drops[0] < scale_downs[0]


def test_set_canary_scale_decouples_pods_from_the_weight() -> None:
    manifest = sim.rollout_manifest(
        replicas=10, steps=[{"setCanaryScale": {"replicas": 3}}, {"setWeight": 10}, {"pause": {}}]
    )
    manifest["spec"]["strategy"]["canary"]["trafficRouting"] = ROUTING
    cluster = sim.deployed(manifest, lag=1)
    v1 = cluster.status.stable_rs
    cluster.set_image("web:v2")
    cluster.settle()
    v2 = cluster.status.current_pod_hash
    assert cluster.split() == {v1: 10, v2: 3}
    assert cluster.traffic_weight == 10


def istio_with_routes() -> sim.Cluster:
    manifest = sim.rollout_manifest(
        replicas=4,
        steps=[
            {"setWeight": 20},
            {"setHeaderRoute": {"name": "h", "match": [{"headerName": "X", "headerValue": {"exact": "1"}}]}},
            {"pause": {}},
        ],
    )
    manifest["spec"]["strategy"]["canary"]["trafficRouting"] = {
        "istio": {"virtualService": {"name": "vs", "routes": ["primary"]}},
        "managedRoutes": [{"name": "h"}],
    }
    return sim.deployed(manifest, lag=1)


def test_a_header_route_step_sets_its_route_and_moves_on() -> None:
    cluster = istio_with_routes()
    cluster.set_image("web:v2")
    cluster.settle()
    assert cluster.status.current_step_index == 2
    assert list(cluster.managed_routes) == ["h"]
    assert "Rollout step 2/3 completed (setHeaderRoute: h)" in [
        e.message for e in cluster.events_with("RolloutStepCompleted")
    ]


def test_the_end_of_the_update_removes_the_managed_routes() -> None:
    aborted = istio_with_routes()
    aborted.set_image("web:v2")
    aborted.settle()
    aborted.abort()
    aborted.settle()
    assert aborted.managed_routes == {}
    promoted = istio_with_routes()
    promoted.set_image("web:v2")
    promoted.settle()
    promoted.promote()
    promoted.settle()
    assert promoted.status.phase == model.RolloutPhase.HEALTHY
    assert promoted.managed_routes == {}
