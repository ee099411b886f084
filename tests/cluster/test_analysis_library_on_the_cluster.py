"""The ready AnalysisTemplates of analysis/ on the local control plane: the API server accepts every file under
strict validation (as an AnalysisTemplate and as a ClusterAnalysisTemplate), and each template, made into an
AnalysisRun the way Argo does (spec copied, args supplied), gives the documented verdict when the controller runs
it: against the real Prometheus fed by the synthetic exporter (tests/support/exporter.py), a local HTTP server,
and Jobs on the kwok cluster.

Prometheus runs use 10 s windows, a 2 s interval and 3 measurements (Prometheus scrapes every 2 s); each test
waits until its query has data before it creates the runs, so a good version is Successful from the first
measurement on.
"""

from __future__ import annotations

import copy
import json
import math
import pathlib
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import yaml

from rollouts.core import templating
from rollouts.devcluster import cluster as devcluster
from rollouts.devcluster import stages
from tests.support import exporter, kube, webserver

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "analysis"
TEMPLATES = sorted(LIBRARY.glob("*.yaml"))
FAST = {"interval": "2s", "count": "3"}
WINDOW = {"window": "10s"}
COMPLETED = ("Successful", "Failed", "Error", "Inconclusive")


def _template(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((LIBRARY / f"{name}.yaml").read_text())
    return document


def _run_manifest(template: dict[str, Any], args: dict[str, str]) -> dict[str, Any]:
    """An AnalysisRun as Argo makes one from a single template: its spec, with the args' values supplied."""
    spec = copy.deepcopy(template["spec"])
    declared = [arg["name"] for arg in spec["args"]]
    assert set(args) <= set(declared), set(args) - set(declared)
    spec["args"] = [
        {"name": arg["name"], "value": args[arg["name"]]} if arg["name"] in args else arg
        for arg in spec["args"]
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": f"{template['metadata']['name']}-{uuid.uuid4().hex[:6]}"},
        "spec": spec,
    }


def _resolved_query(template: dict[str, Any], args: dict[str, str]) -> str:
    """The template's PromQL with the args substituted, as the run will send it."""
    values = {arg["name"]: args.get(arg["name"], arg.get("value", "")) for arg in template["spec"]["args"]}
    query: str = template["spec"]["metrics"][0]["provider"]["prometheus"]["query"]
    return templating.substitute(query, values, quoted=False)


def _start(namespace: str, template: dict[str, Any], args: dict[str, str]) -> str:
    manifest = _run_manifest(template, args)
    kube.apply(manifest, namespace=namespace)
    name: str = manifest["metadata"]["name"]
    return name


def _completed(namespace: str, name: str, *, timeout: float = 40) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run = kube.get("analysisrun", name, namespace=namespace)
        status: dict[str, Any] = (run or {}).get("status") or {}
        return status if status.get("phase") in COMPLETED else None

    found = kube.wait_for(done, timeout=timeout, what=f"analysis run {name} to complete")
    assert found is not None
    return found


def _values(result: dict[str, Any]) -> list[list[float]]:
    """Each measurement's value ("[0.99]", "[NaN]", "[]") as floats."""
    parsed: list[list[float]] = []
    for measurement in result["measurements"]:
        text = measurement["value"].strip("[]")
        parsed.append([float(item) for item in text.split(",")] if text else [])
    return parsed


def _close(values: list[list[float]], expected: float) -> bool:
    return all(len(value) == 1 and math.isclose(value[0], expected, rel_tol=1e-6) for value in values)


def _near(expected: float) -> Callable[[list[float]], bool]:
    """A `wait_until_query` predicate: one sample, within a millionth of `expected`."""
    return lambda values: _close([values], expected)


@pytest.fixture(scope="module")
def prom(dev_cluster: devcluster.DevCluster) -> Iterator[exporter.Exporter]:
    with exporter.serving(dev_cluster) as running:
        yield running


def _prometheus_args(prom: exporter.Exporter, **args: str) -> dict[str, str]:
    return {"prometheus-address": prom.prometheus_url, **FAST, **args}


# ----------------------------------------------------------------------------------------------------------------
# The API server


@pytest.mark.parametrize("path", TEMPLATES, ids=[path.stem for path in TEMPLATES])
def test_the_api_server_accepts_the_file_strictly_under_both_kinds(
    crds: None, namespace: str, path: pathlib.Path
) -> None:
    created = kube.kubectl(
        "create", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", str(path), "-o", "json"
    )
    assert json.loads(created)["kind"] == "AnalysisTemplate"
    cluster_wide = yaml.safe_load(path.read_text())
    cluster_wide["kind"] = "ClusterAnalysisTemplate"
    created = kube.kubectl(
        "create",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        "-",
        "-o",
        "json",
        input_text=json.dumps(cluster_wide),
    )
    # Strict validation refuses unknown fields; the object comes back whole (nothing was pruned).
    assert json.loads(created)["spec"] == cluster_wide["spec"]


# ----------------------------------------------------------------------------------------------------------------
# Prometheus templates against the real Prometheus


def test_http_success_rate_passes_a_good_version_and_fails_a_bad_one(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter
) -> None:
    template = _template("http-success-rate")
    good, bad = f"good-{namespace}", f"bad-{namespace}"
    prom.set_traffic(good, ok_per_second=99, errors_per_second=1)
    prom.set_traffic(bad, ok_per_second=8, errors_per_second=2)
    args = {
        version: _prometheus_args(prom, service=prom.service, version=version, **WINDOW)
        for version in (good, bad)
    }
    for version, ratio in ((good, 0.99), (bad, 0.8)):
        query = _resolved_query(template, args[version])
        prom.wait_until_query(query, _near(ratio))
    runs = {version: _start(namespace, template, args[version]) for version in (good, bad)}

    status = _completed(namespace, runs[good])
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["count"], result["successful"], result["failed"]) == (3, 3, 0)
    assert _close(_values(result), 0.99), result["measurements"]

    status = _completed(namespace, runs[bad])
    assert status["phase"] == "Failed", status
    assert status["message"] == 'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)'
    [result] = status["metricResults"]
    assert (result["count"], result["failed"]) == (2, 2)
    assert _close(_values(result), 0.8), result["measurements"]


