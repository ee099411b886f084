"""Sync waves: the time to sync N manifests in W waves through an Application, against one server-side apply.

    python benchmarks/sync_waves.py [--manifests 300] [--waves 5] [--repeat 3] [--keep]

The manifests are ConfigMaps, Secrets, ServiceAccounts and headless Services (all Healthy as soon as they
exist, so no wave waits for a workload), spread evenly over W waves (-2..2 for 5) in one Git repository the
benchmark writes. Each repetition syncs them into two fresh namespaces:

- `kubectl apply --server-side -f <the files>`: wall time of the process, as a user would run it;
- a manual sync of an Application (the `operation` request `rollwave app sync` sends) handled by a
  `rollwave controller` scoped to the benchmark's namespace: from just before the request to the moment a
  poll (every 25 ms) sees `status.operationState` Succeeded for that request.

Then both are run again on the same namespaces ("re-apply": every object exists and is unchanged). Printed:
each run, the medians, their ratio and the target (median ratio <= 1.2 for the first sync; a sync with waves
has to look at each wave's health once before the next, which a single apply does not). Also the controller's
API requests per manifest during the syncs (`rollwave_api_requests_total`).

The pure helpers (`wave_numbers`, `manifests`, `median`, `format_table`, `target_line`, `api_requests`) need
no cluster; `tests/test_benchmark_scripts.py` checks them. See README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
CONTROLLER_COMMAND = [sys.executable, "-m", "rollouts.cli.main"]
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
TARGET_RATIO = 1.2
POLL_SECONDS = 0.025
# One wave's worth of objects, repeated: kinds that are Healthy once they exist.
KIND_CYCLE = ("ConfigMap", "ConfigMap", "Secret", "ServiceAccount", "Service")


class BenchmarkError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Pure helpers


def wave_numbers(waves: int) -> list[int]:
    """`waves` consecutive waves centred on 0 (negative waves come first, as in Argo CD).

    >>> wave_numbers(5), wave_numbers(1), wave_numbers(4)
    ([-2, -1, 0, 1, 2], [0], [-2, -1, 0, 1])
    """
    if waves < 1:
        raise ValueError("at least one wave")
    first = -(waves // 2)
    return list(range(first, first + waves))


def _manifest(kind: str, name: str, wave: int) -> dict[str, Any]:
    metadata = {"name": name, "annotations": {WAVE_ANNOTATION: str(wave)}}
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "data": {"key": name}}
    if kind == "Secret":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "stringData": {"key": name}}
    if kind == "Service":
        # Headless: the dev cluster's Service IP range is small.
        spec = {"clusterIP": "None", "selector": {"app": name}, "ports": [{"port": 80}]}
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": spec}
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata}


def manifests(count: int, waves: int) -> dict[int, list[dict[str, Any]]]:
    """`count` manifests spread evenly over the waves (the first waves get the remainder), by wave."""
    numbers = wave_numbers(waves)
    result: dict[int, list[dict[str, Any]]] = {wave: [] for wave in numbers}
    for index in range(count):
        wave = numbers[index * waves // count] if count else numbers[0]
        kind = KIND_CYCLE[index % len(KIND_CYCLE)]
        result[wave].append(_manifest(kind, f"{kind.lower()}-{index:04d}", wave))
    return result


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count).

    >>> median([3.0, 1.0, 2.0]), median([1.0, 2.0])
    (2.0, 1.5)
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    what: str  # "first sync" or "re-apply"
    repetition: int
    kubectl_seconds: float
    rollwave_seconds: float

    @property
    def ratio(self) -> float:
        return self.rollwave_seconds / self.kubectl_seconds


def format_table(runs: Sequence[Run]) -> str:
    """One line per run, then the medians of each kind of run."""
    header = ("run", "kubectl apply s", "rollwave sync s", "ratio")
    rows = [
        (f"{run.what} #{run.repetition}", run.kubectl_seconds, run.rollwave_seconds, run.ratio)
        for run in runs
    ]
    for what in dict.fromkeys(run.what for run in runs):
        chosen = [run for run in runs if run.what == what]
        kubectl = median([run.kubectl_seconds for run in chosen])
        rollwave = median([run.rollwave_seconds for run in chosen])
        rows.append((f"{what}, median", kubectl, rollwave, rollwave / kubectl))
    texts = [header] + [(name, f"{a:.2f}", f"{b:.2f}", f"{c:.2f}") for name, a, b, c in rows]
    widths = [max(len(row[column]) for row in texts) for column in range(len(header))]
    lines = []
    for index, row in enumerate(texts):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def target_line(*, kubectl_seconds: float, rollwave_seconds: float, target: float = TARGET_RATIO) -> str:
    """Whether the sync's time is within `target` times the apply's.

    >>> target_line(kubectl_seconds=2.0, rollwave_seconds=2.2)
    'target: rollwave 2.20 s / kubectl 2.00 s = 1.10 <= 1.2: PASS'
    """
    ratio = rollwave_seconds / kubectl_seconds
    verdict = "PASS" if ratio <= target else "MISS"
    return (
        f"target: rollwave {rollwave_seconds:.2f} s / kubectl {kubectl_seconds:.2f} s = {ratio:.2f} <= {target:g}: "
        f"{verdict}"
    )


def api_requests(exposition: str) -> dict[str, float]:
    """`rollwave_api_requests_total` by verb from a /metrics page.

    >>> api_requests('rollwave_api_requests_total{verb="GET"} 3.0\\nrollwave_api_requests_total{verb="PATCH"} 2.0')
    {'GET': 3.0, 'PATCH': 2.0}
    """
    found: dict[str, float] = {}
    for line in exposition.splitlines():
        if not line.startswith("rollwave_api_requests_total{"):
            continue
        labels, _, value = line.rpartition(" ")
        verb = labels.partition('verb="')[2].partition('"')[0]
        found[verb] = found.get(verb, 0.0) + float(value)
    return found


# ---------------------------------------------------------------------------------------------------------------
# The cluster side


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def kubectl(*args: str, input_text: str | None = None, timeout: float = 300) -> str:
    result = subprocess.run(
        ["kubectl", *args], input=input_text, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise BenchmarkError(f"kubectl {' '.join(args[:4])} failed: {result.stderr.strip()[:2000]}")
    return result.stdout


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise BenchmarkError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Controller:
    def __init__(self, *, namespace: str, work: pathlib.Path) -> None:
        self.namespace = namespace
        self.port = free_port()
        self.log_path = work / "controller.log"
        self.cache = work / "git-cache"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            *CONTROLLER_COMMAND,
            "controller",
            "--namespace",
            self.namespace,
            "--http-address",
            f"127.0.0.1:{self.port}",
            "--git-cache-dir",
            str(self.cache),
            "--app-poll-interval",
            "1h",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        wait_until(self._ready, timeout=60, what="controller /readyz", interval=0.2)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise BenchmarkError(f"controller exited; log: {self.log_path}")
        try:
            self.get("/readyz")
        except OSError:
            return False
        return True

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
            body: bytes = response.read()
            return body.decode()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def git(repo: pathlib.Path, *args: str) -> str:
    result = subprocess.run(
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@rollwave.dev",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise BenchmarkError(f"git {args[0]} failed: {result.stderr}")
    return result.stdout.strip()


def write_repository(repo: pathlib.Path, by_wave: Mapping[int, list[dict[str, Any]]]) -> None:
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    for wave, objects in by_wave.items():
        (repo / f"wave{wave:+d}.yaml").write_text(yaml.safe_dump_all(objects))
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "manifests")


def application(name: str, *, repo: pathlib.Path, destination: str) -> dict[str, Any]:
    return {
        "apiVersion": "rollwave.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": f"file://{repo}", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
        },
    }


class Kube:
    def __init__(self) -> None:
        import kubernetes

        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        self.custom = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(configuration))

    def app(self, namespace: str, name: str) -> dict[str, Any]:
        found = self.custom.get_namespaced_custom_object(
            "rollwave.dev", "v1alpha1", namespace, "applications", name
        )
        return cast(dict[str, Any], found)

    def request_sync(self, namespace: str, name: str) -> int:
        stored = self.custom.patch_namespaced_custom_object(
            "rollwave.dev", "v1alpha1", namespace, "applications", name, {"operation": {"sync": {}}}
        )
        generation: int = cast(dict[str, Any], stored)["metadata"]["generation"]
        return generation


def compared(kube: Kube, namespace: str, name: str) -> bool:
    return bool((kube.app(namespace, name).get("status") or {}).get("reconciledAt"))


def timed_kubectl_apply(directory: pathlib.Path, namespace: str) -> float:
    started = time.monotonic()
    kubectl("apply", "--server-side", "--field-manager=bench", "-n", namespace, "-f", str(directory))
    return time.monotonic() - started


def timed_sync(kube: Kube, namespace: str, name: str, *, timeout: float) -> float:
    started = time.monotonic()
    generation = kube.request_sync(namespace, name)
    deadline = started + timeout
    while True:
        state = (kube.app(namespace, name).get("status") or {}).get("operationState") or {}
        if state.get("requestGeneration") == generation and state.get("phase") in (
            "Succeeded",
            "Failed",
            "Error",
        ):
            elapsed = time.monotonic() - started
            if state["phase"] != "Succeeded":
                raise BenchmarkError(
                    f"the sync of {namespace}/{name} ended {state['phase']}: {state.get('message')}"
                )
            return elapsed
        if time.monotonic() >= deadline:
            raise BenchmarkError(f"the sync of {namespace}/{name} did not end within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def run(args: argparse.Namespace) -> int:
    token = secrets.token_hex(3)
    home = f"{args.namespace_prefix}-{token}"
    work = pathlib.Path(tempfile.mkdtemp(prefix="rollwave-sync-bench-"))
    by_wave = manifests(args.manifests, args.waves)
    write_repository(work / "repo", by_wave)
    files = work / "repo"
    namespaces = [home] + [f"{home}-{side}{r}" for r in range(args.repeat) for side in ("k", "r")]
    kube = Kube()
    controller = Controller(namespace=home, work=work)
    runs: list[Run] = []
    requests: dict[str, float] = {}
    try:
        for namespace in namespaces:
            kubectl("create", "namespace", namespace)
        say(f"{args.manifests} manifests in {args.waves} waves; controller log {controller.log_path}")
        controller.start()
        for repetition in range(args.repeat):
            name = f"app-{repetition}"
            kubectl(
                "apply",
                "-n",
                home,
                "-f",
                "-",
                input_text=json.dumps(application(name, repo=files, destination=f"{home}-r{repetition}")),
            )
            # Let the controller's first comparison (it happens on creation) end before timing a sync.
            wait_until(
                functools.partial(compared, kube, home, name), timeout=120, what="the first comparison"
            )
        before = api_requests(controller.get("/metrics"))
        synced = 0
        for what in ("first sync", "re-apply"):
            for repetition in range(args.repeat):
                kubectl_seconds = timed_kubectl_apply(files, f"{home}-k{repetition}")
                rollwave_seconds = timed_sync(kube, home, f"app-{repetition}", timeout=args.timeout)
                synced += args.manifests
                say(
                    f"{what} #{repetition}: kubectl {kubectl_seconds:.2f} s, rollwave {rollwave_seconds:.2f} s"
                )
                runs.append(
                    Run(
                        what=what,
                        repetition=repetition,
                        kubectl_seconds=kubectl_seconds,
                        rollwave_seconds=rollwave_seconds,
                    )
                )
                # The controller compares the Application right after a sync; let that pass before the next run.
                time.sleep(args.settle)
        after = api_requests(controller.get("/metrics"))
        requests = {verb: (after.get(verb, 0.0) - before.get(verb, 0.0)) / synced for verb in after}
    finally:
        controller.stop()
        if not args.keep:
            for namespace in namespaces:
                subprocess.run(
                    ["kubectl", "delete", "namespace", namespace, "--wait=false"], capture_output=True
                )
            shutil.rmtree(work, ignore_errors=True)
    print(format_table(runs))
    first = [run for run in runs if run.what == "first sync"]
    print()
    print(
        target_line(
            kubectl_seconds=median([run.kubectl_seconds for run in first]),
            rollwave_seconds=median([run.rollwave_seconds for run in first]),
        )
    )
    detail = ", ".join(f"{verb} {value:.2f}" for verb, value in sorted(requests.items()) if value)
    print(f"controller API requests per manifest synced (syncs and the comparisons after them): {detail}")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--manifests", type=int, default=300)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument("--namespace-prefix", default="bench-sync")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds between runs (default 5)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for one sync (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces and the work directory")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except BenchmarkError as err:
        say(f"benchmark failed: {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
