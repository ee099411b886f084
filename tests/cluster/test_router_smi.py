"""The SMI router against the real TrafficSplit CRD (split.smi-spec.io, from the smi-sdk-go Go module, converted to
apiextensions v1): rollwave creates the split owned by the Rollout, walks 20/50/100 exactly, resets to stable, puts
back a weight changed with kubectl (and reports it), refuses a split it does not own, and deletes its own on
release."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.kube import client as kube_client
from rollouts.model import rollout as model
from rollouts.routers import base, registry
from tests.routers import cluster_support
from tests.support import kube


@pytest.fixture
def clients(dev_cluster: devcluster.DevCluster) -> kube_client.Clients:
    return cluster_support.clients(dev_cluster)


def _router(rollout: dict[str, Any], clients: kube_client.Clients) -> base.TrafficRouter:
    strategy = model.parse_rollout(rollout).require().spec.strategy
    assert isinstance(strategy, model.CanaryStrategy) and strategy.traffic_routing is not None
    return registry.create(
        strategy.traffic_routing, rollout=cluster_support.rollout_ref(rollout), clients=clients
    )


def _split(namespace: str, name: str) -> dict[str, Any]:
    found = kube.get("trafficsplits.split.smi-spec.io", name, namespace=namespace)
    assert found is not None
    return found


@pytest.fixture
def rollout(crds: None, router_crds: list[str], namespace: str) -> dict[str, Any]:
    assert "trafficsplits.split.smi-spec.io" in router_crds
    cluster_support.services(namespace, "web-stable", "web-canary", "web")
    return cluster_support.rollout_object(
        namespace, traffic_routing={"smi": {"rootService": "web", "trafficSplitName": "web-split"}}
    )


def test_the_split_is_created_owned_and_walks_exactly(
    rollout: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(rollout, clients)
    assert router.read_weight() is None, "no split yet"
    for weight in (20, 50, 100):
        assert router.set_weight(weight) == base.WeightChange(changed=True)
        split = _split(namespace, "web-split")
        assert split["spec"] == {
            "service": "web",
            "backends": [
                {"service": "web-canary", "weight": weight},
                {"service": "web-stable", "weight": 100 - weight},
            ],
        }
        assert router.read_weight() == weight
    [owner] = split["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("Rollout", rollout["metadata"]["uid"], True)
    assert split["apiVersion"] == "split.smi-spec.io/v1alpha4"
    assert router.set_weight(100) == base.WeightChange()

    router.reset_to_stable()
    assert _split(namespace, "web-split")["spec"]["backends"] == [
        {"service": "web-canary", "weight": 0},
        {"service": "web-stable", "weight": 100},
    ]

    router.release()
    assert kube.get("trafficsplits.split.smi-spec.io", "web-split", namespace=namespace) is None


def test_a_weight_changed_by_someone_else_is_restored_and_reported(
    rollout: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(rollout, clients)
    router.set_weight(20)
    cluster_support.json_patch(
        "trafficsplits.split.smi-spec.io",
        "web-split",
        namespace=namespace,
        operations=[
            {"op": "replace", "path": "/spec/backends/0/weight", "value": 60},
            {"op": "replace", "path": "/spec/backends/1/weight", "value": 40},
        ],
    )
    assert router.read_weight() == 60
    change = router.set_weight(20)
    assert change.restored == ("TrafficSplit web-split: canary 60/stable 40 (rollwave had set 20/80)",)
    assert router.read_weight() == 20


def test_a_split_the_rollout_does_not_own_is_refused(
    rollout: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    kube.apply(
        {
            "apiVersion": "split.smi-spec.io/v1alpha4",
            "kind": "TrafficSplit",
            "metadata": {"name": "web-split"},
            "spec": {"service": "web", "backends": [{"service": "web-stable", "weight": 100}]},
        },
        namespace=namespace,
    )
    before = _split(namespace, "web-split")
    router = _router(rollout, clients)
    with pytest.raises(base.RouterError) as raised:
        router.set_weight(20)
    assert raised.value.path == "spec.strategy.canary.trafficRouting.smi.trafficSplitName"
    assert "not owned by Rollout" in raised.value.message
    router.release()  # never deletes what is not ours
    after = _split(namespace, "web-split")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
