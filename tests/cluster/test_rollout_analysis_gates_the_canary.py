"""Analysis gates a canary on the real control plane, with the real Prometheus fed by a loopback exporter.

The Rollout uses `analysis/http-success-rate.yaml` unchanged, with args passed from the Rollout (the canary's
pod-template hash as `version`). A good canary passes and becomes stable; a bad one is rolled back automatically
after `failureLimit + 1` failed measurements; Prometheus going away mid-analysis ends in Error and an abort, never a
promotion; a query without data follows the metric's `noDataPolicy`; a missing template is an InvalidSpec naming
the field until the template appears.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import pathlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from rollouts.devcluster import cluster as devcluster
from tests.support import exporter, kube
from tests.support import rollouts as ro

REPO = pathlib.Path(__file__).resolve().parents[2]
INTERVAL_SECONDS = 3
FAILURE_LIMIT = 1


@pytest.fixture
def prom(dev_cluster: devcluster.DevCluster) -> Iterator[exporter.Exporter]:
    with exporter.serving(dev_cluster) as running:
        yield running


def install_success_rate_template(namespace: str) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", str(REPO / "analysis" / "http-success-rate.yaml"))


def success_rate_step(service: str, prometheus_url: str, **more_args: str) -> dict[str, Any]:
    args = {
        "service": service,
        "window": "10s",
        "interval": f"{INTERVAL_SECONDS}s",
        "count": "3",
        "failure-limit": str(FAILURE_LIMIT),
        "inconclusive-limit": "2",
        "prometheus-address": prometheus_url,
        **more_args,
    }
    return {
        "analysis": {
            "templates": [{"templateName": "http-success-rate"}],
            "args": [
                *({"name": name, "value": value} for name, value in args.items()),
                {"name": "version", "valueFrom": {"podTemplateHashValue": "Latest"}},
            ],
        }
    }


def canary_hash(name: str, *, namespace: str, stable: str) -> str:
    """The new revision's hash, as soon as the controller has made its ReplicaSet."""
    return kube.wait_for(
        lambda: next((h for h in ro.replica_sets(name, namespace=namespace) if h != stable), None),
        timeout=30,
        what="the canary ReplicaSet",
    )


def with_traffic_before_analysis(
    prom: exporter.Exporter,
    dev_cluster: devcluster.DevCluster,
    *,
    namespace: str,
    stable: str,
    ok_per_second: float,
    errors_per_second: float,
) -> str:
    """At the pause before the analysis step: give the canary its traffic, wait until Prometheus has it, go on.

    Every measurement then sees data, so the outcome does not hang on how soon the first scrape comes (with no
    data a measurement is Inconclusive, and Argo's rules let a run of 3 with 2 inconclusive and 1 failed pass).
    """
    ro.wait_phase("web", "Paused", namespace=namespace)
    canary = canary_hash("web", namespace=namespace, stable=stable)
    prom.set_traffic(
        canary, ok_per_second=ok_per_second, errors_per_second=errors_per_second, latency_seconds=0.05
    )
    total = ok_per_second + errors_per_second
    exporter.wait_until_query(
        dev_cluster.prometheus_url,
        f'sum(rate(http_requests_total{{service="{prom.service}", version="{canary}"}}[10s]))',
        lambda values: bool(values) and values[0] >= total * 0.9,
        timeout=30,
    )
    ro.promote("web", namespace=namespace)
    return canary


def step_runs(name: str, *, namespace: str) -> list[dict[str, Any]]:
    return kube.list_objects("analysisruns", namespace=namespace, selector="rollout-type=Step")


