"""`rollwave controller` as users run it: probes, /metrics, JSON logs, reacting to a created Rollout, and a clean
stop on SIGTERM."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

from rollouts.devcluster import cluster as devcluster
from tests.support import kube
from tests.support import rollouts as ro


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_probes_and_metrics_reflect_a_created_rollout(controller: kube.Controller, namespace: str) -> None:
    assert _get(controller.port, "/healthz") == (200, "ok")
    assert _get(controller.port, "/readyz")[0] == 200
    ro.create(ro.rollout_manifest("seen", replicas=2, steps=[{"setWeight": 50}]), namespace=namespace)
    rollout = ro.wait_phase("seen", "Healthy", namespace=namespace)
    assert rollout["status"]["observedGeneration"] == str(rollout["metadata"]["generation"])
    _, text = _get(controller.port, "/metrics")
    assert (
        f'rollout_info{{name="seen",namespace="{namespace}",phase="Healthy",strategy="canary",traffic_router=""}} 1.0'
        in text
    )
    assert "rollwave_api_requests_total" in text
    assert "rollout_reconcile_bucket" in text


def test_json_logs_and_clean_shutdown_on_sigterm(crds: None, namespace: str, tmp_path: pathlib.Path) -> None:
    port = devcluster.free_loopback_port()
    log = tmp_path / "controller.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rollouts.cli.main",
                "controller",
                "-n",
                namespace,
                "--log-format",
                "json",
                "--http-address",
                f"127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=kube.REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        kube.wait_for(lambda: _ready(port, process, log), timeout=60, what="ready")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()
    assert time.monotonic() - started < 15
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines, log.read_text()
    messages = [json.loads(line)["message"] for line in lines]
    assert any("rollwave controller started" in m for m in messages)
    assert any("rollwave controller stopped" in m for m in messages)


def _ready(port: int, process: subprocess.Popen[bytes], log: pathlib.Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"controller exited with {process.returncode}:\n{log.read_text()}")
    try:
        return _get(port, "/readyz")[0] == 200
    except OSError:
        return False
