"""A Prometheus exporter for tests: synthetic, time-driven series that the dev Prometheus really scrapes.

Nothing generates load. Each counter is a function of the wall clock: after `set_traffic("v2",
ok_per_second=19, errors_per_second=1)` the counter `http_requests_total{code="200"}` of v2 grows by exactly 19
per second, so `rate()` over any window returns 19 once the window is covered, and ratios such as the success
rate (19 / 20 = 0.95) are exact from the second scrape on. Samples carry their own timestamps, computed from the
same clock reading as their values, so scrape jitter does not blur them. Changing the rates later keeps the
counters continuous (values accumulate across changes), as a real counter would.

    with exporter.serving(dev_cluster) as prom:          # registered with Prometheus, scraped once
        prom.set_traffic("v1", ok_per_second=19, errors_per_second=1, latency_seconds=0.2)
        prom.set_restarts("shop-7c9d-abcde", 3, namespace="shop")
        prom.wait_until_query(f'sum(rate(http_requests_total{{service="{prom.service}"}}[10s]))',
                              lambda values: values[0] > 19.9)

As a fixture (module scope saves the few seconds of registration; give each test its own versions)::

    @pytest.fixture(scope="module")
    def prom(dev_cluster: devcluster.DevCluster) -> Iterator[exporter.Exporter]:
        with exporter.serving(dev_cluster) as running:
            yield running

Series served (Prometheus adds `job="loopback"`, `instance` and `rollwave_exporter=<token>`):

    http_requests_total{service, version, code}           counter; code "200" for ok, "500" for errors
    http_request_duration_seconds_bucket{service, version, le}, _sum, _count
                                                          histogram; every request takes `latency_seconds`,
                                                          so each bucket holds all requests or none
    kube_pod_container_status_restarts_total{namespace, pod, container}
                                                          counter, as kube-state-metrics names it

`histogram_quantile(q, ...)` interpolates inside the bucket that holds the latency, so it does not return the
latency itself: `expected_quantile(q, latency)` gives the exact value it returns.

The exporter's `service` label is unique per `serving()` (or the one you pass), so request series of different
tests never mix; restart series carry the `namespace` you give (use the test's namespace). Because samples carry timestamps, Prometheus writes no staleness markers for them: after the exporter stops,
its series stay visible to instant queries for Prometheus' lookback (5 minutes). Unique labels make that harmless.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import json
import math
import pathlib
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import prometheus_client
from prometheus_client import core as prometheus_core
from prometheus_client import registry as prometheus_registry

from rollouts.devcluster import cluster as devcluster
from tests.support import kube

# prometheus_client's default buckets; the +Inf bucket is implicit.
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
OK_CODE = "200"
ERROR_CODE = "500"
TARGET_LABEL = "rollwave_exporter"


def has_data(values: Sequence[float]) -> bool:
    """The default predicate: at least one sample, and not only NaN (what a 0/0 ratio gives)."""
    return any(not math.isnan(value) for value in values)


def query(prometheus_url: str, expr: str, *, timeout: float = 5) -> list[float]:
    """One instant query: a vector as one float per sample (in Prometheus' order), a scalar as `[value]`."""
    url = f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data: dict[str, Any] = json.load(response)["data"]
    if data["resultType"] == "scalar":
        return [float(data["result"][1])]
    if data["resultType"] == "vector":
        return [float(sample["value"][1]) for sample in data["result"]]
    raise AssertionError(f"{expr!r} returned a {data['resultType']}, not a vector or a scalar")


def wait_until_query(
    prometheus_url: str,
    expr: str,
    predicate: Callable[[list[float]], bool] = has_data,
    *,
    timeout: float = 30,
) -> list[float]:
    """Polls `expr` until `predicate(values)` holds and returns the values; fails with the last values seen."""
    found = kube.wait_for(
        lambda: (lambda values: values if predicate(values) else None)(query(prometheus_url, expr)),
        timeout=timeout,
        interval=0.5,
        what=f"{expr!r} to satisfy the predicate",
    )
    assert found is not None
    return found


def expected_quantile(
    quantile: float, latency_seconds: float, *, buckets: Sequence[float] = BUCKETS
) -> float:
    """What `histogram_quantile(quantile, ...)` returns when every request took `latency_seconds`.

    Prometheus interpolates linearly inside the bucket (lower, upper] that holds all the requests; the first
    bucket starts at 0, and a latency beyond the last finite bucket gives that bucket's upper bound.

    >>> expected_quantile(0.99, 0.2)   # bucket (0.1, 0.25]
    0.2485
    """
    index = bisect.bisect_left(buckets, latency_seconds)
    if index == len(buckets):
        return buckets[-1]
    lower = buckets[index - 1] if index > 0 else 0.0
    return lower + (buckets[index] - lower) * quantile


@dataclasses.dataclass
class _Traffic:
    """One version's rates since `since`, and the counts accumulated before it."""

    since: float
    ok_per_second: float = 0.0
    errors_per_second: float = 0.0
    latency_seconds: float = 0.0
    ok_before: float = 0.0
    errors_before: float = 0.0
    sum_before: float = 0.0
    # Cumulative bucket counts, one per finite bucket plus +Inf.
    buckets_before: list[float] = dataclasses.field(default_factory=lambda: [0.0] * (len(BUCKETS) + 1))

    def at(self, now: float) -> _Traffic:
        """The counts at `now` as a new state starting then (with the same rates)."""
        elapsed = max(now - self.since, 0.0)
        requests = (self.ok_per_second + self.errors_per_second) * elapsed
        buckets = [
            before + (requests if self.latency_seconds <= bound else 0.0)
            for before, bound in zip(self.buckets_before, (*BUCKETS, math.inf), strict=True)
        ]
        return dataclasses.replace(
            self,
            since=now,
            ok_before=self.ok_before + self.ok_per_second * elapsed,
            errors_before=self.errors_before + self.errors_per_second * elapsed,
            sum_before=self.sum_before + requests * self.latency_seconds,
            buckets_before=buckets,
        )


def _exposable_now() -> float:
    """The current time, in whole milliseconds that survive the exposition's `int(seconds * 1000)` exactly."""
    millis = int(time.time() * 1000)
    while int((millis / 1000) * 1000) != millis:
        millis -= 1
    return millis / 1000


class _Collector(prometheus_registry.Collector):
    def __init__(self, exporter: Exporter) -> None:
        self._exporter = exporter

    def collect(self) -> Iterable[prometheus_core.Metric]:
        return self._exporter._families(_exposable_now())


class Exporter:
    """The state behind the served series; create it with `serving()`."""

    def __init__(self, *, prometheus_url: str, service: str, token: str) -> None:
        self.prometheus_url = prometheus_url
        self.service = service
        self.token = token
        self.target = ""
        self._lock = threading.Lock()
        self._traffic: dict[str, _Traffic] = {}
        self._restarts: dict[tuple[str, str, str], float] = {}

    def set_traffic(
        self,
        version: str,
        *,
        ok_per_second: float,
        errors_per_second: float = 0.0,
        latency_seconds: float = 0.05,
    ) -> None:
        """From now on, `version` serves these rates; counts so far are kept. Zero rates mean no traffic."""
        now = time.time()
        with self._lock:
            current = self._traffic.get(version, _Traffic(since=now)).at(now)
            self._traffic[version] = dataclasses.replace(
                current,
                ok_per_second=ok_per_second,
                errors_per_second=errors_per_second,
                latency_seconds=latency_seconds,
            )

    def set_restarts(self, pod: str, count: float, *, namespace: str, container: str = "app") -> None:
        """The restart counter of one container, as kube-state-metrics reports it."""
        with self._lock:
            self._restarts[(namespace, pod, container)] = count

    def wait_until_query(
        self, expr: str, predicate: Callable[[list[float]], bool] = has_data, *, timeout: float = 30
    ) -> list[float]:
        """`wait_until_query` against this exporter's Prometheus."""
        return wait_until_query(self.prometheus_url, expr, predicate, timeout=timeout)

    def _families(self, now: float) -> list[prometheus_core.Metric]:
        requests = prometheus_core.CounterMetricFamily(
            "http_requests", "HTTP requests by status code.", labels=("service", "version", "code")
        )
        durations = prometheus_core.HistogramMetricFamily(
            "http_request_duration_seconds", "HTTP request latency.", labels=("service", "version")
        )
        restarts = prometheus_core.CounterMetricFamily(
            "kube_pod_container_status_restarts",
            "Restarts of a container.",
            labels=("namespace", "pod", "container"),
        )
        with self._lock:
            traffic = {version: state.at(now) for version, state in self._traffic.items()}
            restart_counts = dict(self._restarts)
        for version, state in sorted(traffic.items()):
            requests.add_metric([self.service, version, OK_CODE], state.ok_before, timestamp=now)
            requests.add_metric([self.service, version, ERROR_CODE], state.errors_before, timestamp=now)
            bounds = [*(str(bound) for bound in BUCKETS), "+Inf"]
            durations.add_metric(
                [self.service, version],
                list(zip(bounds, state.buckets_before, strict=True)),
                state.sum_before,
                timestamp=now,
            )
        for (namespace, pod, container), count in sorted(restart_counts.items()):
            restarts.add_metric([namespace, pod, container], count, timestamp=now)
        return [requests, durations, restarts]


@contextlib.contextmanager
def serving(
    cluster: devcluster.DevCluster | None = None, *, service: str | None = None, timeout: float = 40
) -> Iterator[Exporter]:
    """Serve an Exporter on 127.0.0.1 (a free port), registered with the dev Prometheus until the block ends.

    Returns once Prometheus has scraped it (`up{rollwave_exporter=<token>} == 1`). `service` defaults to a
    unique `svc-<hex>`.
    """
    cluster = cluster or devcluster.DevCluster()
    token = uuid.uuid4().hex[:12]
    exporter = Exporter(prometheus_url=cluster.prometheus_url, service=service or f"svc-{token}", token=token)
    registry = prometheus_client.CollectorRegistry()
    registry.register(_Collector(exporter))
    server, thread = prometheus_client.start_http_server(0, addr="127.0.0.1", registry=registry)
    exporter.target = f"127.0.0.1:{server.server_port}"
    registration = pathlib.Path(cluster.prometheus_targets_dir) / f"exporter-{token}.json"
    try:
        # Written aside and renamed, so Prometheus' file discovery never reads half a file.
        partial = registration.with_suffix(".tmp")
        partial.write_text(json.dumps([{"targets": [exporter.target], "labels": {TARGET_LABEL: token}}]))
        partial.rename(registration)
        exporter.wait_until_query(
            f'up{{{TARGET_LABEL}="{token}"}} == 1', lambda values: len(values) == 1, timeout=timeout
        )
        yield exporter
    finally:
        registration.unlink(missing_ok=True)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