def test_http_success_rate_calls_no_traffic_inconclusive_and_an_all_error_version_failed(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter
) -> None:
    template = _template("http-success-rate")
    idle, absent, broken = f"idle-{namespace}", f"absent-{namespace}", f"broken-{namespace}"
    prom.set_traffic(idle, ok_per_second=0, errors_per_second=0)
    prom.set_traffic(broken, ok_per_second=0, errors_per_second=5)
    args = {
        version: _prometheus_args(prom, service=prom.service, version=version, **WINDOW)
        for version in (idle, absent, broken)
    }
    # The idle version's counters exist and stand still: 0/0 is NaN. Wait until the broken one has a rate too.
    prom.wait_until_query(_resolved_query(template, args[idle]), lambda values: len(values) == 1)
    prom.wait_until_query(_resolved_query(template, args[broken]), lambda values: values == [0.0])
    runs = {version: _start(namespace, template, args[version]) for version in (idle, absent, broken)}

    # Three measurements without data: the third is one more than inconclusive-limit (2).
    for version, value in ((idle, "[NaN]"), (absent, "[]")):
        status = _completed(namespace, runs[version])
        assert status["phase"] == "Inconclusive", status
        [result] = status["metricResults"]
        assert (result["count"], result["inconclusive"]) == (3, 3)
        assert [m["value"] for m in result["measurements"]] == [value] * 3
        assert {m["phase"] for m in result["measurements"]} == {"Inconclusive"}

    status = _completed(namespace, runs[broken])
    assert status["phase"] == "Failed", status
    assert _values(status["metricResults"][0]) == [[0.0], [0.0]]


