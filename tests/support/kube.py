"""Helpers for tests against the local control plane: kubectl, waiting, and the controller as a real process."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
T = TypeVar("T")


def kubectl(*args: str, input_text: str | None = None, check: bool = True, timeout: float = 60) -> str:
    result = subprocess.run(
        ["kubectl", *args], input=input_text, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def apply(
    manifest: dict[str, Any] | list[dict[str, Any]] | str, *, namespace: str, server_side: bool = True
) -> str:
    text = (
        manifest
        if isinstance(manifest, str)
        else yaml.safe_dump_all(manifest if isinstance(manifest, list) else [manifest])
    )
    extra = ["--server-side", "--force-conflicts"] if server_side else []
    return kubectl("apply", "-n", namespace, *extra, "-f", "-", input_text=text)


def get(resource: str, name: str, *, namespace: str | None = None) -> dict[str, Any] | None:
    ns = ["-n", namespace] if namespace else []
    out = subprocess.run(
        ["kubectl", "get", resource, name, *ns, "-o", "json"], capture_output=True, text=True
    )
    if out.returncode != 0:
        if "NotFound" in out.stderr or "not found" in out.stderr:
            return None
        raise AssertionError(out.stderr)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def list_objects(resource: str, *, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
    args = ["get", resource, "-n", namespace, "-o", "json"]
    if selector:
        args += ["-l", selector]
    items: list[dict[str, Any]] = json.loads(kubectl(*args))["items"]
    return items


def wait_for(
    predicate: Callable[[], T], *, timeout: float, interval: float = 0.25, what: str = "condition"
) -> T:
    """Polls until `predicate` returns something truthy; returns it. Fails with the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def events_for(namespace: str, name: str) -> list[dict[str, Any]]:
    items = list_objects("events", namespace=namespace)
    found = [e for e in items if e.get("involvedObject", {}).get("name") == name]
    return sorted(found, key=lambda e: (e.get("firstTimestamp") or "", e["metadata"]["creationTimestamp"]))


class Controller:
    """`rollwave controller` as a child process, scoped to one namespace, so a test can kill and restart it."""

    def __init__(self, *, namespace: str, log_dir: pathlib.Path, port: int) -> None:
        self.namespace, self.log_dir, self.port = namespace, log_dir, port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> pathlib.Path:
        return self.log_dir / f"controller-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rollouts.cli.main",
                "controller",
                "--namespace",
                self.namespace,
                "--http-address",
                f"127.0.0.1:{self.port}",
                "--verbose",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for(self._ready, timeout=60, what="controller /readyz")

    def _ready(self) -> bool:
        import urllib.request

        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"controller exited with {self.process.returncode}:\n{self.logs()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash, not a clean stop."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.log_dir.glob("controller-*.log"))
        )[-20000:]


@contextlib.contextmanager
def running_controller(*, namespace: str, log_dir: pathlib.Path, port: int) -> Iterator[Controller]:
    controller = Controller(namespace=namespace, log_dir=log_dir, port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
