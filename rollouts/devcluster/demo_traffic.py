"""Synthetic HTTP traffic for the demo: request counters for every running version, scraped by the dev Prometheus.

The local cluster's pods are fake (kwok): nothing serves requests, so nothing makes the metrics an analysis reads.
This exporter stands in for the pods. Every `POLL_SECONDS` it lists the ReplicaSets of one namespace, and each
pod-template hash (label `rollouts-pod-template-hash`) with ready pods "serves" `REQUESTS_PER_POD` requests per
second per ready pod, of which the share `ERROR_RATE` fails:

    http_requests_total{service="<owning Rollout>", version="<pod-template hash>", code="200"|"500"}

`ERROR_RATE` is an environment variable of a container in the pod template (a literal `value`, 0 to 1; missing
means 0), so a "bad version" is a template change like any other and gets its own hash:

    env:
    - name: ERROR_RATE
      value: "0.5"

Counters are a function of the wall clock, not of load: a version's success ratio is exactly `1 - ERROR_RATE` in
any `rate()` window. They stay continuous when the number of ready pods changes and stop growing when a version
has none; a version whose ReplicaSet is gone is dropped.

Run by `rollwave demo` as a background daemon (pid in `DevCluster().demo_traffic_dir`, stopped by `rollwave dev
down`). It registers itself with Prometheus through a file in `DevCluster().prometheus_targets_dir` and removes the
file when stopped:

    python -m rollouts.devcluster.demo_traffic --namespace rollwave-demo --port 18091

Standalone like the rest of rollouts.devcluster: kubectl for reading, prometheus_client for serving.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import prometheus_client
from prometheus_client import core as prometheus_core
from prometheus_client import registry as prometheus_registry

from rollouts.devcluster import cluster as devcluster

POLL_SECONDS = 2.0
REQUESTS_PER_POD = 10.0
ERROR_RATE_ENV = "ERROR_RATE"
HASH_LABEL = "rollouts-pod-template-hash"
TARGET_LABEL = "rollwave_exporter"
TARGET_NAME = "demo-traffic"
OK_CODE = "200"
ERROR_CODE = "500"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    """What one pod-template hash serves now."""

    service: str
    version: str
    ready_pods: int
    error_rate: float

    @property
    def ok_per_second(self) -> float:
        return self.ready_pods * REQUESTS_PER_POD * (1 - self.error_rate)

    @property
    def errors_per_second(self) -> float:
        return self.ready_pods * REQUESTS_PER_POD * self.error_rate


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Counters:
    """One version's counts at `since` and the rates they grow by from then on."""

    since: float
    ok: float = 0.0
    errors: float = 0.0
    ok_per_second: float = 0.0
    errors_per_second: float = 0.0

    def at(self, now: float) -> Counters:
        elapsed = max(now - self.since, 0.0)
        return dataclasses.replace(
            self,
            since=max(now, self.since),
            ok=self.ok + self.ok_per_second * elapsed,
            errors=self.errors + self.errors_per_second * elapsed,
        )


def error_rate(template: Mapping[str, Any]) -> float:
    """The `ERROR_RATE` env value of the pod template's first container that sets it, clamped to 0..1.

    >>> error_rate({"spec": {"containers": [{"name": "a", "env": [{"name": "ERROR_RATE", "value": "0.5"}]}]}})
    0.5
    >>> error_rate({"spec": {"containers": [{"name": "a"}]}}), error_rate({"spec": {"containers": [
    ...     {"name": "a", "env": [{"name": "ERROR_RATE", "value": "lots"}]}]}})
    (0.0, 0.0)
    """
    for container in (template.get("spec") or {}).get("containers") or []:
        for env in container.get("env") or []:
            if env.get("name") == ERROR_RATE_ENV:
                try:
                    value = float(env.get("value") or 0)
                except ValueError:
                    return 0.0
                return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
    return 0.0