def test_a_good_canary_passes_analysis_and_becomes_stable(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter, dev_cluster: devcluster.DevCluster
) -> None:
    install_success_rate_template(namespace)
    steps = [{"setWeight": 50}, {"pause": {}}, success_rate_step(prom.service, dev_cluster.prometheus_url)]
    ro.create(ro.rollout_manifest("web", replicas=2, steps=steps), namespace=namespace)
    v1 = ro.wait_phase("web", "Healthy", namespace=namespace)["status"]["stableRS"]
    ro.set_image("web", "nginx:2.0", namespace=namespace)
    v2 = with_traffic_before_analysis(
        prom, dev_cluster, namespace=namespace, stable=v1, ok_per_second=40, errors_per_second=0
    )

    done = ro.wait_phase("web", "Healthy", namespace=namespace, timeout=90)
    assert done["status"]["stableRS"] == v2
    [run] = step_runs("web", namespace=namespace)
    assert run["metadata"]["name"] == f"web-{v2}-2-2"
    assert run["metadata"]["labels"]["rollouts-pod-template-hash"] == v2
    assert {"name": "version", "value": v2} in run["spec"]["args"]
    assert run["status"]["phase"] == "Successful"
    [result] = run["status"]["metricResults"]
    assert (result["successful"], result["failed"], result["inconclusive"]) == (3, 0, 0)
    assert [m["value"] for m in result["measurements"] if m["phase"] == "Successful"][-1] == "[1]", result


def test_a_bad_canary_is_rolled_back_after_failure_limit_plus_one_measurements(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter, dev_cluster: devcluster.DevCluster
) -> None:
    install_success_rate_template(namespace)
    steps = [
        {"setWeight": 50},
        {"pause": {}},
        success_rate_step(prom.service, dev_cluster.prometheus_url),
        {"setWeight": 100},
    ]
    ro.create(ro.rollout_manifest("web", replicas=2, steps=steps), namespace=namespace)
    v1 = ro.wait_phase("web", "Healthy", namespace=namespace)["status"]["stableRS"]
    ro.set_image("web", "nginx:2.0", namespace=namespace)
    # Half of the new version's requests fail.
    v2 = with_traffic_before_analysis(
        prom, dev_cluster, namespace=namespace, stable=v1, ok_per_second=10, errors_per_second=10
    )

    aborted = ro.wait_phase("web", "Degraded", namespace=namespace, timeout=90)
    assert aborted["status"]["abort"] is True
    assert aborted["status"]["stableRS"] == v1
    message = aborted["status"]["conditions"]
    progressing = next(c for c in message if c["type"] == "Progressing")
    assert progressing["reason"] == "RolloutAborted"
    assert "Step-based analysis phase failed" in progressing["message"]
    assert 'Metric "success-rate" assessed Failed' in progressing["message"]

    [run] = step_runs("web", namespace=namespace)
    [result] = run["status"]["metricResults"]
    assert run["status"]["phase"] == "Failed"
    # It stopped at the first measurement past the limit: failureLimit + 1 failed measurements, no more.
    assert result["failed"] == FAILURE_LIMIT + 1
    failed = [m for m in result["measurements"] if m["phase"] == "Failed"]
    assert len(failed) == FAILURE_LIMIT + 1
    started = datetime.datetime.fromisoformat(run["status"]["startedAt"].replace("Z", "+00:00"))
    last = datetime.datetime.fromisoformat(failed[-1]["finishedAt"].replace("Z", "+00:00"))
    assert [m["phase"] for m in result["measurements"]] == ["Failed"] * (FAILURE_LIMIT + 1)
    # The first measurement is taken at the start, so the last of them comes failureLimit intervals later.
    assert (last - started).total_seconds() <= FAILURE_LIMIT * INTERVAL_SECONDS + 2

    # Rolled back: no canary pods, the canary Service on stable, and the Warning says which metric and value.
    ro.wait_split("web", namespace=namespace, canary=0, stable=2)
    assert ro.replica_sets("web", namespace=namespace)[v2]["spec"]["replicas"] == 0
    assert ro.service_hash("web-canary", namespace=namespace) == v1
    events = kube.events_for(namespace, "web")
    [run_failed] = [e for e in events if e["reason"] == "AnalysisRunFailed"]
    assert run_failed["type"] == "Warning"
    assert 'metric "success-rate" Failed, last value [0.5]' in run_failed["message"]


