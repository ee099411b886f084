"""`rollwave get analysisrun --watch --until-done` against the real control plane and a real controller prints each
measurement as the controller records it, then the final phase, and exits; `list analysisruns` lists the runs of a
namespace or of one Rollout, and `get rollout` hangs the Rollout's runs under their revision.

The web metric's server answers request n only once the test lets it, so "as it arrives" is checked exactly: the
CLI must print measurement n before measurement n+1 can exist."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rollouts.cli import main, tree
from tests.support import kube

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
RATES = ("0.911", "0.922", "0.933")
WAIT = 30
# One row of the measurements table: number, time, status icon and phase, value.
ROW = re.compile(r"^\s+(\d+)\s+\d\d:\d\d:\d\d\s+\S+\s+(\w+)\s+(\S+)")


class GatedServer:
    """Answers `/gated` with RATES[n] for the n-th request, each only after `release()`; `/free` at once."""

    def __init__(self) -> None:
        self.gate = threading.Semaphore(0)
        self.served = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/gated":
                    if not server.gate.acquire(timeout=WAIT):
                        self.send_response(503)
                        self.end_headers()
                        return
                    with server.lock:
                        rate = RATES[min(server.served, len(RATES) - 1)]
                        server.served += 1
                else:
                    rate = "0.999"
                body = json.dumps({"rate": float(rate)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def release(self) -> None:
        self.gate.release()


@pytest.fixture
def server() -> Iterator[GatedServer]:
    gated = GatedServer()
    thread = threading.Thread(target=gated.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield gated
    finally:
        for _ in range(10):
            gated.release()  # nothing left waiting on the gate
        gated.httpd.shutdown()
        gated.httpd.server_close()


def _metric(url: str, *, count: int) -> dict[str, Any]:
    return {
        "name": "rate",
        "interval": "1s",
        "count": count,
        "successCondition": "result >= 0.9",
        "provider": {"web": {"url": url, "jsonPath": "{$.rate}", "timeoutSeconds": 25}},
    }


def _create_run(namespace: str, name: str, metric: dict[str, Any], **extra: Any) -> None:
    metadata = {"name": name, **extra.pop("metadata", {})}
    kube.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": metadata,
            "spec": {"metrics": [metric], **extra},
        },
        namespace=namespace,
    )


class Output:
    """The lines a subprocess prints, read as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()
        assert process.stdout is not None
        stream = process.stdout
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self.lock:
                self.lines.append(line)

    def frames(self) -> list[str]:
        """Whole frames printed so far (a pipe gets one per new state, separated by a blank line)."""
        with self.lock:
            text = "".join(self.lines)
        return [("" if i == 0 else "Name:") + frame for i, frame in enumerate(text.split("\n\nName:"))]

    def wait_for_values(self, values: list[str], process: subprocess.Popen[str]) -> str:
        def seen() -> str | None:
            for frame in self.frames():
                if _values(frame) == values:
                    return frame
            assert process.poll() is None or values == _values(self.frames()[-1]), "the CLI ended early"
            return None

        found = kube.wait_for(seen, timeout=WAIT, what=f"a frame with measurements {values}")
        assert found is not None
        return found


def _values(frame: str) -> list[str]:
    return [match.group(3) for line in frame.splitlines() if (match := ROW.match(line))]


