"""The NGINX router against the real Ingress API (networking.k8s.io/v1): rollwave creates a canary Ingress owned by
the Rollout, derived from the stable one (only the stable Service's paths, pointed at the canary Service), walks
canary-weight 20/50/100 exactly, resets to 0, puts back a weight changed with kubectl (and reports it), never writes
the stable Ingress, and deletes the canary Ingress on release. A missing stable Ingress, or one that does not use the
stable Service, is a RouterError naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.kube import client as kube_client
from rollouts.model import rollout as model
from rollouts.routers import base, registry
from tests.routers import cluster_support
from tests.support import kube

PREFIX = "nginx.ingress.kubernetes.io"


def _path(prefix: str, service: str) -> dict[str, Any]:
    return {
        "path": prefix,
        "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": {"number": 80}}},
    }


def _stable_ingress(name: str, *, service: str = "web-stable") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "annotations": {f"{PREFIX}/rewrite-target": "/"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
            "rules": [
                {"host": "web.example.com", "http": {"paths": [_path("/", service), _path("/api", "api")]}},
                {"host": "other.example.com", "http": {"paths": [_path("/", "api")]}},
            ],
        },
    }


@pytest.fixture
def clients(dev_cluster: devcluster.DevCluster) -> kube_client.Clients:
    return cluster_support.clients(dev_cluster)


def _router(rollout: dict[str, Any], clients: kube_client.Clients, **ref: Any) -> base.TrafficRouter:
    strategy = model.parse_rollout(rollout).require().spec.strategy
    assert isinstance(strategy, model.CanaryStrategy) and strategy.traffic_routing is not None
    return registry.create(
        strategy.traffic_routing,
        rollout=cluster_support.rollout_ref(rollout, max_weight=strategy.max_traffic_weight, **ref),
        clients=clients,
    )


@pytest.fixture
def rollout(crds: None, namespace: str) -> dict[str, Any]:
    cluster_support.services(namespace, "web-stable", "web-canary", "api")
    kube.apply(_stable_ingress("web"), namespace=namespace)
    return cluster_support.rollout_object(
        namespace,
        traffic_routing={
            "nginx": {
                "stableIngress": "web",
                "additionalIngressAnnotations": {"canary-by-header": "X-Canary"},
                "canaryIngressAnnotations": {"example.com/team": "checkout"},
            }
        },
    )


def test_the_canary_ingress_is_derived_owned_and_walks_exactly(
    rollout: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    stable_before = kube.get("ingress", "web", namespace=namespace)
    router = _router(rollout, clients)
    name = f"{rollout['metadata']['name']}-web-canary"
    for weight in (20, 50, 100):
        assert router.set_weight(weight) == base.WeightChange(changed=True)
        canary = kube.get("ingress", name, namespace=namespace)
        assert canary is not None
        annotations = canary["metadata"]["annotations"]
        assert annotations[f"{PREFIX}/canary"] == "true"
        assert annotations[f"{PREFIX}/canary-weight"] == str(weight)
        assert router.read_weight() == weight
    assert canary is not None
    assert annotations[f"{PREFIX}/canary-by-header"] == "X-Canary"
    assert annotations["example.com/team"] == "checkout"
    assert f"{PREFIX}/rewrite-target" not in annotations, "only canary settings go on the canary Ingress"
    assert canary["spec"]["ingressClassName"] == "nginx"
    assert canary["spec"]["rules"] == [
        {"host": "web.example.com", "http": {"paths": [_path("/", "web-canary")]}},
    ]
    [owner] = canary["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("Rollout", rollout["metadata"]["uid"])
    assert router.set_weight(100) == base.WeightChange()

    router.reset_to_stable()
    canary = kube.get("ingress", name, namespace=namespace)
    assert canary is not None
    assert canary["metadata"]["annotations"][f"{PREFIX}/canary-weight"] == "0"
    assert kube.get("ingress", "web", namespace=namespace) == stable_before, (
        "the stable Ingress is never written"
    )

    router.release()
    assert kube.get("ingress", name, namespace=namespace) is None


def test_a_weight_changed_by_someone_else_is_restored_and_reported(
    rollout: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(rollout, clients)
    router.set_weight(20)
    name = f"{rollout['metadata']['name']}-web-canary"
    kube.kubectl("annotate", "ingress", name, "-n", namespace, "--overwrite", f"{PREFIX}/canary-weight=90")
    assert router.read_weight() == 90
    change = router.set_weight(20)
    assert change.restored == (f"Ingress {name} {PREFIX}/canary-weight: 90 (rollwave had set 20)",)
    assert router.read_weight() == 20


def test_max_traffic_weight_sets_the_weight_total(
    crds: None, namespace: str, clients: kube_client.Clients
) -> None:
    cluster_support.services(namespace, "web-stable", "web-canary")
    kube.apply(_stable_ingress("web"), namespace=namespace)
    rollout = cluster_support.rollout_object(
        namespace, traffic_routing={"nginx": {"stableIngress": "web"}, "maxTrafficWeight": 1000}
    )
    router = _router(rollout, clients)
    router.set_weight(5)
    canary = kube.get("ingress", f"{rollout['metadata']['name']}-web-canary", namespace=namespace)
    assert canary is not None
    assert canary["metadata"]["annotations"][f"{PREFIX}/canary-weight"] == "5"
    assert canary["metadata"]["annotations"][f"{PREFIX}/canary-weight-total"] == "1000"


def test_bad_stable_ingresses_are_errors_naming_the_field(
    crds: None, namespace: str, clients: kube_client.Clients
) -> None:
    cluster_support.services(namespace, "web-stable", "web-canary")
    missing = cluster_support.rollout_object(
        namespace, traffic_routing={"nginx": {"stableIngresses": ["absent"]}}
    )
    with pytest.raises(base.RouterError) as raised:
        _router(missing, clients).set_weight(20)
    assert raised.value.path == "spec.strategy.canary.trafficRouting.nginx.stableIngresses[0]"
    assert raised.value.retryable

    kube.apply(_stable_ingress("elsewhere", service="api"), namespace=namespace)
    wrong = cluster_support.rollout_object(
        namespace, traffic_routing={"nginx": {"stableIngress": "elsewhere"}}
    )
    with pytest.raises(base.RouterError) as raised:
        _router(wrong, clients).set_weight(20)
    assert raised.value.path == "spec.strategy.canary.trafficRouting.nginx.stableIngress"
    assert not raised.value.retryable
    assert "no path whose backend is the stable Service web-stable" in raised.value.message
    name = f"{wrong['metadata']['name']}-elsewhere-canary"
    assert kube.get("ingress", name, namespace=namespace) is None, "no traffic moves"


def test_an_ingress_of_the_canary_name_that_is_not_ours_is_refused(
    rollout: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    name = f"{rollout['metadata']['name']}-web-canary"
    taken = _stable_ingress(name)
    kube.apply(taken, namespace=namespace)
    with pytest.raises(base.RouterError) as raised:
        _router(rollout, clients).set_weight(20)
    assert "not owned by Rollout" in raised.value.message
