"""The Gateway API router against the real HTTPRoute CRD (gateway.networking.k8s.io/v1, from the Gateway API Go
module): weights walk 20/50/100 exactly on the managed rule, abort sends all traffic to stable, a weight changed with
kubectl is put back (and reported) by the next set_weight, other rules and fields are never touched, and a missing
route or a route that does not name both Services is a RouterError naming the Rollout field."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.kube import client as kube_client
from rollouts.model import rollout as model
from rollouts.routers import base, registry
from tests.routers import cluster_support
from tests.support import kube

PLUGIN = "argoproj-labs/gatewayAPI"
PLUGIN_PATH = "spec.strategy.canary.trafficRouting.plugins[argoproj-labs/gatewayAPI]"


def _route(name: str, *, rule_backends: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "labels": {"team": "checkout"}},
        "spec": {
            "parentRefs": [{"name": "shared-gateway"}],
            "hostnames": ["web.example.com"],
            "rules": [
                {"matches": [{"path": {"type": "PathPrefix", "value": f"/{index}"}}], "backendRefs": backends}
                for index, backends in enumerate(rule_backends)
            ],
        },
    }


def _weights(namespace: str, name: str) -> list[dict[str, int]]:
    """Per rule: backend name -> weight, as stored by the API server."""
    route = kube.get("httproute", name, namespace=namespace)
    assert route is not None
    return [
        {ref["name"]: ref.get("weight", 1) for ref in rule["backendRefs"]} for rule in route["spec"]["rules"]
    ]


@pytest.fixture
def clients(dev_cluster: devcluster.DevCluster) -> kube_client.Clients:
    return cluster_support.clients(dev_cluster)


@pytest.fixture
def setup(crds: None, router_crds: list[str], namespace: str) -> dict[str, Any]:
    assert "httproutes.gateway.networking.k8s.io" in router_crds
    cluster_support.services(namespace, "web-stable", "web-canary", "legacy")
    kube.apply(
        _route(
            "web",
            rule_backends=[
                [
                    {"name": "web-stable", "port": 80, "weight": 100},
                    {"name": "web-canary", "port": 80, "weight": 0},
                ],
                [{"name": "legacy", "port": 80, "weight": 7}],
            ],
        ),
        namespace=namespace,
    )
    routing = {"plugins": {PLUGIN: {"httpRoute": "web", "namespace": namespace}}}
    return cluster_support.rollout_object(namespace, traffic_routing=routing)


def _router(rollout: dict[str, Any], clients: kube_client.Clients, **ref: Any) -> base.TrafficRouter:
    parsed = model.parse_rollout(rollout)
    strategy = parsed.require(allow_unsupported=True).spec.strategy
    assert isinstance(strategy, model.CanaryStrategy) and strategy.traffic_routing is not None
    assert strategy.traffic_routing.router == f"plugin:{PLUGIN}"
    return registry.create(
        strategy.traffic_routing, rollout=cluster_support.rollout_ref(rollout, **ref), clients=clients
    )


def test_weights_walk_exactly_and_abort_resets(
    setup: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(setup, clients)
    before = kube.get("httproute", "web", namespace=namespace)
    assert before is not None
    for weight in (20, 50, 100):
        change = router.set_weight(weight)
        assert change == base.WeightChange(changed=True)
        assert _weights(namespace, "web") == [
            {"web-stable": 100 - weight, "web-canary": weight},
            {"legacy": 7},
        ]
        assert router.read_weight() == weight
    assert router.set_weight(100) == base.WeightChange(changed=False), "idempotent: nothing to write"

    assert router.reset_to_stable() == base.WeightChange(changed=True)
    assert _weights(namespace, "web")[0] == {"web-stable": 100, "web-canary": 0}
    assert router.read_weight() == 0

    after = kube.get("httproute", "web", namespace=namespace)
    assert after is not None
    # Nothing but the two managed weights and rollwave's record changed.
    assert after["spec"]["parentRefs"] == before["spec"]["parentRefs"]
    assert after["spec"]["hostnames"] == before["spec"]["hostnames"]
    assert after["spec"]["rules"] == before["spec"]["rules"]
    assert after["metadata"]["labels"] == {"team": "checkout"}
    assert (
        after["metadata"]["annotations"][base.WEIGHTS_ANNOTATION] == f'{{"{setup["metadata"]["name"]}": 0}}'
    )


def test_a_weight_changed_by_someone_else_is_restored_and_reported(
    setup: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(setup, clients)
    router.set_weight(20)
    cluster_support.json_patch(
        "httproute",
        "web",
        namespace=namespace,
        # What a GitOps tool syncing the route from Git would do: back to the weights in Git.
        operations=[
            {"op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": 100},
            {"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": 0},
        ],
    )
    assert router.read_weight() == 0, "read back from the API server"
    change = router.set_weight(20)
    assert change.changed and change.conflicted
    assert "rules[0]: canary 0/stable 100 (rollwave had set 20/80)" in change.restored[0]
    assert _weights(namespace, "web")[0] == {"web-stable": 80, "web-canary": 20}
    # A planned change after that is no conflict.
    assert router.set_weight(50) == base.WeightChange(changed=True)

    # One weight alone edited: the share the route now gives is what read_weight reports (weights are relative).
    cluster_support.json_patch(
        "httproute",
        "web",
        namespace=namespace,
        operations=[{"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": 150}],
    )
    assert router.read_weight() == 75  # 150 / (150 + 50)
    assert router.set_weight(50).conflicted
    assert _weights(namespace, "web")[0] == {"web-stable": 50, "web-canary": 50}


def test_max_traffic_weight_scales_the_pair(
    setup: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(setup, clients, max_weight=1000)
    router.set_weight(5)
    assert _weights(namespace, "web")[0] == {"web-stable": 995, "web-canary": 5}
    assert router.read_weight() == 5


def test_a_missing_route_is_a_retryable_error_naming_the_field(
    crds: None, router_crds: list[str], namespace: str, clients: kube_client.Clients
) -> None:
    rollout = cluster_support.rollout_object(
        namespace, traffic_routing={"plugins": {PLUGIN: {"httpRoutes": [{"name": "absent"}]}}}
    )
    router = _router(rollout, clients)
    with pytest.raises(base.RouterError) as raised:
        router.set_weight(20)
    assert raised.value.path == f"{PLUGIN_PATH}.httpRoutes[0].name"
    assert raised.value.retryable
    assert "HTTPRoute" in raised.value.message and "absent" in raised.value.message


def test_a_route_without_the_canary_service_is_an_error_and_nothing_moves(
    crds: None, router_crds: list[str], namespace: str, clients: kube_client.Clients
) -> None:
    cluster_support.services(namespace, "web-stable", "web-canary")
    kube.apply(
        _route("half", rule_backends=[[{"name": "web-stable", "port": 80, "weight": 100}]]),
        namespace=namespace,
    )
    before = kube.get("httproute", "half", namespace=namespace)
    assert before is not None
    rollout = cluster_support.rollout_object(
        namespace, traffic_routing={"plugins": {PLUGIN: {"httpRoute": "half"}}}
    )
    router = _router(rollout, clients)
    with pytest.raises(base.RouterError) as raised:
        router.set_weight(20)
    assert raised.value.path == f"{PLUGIN_PATH}.httpRoute"
    assert not raised.value.retryable
    assert "but not to the canary Service web-canary" in raised.value.message
    after = kube.get("httproute", "half", namespace=namespace)
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], "nothing written"