def test_watch_prints_each_measurement_as_it_arrives_then_the_final_phase(
    controller: kube.Controller, namespace: str, server: GatedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"run-{uuid.uuid4().hex[:6]}"
    _create_run(namespace, name, _metric(f"{server.url}/gated", count=3))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        [str(BIN / "rollwave"), "get", "analysisrun", name, "-n", namespace, "--watch", "--until-done"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        output = Output(process)
        first = output.wait_for_values([], process)
        assert "(no measurements yet)" in first
        started = time.monotonic()
        for arrived in range(1, len(RATES) + 1):
            server.release()  # the controller may now take measurement `arrived`
            frame = output.wait_for_values(list(RATES[:arrived]), process)
            assert f"  Measured:      {arrived} of 3, every 1s" in frame, frame
        code = process.wait(timeout=WAIT)
        output.thread.join(timeout=5)
        assert process.stderr is not None
        err = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    assert code == 0, err
    assert time.monotonic() - started < WAIT
    frames = output.frames()
    final = frames[-1]
    assert final.splitlines()[2] == "Status:          ✔ Successful"
    assert "Run summary:     1 metric: 1 successful" in final
    rows = [match.groups() for line in final.splitlines() if (match := ROW.match(line))]
    assert rows == [("1", "Successful", "0.911"), ("2", "Successful", "0.922"), ("3", "Successful", "0.933")]
    # Every state was printed once, in order: measurements only ever grow from one frame to the next.
    seen = [_values(frame) for frame in frames]
    assert [values for values in seen if values] == sorted((values for values in seen if values), key=len), (
        seen
    )
    for values in ([], list(RATES[:1]), list(RATES[:2]), list(RATES)):
        assert values in seen

    capsys.readouterr()
    assert main.main(["list", "analysisruns", "-n", namespace]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "TYPE", "STEP", "AGE"]
    assert lines[1].split()[:4] == [name, "Successful", "-", "-"]
    assert re.fullmatch(r"\d+s", lines[1].split()[4])


def _rollout() -> dict[str, Any]:
    labels = {"app": "demo"}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
            },
            "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}},
        },
    }


def test_list_by_rollout_and_the_rollout_tree_show_the_runs_it_owns(
    controller: kube.Controller, namespace: str, server: GatedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.apply(_rollout(), namespace=namespace)

    def healthy_rollout() -> dict[str, Any] | None:
        found = kube.get("rollout", "demo", namespace=namespace)
        return found if found is not None and tree.client_phase(found)[0] == "Healthy" else None

    healthy = kube.wait_for(healthy_rollout, timeout=WAIT, what="a Healthy rollout")
    assert healthy is not None
    uid, stable = healthy["metadata"]["uid"], healthy["status"]["stableRS"]
    owned = f"demo-{stable}-bg"
    # Made terminated from the start, so it ends at once and stays as it is whoever else looks at it.
    _create_run(
        namespace,
        owned,
        _metric(f"{server.url}/free", count=1),
        terminate=True,
        metadata={
            "labels": {"rollouts-pod-template-hash": stable, "rollout-type": "Background"},
            "ownerReferences": [
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo", "uid": uid}
            ],
        },
    )
    _create_run(namespace, "by-hand", _metric(f"{server.url}/free", count=1))

    def both_successful() -> bool:
        runs = {
            run["metadata"]["name"]: run for run in kube.list_objects("analysisruns", namespace=namespace)
        }
        return all(
            (runs.get(name, {}).get("status") or {}).get("phase") == "Successful"
            for name in (owned, "by-hand")
        )

    kube.wait_for(both_successful, timeout=WAIT, what="both runs Successful")

    capsys.readouterr()
    assert main.main(["list", "analysisruns", "-n", namespace]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert sorted(names) == sorted([owned, "by-hand"])

    assert main.main(["list", "ar", "--rollout", "demo", "-n", namespace]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:4] for line in lines[1:]] == [[owned, "Successful", "Background", "-"]]

    assert main.main(["list", "ar", "--rollout", "nope", "-n", namespace]) == 2
    assert capsys.readouterr().err == f'rollout "nope" not found in namespace "{namespace}"\n'
    assert main.main(["get", "ar", "nope", "-n", namespace]) == 2
    assert capsys.readouterr().err == f'analysisrun "nope" not found in namespace "{namespace}"\n'

    assert main.main(["get", "rollout", "demo", "-n", namespace]) == 0
    out = capsys.readouterr().out.splitlines()
    revision = out.index(next(line for line in out if "# revision:1" in line))
    children = out[revision + 1 :]
    assert children[0].split()[:3] == ["├──⧉", f"demo-{stable}", "ReplicaSet"]
    assert children[1].split() == [
        "└──" + tree.ANALYSIS_RUN_ICON,
        owned,
        "AnalysisRun",
        "✔",
        "Successful",
        "Background",
    ]

    assert main.main(["get", "analysisrun", owned, "-n", namespace]) == 0
    text = capsys.readouterr().out
    assert "Message:         Run Terminated" in text
    assert f"Rollout:         demo (Background analysis, pod-template hash {stable})" in text
