"""Whole reconcile passes with an in-process API server fake and web metrics answered by an httpx MockTransport:
measurements are taken concurrently and once, status is written in one patch, and provider trouble is data."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, cast

import httpx
import pytest

from rollouts.kube import cache as kube_cache
from rollouts.kube import client as kube_client
from rollouts.kube import events as kube_events
from rollouts.providers import base
from rollouts.reconcile import analysisrun
from rollouts.reconcile import runtime as reconcile_runtime

NAMESPACE, NAME = "shop", "run-1"
KEY = (NAMESPACE, NAME)


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeCustomObjects:
    """Stores one AnalysisRun; merge patches bump its resourceVersion as the API server does."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.patches: list[dict[str, Any]] = []

    def patch_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        assert (group, version, plural, namespace, name) == ("argoproj.io", "v1alpha1", "analysisruns", *KEY)
        self.patches.append(copy.deepcopy(body))
        _merge(self.body, body)
        self.body["metadata"]["resourceVersion"] = str(int(self.body["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(self.body)


class FakeCore:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def create_namespaced_event(self, namespace: str, body: dict[str, Any]) -> None:
        self.events.append(body)

    def patch_namespaced_event(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        pass


class Cluster:
    def __init__(self, spec: dict[str, Any], handler: Callable[[httpx.Request], httpx.Response]) -> None:
        body = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "u-1", "resourceVersion": "1"},
            "spec": spec,
        }
        self.custom = FakeCustomObjects(body)
        self.core = FakeCore()
        self.requests: list[str] = []

        def counting(request: httpx.Request) -> httpx.Response:
            self.requests.append(str(request.url))
            return handler(request)

        self.transport = httpx.MockTransport(counting)
        self.cache = kube_cache.ObjectCache()
        self.cache.put("analysisruns", copy.deepcopy(body))

    async def reconcile(self) -> float | None:
        async with httpx.AsyncClient(transport=self.transport) as http:
            clients = kube_client.Clients(
                api=cast(Any, None),
                core=cast(Any, self.core),
                apps=cast(Any, None),
                batch=cast(Any, None),
                custom=cast(Any, self.custom),
                events=cast(Any, None),
            )
            runtime = reconcile_runtime.Runtime(
                clients=clients,
                cache=self.cache,
                events=kube_events.EventRecorder(cast(Any, self.core)),
                queues={},
                providers=base.ProviderDeps(http=http),
            )
            return await analysisrun.reconcile(KEY, runtime)

    @property
    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.custom.body.get("status") or {}
        return status

    @property
    def event_reasons(self) -> list[str]:
        return [event["reason"] for event in self.core.events]


def _json(document: object) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, content=json.dumps(document).encode())


def _web(name: str, url: str = "http://svc/rate", **fields: Any) -> dict[str, Any]:
    return {"name": name, "provider": {"web": {"url": url}}, **fields}


def test_due_metrics_are_measured_in_one_pass_and_written_in_one_patch() -> None:
    spec = {
        "metrics": [
            _web("a", successCondition="result.rate >= 0.95"),
            _web("b", url="http://svc/other", successCondition="result.rate >= 0.95"),
        ]
    }
    cluster = Cluster(spec, _json({"rate": 0.99}))
    assert asyncio.run(cluster.reconcile()) is None
    assert sorted(cluster.requests) == ["http://svc/other", "http://svc/rate"]
    [patch] = cluster.custom.patches
    assert patch["status"]["phase"] == "Successful"
    assert [(r["name"], r["phase"], r["count"]) for r in cluster.status["metricResults"]] == [
        ("a", "Successful", 1),
        ("b", "Successful", 1),
    ]
    assert cluster.status["runSummary"] == {
        "count": 2,
        "successful": 2,
        "failed": 0,
        "inconclusive": 0,
        "error": 0,
    }
    assert cluster.event_reasons == ["MetricSuccessful", "MetricSuccessful", "AnalysisRunSuccessful"]


def test_a_pass_woken_before_its_own_watch_event_measures_nothing_twice() -> None:
    spec = {"metrics": [_web("a", interval="30s", count=3)]}
    cluster = Cluster(spec, _json({"rate": 0.99}))
    first = asyncio.run(cluster.reconcile())
    # No watch event has delivered the patched object; the cache must already hold it.
    second = asyncio.run(cluster.reconcile())
    assert len(cluster.requests) == 1
    assert cluster.status["metricResults"][0]["count"] == 1
    assert len(cluster.custom.patches) == 1, "nothing changed, so nothing is written"
    assert first is not None and second is not None
    assert 25 <= second <= 30
    assert cluster.event_reasons == ["AnalysisRunRunning"]


def test_a_completed_run_is_left_alone() -> None:
    spec = {"metrics": [_web("a")]}
    cluster = Cluster(spec, _json({"rate": 0.99}))
    asyncio.run(cluster.reconcile())
    assert asyncio.run(cluster.reconcile()) is None
    assert len(cluster.requests) == 1
    assert len(cluster.custom.patches) == 1


def test_a_provider_that_raises_gives_an_error_measurement() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("provider bug")

    cluster = Cluster({"metrics": [_web("a", consecutiveErrorLimit=0)]}, broken)
    assert asyncio.run(cluster.reconcile()) is None
    [result] = cluster.status["metricResults"]
    assert (result["phase"], result["error"]) == ("Error", 1)
    assert result["measurements"][0]["message"] == "RuntimeError: provider bug"
    assert cluster.status["phase"] == "Error"


def test_a_provider_config_error_names_the_field() -> None:
    spec = {"metrics": [{"name": "a", "consecutiveErrorLimit": 0, "provider": {"web": {"method": "GET"}}}]}
    cluster = Cluster(spec, _json({}))
    asyncio.run(cluster.reconcile())
    [result] = cluster.status["metricResults"]
    assert result["measurements"][0]["message"] == "provider.web.url is required"
    assert cluster.requests == []


@pytest.mark.parametrize(
    ("policy", "phase"),
    [
        pytest.param("Inconclusive", "Inconclusive", id="inconclusive"),
        pytest.param("Failed", "Failed", id="failed"),
        pytest.param("Successful", "Successful", id="successful"),
    ],
)
def test_no_data_follows_the_metrics_policy(policy: str, phase: str) -> None:
    spec = {"metrics": [_web("a", noDataPolicy=policy, successCondition="result[0] >= 0.95")]}
    cluster = Cluster(spec, _json([]))
    asyncio.run(cluster.reconcile())
    assert cluster.status["phase"] == phase
    [measurement] = cluster.status["metricResults"][0]["measurements"]
    assert measurement["message"] == (
        f'no data returned from the metric provider: web url "http://svc/rate" returned []; noDataPolicy is {policy}'
    )


def test_an_unresolvable_argument_is_written_as_error_once() -> None:
    cluster = Cluster(
        {"metrics": [_web("a", url="http://svc/{{args.x}}")], "args": [{"name": "x"}]}, _json({})
    )
    assert asyncio.run(cluster.reconcile()) is None
    assert cluster.status["phase"] == "Error"
    assert cluster.status["message"] == 'Unable to resolve metric arguments: argument "x" was not supplied'
    assert "startedAt" in cluster.status and "completedAt" in cluster.status
    assert cluster.event_reasons == ["AnalysisRunError"]
    assert asyncio.run(cluster.reconcile()) is None
    assert len(cluster.custom.patches) == 1