class _Forwarder:
    """A TCP forwarder to Prometheus that the test can take away: Prometheus "stopped" for this controller
    only (the dev Prometheus is shared with other tests)."""

    def __init__(self, target_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port = target_port
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


def test_prometheus_going_away_mid_analysis_ends_in_error_and_abort_never_promotion(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter, dev_cluster: devcluster.DevCluster
) -> None:
    forwarder = _Forwarder(int(dev_cluster.prometheus_url.rsplit(":", 1)[1]))
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "requests"},
        "spec": {
            "args": [{"name": "version"}],
            "metrics": [
                {
                    "name": "request-rate",
                    "interval": "2s",
                    "count": 20,
                    "consecutiveErrorLimit": 1,
                    "successCondition": "result[0] > 0",
                    "provider": {
                        "prometheus": {
                            "address": f"http://127.0.0.1:{forwarder.port}",
                            "query": f'sum(rate(http_requests_total{{service="{prom.service}", version="{{{{args.version}}}}"}}[10s]))',
                        }
                    },
                }
            ],
        },
    }
    kube.apply(template, namespace=namespace)
    steps = [
        {"setWeight": 50},
        {
            "analysis": {
                "templates": [{"templateName": "requests"}],
                "args": [{"name": "version", "valueFrom": {"podTemplateHashValue": "Latest"}}],
            }
        },
    ]
    try:
        ro.create(ro.rollout_manifest("web", replicas=2, steps=steps), namespace=namespace)
        v1 = ro.wait_phase("web", "Healthy", namespace=namespace)["status"]["stableRS"]
        ro.set_image("web", "nginx:2.0", namespace=namespace)
        v2 = canary_hash("web", namespace=namespace, stable=v1)
        prom.set_traffic(v2, ok_per_second=10, errors_per_second=0, latency_seconds=0.05)

        def measured_once() -> bool:
            runs = step_runs("web", namespace=namespace)
            results = (runs[0].get("status") or {}).get("metricResults") or [] if runs else []
            return bool(results and results[0].get("successful", 0) >= 1)

        kube.wait_for(measured_once, timeout=60, what="a successful measurement through the forwarder")
        forwarder.stop()

        aborted = ro.wait_phase("web", "Degraded", namespace=namespace, timeout=90)
    finally:
        forwarder.stop()
    assert aborted["status"]["stableRS"] == v1
    [run] = step_runs("web", namespace=namespace)
    assert run["status"]["phase"] == "Error"
    [result] = run["status"]["metricResults"]
    assert result["consecutiveError"] == 2
    assert "Step-based analysis phase error" in next(
        c["message"] for c in aborted["status"]["conditions"] if c["type"] == "Progressing"
    )
    ro.wait_split("web", namespace=namespace, canary=0, stable=2)


def test_no_data_follows_the_metrics_policy_inconclusive_pauses_for_a_person(
    controller: kube.Controller, namespace: str, prom: exporter.Exporter, dev_cluster: devcluster.DevCluster
) -> None:
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "errors"},
        "spec": {
            "args": [{"name": "version"}],
            "metrics": [
                {
                    "name": "error-rate",
                    "noDataPolicy": "Inconclusive",
                    "successCondition": "result[0] < 0.05",
                    "provider": {
                        "prometheus": {
                            "address": dev_cluster.prometheus_url,
                            # Nobody sends this version any traffic: the query returns no series.
                            "query": f'sum(rate(http_requests_total{{service="{prom.service}", version="{{{{args.version}}}}", code="500"}}[10s]))',
                        }
                    },
                }
            ],
        },
    }
    kube.apply(template, namespace=namespace)
    steps = [
        {"setWeight": 50},
        {
            "analysis": {
                "templates": [{"templateName": "errors"}],
                "args": [{"name": "version", "valueFrom": {"podTemplateHashValue": "Latest"}}],
            }
        },
    ]
    ro.create(ro.rollout_manifest("web", replicas=2, steps=steps), namespace=namespace)
    v1 = ro.wait_phase("web", "Healthy", namespace=namespace)["status"]["stableRS"]
    ro.set_image("web", "nginx:2.0", namespace=namespace)

    paused = ro.wait_phase("web", "Paused", namespace=namespace, timeout=60)
    assert paused["status"]["message"] == "InconclusiveAnalysisRun"
    [run] = step_runs("web", namespace=namespace)
    assert run["status"]["phase"] == "Inconclusive"
    measurement = run["status"]["metricResults"][0]["measurements"][-1]
    assert "no data" in measurement["message"]
    assert ro.status("web", namespace=namespace)["stableRS"] == v1

    # A person decides: promote goes on past the step.
    ro.promote("web", namespace=namespace)
    done = ro.wait_phase("web", "Healthy", namespace=namespace, timeout=60)
    assert done["status"]["stableRS"] != v1