def test_latency_percentile_passes_a_fast_version_and_fails_a_slow_one(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter
) -> None:
    template = _template("latency-percentile")
    fast, slow = f"fast-{namespace}", f"slow-{namespace}"
    # p99 of 0.2 s requests reads 0.2485 (bucket 0.1-0.25); of 0.6 s requests 0.7475 (bucket 0.5-0.75).
    latencies = {fast: 0.2, slow: 0.6}
    for version, latency in latencies.items():
        prom.set_traffic(version, ok_per_second=20, latency_seconds=latency)
    args = {
        version: _prometheus_args(prom, service=prom.service, version=version, **WINDOW)
        for version in latencies
    }
    expected = {version: exporter.expected_quantile(0.99, latency) for version, latency in latencies.items()}
    for version in latencies:
        prom.wait_until_query(_resolved_query(template, args[version]), _near(expected[version]))
    runs = {version: _start(namespace, template, args[version]) for version in latencies}

    status = _completed(namespace, runs[fast])
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["count"], result["successful"]) == (3, 3)
    assert _close(_values(result), 0.2485)

    status = _completed(namespace, runs[slow])
    assert status["phase"] == "Failed", status
    [result] = status["metricResults"]
    assert (result["count"], result["failed"]) == (2, 2)
    assert _close(_values(result), 0.7475)


def test_error_budget_burn_rate_passes_a_slow_burn_and_fails_a_fast_one(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter
) -> None:
    template = _template("error-budget-burn-rate")
    slow, fast = f"slowburn-{namespace}", f"fastburn-{namespace}"
    # SLO 99%: the budget is 1% of requests. 0.5% errors burn at 0.5; 20% errors at 20 (> 14.4).
    prom.set_traffic(slow, ok_per_second=199, errors_per_second=1)
    prom.set_traffic(fast, ok_per_second=8, errors_per_second=2)
    windows = {"slo": "0.99", "short-window": "10s", "long-window": "30s"}
    args = {
        version: _prometheus_args(prom, service=prom.service, version=version, **windows)
        for version in (slow, fast)
    }
    burn = {slow: 0.005 / (1 - 0.99), fast: 0.2 / (1 - 0.99)}
    for version in (slow, fast):
        prom.wait_until_query(_resolved_query(template, args[version]), _near(burn[version]))
    runs = {version: _start(namespace, template, args[version]) for version in (slow, fast)}

    status = _completed(namespace, runs[slow])
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["count"], result["successful"]) == (3, 3)
    assert _close(_values(result), burn[slow])

    status = _completed(namespace, runs[fast])
    assert status["phase"] == "Failed", status
    [result] = status["metricResults"]
    assert (result["count"], result["failed"]) == (2, 2)
    assert _close(_values(result), burn[fast])


def test_pod_restarts_passes_few_restarts_and_fails_many(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter
) -> None:
    template = _template("pod-restarts")
    calm, crashing = "7c9d5f8b6", "5f6b7d9c8"
    # The calm ReplicaSet's pods restarted once in all, the crashing one's 5 times. The pod of another Rollout
    # (checkout-canary) with the calm hash does not count.
    prom.set_restarts(f"checkout-{calm}-abcde", 1, namespace=namespace)
    prom.set_restarts(f"checkout-{calm}-fghij", 0, namespace=namespace)
    prom.set_restarts(f"checkout-{crashing}-klmno", 2, namespace=namespace)
    prom.set_restarts(f"checkout-{crashing}-pqrst", 3, namespace=namespace, container="sidecar")
    prom.set_restarts(f"checkout-canary-{calm}-uvwxy", 9, namespace=namespace)
    args = {
        pod_hash: _prometheus_args(
            prom, namespace=namespace, rollout="checkout", **{"pod-template-hash": pod_hash}, **WINDOW
        )
        for pod_hash in (calm, crashing)
    }
    for pod_hash, total in ((calm, 1.0), (crashing, 5.0)):
        prom.wait_until_query(_resolved_query(template, args[pod_hash]), _near(total))
    runs = {pod_hash: _start(namespace, template, args[pod_hash]) for pod_hash in (calm, crashing)}

    status = _completed(namespace, runs[calm])
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["count"], result["successful"]) == (3, 3)
    assert _values(result) == [[1.0]] * 3

    status = _completed(namespace, runs[crashing])
    assert status["phase"] == "Failed", status
    [result] = status["metricResults"]
    assert (result["count"], result["failed"]) == (2, 2)
    assert _values(result) == [[5.0]] * 2


