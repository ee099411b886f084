"""The Istio router against the real VirtualService and DestinationRule CRDs (from the istio.io/api Go module):
host-level weights walk 20/50/100 exactly on the named route, abort resets to stable and removes header and mirror
routes, a weight changed with kubectl is put back and reported, other routes are untouched, bad references are
RouterErrors naming the Rollout field, and Argo's example `istio-subset-split.yaml` applies and works (subset-level
split: weights plus the subsets' pod-template-hash labels)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from rollouts.devcluster import cluster as devcluster
from rollouts.kube import client as kube_client
from rollouts.model import rollout as model
from rollouts.routers import base, registry
from tests.routers import cluster_support
from tests.support import kube

ISTIO_PATH = "spec.strategy.canary.trafficRouting.istio"
EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "shared" / "argo-examples" / "istio-subset-split.yaml"


def _virtual_service(name: str, *, primary: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "VirtualService",
        "metadata": {"name": name},
        "spec": {
            "hosts": ["web.example.com"],
            "gateways": ["mesh"],
            "http": [
                {
                    "name": "admin",
                    "match": [{"uri": {"prefix": "/admin"}}],
                    "route": [{"destination": {"host": "admin"}}],
                },
                {"name": "primary", "retries": {"attempts": 3}, "route": primary},
            ],
        },
    }


def _route_weights(namespace: str, name: str, route: str) -> dict[str, int]:
    found = kube.get("virtualservice", name, namespace=namespace)
    assert found is not None
    [http] = [r for r in found["spec"]["http"] if r.get("name") == route]
    return {
        f"{d['destination']['host']}{'/' + d['destination']['subset'] if 'subset' in d['destination'] else ''}": d.get(
            "weight", 0
        )
        for d in http["route"]
    }


@pytest.fixture
def clients(dev_cluster: devcluster.DevCluster) -> kube_client.Clients:
    return cluster_support.clients(dev_cluster)


def _router(rollout: dict[str, Any], clients: kube_client.Clients, **ref: Any) -> base.TrafficRouter:
    strategy = model.parse_rollout(rollout).require(allow_unsupported=True).spec.strategy
    assert isinstance(strategy, model.CanaryStrategy) and strategy.traffic_routing is not None
    routing = strategy.traffic_routing
    assert (
        registry.validate(
            routing, stable_service=strategy.stable_service, canary_service=strategy.canary_service
        )
        == ()
    )
    return registry.create(routing, rollout=cluster_support.rollout_ref(rollout, **ref), clients=clients)


@pytest.fixture
def host_split(crds: None, router_crds: list[str], namespace: str) -> dict[str, Any]:
    assert "virtualservices.networking.istio.io" in router_crds
    cluster_support.services(namespace, "web-stable", "web-canary")
    kube.apply(
        _virtual_service(
            "web-vsvc",
            primary=[
                {"destination": {"host": "web-stable", "port": {"number": 80}}, "weight": 100},
                {"destination": {"host": f"web-canary.{namespace}.svc.cluster.local"}, "weight": 0},
            ],
        ),
        namespace=namespace,
    )
    return cluster_support.rollout_object(
        namespace,
        traffic_routing={
            "istio": {"virtualService": {"name": "web-vsvc", "routes": ["primary"]}},
            "managedRoutes": [{"name": "canary-header"}, {"name": "mirror"}],
        },
    )


def test_host_level_weights_walk_exactly_and_abort_resets(
    host_split: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(host_split, clients, managed_routes=("canary-header", "mirror"))
    before = kube.get("virtualservice", "web-vsvc", namespace=namespace)
    assert before is not None
    canary_host = f"web-canary.{namespace}.svc.cluster.local"
    for weight in (20, 50, 100):
        assert router.set_weight(weight) == base.WeightChange(changed=True)
        assert _route_weights(namespace, "web-vsvc", "primary") == {
            "web-stable": 100 - weight,
            canary_host: weight,
        }
        assert router.read_weight() == weight
    assert router.set_weight(100) == base.WeightChange()
    router.reset_to_stable()
    assert _route_weights(namespace, "web-vsvc", "primary") == {"web-stable": 100, canary_host: 0}

    after = kube.get("virtualservice", "web-vsvc", namespace=namespace)
    assert after is not None
    assert after["spec"]["http"][0] == before["spec"]["http"][0], "the admin route is not rollwave's"
    assert after["spec"]["http"][1]["retries"] == {"attempts": 3}
    assert after["spec"]["hosts"] == before["spec"]["hosts"]


def test_a_weight_changed_by_someone_else_is_restored_and_reported(
    host_split: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(host_split, clients)
    router.set_weight(50)
    cluster_support.json_patch(
        "virtualservice",
        "web-vsvc",
        namespace=namespace,
        operations=[
            {"op": "replace", "path": "/spec/http/1/route/0/weight", "value": 90},
            {"op": "replace", "path": "/spec/http/1/route/1/weight", "value": 10},
        ],
    )
    assert router.read_weight() == 10
    change = router.set_weight(50)
    assert change.conflicted
    assert change.restored == (
        "VirtualService web-vsvc route primary: canary 10/stable 90 (rollwave had set 50/50)",
    )
    assert router.read_weight() == 50


def test_header_and_mirror_routes_are_added_first_and_removed_on_abort(
    host_split: dict[str, Any], clients: kube_client.Clients, namespace: str
) -> None:
    router = _router(host_split, clients, managed_routes=("canary-header", "mirror"))
    assert isinstance(router, base.HeaderRouting) and isinstance(router, base.MirrorRouting)
    router.set_weight(20)
    mirror = base.parse_mirror_route(
        {
            "name": "mirror",
            "match": [{"method": {"exact": "GET"}, "path": {"prefix": "/"}}],
            "percentage": 35,
        },
        path="step",
    ).require()
    header = base.parse_header_route(
        {"name": "canary-header", "match": [{"headerName": "X-Canary", "headerValue": {"exact": "yes"}}]},
        path="s",
    ).require()
    assert router.set_mirror_route(mirror)
    assert router.set_header_route(header)
    assert not router.set_header_route(header), "idempotent"
    found = kube.get("virtualservice", "web-vsvc", namespace=namespace)
    assert found is not None
    canary = {"host": f"web-canary.{namespace}.svc.cluster.local"}
    assert [r["name"] for r in found["spec"]["http"]] == ["canary-header", "mirror", "admin", "primary"]
    assert found["spec"]["http"][0] == {
        "name": "canary-header",
        "match": [{"headers": {"X-Canary": {"exact": "yes"}}}],
        "route": [{"destination": canary, "weight": 100}],
    }
    assert found["spec"]["http"][1]["mirror"] == canary
    assert found["spec"]["http"][1]["mirrorPercentage"] == {"value": 35}
    assert found["spec"]["http"][1]["match"] == [{"method": {"exact": "GET"}, "uri": {"prefix": "/"}}]
    # The mirror route carries the current split, and follows it.
    router.set_weight(50)
    assert _route_weights(namespace, "web-vsvc", "mirror") == _route_weights(namespace, "web-vsvc", "primary")

    router.reset_to_stable()
    found = kube.get("virtualservice", "web-vsvc", namespace=namespace)
    assert found is not None
    assert [r["name"] for r in found["spec"]["http"]] == ["admin", "primary"]


def test_a_header_route_not_in_managed_routes_is_an_error(
    host_split: dict[str, Any], clients: kube_client.Clients
) -> None:
    router = _router(host_split, clients, managed_routes=("mirror",))
    assert isinstance(router, base.HeaderRouting)
    with pytest.raises(base.RouterError) as raised:
        router.set_header_route(
            base.HeaderRoute(
                name="canary-header", headers=(("X", base.StringMatch(kind="exact", value="1")),)
            )
        )
    assert raised.value.path == "spec.strategy.canary.trafficRouting.managedRoutes"


def test_missing_objects_and_bad_routes_are_errors_naming_the_field(
    crds: None, router_crds: list[str], namespace: str, clients: kube_client.Clients
) -> None:
    cluster_support.services(namespace, "web-stable", "web-canary")
    missing = cluster_support.rollout_object(
        namespace, traffic_routing={"istio": {"virtualService": {"name": "absent", "routes": ["primary"]}}}
    )
    with pytest.raises(base.RouterError) as raised:
        _router(missing, clients).set_weight(20)
    assert (raised.value.path, raised.value.retryable) == (f"{ISTIO_PATH}.virtualService.name", True)

    kube.apply(
        _virtual_service("stable-only", primary=[{"destination": {"host": "web-stable"}, "weight": 100}]),
        namespace=namespace,
    )
    before = kube.get("virtualservice", "stable-only", namespace=namespace)
    assert before is not None
    half = cluster_support.rollout_object(
        namespace,
        traffic_routing={"istio": {"virtualService": {"name": "stable-only", "routes": ["primary"]}}},
    )
    with pytest.raises(base.RouterError) as raised:
        _router(half, clients).set_weight(20)
    assert (raised.value.path, raised.value.retryable) == (f"{ISTIO_PATH}.virtualService.routes[0]", False)
    assert "no destination for the canary Service web-canary" in raised.value.message

    wrong_name = cluster_support.rollout_object(
        namespace, traffic_routing={"istio": {"virtualService": {"name": "stable-only", "routes": ["nope"]}}}
    )
    with pytest.raises(base.RouterError) as raised:
        _router(wrong_name, clients).set_weight(20)
    assert raised.value.path == f"{ISTIO_PATH}.virtualService.routes[0]"
    assert "no HTTP route named nope" in raised.value.message
    after = kube.get("virtualservice", "stable-only", namespace=namespace)
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], "nothing written"


def test_argo_example_istio_subset_split_applies_and_works(
    crds: None, router_crds: list[str], namespace: str, clients: kube_client.Clients
) -> None:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    kube.apply(documents, namespace=namespace)
    rollout = kube.get("rollout", "istio-subset-split", namespace=namespace)
    assert rollout is not None
    router = _router(rollout, clients)

    for weight in (20, 50, 100):
        router.set_weight(weight, canary_hash="abc123", stable_hash="old999")
        assert _route_weights(namespace, "istio-subset-split-vsvc", "primary") == {
            "istio-subset-split/stable": 100 - weight,
            "istio-subset-split/canary": weight,
        }
        assert router.read_weight() == weight
    rule = kube.get("destinationrule", "istio-subset-split-destrule", namespace=namespace)
    assert rule is not None
    assert {s["name"]: s["labels"] for s in rule["spec"]["subsets"]} == {
        "stable": {"app": "istio-subset-split", "rollouts-pod-template-hash": "old999"},
        "canary": {"app": "istio-subset-split", "rollouts-pod-template-hash": "abc123"},
    }
    # Promotion: the canary becomes stable, all traffic to the stable subset.
    router.set_weight(0, canary_hash="abc123", stable_hash="abc123")
    assert router.read_weight() == 0
    rule = kube.get("destinationrule", "istio-subset-split-destrule", namespace=namespace)
    assert rule is not None
    assert {s["name"]: s["labels"]["rollouts-pod-template-hash"] for s in rule["spec"]["subsets"]} == {
        "stable": "abc123",
        "canary": "abc123",
    }