def versions(replica_sets: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Version]:
    """Every ReplicaSet with a pod-template hash, keyed by (service, version); the service is the owning
    Rollout's name (or the ReplicaSet's name without its hash when nothing owns it)."""
    found: dict[tuple[str, str], Version] = {}
    for rs in replica_sets:
        metadata = rs.get("metadata") or {}
        pod_hash = (metadata.get("labels") or {}).get(HASH_LABEL)
        if not pod_hash:
            continue
        owners = [o["name"] for o in metadata.get("ownerReferences") or [] if o.get("kind") == "Rollout"]
        service = owners[0] if owners else str(metadata.get("name", "")).removesuffix(f"-{pod_hash}")
        found[(service, pod_hash)] = Version(
            service=service,
            version=pod_hash,
            ready_pods=int((rs.get("status") or {}).get("readyReplicas") or 0),
            error_rate=error_rate((rs.get("spec") or {}).get("template") or {}),
        )
    return found


class Traffic(prometheus_registry.Collector):
    """The counters of every known version; `update` takes what the cluster runs now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str], Counters] = {}

    def update(self, running: Mapping[tuple[str, str], Version], *, now: float) -> None:
        with self._lock:
            updated: dict[tuple[str, str], Counters] = {}
            for key, version in running.items():
                current = self._counters.get(key, Counters(since=now)).at(now)
                updated[key] = dataclasses.replace(
                    current,
                    ok_per_second=version.ok_per_second,
                    errors_per_second=version.errors_per_second,
                )
            self._counters = updated

    def collect(self) -> Iterable[prometheus_core.Metric]:
        requests = prometheus_core.CounterMetricFamily(
            "http_requests", "Synthetic HTTP requests by status code.", labels=("service", "version", "code")
        )
        now = time.time()
        with self._lock:
            counters = {key: state.at(now) for key, state in self._counters.items()}
        for (service, version), state in sorted(counters.items()):
            requests.add_metric([service, version, OK_CODE], state.ok)
            requests.add_metric([service, version, ERROR_CODE], state.errors)
        return [requests]


def _list_replica_sets(cluster: devcluster.DevCluster, namespace: str) -> list[dict[str, Any]] | None:
    try:
        listed = devcluster.kubectl(
            cluster, "get", "replicasets", "-n", namespace, "-o", "json", check=False, timeout=20
        )
    except subprocess.TimeoutExpired:
        return None
    if listed.returncode != 0:
        print(f"listing ReplicaSets failed: {listed.stderr.strip()}", file=sys.stderr, flush=True)
        return None
    items: list[dict[str, Any]] = json.loads(listed.stdout).get("items") or []
    return items


def _register(cluster: devcluster.DevCluster, port: int) -> pathlib.Path:
    registration = cluster.prometheus_targets_dir / f"{TARGET_NAME}.json"
    registration.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so Prometheus' file discovery never reads half a file.
    partial = registration.with_suffix(".tmp")
    partial.write_text(
        json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {TARGET_LABEL: TARGET_NAME}}])
    )
    partial.rename(registration)
    return registration


def _stop_on_sigterm(signum: int, frame: types.FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--namespace", "-n", required=True, help="whose ReplicaSets get traffic")
    parser.add_argument("--port", type=int, required=True, help="the metrics port on 127.0.0.1")
    args = parser.parse_args(argv)

    cluster = devcluster.DevCluster()
    traffic = Traffic()
    registry = prometheus_client.CollectorRegistry()
    registry.register(traffic)
    server, thread = prometheus_client.start_http_server(args.port, addr="127.0.0.1", registry=registry)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    registration = _register(cluster, args.port)
    print(f"serving synthetic traffic for namespace {args.namespace} on 127.0.0.1:{args.port}", flush=True)
    try:
        while True:
            replica_sets = _list_replica_sets(cluster, args.namespace)
            if replica_sets is not None:
                # Unreadable cluster: the last known versions keep their rates.
                traffic.update(versions(replica_sets), now=time.time())
            time.sleep(POLL_SECONDS)
    finally:
        registration.unlink(missing_ok=True)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