# ----------------------------------------------------------------------------------------------------------------
# Web health against a local HTTP server


class _Health(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, dict[str, Any]]] = {
        "/healthy": (200, {"status": "UP", "checks": {"db": True}}),
        "/degraded": (200, {"status": "DOWN", "checks": {"db": False}}),
        "/down": (503, {"status": "DOWN"}),
    }

    def do_GET(self) -> None:
        code, answer = self.answers.get(self.path, (404, {}))
        body = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    with webserver.serving(_Health) as url:
        yield url


def test_web_health_passes_a_healthy_answer_fails_an_unhealthy_one_and_errors_on_503(
    controller: kube.Controller, namespace: str, health_server: str
) -> None:
    template = _template("web-health")
    fast = {"interval": "1s", "count": "3"}
    runs = {
        "healthy": _start(namespace, template, {"url": f"{health_server}/healthy", **fast}),
        "boolean": _start(
            namespace,
            template,
            {"url": f"{health_server}/healthy", "json-path": "{$.checks.db}", "expected": "true", **fast},
        ),
        "degraded": _start(namespace, template, {"url": f"{health_server}/degraded", **fast}),
        "down": _start(
            namespace, template, {"url": f"{health_server}/down", "consecutive-error-limit": "0", **fast}
        ),
    }

    for case in ("healthy", "boolean"):
        status = _completed(namespace, runs[case])
        assert status["phase"] == "Successful", (case, status)
        [result] = status["metricResults"]
        assert (result["count"], result["successful"]) == (3, 3)
        assert [m["value"] for m in result["measurements"]] == (["UP"] if case == "healthy" else ["true"]) * 3

    status = _completed(namespace, runs["degraded"])
    assert status["phase"] == "Failed", status
    assert status["message"] == 'Metric "health" assessed Failed due to failed (2) > failureLimit (1)'
    assert [m["value"] for m in status["metricResults"][0]["measurements"]] == ["DOWN", "DOWN"]

    # A 503 is an Error, not a failure, in Argo as here; with no errors tolerated the first one ends the run.
    status = _completed(namespace, runs["down"])
    assert status["phase"] == "Error", status
    [measurement] = status["metricResults"][0]["measurements"]
    assert (measurement["phase"], measurement["message"]) == ("Error", "received non 2xx response code: 503")


# ----------------------------------------------------------------------------------------------------------------
# Job smoke test on the kwok cluster


def test_job_smoke_test_passes_when_the_job_completes_and_fails_when_it_fails(
    controller: kube.Controller, namespace: str
) -> None:
    template = _template("job-smoke-test")
    url = "http://checkout-canary.shop.svc/"
    passing = _start(namespace, template, {"url": url})
    # kwok runs no containers: a pod labelled rollwave.dev/fake-outcome=fail is failed instead of completed.
    failing_template = copy.deepcopy(template)
    pod_labels = failing_template["spec"]["metrics"][0]["provider"]["job"]["spec"]["template"]["metadata"][
        "labels"
    ]
    pod_labels[stages.FAIL_LABEL] = stages.FAIL_VALUE
    failing = _start(namespace, failing_template, {"url": url})

    status = _completed(namespace, passing)
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["count"], result["successful"]) == (1, 1)
    job = kube.get("job", result["measurements"][0]["metadata"]["job-name"], namespace=namespace)
    assert job is not None
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "curlimages/curl:8.11.1"
    assert container["command"] == [
        "sh",
        "-c",
        'curl --fail --silent --show-error --max-time 10 --retry 3 --retry-connrefused "$URL"',
    ]
    assert container["env"] == [{"name": "URL", "value": url}]
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (0, 300)
    assert job["metadata"]["labels"]["app.kubernetes.io/name"] == "smoke-test"

    status = _completed(namespace, failing)
    assert status["phase"] == "Failed", status
    assert status["message"] == 'Metric "smoke-test" assessed Failed due to failed (1) > failureLimit (0)'
    [result] = status["metricResults"]
    assert (result["count"], result["failed"]) == (1, 1)
