"""The Prometheus provider against the real Prometheus of the local control plane: a loopback exporter serves
counters and gauges per version, Prometheus scrapes it, and the provider's answers match what was exported."""

from __future__ import annotations

import asyncio
import datetime
import json
import pathlib
import socket
import time
import uuid
from collections.abc import Iterable, Iterator

import prometheus_client
import pytest
from prometheus_client import core as prometheus_core
from prometheus_client import registry as prometheus_registry

from rollouts.devcluster import cluster as devcluster
from rollouts.model import analysis
from rollouts.providers import base, prometheus
from tests.support import kube

# Requests per second the exporter pretends each version serves; v2 answers 10 of its requests with errors.
RATE_PER_VERSION = {"v1": 90.0, "v2": 10.0}
ERRORS_PER_SECOND_V2 = 1.0


class _Traffic(prometheus_registry.Collector):
    """Counters that grow at exact rates (computed at scrape time), plus a gauge per version."""

    def __init__(self) -> None:
        self.started = time.time()

    def collect(self) -> Iterable[prometheus_core.Metric]:
        elapsed = time.time() - self.started
        requests = prometheus_core.CounterMetricFamily(
            "rollwave_provider_test_requests", "Requests served.", labels=["version", "code"]
        )
        for version, rate in RATE_PER_VERSION.items():
            errors = ERRORS_PER_SECOND_V2 if version == "v2" else 0.0
            requests.add_metric([version, "200"], (rate - errors) * elapsed)
            if errors:
                requests.add_metric([version, "500"], errors * elapsed)
        yield requests
        ratio = prometheus_core.GaugeMetricFamily(
            "rollwave_provider_test_success_ratio", "Success ratio.", labels=["version"]
        )
        ratio.add_metric(["v1"], 0.99)
        ratio.add_metric(["v2"], 0.97)
        yield ratio


@pytest.fixture
def exporter(dev_cluster: devcluster.DevCluster) -> Iterator[str]:
    """Registers a loopback exporter with Prometheus; yields a unique `run` label value for its series."""
    run = uuid.uuid4().hex[:12]
    registry = prometheus_client.CollectorRegistry()
    registry.register(_Traffic())
    server, thread = prometheus_client.start_http_server(0, addr="127.0.0.1", registry=registry)
    port = server.server_port
    registration = pathlib.Path(dev_cluster.prometheus_targets_dir) / f"provider-test-{port}.json"
    registration.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"run": run}}]))
    try:
        yield run
    finally:
        registration.unlink()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _metric(query: str, address: str | None) -> analysis.Metric:
    config = {"query": query} if address is None else {"query": query, "address": address}
    return analysis.Metric(name="m", provider=analysis.MetricProviderSpec(kind="prometheus", config=config))


def _measure(
    query: str, *, address: str | None, provider: prometheus.PrometheusProvider | None = None
) -> base.Sample:
    context = base.MeasureContext(
        namespace="ns",
        run_name="run",
        run_uid="uid",
        measurement_index=0,
        now=datetime.datetime.now(datetime.UTC),
    )
    provider = provider or prometheus.PrometheusProvider()
    return asyncio.run(provider.measure(_metric(query, address), context=context))


def _values(sample: base.Sample) -> list[float]:
    assert isinstance(sample.value, list), sample
    return sample.value


def _wait_for_samples(query: str, *, address: str, at_least: int = 1) -> base.Sample:
    """Waits until Prometheus has scraped enough for `query` to return `at_least` values."""

    def enough() -> base.Sample | None:
        sample = _measure(query, address=address)
        return sample if isinstance(sample.value, list) and len(sample.value) >= at_least else None

    found = kube.wait_for(enough, timeout=40, interval=1, what=f"data for {query}")
    assert found is not None
    return found


def test_a_gauge_per_version_comes_back_as_a_vector(
    dev_cluster: devcluster.DevCluster, exporter: str
) -> None:
    query = f'rollwave_provider_test_success_ratio{{run="{exporter}"}}'
    _wait_for_samples(query, address=dev_cluster.prometheus_url)
    sample = _measure(
        f'rollwave_provider_test_success_ratio{{run="{exporter}", version="v2"}}',
        address=dev_cluster.prometheus_url,
    )
    assert (sample.value, sample.text, sample.error) == ([0.97], "[0.97]", None)
    both = _measure(f"sort({query})", address=dev_cluster.prometheus_url)
    assert (both.value, both.text) == ([0.97, 0.99], "[0.97,0.99]")
    assert both.metadata == {"ResolvedPrometheusQuery": f"sort({query})"}


