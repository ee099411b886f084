"""A Rollout with a traffic router, through the controller, on the real control plane with the routers' real CRDs.

For each router (Gateway API HTTPRoute, NGINX canary Ingress, Istio VirtualService, SMI TrafficSplit): the canary
walks 20% -> 50% -> 100% with the weights read back from the API server exactly at each step, the stable ReplicaSet stays at
full scale while the canary runs ceil(weight x replicas / 100) pods, a weight changed by someone else is put back
with a Warning Event, promotion leaves all traffic on stable pointing at the new revision, and an abort sends all
traffic back to stable before the canary's pods go.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.support import kube, paths
from tests.support import rollouts as ro

REPLICAS = 4
STEPS = [
    {"setWeight": 20},
    {"pause": {}},
    {"setWeight": 50},
    {"pause": {}},
    {"setWeight": 100},
    {"pause": {}},
]


@dataclasses.dataclass(frozen=True)
class Router:
    name: str
    setup: Callable[[str], dict[str, Any]]  # namespace -> the Rollout's trafficRouting
    canary_weight: Callable[[str], int | None]  # namespace -> the canary weight stored on the router's object
    tamper: Callable[[str, int], None]  # namespace, weight: someone else sets the canary weight


def _backend(name: str, weight: int) -> dict[str, Any]:
    return {"name": name, "port": 80, "weight": weight}


def _gateway_setup(namespace: str) -> dict[str, Any]:
    kube.apply(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "web"},
            "spec": {
                "parentRefs": [{"name": "gateway"}],
                "rules": [{"backendRefs": [_backend("web-stable", 100), _backend("web-canary", 0)]}],
            },
        },
        namespace=namespace,
    )
    return {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "web", "namespace": namespace}}}


def _gateway_weight(namespace: str) -> int | None:
    route = kube.get("httproute", "web", namespace=namespace)
    assert route is not None
    weights = {ref["name"]: ref.get("weight", 1) for ref in route["spec"]["rules"][0]["backendRefs"]}
    assert weights["web-stable"] + weights["web-canary"] == 100
    return int(weights["web-canary"])


def _gateway_tamper(namespace: str, weight: int) -> None:
    operations = [
        {"op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": 100 - weight},
        {"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": weight},
    ]
    kube.kubectl("patch", "httproute", "web", "-n", namespace, "--type=json", "-p", json.dumps(operations))


def _istio_setup(namespace: str) -> dict[str, Any]:
    kube.apply(
        {
            "apiVersion": "networking.istio.io/v1alpha3",
            "kind": "VirtualService",
            "metadata": {"name": "web"},
            "spec": {
                "hosts": ["web.example.com"],
                "http": [
                    {
                        "name": "primary",
                        "route": [
                            {"destination": {"host": "web-stable"}, "weight": 100},
                            {"destination": {"host": "web-canary"}, "weight": 0},
                        ],
                    }
                ],
            },
        },
        namespace=namespace,
    )
    return {"istio": {"virtualService": {"name": "web", "routes": ["primary"]}}}


def _istio_weight(namespace: str) -> int | None:
    service = kube.get("virtualservice", "web", namespace=namespace)
    assert service is not None
    [primary] = [route for route in service["spec"]["http"] if route.get("name") == "primary"]
    weights = {d["destination"]["host"]: d.get("weight", 0) for d in primary["route"]}
    assert weights["web-stable"] + weights["web-canary"] == 100
    return int(weights["web-canary"])


def _istio_tamper(namespace: str, weight: int) -> None:
    operations = [
        {"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 100 - weight},
        {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": weight},
    ]
    kube.kubectl(
        "patch", "virtualservice", "web", "-n", namespace, "--type=json", "-p", json.dumps(operations)
    )


NGINX_CANARY = "web-web-canary"  # <rollout>-<stableIngress>-canary


def _nginx_setup(namespace: str) -> dict[str, Any]:
    kube.apply(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web"},
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": "web.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web-stable", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
        namespace=namespace,
    )
    return {"nginx": {"stableIngress": "web"}}


def _nginx_weight(namespace: str) -> int | None:
    canary = kube.get("ingress", NGINX_CANARY, namespace=namespace)
    if canary is None:
        return None
    annotations = canary["metadata"].get("annotations") or {}
    assert annotations["nginx.ingress.kubernetes.io/canary"] == "true"
    return int(annotations["nginx.ingress.kubernetes.io/canary-weight"])


def _nginx_tamper(namespace: str, weight: int) -> None:
    kube.kubectl(
        "annotate", "ingress", NGINX_CANARY, "-n", namespace, "--overwrite",
        f"nginx.ingress.kubernetes.io/canary-weight={weight}",
    )  # fmt: skip


def _smi_setup(namespace: str) -> dict[str, Any]:
    kube.apply(ro.service_manifest("web", app="web"), namespace=namespace)
    return {"smi": {"rootService": "web", "trafficSplitName": "web-split"}}


def _smi_weight(namespace: str) -> int | None:
    split = kube.get("trafficsplits.split.smi-spec.io", "web-split", namespace=namespace)
    if split is None:
        return None
    weights = {b["service"]: b["weight"] for b in split["spec"]["backends"]}
    assert weights["web-stable"] + weights["web-canary"] == 100
    return int(weights["web-canary"])


def _smi_tamper(namespace: str, weight: int) -> None:
    split = kube.get("trafficsplits.split.smi-spec.io", "web-split", namespace=namespace)
    assert split is not None
    backends = [
        {**b, "weight": weight if b["service"] == "web-canary" else 100 - weight}
        for b in split["spec"]["backends"]
    ]
    kube.kubectl(
        "patch", "trafficsplits.split.smi-spec.io", "web-split", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"backends": backends}}),
    )  # fmt: skip


ROUTERS = [
    Router("gateway-api", _gateway_setup, _gateway_weight, _gateway_tamper),
    Router("nginx", _nginx_setup, _nginx_weight, _nginx_tamper),
    Router("istio", _istio_setup, _istio_weight, _istio_tamper),
    Router("smi", _smi_setup, _smi_weight, _smi_tamper),
]


def wait_weight(router: Router, namespace: str, weight: int, *, timeout: float = 30) -> None:
    kube.wait_for(
        lambda: router.canary_weight(namespace) == weight,
        timeout=timeout,
        what=f"{router.name} canary weight {weight} (now {router.canary_weight(namespace)})",
    )


def pods(namespace: str) -> dict[str, int]:
    return ro.ready_pods_by_hash("web", namespace=namespace)


@pytest.mark.parametrize("router", ROUTERS, ids=[r.name for r in ROUTERS])
def test_a_routed_canary_sets_exact_weights_restores_them_and_resets_on_promotion_and_abort(
    router: Router, router_crds: list[str], controller: kube.Controller, namespace: str
) -> None:
    routing = router.setup(namespace)
    manifest = ro.rollout_manifest("web", replicas=REPLICAS, steps=STEPS, trafficRouting=routing)
    ro.create(manifest, namespace=namespace)
    v1 = ro.wait_phase("web", "Healthy", namespace=namespace)["status"]["stableRS"]
    wait_weight(router, namespace, 0)

    ro.set_image("web", "nginx:2.0", namespace=namespace)
    paused = ro.wait_phase("web", "Paused", namespace=namespace)
    v2 = paused["status"]["currentPodHash"]
    assert router.canary_weight(namespace) == 20
    # The stable keeps all its pods; the canary runs ceil(20% x 4) = 1.
    assert pods(namespace) == {v1: REPLICAS, v2: 1}
    weights = paused["status"]["canary"]["weights"]
    assert (weights["canary"]["weight"], weights["stable"]["weight"], weights["verified"]) == (20, 80, True)
    assert ro.service_hash("web-canary", namespace=namespace) == v2
    assert ro.service_hash("web-stable", namespace=namespace) == v1

    # Someone else moves the weight: rollwave puts its own back and says so.
    router.tamper(namespace, 70)
    wait_weight(router, namespace, 20)
    kube.wait_for(
        lambda: "TrafficWeightRestored" in ro.event_reasons("web", namespace=namespace),
        timeout=15,
        what="a TrafficWeightRestored event",
    )

    ro.promote("web", namespace=namespace)
    ro.wait_step("web", 3, namespace=namespace)
    wait_weight(router, namespace, 50)
    ro.wait_split("web", namespace=namespace, canary=2, stable=REPLICAS)

    ro.promote("web", namespace=namespace)
    ro.wait_step("web", 5, namespace=namespace)
    wait_weight(router, namespace, 100)
    ro.wait_split("web", namespace=namespace, canary=REPLICAS, stable=REPLICAS)

    ro.promote("web", namespace=namespace)
    done = ro.wait_phase("web", "Healthy", namespace=namespace)
    assert done["status"]["stableRS"] == v2
    # All traffic on stable, and the stable Service selects the new revision.
    wait_weight(router, namespace, 0)
    assert ro.service_hash("web-stable", namespace=namespace) == v2
    ro.wait_split("web", namespace=namespace, canary=REPLICAS, stable=0)

    # Abort a third version: traffic back to stable at once, then the canary's pods go.
    ro.set_image("web", "nginx:3.0", namespace=namespace)
    ro.wait_phase("web", "Paused", namespace=namespace)
    wait_weight(router, namespace, 20)
    ro.abort("web", namespace=namespace)
    ro.wait_phase("web", "Degraded", namespace=namespace)
    wait_weight(router, namespace, 0)
    ro.wait_split("web", namespace=namespace, canary=0, stable=REPLICAS)
    assert ro.service_hash("web-canary", namespace=namespace) == v2


def test_a_router_whose_route_is_missing_is_retried_and_named_until_it_appears(
    router_crds: list[str], controller: kube.Controller, namespace: str
) -> None:
    routing = {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "later", "namespace": namespace}}}
    ro.create(
        ro.rollout_manifest("web", replicas=2, steps=STEPS, trafficRouting=routing), namespace=namespace
    )
    degraded = ro.wait_phase("web", "Degraded", namespace=namespace)
    invalid = next(c for c in degraded["status"]["conditions"] if c["type"] == "InvalidSpec")
    assert "spec.strategy.canary.trafficRouting.plugins[argoproj-labs/gatewayAPI]" in invalid["message"]
    assert "later" in invalid["message"]
    assert ro.replica_sets("web", namespace=namespace) == {}  # nothing moved

    kube.apply(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "later"},
            "spec": {"rules": [{"backendRefs": [_backend("web-stable", 100), _backend("web-canary", 0)]}]},
        },
        namespace=namespace,
    )
    ro.wait_phase("web", "Healthy", namespace=namespace, timeout=40)


def test_argos_istio_subset_split_example_works_unchanged(
    router_crds: list[str], controller: kube.Controller, namespace: str
) -> None:
    documents = list(yaml.safe_load_all((paths.ARGO_EXAMPLES / "istio-subset-split.yaml").read_text()))
    kube.apply(documents, namespace=namespace)
    v1 = ro.wait_phase("istio-subset-split", "Healthy", namespace=namespace)["status"]["stableRS"]

    def subset_weights() -> dict[str, int]:
        service = kube.get("virtualservice", "istio-subset-split-vsvc", namespace=namespace)
        assert service is not None
        return {d["destination"]["subset"]: d.get("weight", 0) for d in service["spec"]["http"][0]["route"]}

    def subset_hashes() -> dict[str, str | None]:
        rule = kube.get("destinationrule", "istio-subset-split-destrule", namespace=namespace)
        assert rule is not None
        return {s["name"]: s["labels"].get(ro.HASH) for s in rule["spec"]["subsets"]}

    ro.set_image("istio-subset-split", "nginx:1.20-alpine", namespace=namespace)
    paused = ro.wait_phase("istio-subset-split", "Paused", namespace=namespace)
    v2 = paused["status"]["currentPodHash"]
    assert subset_weights() == {"stable": 90, "canary": 10}
    assert subset_hashes() == {"stable": v1, "canary": v2}

    ro.promote("istio-subset-split", namespace=namespace)
    ro.wait_phase("istio-subset-split", "Healthy", namespace=namespace)
    kube.wait_for(
        lambda: subset_weights() == {"stable": 100, "canary": 0}, timeout=30, what="all traffic on stable"
    )
    assert subset_hashes()["stable"] == v2


def test_istio_header_and_mirror_steps_add_routes_first_and_the_abort_removes_them(
    router_crds: list[str], controller: kube.Controller, namespace: str
) -> None:
    routing = _istio_setup(namespace)
    routing["managedRoutes"] = [{"name": "canary-header"}, {"name": "mirror"}]
    steps = [
        {"setWeight": 20},
        {
            "setHeaderRoute": {
                "name": "canary-header",
                "match": [{"headerName": "X-Canary", "headerValue": {"exact": "yes"}}],
            }
        },
        {"setMirrorRoute": {"name": "mirror", "percentage": 50, "match": [{"method": {"exact": "GET"}}]}},
        {"pause": {}},
    ]
    ro.create(
        ro.rollout_manifest("web", replicas=2, steps=steps, trafficRouting=routing), namespace=namespace
    )
    ro.wait_phase("web", "Healthy", namespace=namespace)
    ro.set_image("web", "nginx:2.0", namespace=namespace)
    ro.wait_step("web", 3, namespace=namespace)

    def http_routes() -> list[dict[str, Any]]:
        service = kube.get("virtualservice", "web", namespace=namespace)
        assert service is not None
        routes: list[dict[str, Any]] = service["spec"]["http"]
        return routes

    names = [route.get("name") for route in http_routes()]
    assert names == ["canary-header", "mirror", "primary"]  # managed routes first, in managedRoutes order
    header, mirror, _ = http_routes()
    assert header["match"] == [{"headers": {"X-Canary": {"exact": "yes"}}}]
    assert [d["destination"]["host"] for d in header["route"]] == ["web-canary"]
    assert mirror["mirror"]["host"] == "web-canary"
    assert mirror["mirrorPercentage"]["value"] == 50
    assert _istio_weight(namespace) == 20

    ro.abort("web", namespace=namespace)
    ro.wait_phase("web", "Degraded", namespace=namespace)
    kube.wait_for(
        lambda: [route.get("name") for route in http_routes()] == ["primary"],
        timeout=30,
        what="managed routes gone",
    )
    wait_weight(ROUTERS[2], namespace, 0)


def test_a_header_route_step_on_a_router_that_cannot_is_invalid_spec_naming_the_step(
    controller: kube.Controller, namespace: str
) -> None:
    routing = _nginx_setup(namespace)
    routing["managedRoutes"] = [{"name": "h"}]
    steps = [
        {"setWeight": 20},
        {"setHeaderRoute": {"name": "h", "match": [{"headerName": "X", "headerValue": {"exact": "1"}}]}},
    ]
    ro.create(
        ro.rollout_manifest("web", replicas=2, steps=steps, trafficRouting=routing), namespace=namespace
    )
    degraded = ro.wait_phase("web", "Degraded", namespace=namespace)
    invalid = next(c for c in degraded["status"]["conditions"] if c["type"] == "InvalidSpec")
    assert (
        "spec.strategy.canary.steps[1].setHeaderRoute: the nginx traffic router cannot do setHeaderRoute steps"
        in (invalid["message"])
    )
    assert kube.get("ingress", NGINX_CANARY, namespace=namespace) is None  # no traffic moved
    assert ro.replica_sets("web", namespace=namespace) == {}