def test_a_missing_template_is_invalid_spec_naming_the_field_until_it_appears(
    controller: kube.Controller, namespace: str
) -> None:
    steps = [{"setWeight": 50}, {"analysis": {"templates": [{"templateName": "later"}]}}]
    ro.create(ro.rollout_manifest("web", replicas=2, steps=steps), namespace=namespace)
    degraded = ro.wait_phase("web", "Degraded", namespace=namespace)
    invalid = next(c for c in degraded["status"]["conditions"] if c["type"] == "InvalidSpec")
    assert invalid["message"] == (
        'The Rollout "web" is invalid: spec.strategy.canary.steps[1].analysis.templates[0].templateName: '
        f'AnalysisTemplate "later" not found in namespace "{namespace}"'
    )
    assert "InvalidSpec" in ro.event_reasons("web", namespace=namespace)
    assert ro.replica_sets("web", namespace=namespace) == {}  # nothing was created

    template = yaml.safe_load(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: later}
        spec:
          metrics:
          - name: always
            provider: {web: {url: "http://127.0.0.1:1/never-called"}}
        """
    )
    kube.apply(template, namespace=namespace)
    healthy = ro.wait_phase("web", "Healthy", namespace=namespace, timeout=30)
    assert not any(c["type"] == "InvalidSpec" for c in healthy["status"].get("conditions") or [])


def test_a_deleted_run_is_replaced_and_an_edited_one_aborts_never_promoting(
    controller: kube.Controller, namespace: str, dev_cluster: devcluster.DevCluster
) -> None:
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "long"},
        "spec": {
            "metrics": [
                {
                    "name": "always-one",
                    "interval": "2s",
                    "count": 500,  # runs for many minutes: the test decides its end
                    "successCondition": "result[0] == 1",
                    "provider": {"prometheus": {"address": dev_cluster.prometheus_url, "query": "vector(1)"}},
                }
            ]
        },
    }
    kube.apply(template, namespace=namespace)
    steps = [{"setWeight": 50}, {"analysis": {"templates": [{"templateName": "long"}]}}]
    ro.create(ro.rollout_manifest("web", replicas=2, steps=steps), namespace=namespace)
    v1 = ro.wait_phase("web", "Healthy", namespace=namespace)["status"]["stableRS"]
    ro.set_image("web", "nginx:2.0", namespace=namespace)
    first = kube.wait_for(lambda: step_runs("web", namespace=namespace), timeout=60, what="the step's run")[0]
    name = first["metadata"]["name"]

    kube.kubectl("delete", "analysisrun", name, "-n", namespace)
    kube.wait_for(
        lambda: "AnalysisRunDeleted" in ro.event_reasons("web", namespace=namespace),
        timeout=30,
        what="an AnalysisRunDeleted event",
    )
    replacement = kube.wait_for(
        lambda: [
            r
            for r in step_runs("web", namespace=namespace)
            if r["metadata"]["uid"] != first["metadata"]["uid"]
        ],
        timeout=30,
        what="a new run for the step",
    )[0]
    status = ro.status("web", namespace=namespace)
    assert (status["currentStepIndex"], status["stableRS"]) == (1, v1)

    # Someone loosens the gate of the running analysis: its result no longer counts, and the update stops.
    patch = {"spec": {"metrics": [{**template["spec"]["metrics"][0], "successCondition": "true"}]}}
    kube.kubectl(
        "patch",
        "analysisrun",
        replacement["metadata"]["name"],
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps(patch),
    )
    aborted = ro.wait_phase("web", "Degraded", namespace=namespace, timeout=30)
    assert aborted["status"]["stableRS"] == v1
    progressing = next(c for c in aborted["status"]["conditions"] if c["type"] == "Progressing")
    assert "cannot be trusted: its spec was changed after rollwave created it" in progressing["message"]
