"""The local control plane behaves like a cluster: Deployments get Ready pods, Jobs complete or fail on demand,
nodes are Ready, and Prometheus answers queries and scrapes loopback targets that tests register."""

from __future__ import annotations

import json
import pathlib
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.devcluster import stages
from tests.support import kube


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "nginx:1"}]},
            },
        },
    }


def _job(name: str, *, fail: bool) -> dict[str, Any]:
    pod_labels = {stages.FAIL_LABEL: stages.FAIL_VALUE} if fail else {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "busybox"}]},
            },
        },
    }


def _job_condition(namespace: str, name: str) -> str | None:
    job = kube.get("job", name, namespace=namespace) or {}
    for condition in job.get("status", {}).get("conditions", []):
        if condition["type"] in ("Complete", "Failed") and condition["status"] == "True":
            return str(condition["type"])
    return None


def test_nodes_are_ready(dev_cluster: devcluster.DevCluster) -> None:
    nodes = json.loads(kube.kubectl("get", "nodes", "-o", "json"))["items"]
    assert len(nodes) >= 2
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", node["metadata"]["name"]


def test_deployment_reaches_three_ready_pods(namespace: str) -> None:
    kube.apply(_deployment("web", 3), namespace=namespace)
    ready = kube.wait_for(
        lambda: (
            (kube.get("deployment", "web", namespace=namespace) or {}).get("status", {}).get("readyReplicas")
            == 3
        ),
        timeout=60,
        what="3 ready replicas",
    )
    assert ready
    pods = kube.list_objects("pods", namespace=namespace, selector="app=web")
    assert len(pods) == 3
    assert all(p["status"]["phase"] == "Running" for p in pods)


def test_job_completes(namespace: str) -> None:
    kube.apply(_job("ok", fail=False), namespace=namespace)
    assert (
        kube.wait_for(lambda: _job_condition(namespace, "ok"), timeout=60, what="job finished") == "Complete"
    )


def test_job_marked_to_fail_fails(namespace: str) -> None:
    kube.apply(_job("broken", fail=True), namespace=namespace)
    assert (
        kube.wait_for(lambda: _job_condition(namespace, "broken"), timeout=90, what="job finished")
        == "Failed"
    )
    pods = kube.list_objects("pods", namespace=namespace, selector="job-name=broken")
    assert pods and all(p["status"]["phase"] == "Failed" for p in pods)


def _prometheus_query(url: str, query: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(
        f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}", timeout=5
    ) as r:
        payload = json.load(r)
    assert payload["status"] == "success"
    result: list[dict[str, Any]] = payload["data"]["result"]
    return result


def test_prometheus_answers_a_query(dev_cluster: devcluster.DevCluster) -> None:
    result = kube.wait_for(
        lambda: _prometheus_query(dev_cluster.prometheus_url, 'up{job="prometheus"}'),
        timeout=30,
        what="prometheus scraping itself",
    )
    assert result[0]["value"][1] == "1"


class _Exporter(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE rollwave_test_marker gauge\nrollwave_test_marker 42\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_exporter(dev_cluster: devcluster.DevCluster) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target = f"127.0.0.1:{server.server_address[1]}"
    registration = pathlib.Path(dev_cluster.prometheus_targets_dir) / f"test-{server.server_address[1]}.json"
    registration.write_text(json.dumps([{"targets": [target], "labels": {"test": "marker"}}]))
    try:
        yield target
    finally:
        registration.unlink()
        server.shutdown()


def test_prometheus_scrapes_a_loopback_target_registered_by_a_test(
    dev_cluster: devcluster.DevCluster, loopback_exporter: str
) -> None:
    started = time.monotonic()
    result = kube.wait_for(
        lambda: _prometheus_query(
            dev_cluster.prometheus_url, f'rollwave_test_marker{{instance="{loopback_exporter}"}}'
        ),
        timeout=30,
        what="marker metric scraped",
    )
    assert result[0]["value"][1] == "42"
    assert time.monotonic() - started < 30


def test_alertmanager_is_ready(dev_cluster: devcluster.DevCluster) -> None:
    with urllib.request.urlopen(f"{dev_cluster.alertmanager_url}/api/v2/status", timeout=5) as response:
        assert json.load(response)["cluster"]["status"] in ("disabled", "ready")


def test_everything_listens_on_loopback_only(dev_cluster: devcluster.DevCluster) -> None:
    import subprocess

    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout.splitlines()
    ours = [
        line
        for line in listening
        if any(
            n in line
            for n in (
                '"etcd"',
                '"kube-apiserver"',
                '"kube-controller',
                '"kube-scheduler"',
                '"kwok"',
                '"prometheus',
                '"alertmanager',
            )
        )
    ]
    assert ours, listening
    for line in ours:
        local = line.split()[3]
        assert local.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")), line


def test_up_after_a_crash_restarts_what_died(dev_cluster: devcluster.DevCluster, namespace: str) -> None:
    import os
    import signal

    scheduler_pid = dev_cluster.kwok_workdir / "clusters" / dev_cluster.name / "pids" / "kube-scheduler.pid"
    os.kill(int(scheduler_pid.read_text()), signal.SIGKILL)
    prometheus_pid = dev_cluster.prometheus_dir / "pid"
    os.kill(int(prometheus_pid.read_text()), signal.SIGKILL)
    kube.wait_for(
        lambda: devcluster.dead_components(dev_cluster) == ["kube-scheduler"], timeout=10, what="dead"
    )

    devcluster.up(dev_cluster, say=lambda _: None)

    assert devcluster.status(dev_cluster) == dict.fromkeys(devcluster.status(dev_cluster), True)
    # The restarted scheduler places new pods again.
    kube.apply(_deployment("after-crash", 2), namespace=namespace)
    kube.wait_for(
        lambda: (
            (kube.get("deployment", "after-crash", namespace=namespace) or {})
            .get("status", {})
            .get("readyReplicas")
            == 2
        ),
        timeout=60,
        what="2 ready replicas after the restart",
    )


def test_up_twice_is_a_no_op(dev_cluster: devcluster.DevCluster) -> None:
    said: list[str] = []
    started = time.monotonic()
    devcluster.up(dev_cluster, say=said.append)
    assert time.monotonic() - started < 20
    assert any("kubernetes: already running" in line for line in said), said
    assert not any("starting" in line or "creating" in line for line in said), said