def test_a_scalar_query_comes_back_as_a_float(dev_cluster: devcluster.DevCluster, exporter: str) -> None:
    _wait_for_samples(
        f'rollwave_provider_test_success_ratio{{run="{exporter}"}}', address=dev_cluster.prometheus_url
    )
    sample = _measure(
        f'scalar(min(rollwave_provider_test_success_ratio{{run="{exporter}"}}))',
        address=dev_cluster.prometheus_url,
    )
    assert (sample.value, sample.text) == (0.97, "0.97")


def test_rates_of_counters_match_the_exported_traffic(
    dev_cluster: devcluster.DevCluster, exporter: str
) -> None:
    selector = f'rollwave_provider_test_requests_total{{run="{exporter}"}}'
    # rate() over 10s is only exact once the series is older than its window (no extrapolation from its start).
    _wait_for_samples(f"min(count_over_time({selector}[20s])) >= 7", address=dev_cluster.prometheus_url)
    total = _measure(f"sum(rate({selector}[10s]))", address=dev_cluster.prometheus_url)
    [requests_per_second] = _values(total)
    assert requests_per_second == pytest.approx(sum(RATE_PER_VERSION.values()), rel=0.05)
    errors = f'rollwave_provider_test_requests_total{{run="{exporter}", version="v2", code="500"}}'
    v2 = f'rollwave_provider_test_requests_total{{run="{exporter}", version="v2"}}'
    # The canary success rate as Argo examples write it: 1 - errors / all.
    ratio = _measure(
        f"1 - sum(rate({errors}[10s])) / sum(rate({v2}[10s]))", address=dev_cluster.prometheus_url
    )
    [success_rate] = _values(ratio)
    assert success_rate == pytest.approx(1 - ERRORS_PER_SECOND_V2 / RATE_PER_VERSION["v2"], abs=0.02)


def test_a_range_vector_comes_back_flattened(dev_cluster: devcluster.DevCluster, exporter: str) -> None:
    query = f'rollwave_provider_test_success_ratio{{run="{exporter}", version="v1"}}'
    _wait_for_samples(query, address=dev_cluster.prometheus_url)
    matrix = _wait_for_samples(f"{query}[10s]", address=dev_cluster.prometheus_url, at_least=2)
    assert set(_values(matrix)) == {0.99}
    assert matrix.text.startswith("[0.99,0.99")


def test_an_empty_result_is_an_empty_list(dev_cluster: devcluster.DevCluster) -> None:
    sample = _measure(
        f'rollwave_provider_test_nothing{{run="{uuid.uuid4().hex}"}}', address=dev_cluster.prometheus_url
    )
    assert (sample.value, sample.text, sample.error) == ([], "[]", None)


def test_the_controller_address_is_used_when_the_metric_has_none(dev_cluster: devcluster.DevCluster) -> None:
    provider = prometheus.PrometheusProvider(default_address=dev_cluster.prometheus_url)
    sample = _measure('up{job="prometheus"}', address=None, provider=provider)
    assert sample.value == [1.0]


def test_a_bad_query_is_an_error_sample_with_prometheus_reason(dev_cluster: devcluster.DevCluster) -> None:
    sample = _measure("sum(rate(", address=dev_cluster.prometheus_url)
    assert sample.error is not None
    assert sample.error.startswith(f"Prometheus at {dev_cluster.prometheus_url} answered 400: bad_data: ")
    assert "parse error" in sample.error


def test_an_unreachable_address_is_an_error_sample_quickly(dev_cluster: devcluster.DevCluster) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    sample = _measure("up", address=f"http://127.0.0.1:{port}")
    assert (
        sample.error == f"Prometheus at http://127.0.0.1:{port} unreachable: [Errno 111] Connection refused"
    )
    assert time.monotonic() - started < 10
