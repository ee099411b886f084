"""Bare AnalysisRuns with Prometheus metrics, run by the controller process against the real Prometheus of the
local control plane (a loopback exporter registered with it), an address nobody listens on, and Argo's own
expected-failure example applied unchanged."""

from __future__ import annotations

import json
import pathlib
import socket
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import prometheus_client
import pytest
from prometheus_client import core as prometheus_core
from prometheus_client import registry as prometheus_registry

from rollouts.devcluster import cluster as devcluster
from tests.support import kube

REPO = pathlib.Path(__file__).resolve().parents[2]
BAD_SERVER_EXAMPLE = (
    REPO.parent
    / "shared"
    / "argo-examples"
    / "e2e-expectedfailures"
    / "analysis-run-prometheus-bad-server.yaml"
)
SUCCESS_RATIO = 0.99


class _Ratio(prometheus_registry.Collector):
    def collect(self) -> Iterable[prometheus_core.Metric]:
        ratio = prometheus_core.GaugeMetricFamily("rollwave_analysisrun_test_success_ratio", "Success ratio.")
        ratio.add_metric([], SUCCESS_RATIO)
        yield ratio


@pytest.fixture
def exporter(dev_cluster: devcluster.DevCluster) -> Iterator[str]:
    """Registers a loopback exporter with Prometheus and waits until it was scraped; yields its series."""
    run = uuid.uuid4().hex[:12]
    registry = prometheus_client.CollectorRegistry()
    registry.register(_Ratio())
    server, thread = prometheus_client.start_http_server(0, addr="127.0.0.1", registry=registry)
    port = server.server_port
    registration = pathlib.Path(dev_cluster.prometheus_targets_dir) / f"analysisrun-test-{port}.json"
    registration.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"run": run}}]))
    series = f'rollwave_analysisrun_test_success_ratio{{run="{run}"}}'
    try:
        kube.wait_for(
            lambda: _query(dev_cluster.prometheus_url, series),
            timeout=40,
            interval=1,
            what=f"{series} scraped",
        )
        yield series
    finally:
        registration.unlink()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _query(address: str, query: str) -> list[Any]:
    url = f"{address}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        result: list[Any] = json.load(response)["data"]["result"]
    return result


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _create_run(namespace: str, metric: dict[str, Any]) -> str:
    name = f"run-{uuid.uuid4().hex[:6]}"
    kube.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": name},
            "spec": {"metrics": [metric]},
        },
        namespace=namespace,
    )
    return name


def _completed(namespace: str, name: str, *, timeout: float = 40) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run = kube.get("analysisrun", name, namespace=namespace)
        status: dict[str, Any] = (run or {}).get("status") or {}
        return status if status.get("phase") in ("Successful", "Failed", "Error", "Inconclusive") else None

    found = kube.wait_for(done, timeout=timeout, what=f"analysis run {name} to complete")
    assert found is not None
    return found


def test_a_prometheus_metric_succeeds_against_the_real_prometheus(
    controller: kube.Controller, namespace: str, dev_cluster: devcluster.DevCluster, exporter: str
) -> None:
    metric = {
        "name": "success-rate",
        "interval": "1s",
        "count": 2,
        "successCondition": "result[0] >= 0.95",
        "provider": {"prometheus": {"address": dev_cluster.prometheus_url, "query": exporter}},
    }
    name = _create_run(namespace, metric)
    status = _completed(namespace, name)
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["count"], result["successful"], result["error"]) == (2, 2, 0), result
    assert [m["value"] for m in result["measurements"]] == [f"[{SUCCESS_RATIO}]"] * 2
    assert result["metadata"] == {"ResolvedPrometheusQuery": exporter}


def test_an_unreachable_prometheus_ends_in_error_past_the_consecutive_error_limit(
    controller: kube.Controller, namespace: str
) -> None:
    address = f"http://127.0.0.1:{_closed_port()}"
    metric = {
        "name": "success-rate",
        "consecutiveErrorLimit": 1,
        "successCondition": "result[0] >= 0.95",
        "provider": {"prometheus": {"address": address, "query": "up"}},
    }
    name = _create_run(namespace, metric)
    status = _completed(namespace, name)  # two errors, 10 s apart (Argo's retry interval after an error)
    assert status["phase"] == "Error", status
    [result] = status["metricResults"]
    assert (result["error"], result["consecutiveError"], result["count"]) == (2, 2, 0)
    reason = f"Prometheus at {address} unreachable: [Errno 111] Connection refused"
    assert [m["message"] for m in result["measurements"]] == [reason, reason]
    assert status["message"] == (
        'Metric "success-rate" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1): '
        f'"Error Message: {reason}"'
    )
    started, finished = (result["measurements"][i]["finishedAt"] for i in (0, 1))
    assert started < finished


def test_argo_bad_server_example_ends_in_error(controller: kube.Controller, namespace: str) -> None:
    # Unchanged from Argo's e2e suite: no query, so five errors 10 s apart (consecutiveErrorLimit 4).
    created = kube.kubectl("create", "-n", namespace, "-f", str(BAD_SERVER_EXAMPLE), "-o", "name")
    name = created.strip().split("/")[-1]
    assert name.startswith("analysis-run-prometheus-bad-server-")
    status = _completed(namespace, name, timeout=55)
    assert status["phase"] == "Error", status
    [result] = status["metricResults"]
    assert (result["error"], result["consecutiveError"]) == (5, 5)
    assert status["message"] == (
        'Metric "success-rate" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): '
        '"Error Message: provider.prometheus.query is required"'
    )


def test_no_data_with_an_inconclusive_policy_is_inconclusive(
    controller: kube.Controller, namespace: str, dev_cluster: devcluster.DevCluster
) -> None:
    query = f'rollwave_analysisrun_test_nothing{{run="{uuid.uuid4().hex}"}}'
    metric = {
        "name": "success-rate",
        "noDataPolicy": "Inconclusive",
        "successCondition": "result[0] >= 0.95",
        "provider": {"prometheus": {"address": dev_cluster.prometheus_url, "query": query}},
    }
    name = _create_run(namespace, metric)
    status = _completed(namespace, name)
    assert status["phase"] == "Inconclusive", status
    [result] = status["metricResults"]
    assert (result["inconclusive"], result["count"]) == (1, 1)
    assert result["measurements"][0]["message"] == (
        f'no data returned from the metric provider: prometheus query "{query}" returned []; '
        "noDataPolicy is Inconclusive"
    )
    assert "no data" in status["message"]
