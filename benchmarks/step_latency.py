"""Step latency: how long the controller takes to act once a canary step's condition is met.

    python benchmarks/step_latency.py [--rollouts 1,200] [--namespace-prefix bench] [--keep]

Each scenario gets a fresh namespace and its own `rollwave controller` scoped to it. The benchmark creates N
Rollouts (2 replicas each, a headless canary and stable Service each), waits until all are Healthy, then changes
the image of all of them and walks the steps of `canary_steps`. For each pause step of each Rollout it records when the step's
condition was met and when the cluster changed in response: the first change of a ReplicaSet's `spec.replicas`
(or of a Service selector) owned by that Rollout that a watch sees afterwards.

- promote (`pause: {}`): the condition is met the moment the benchmark sends `{"status": {"pauseConditions": null}}`
  to /status (all N at once, from a small thread pool; each is timed from just before its own request);
- timed pause (`pause: {duration: D}`): met at the moment the watch saw the pause condition appear, plus D. Both
  ends are seen through the same watch, so its delivery delay cancels out. Argo's own definition, `startTime + D`,
  is printed on a row of its own: `startTime` has 1-second precision, so that row includes the fraction of a second
  the controller's clock was past the whole second when the pause began (0 to 1 s, about 0.5 s on average).

Also reported: the controller's peak RSS (VmHWM and sampled VmRSS from /proc/<pid>/status), API requests per step
(delta of `rollwave_api_requests_total` over the updates, divided by the steps completed by all Rollouts) and the
wall time of the updates. Targets (printed, informational): p99 <= 250 ms with 1 Rollout, <= 2 s with 200.

The pure helpers (`percentile`, `summarize`, `format_table`, `target_line`, `metric_sum`, `metric_delta`,
`first_response`, `cpu_line`) need no cluster; `tests/test_benchmark_scripts.py` checks them. See README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import datetime
import functools
import json
import math
import os
import pathlib
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "rollouts"
HASH_LABEL = "rollouts-pod-template-hash"
BENCH_LABEL = "rollwave.dev/benchmark"
REPLICAS = 2
SURGE = 1  # maxSurge 25% of 2 replicas, rounded up: the most pods a rollout holds at once is REPLICAS + SURGE
PODS_PER_FAKE_NODE = 110
# How to start `rollwave`; a profiling wrapper can be put in here.
CONTROLLER_COMMAND = [sys.executable, "-m", "rollouts.cli.main"]


def canary_steps(pause_seconds: int) -> list[dict[str, Any]]:
    """Four measured pauses per update; each is followed by a step that changes a ReplicaSet or a Service.

    With 2 replicas only 50 and 100 differ, so the weight goes up, down and up again.
    The last pause ends the update: its response is the stable Service switching to the new pods.
    """
    timed = {"pause": {"duration": f"{pause_seconds}s"}}
    return [
        {"setWeight": 50},
        {"pause": {}},  # promote -> canary 1 -> 2
        {"setWeight": 100},
        timed,  # -> 100 -> 50
        {"setWeight": 50},
        timed,  # -> 50 -> 100
        {"setWeight": 100},
        {"pause": {}},  # promote -> all steps done: stable Service switches to the new hash
    ]


# ---------------------------------------------------------------------------------------------------------------
# Pure helpers: statistics, table, targets, Prometheus text


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Latencies in seconds."""

    count: int
    p50: float
    p99: float
    max: float


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) with linear interpolation between closest ranks (numpy's default).

    percentile([1, 2, 3, 4], 0.5) -> 2.5;  percentile([1, 2, 3, 4], 0.99) -> 3.97;  percentile([7], 0.99) -> 7
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be within 0..1, not {fraction}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Sequence[float]) -> Summary | None:
    """p50, p99 and max of `values`, or None when there are none.

    summarize([0.1, 0.2, 0.3]) -> Summary(count=3, p50=0.2, p99=0.298, max=0.3)
    """
    if not values:
        return None
    return Summary(
        count=len(values), p50=percentile(values, 0.5), p99=percentile(values, 0.99), max=max(values)
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One line of the result table; per-scenario figures are left None on the detail rows."""

    scenario: str
    trigger: str
    latency: Summary | None
    missed: int = 0  # measured steps with no response seen
    rss_mib: float | None = None
    api_requests_per_step: float | None = None
    wall_seconds: float | None = None


COLUMNS = ("scenario", "trigger", "steps", "p50 ms", "p99 ms", "max ms", "RSS MiB", "API req/step", "wall s")


def _milliseconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _optional(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table: text columns left-aligned, numbers right-aligned, '-' where there is nothing.

    "steps" counts measured steps; "+N missed" follows it when N of them never got a response.
    """
    lines = [list(COLUMNS)]
    for row in rows:
        latency = row.latency
        steps = str(latency.count if latency else 0) + (f" +{row.missed} missed" if row.missed else "")
        lines.append(
            [
                row.scenario,
                row.trigger,
                steps,
                _milliseconds(latency.p50 if latency else None),
                _milliseconds(latency.p99 if latency else None),
                _milliseconds(latency.max if latency else None),
                _optional(row.rss_mib, 1),
                _optional(row.api_requests_per_step, 1),
                _optional(row.wall_seconds, 1),
            ]
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(COLUMNS))]
    rendered = []
    for line in lines:
        cells = [
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        rendered.append("  ".join(cells).rstrip())
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def scenario_name(rollouts: int) -> str:
    """scenario_name(1) -> '1 rollout';  scenario_name(200) -> '200 rollouts'"""
    return f"{rollouts} rollout" + ("" if rollouts == 1 else "s")


def target_seconds(rollouts: int) -> float:
    """The issue's targets: p99 <= 250 ms for one Rollout alone, <= 2 s with 200 (used for any count above 1)."""
    return 0.25 if rollouts == 1 else 2.0


def target_line(*, scenario: str, p99_seconds: float | None, target: float) -> str:
    """target_line(scenario="1 rollout", p99_seconds=0.12, target=0.25)
    -> 'target 1 rollout: p99 120 ms <= 250 ms: PASS'
    """
    if p99_seconds is None:
        return f"target {scenario}: p99 <= {_milliseconds(target)} ms: MISS (no step measured)"
    verdict = "PASS" if p99_seconds <= target else "MISS"
    return f"target {scenario}: p99 {_milliseconds(p99_seconds)} ms <= {_milliseconds(target)} ms: {verdict}"


_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[A-Za-z_][A-Za-z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def metric_sum(exposition: str, name: str, *, by: str | None = None) -> dict[str, float]:
    """Sums the samples of metric `name` in Prometheus text format, grouped by label `by` (or all under "").

    metric_sum('a_total{verb="GET"} 3\\na_total{verb="PATCH"} 2\\n', "a_total") -> {"": 5.0}
    metric_sum(..., "a_total", by="verb") -> {"GET": 3.0, "PATCH": 2.0}
    """
    totals: dict[str, float] = {}
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None or match["name"] != name:
            continue
        key = ""
        if by is not None:
            labels = {m["key"]: m["value"] for m in _LABEL.finditer(match["labels"] or "")}
            key = labels.get(by, "")
        totals[key] = totals.get(key, 0.0) + float(match["value"])
    return totals


def metric_delta(before: str, after: str, name: str, *, by: str | None = None) -> dict[str, float]:
    """`metric_sum(after) - metric_sum(before)` per group (a counter that appears only after counts from 0)."""
    old, new = metric_sum(before, name, by=by), metric_sum(after, name, by=by)
    return {key: new[key] - old.get(key, 0.0) for key in sorted(new)}


# ---------------------------------------------------------------------------------------------------------------
# The controller as a child process


class BenchmarkError(RuntimeError):
    """The run itself failed (a timeout, a dead controller, an API error): exit code 1."""


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchmarkError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def read_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process (/proc/<pid>/stat), or None once it is gone."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Processes of the dev cluster, by /proc/<pid>/comm (which is cut at 15 characters).
CLUSTER_PROCESSES = ("kube-apiserver", "etcd", "kube-controller", "kube-scheduler", "kwok-controller")


def cpu_snapshot(controller_pid: int | None) -> dict[str, float]:
    """CPU seconds so far: the controller, this benchmark, each cluster component, and the machine (busy, total)."""
    found: dict[str, float] = {
        "controller": (read_cpu_seconds(controller_pid) if controller_pid else None) or 0.0
    }
    found["benchmark"] = sum(os.times()[:2])
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if command in CLUSTER_PROCESSES:
            found[command] = found.get(command, 0.0) + (read_cpu_seconds(int(entry.name)) or 0.0)
    with contextlib.suppress(OSError):
        ticks = [int(v) for v in pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        total = sum(ticks[:8])  # guest time is already counted in user
        tick = os.sysconf("SC_CLK_TCK")
        found["machine busy"], found["machine total"] = (total - idle) / tick, total / tick
    return found


def read_proc_status_kib(pid: int, field: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), or None once the process is gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


class ControllerProcess:
    """`rollwave controller` scoped to one namespace, with its RSS sampled while it runs."""

    def __init__(self, *, namespace: str, log_path: pathlib.Path, workers: int | None, verbose: bool) -> None:
        self.namespace, self.log_path, self.workers, self.verbose = namespace, log_path, workers, verbose
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss_kib = 0
        self.max_queue_depth = 0.0
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self, *, timeout: float = 60) -> None:
        command = [
            *CONTROLLER_COMMAND,
            "controller",
            "--namespace",
            self.namespace,
            "--http-address",
            f"127.0.0.1:{self.port}",
        ]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        if self.verbose:
            command.append("--verbose")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        wait_until(self._ready, timeout=timeout, what="controller /readyz", interval=0.2)
        self._sampler = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._sampler.start()

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise BenchmarkError(f"controller exited with {self.process.returncode}; log tail:\n{tail}")

    def _get(self, path: str, *, timeout: float = 5) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as response:
            body: bytes = response.read()
            return body.decode()

    def _ready(self) -> bool:
        self.check_alive()
        try:
            self._get("/readyz", timeout=1)
        except OSError:
            return False
        return True

    def metrics(self) -> str:
        self.check_alive()
        return self._get("/metrics", timeout=30)

    def _sample(self) -> None:
        # RSS every 100 ms; the queue depth once a second (rendering /metrics costs the controller a little CPU).
        ticks = 0
        while not self._sampling.wait(0.1):
            if self.process is None:
                return
            rss = read_proc_status_kib(self.process.pid, "VmRSS")
            if rss is None:
                return
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            ticks += 1
            if ticks % 10 == 0:
                with contextlib.suppress(OSError, ValueError):
                    depth = metric_sum(self._get("/metrics"), "rollwave_workqueue_depth").get("", 0.0)
                    self.max_queue_depth = max(self.max_queue_depth, depth)

    def peak_rss_mib(self) -> float:
        """The larger of the sampled VmRSS peak and the kernel's own high-water mark (VmHWM)."""
        high_water = read_proc_status_kib(self.process.pid, "VmHWM") if self.process else None
        return max(self.peak_rss_kib, high_water or 0) / 1024

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self) -> None:
        self._sampling.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------------------------
# Watches: what the benchmark saw, and when


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """A ReplicaSet's spec.replicas or a Service's selector changed (as a watch saw it)."""

    at: float  # time.time() when the watch event arrived
    what: str
    pod_hash: str | None = None  # the ReplicaSet's pod-template hash; for a Service, the hash it now selects
    service: bool = False
    deleted: bool = False


def first_response(changes: Sequence[Change], *, after: float, hashes: Iterable[str | None]) -> Change | None:
    """The first change later than `after` that a step can cause: a Service switch, or a scale of one of
    `hashes` (the canary and stable ReplicaSets). Deleting old revisions (history cleanup) is not a response.

    first_response([Change(at=1, what="a"), Change(at=3, what="b", pod_hash="x")], after=2, hashes=["x"]) -> b
    """
    wanted = {h for h in hashes if h}
    for change in sorted(changes, key=lambda c: c.at):
        if change.at <= after or change.deleted:
            continue
        if change.service or change.pod_hash in wanted:
            return change
    return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RolloutState:
    step_index: int | None
    pod_hash: str | None
    stable_hash: str | None
    phase: str | None
    pause_start: str | None  # startTime of the CanaryPauseStep condition, when there is one


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PauseSeen:
    at: float
    start_time: str
    stable_hash: str | None


def _owner_rollout(obj: Mapping[str, Any]) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == "Rollout":
            name: str = ref["name"]
            return name
    return None


class Recorder:
    """Three watches (Rollouts, ReplicaSets, Services) in one namespace, each in its own thread."""

    def __init__(self, *, namespace: str, kube: Kube) -> None:
        self.namespace, self.kube = namespace, kube
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listed: list[threading.Event] = []
        self.errors: list[str] = []
        self.states: dict[str, RolloutState] = {}
        self.changes: dict[str, list[Change]] = {}
        # (rollout, pod hash, step index) -> first time the status showed it
        self.step_seen: dict[tuple[str, str, int], float] = {}
        self.pause_seen: dict[tuple[str, str, int], PauseSeen] = {}
        self._replicas: dict[str, int | None] = {}
        self._selectors: dict[str, str | None] = {}
        self.watch_events = 0

    def start(self) -> None:
        watches: list[
            tuple[str, Callable[..., Any], tuple[Any, ...], Callable[[str, dict[str, Any], float], None]]
        ] = [
            (
                "rollouts",
                self.kube.custom.list_namespaced_custom_object,
                (GROUP, VERSION, self.namespace, PLURAL),
                self._on_rollout,
            ),
            (
                "replicasets",
                self.kube.apps.list_namespaced_replica_set,
                (self.namespace,),
                self._on_replica_set,
            ),
            ("services", self.kube.core.list_namespaced_service, (self.namespace,), self._on_service),
        ]
        for name, list_call, list_args, handle in watches:
            listed = threading.Event()
            thread = threading.Thread(
                target=self._watch,
                kwargs={"list_call": list_call, "list_args": list_args, "handle": handle, "listed": listed},
                name=f"watch-{name}",
                daemon=True,
            )
            self._threads.append(thread)
            self._listed.append(listed)
            thread.start()
        wait_until(lambda: all(e.is_set() for e in self._listed), timeout=30, what="the watches' first lists")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _watch(
        self,
        *,
        list_call: Callable[..., Any],
        list_args: tuple[Any, ...],
        handle: Callable[[str, dict[str, Any], float], None],
        listed: threading.Event,
    ) -> None:
        import kubernetes

        resource_version: str | None = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    response = list_call(*list_args, _preload_content=False, _request_timeout=60)
                    listing = json.loads(response.data)
                    at = time.time()
                    for item in listing.get("items") or []:
                        handle("ADDED", item, at)
                    resource_version = listing["metadata"]["resourceVersion"]
                    listed.set()
                # A short server timeout so that stop() never waits long; the watch resumes where it was.
                stream = kubernetes.watch.Watch().stream(  # type: ignore[no-untyped-call]
                    list_call,
                    *list_args,
                    resource_version=resource_version,
                    timeout_seconds=5,
                    allow_watch_bookmarks=True,
                    deserialize=False,
                    _request_timeout=(10, 30),
                )
                for event in stream:
                    at = time.time()
                    obj = event.get("object") or {}
                    resource_version = obj.get("metadata", {}).get("resourceVersion") or resource_version
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        handle(event["type"], obj, at)
                    if self._stop.is_set():
                        break
            except kubernetes.client.exceptions.ApiException as err:
                if err.status == 410:  # too old: list again
                    resource_version = None
                    continue
                self.errors.append(f"watch: {err.status} {err.reason}")
                self._stop.wait(0.5)
            except Exception as err:  # connection dropped or timed out: resume from the last version
                self.errors.append(f"watch: {type(err).__name__}: {err}")
                self._stop.wait(0.5)

    def _change(self, rollout: str, change: Change) -> None:
        self.changes.setdefault(rollout, []).append(change)

    def _on_replica_set(self, kind: str, obj: dict[str, Any], at: float) -> None:
        owner = _owner_rollout(obj)
        if owner is None:
            return
        name = obj["metadata"]["name"]
        replicas = None if kind == "DELETED" else (obj.get("spec") or {}).get("replicas")
        with self._lock:
            self.watch_events += 1
            previous = self._replicas.get(name, -1)
            self._replicas[name] = replicas
            if previous != replicas:
                pod_hash = (obj["metadata"].get("labels") or {}).get(HASH_LABEL)
                what = f"replicaset {name} {previous} -> {replicas}"
                self._change(owner, Change(at=at, what=what, pod_hash=pod_hash, deleted=kind == "DELETED"))

    def _on_service(self, kind: str, obj: dict[str, Any], at: float) -> None:
        name = obj["metadata"]["name"]
        owner = name.rsplit("-", 1)[0]  # <rollout>-stable, <rollout>-canary
        selector = (
            None if kind == "DELETED" else ((obj.get("spec") or {}).get("selector") or {}).get(HASH_LABEL)
        )
        with self._lock:
            self.watch_events += 1
            previous = self._selectors.get(name, "")
            self._selectors[name] = selector
            if previous != selector:
                what = f"service {name} selector {previous} -> {selector}"
                self._change(
                    owner,
                    Change(at=at, what=what, pod_hash=selector, service=True, deleted=kind == "DELETED"),
                )

    def _on_rollout(self, kind: str, obj: dict[str, Any], at: float) -> None:
        name = obj["metadata"]["name"]
        status = obj.get("status") or {}
        pause = next(
            (p for p in status.get("pauseConditions") or [] if p.get("reason") == "CanaryPauseStep"), None
        )
        state = RolloutState(
            step_index=status.get("currentStepIndex"),
            pod_hash=status.get("currentPodHash"),
            stable_hash=status.get("stableRS"),
            phase=status.get("phase"),
            pause_start=pause.get("startTime") if pause else None,
        )
        with self._lock:
            self.watch_events += 1
            if kind == "DELETED":
                self.states.pop(name, None)
                return
            self.states[name] = state
            if state.pod_hash is None or state.step_index is None:
                return
            key = (name, state.pod_hash, state.step_index)
            self.step_seen.setdefault(key, at)
            if state.pause_start is not None and key not in self.pause_seen:
                self.pause_seen[key] = PauseSeen(
                    at=at, start_time=state.pause_start, stable_hash=state.stable_hash
                )

    def snapshot(self) -> dict[str, RolloutState]:
        with self._lock:
            return dict(self.states)

    def history(
        self,
    ) -> tuple[
        dict[str, list[Change]], dict[tuple[str, str, int], float], dict[tuple[str, str, int], PauseSeen]
    ]:
        """Copies of (changes, step_seen, pause_seen), taken under the lock the watch threads write under."""
        with self._lock:
            changes = {name: list(found) for name, found in self.changes.items()}
            return changes, dict(self.step_seen), dict(self.pause_seen)

    def selectors(self) -> dict[str, str | None]:
        """Service name -> the pod-template hash its selector picks."""
        with self._lock:
            return dict(self._selectors)


# ---------------------------------------------------------------------------------------------------------------
# The cluster side of a scenario


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Kube:
    core: Any
    apps: Any
    custom: Any


def connect() -> Kube:
    import kubernetes

    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.connection_pool_maxsize = 32  # three watches plus the trigger pool
    api = kubernetes.client.ApiClient(configuration)
    return Kube(
        core=kubernetes.client.CoreV1Api(api),
        apps=kubernetes.client.AppsV1Api(api),
        custom=kubernetes.client.CustomObjectsApi(api),
    )


def rollout_manifest(name: str, *, image: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": {BENCH_LABEL: "step-latency"}},
        "spec": {
            "replicas": REPLICAS,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {
                "canary": {
                    "canaryService": f"{name}-canary",
                    "stableService": f"{name}-stable",
                    "steps": steps,
                }
            },
        },
    }


def service_manifest(name: str, *, app: str) -> dict[str, Any]:
    # Headless: 400 Services would not fit the dev cluster's small service IP range.
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {BENCH_LABEL: "step-latency"}},
        "spec": {"clusterIP": "None", "selector": {"app": app}, "ports": [{"port": 80}]},
    }


def fake_node_manifest(name: str, *, index: int) -> dict[str, Any]:
    resources = {"cpu": "32", "memory": "256Gi", "pods": str(PODS_PER_FAKE_NODE)}
    cidr = f"10.250.{index}.0/24"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                BENCH_LABEL: "step-latency",
            },
        },
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
        "status": {"allocatable": resources, "capacity": resources},
    }


def add_fake_nodes(kube: Kube, *, pods_needed: int, token: str) -> list[str]:
    """kwok nodes hold 110 pods each: add nodes (deleted again at the end) when the free room is too small."""
    nodes = kube.core.list_node(_preload_content=False)
    allocatable = sum(
        int((item.get("status") or {}).get("allocatable", {}).get("pods", 0))
        for item in json.loads(nodes.data)["items"]
    )
    pods = kube.core.list_pod_for_all_namespaces(
        field_selector="status.phase!=Succeeded,status.phase!=Failed", _preload_content=False
    )
    used = len(json.loads(pods.data)["items"])
    missing = pods_needed - (allocatable - used)
    if missing <= 0:
        return []
    names = [f"bench-{token}-{index}" for index in range(math.ceil(missing / PODS_PER_FAKE_NODE))]
    for index, name in enumerate(names):
        kube.core.create_node(fake_node_manifest(name, index=index))

    def all_ready() -> bool:
        for name in names:
            node = kube.core.read_node(name)
            conditions = {c.type: c.status for c in (node.status.conditions or [])}
            if conditions.get("Ready") != "True":
                return False
        return True

    wait_until(all_ready, timeout=60, what="the extra kwok nodes to be Ready", interval=0.5)
    return names


def with_retries(call: Callable[[], object], *, attempts: int = 4) -> None:
    """Runs an API call, retrying dropped connections and 429/5xx (the dev API server is sometimes restarted)."""
    import kubernetes
    import urllib3

    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            call()
            return
        except kubernetes.client.exceptions.ApiException as err:
            if err.status == 409 and attempt > 0:
                return  # an earlier attempt got through before its connection dropped
            if err.status not in (429, 500, 502, 503, 504) or last:
                raise
        except (urllib3.exceptions.HTTPError, OSError):
            if last:
                raise
        time.sleep(0.5 * 2**attempt)


def run_parallel(calls: Iterable[Callable[[], object]], *, threads: int = 8) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(with_retries, call) for call in calls]:
            future.result()


def parse_timestamp(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    namespace_prefix: str
    keep: bool
    workers: int | None
    pause_seconds: int
    min_samples: int
    verbose: bool
    log_dir: pathlib.Path
    deadline: float  # time.monotonic() by which the whole run must be over


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    rollout: str
    step_index: int
    trigger: str  # "promote" or "timed"
    latency: float | None  # None: no response seen
    argo_latency: float | None = None  # timed pauses: from startTime + duration
    to_status: float | None = None  # from the condition to the status showing the next step
    response: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioResult:
    rollouts: int
    updates: int
    measurements: tuple[Measurement, ...]
    rss_mib: float
    api_requests: dict[str, float]
    steps_completed: int
    update_seconds: float
    total_seconds: float
    reconciles: float
    reconcile_seconds: float
    watch_events_controller: float
    max_queue_depth: float
    cpu_seconds: dict[str, float]  # during the updates: per process, plus "machine busy" and "machine total"
    namespace: str
    log_path: pathlib.Path

    @property
    def api_requests_per_step(self) -> float | None:
        total = sum(self.api_requests.values())
        return total / self.steps_completed if self.steps_completed else None


class Scenario:
    def __init__(self, *, rollouts: int, kube: Kube, options: Options) -> None:
        self.count, self.kube, self.options = rollouts, kube, options
        self.token = secrets.token_hex(2)
        self.namespace = f"{options.namespace_prefix}-{rollouts}-{self.token}"
        self.names = [f"r{index:03d}" for index in range(rollouts)]
        self.steps = canary_steps(options.pause_seconds)
        measured_per_update = sum(1 for step in self.steps if "pause" in step)
        self.updates = max(1, math.ceil(options.min_samples / (rollouts * measured_per_update)))
        self.recorder = Recorder(namespace=self.namespace, kube=kube)
        self.controller = ControllerProcess(
            namespace=self.namespace,
            log_path=options.log_dir / f"controller-{self.namespace}.log",
            workers=options.workers,
            verbose=options.verbose,
        )
        self.promoted: dict[tuple[str, str, int], float] = {}
        self.extra_nodes: list[str] = []

    # -- the run ---------------------------------------------------------------------------------------------

    def run(self) -> ScenarioResult:
        started = time.time()
        try:
            return self._run(started)
        finally:
            self.cleanup()

    def _run(self, started: float) -> ScenarioResult:
        say(
            f"[{self.namespace}] {scenario_name(self.count)}, {self.updates} update(s); log {self.controller.log_path}"
        )
        self.kube.core.create_namespace(
            {"metadata": {"name": self.namespace, "labels": {BENCH_LABEL: "step-latency"}}}
        )
        self.extra_nodes = add_fake_nodes(
            self.kube, pods_needed=int(self.count * (REPLICAS + SURGE) * 1.1), token=self.token
        )
        if self.extra_nodes:
            say(f"[{self.namespace}] added {len(self.extra_nodes)} fake node(s) for pod room")
        self.recorder.start()
        self.controller.start()
        self._create_objects()
        self._wait(self._all_healthy(None), timeout=90 + 0.5 * self.count, what="all Rollouts Healthy")
        say(f"[{self.namespace}] all Healthy after {time.time() - started:.1f} s")
        before, cpu_before = self.controller.metrics(), cpu_snapshot(self.controller.pid)
        update_seconds = 0.0
        for update in range(1, self.updates + 1):
            update_seconds += self._update(update)
        after, cpu_after = self.controller.metrics(), cpu_snapshot(self.controller.pid)
        rss = self.controller.peak_rss_mib()
        if self.recorder.errors:
            say(f"[{self.namespace}] watch hiccups (recovered): {self.recorder.errors[:3]}")
        return ScenarioResult(
            rollouts=self.count,
            updates=self.updates,
            measurements=tuple(self._measure()),
            rss_mib=rss,
            api_requests=metric_delta(before, after, "rollwave_api_requests_total", by="verb"),
            steps_completed=self.count * self.updates * len(self.steps),
            update_seconds=update_seconds,
            total_seconds=time.time() - started,
            reconciles=sum(metric_delta(before, after, "rollout_reconcile_count").values()),
            reconcile_seconds=sum(metric_delta(before, after, "rollout_reconcile_sum").values()),
            watch_events_controller=sum(metric_delta(before, after, "rollwave_watch_events_total").values()),
            max_queue_depth=self.controller.max_queue_depth,
            cpu_seconds={key: cpu_after[key] - cpu_before.get(key, 0.0) for key in cpu_after},
            namespace=self.namespace,
            log_path=self.controller.log_path,
        )

    def _create_objects(self) -> None:
        core, custom, namespace = self.kube.core, self.kube.custom, self.namespace
        calls: list[Callable[[], object]] = []
        for name in self.names:
            for role in ("stable", "canary"):
                manifest = service_manifest(f"{name}-{role}", app=name)
                calls.append(functools.partial(core.create_namespaced_service, namespace, manifest))
            rollout = rollout_manifest(name, image=image_for(0), steps=self.steps)
            calls.append(
                functools.partial(
                    custom.create_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, rollout
                )
            )
        run_parallel(calls)

    def _update(self, update: int) -> float:
        states = self.recorder.snapshot()
        old_hashes = {name: states[name].pod_hash for name in self.names}
        started = time.time()
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image_for(update)}]}}}
        }
        patch_one = functools.partial(
            self.kube.custom.patch_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL
        )
        run_parallel(functools.partial(patch_one, name, patch) for name in self.names)
        per_step, previous = 30 + 0.3 * self.count, -1
        for index, step in enumerate(self.steps):
            if step.get("pause") != {}:
                continue
            self._wait(
                self._all_paused_at(index, old_hashes),
                timeout=per_step * (index - previous),
                what=f"update {update}: all Rollouts paused at step {index}",
            )
            self._promote_all(index)
            previous = index
        self._wait(
            self._all_healthy(old_hashes), timeout=60 + 0.5 * self.count, what=f"update {update}: all Healthy"
        )
        elapsed = time.time() - started
        say(f"[{self.namespace}] update {update}/{self.updates} done in {elapsed:.1f} s")
        return elapsed

    def _promote_all(self, index: int) -> None:
        states = self.recorder.snapshot()

        def promote(name: str) -> None:
            pod_hash = states[name].pod_hash or ""
            self.promoted.setdefault((name, pod_hash, index), time.time())  # a retry keeps the first send
            self.kube.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, PLURAL, name, {"status": {"pauseConditions": None}}
            )

        run_parallel(functools.partial(promote, name) for name in self.names)

    def _wait(self, predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
        def check() -> bool:
            self.controller.check_alive()
            return predicate()

        remaining = self.options.deadline - time.monotonic()
        try:
            wait_until(check, timeout=min(timeout, max(remaining, 0.0)), what=what)
        except BenchmarkError as err:
            states = self.recorder.snapshot()
            sample = {name: states.get(name) for name in self.names[:3]}
            raise BenchmarkError(f"{err}; first rollouts: {sample}") from None

    def _all_healthy(self, old_hashes: Mapping[str, str | None] | None) -> Callable[[], bool]:
        # Healthy is written before the stable Service is switched (one pass later): wait for both.
        def check() -> bool:
            states, selectors = self.recorder.snapshot(), self.recorder.selectors()
            for name in self.names:
                state = states.get(name)
                if state is None or state.phase != "Healthy" or state.pod_hash is None:
                    return False
                if state.stable_hash != state.pod_hash or selectors.get(f"{name}-stable") != state.pod_hash:
                    return False
                if old_hashes is not None and state.pod_hash == old_hashes[name]:
                    return False
            return True

        return check

    def _all_paused_at(self, index: int, old_hashes: Mapping[str, str | None]) -> Callable[[], bool]:
        def check() -> bool:
            states = self.recorder.snapshot()
            return all(
                (state := states.get(name)) is not None
                and state.pod_hash != old_hashes[name]
                and state.step_index == index
                and state.pause_start is not None
                for name in self.names
            )

        return check

    # -- the figures -----------------------------------------------------------------------------------------

    def _measure(self) -> list[Measurement]:
        found = []
        changes, step_seen, pause_seen = self.recorder.history()
        for (name, pod_hash, index), seen in sorted(pause_seen.items()):
            step = self.steps[index] if index < len(self.steps) else {}
            if "pause" not in step:
                continue
            advanced = step_seen.get((name, pod_hash, index + 1))
            duration = step["pause"].get("duration")
            if duration is None:
                sent = self.promoted.get((name, pod_hash, index))
                if sent is None:
                    continue  # the initial deployment or a pause this run did not promote
                reference, argo_reference, trigger = sent, None, "promote"
            else:
                seconds = float(duration.removesuffix("s"))
                reference, trigger = seen.at + seconds, "timed"
                argo_reference = parse_timestamp(seen.start_time) + seconds
            # The first change after the pause began (a timed pause) or after the promote was sent.
            response = first_response(
                changes.get(name, []),
                after=seen.at if trigger == "timed" else reference,
                hashes=(pod_hash, seen.stable_hash),
            )
            found.append(
                Measurement(
                    rollout=name,
                    step_index=index,
                    trigger=trigger,
                    latency=response.at - reference if response else None,
                    argo_latency=response.at - argo_reference if response and argo_reference else None,
                    to_status=advanced - reference if advanced is not None else None,
                    response=response.what if response else "",
                )
            )
        return found

    def cleanup(self) -> None:
        self.controller.stop()
        self.recorder.stop()
        if self.options.keep:
            say(f"[{self.namespace}] kept (--keep); delete with: kubectl delete namespace {self.namespace}")
            return
        with contextlib.suppress(Exception):
            self.kube.core.delete_namespace(self.namespace)

        def gone() -> bool:
            try:
                self.kube.core.read_namespace(self.namespace)
            except Exception as err:
                return getattr(err, "status", None) == 404
            return False

        try:
            wait_until(gone, timeout=120, what=f"namespace {self.namespace} to be deleted", interval=1)
        except BenchmarkError as err:
            say(f"[{self.namespace}] {err} (left to the namespace controller)")
        for node in self.extra_nodes:
            with contextlib.suppress(Exception):
                self.kube.core.delete_node(node)


def image_for(update: int) -> str:
    return f"registry.example/bench/app:v{update}"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Report


def rows_for(result: ScenarioResult) -> list[Row]:
    scenario = scenario_name(result.rollouts)
    measured = result.measurements

    def latencies(kind: str | None, *, argo: bool = False) -> tuple[list[float], int]:
        chosen = [m for m in measured if kind is None or m.trigger == kind]
        values = [m.argo_latency if argo else m.latency for m in chosen]
        present = [v for v in values if v is not None]
        return present, len(values) - len(present)

    every, every_missed = latencies(None)
    promoted, promoted_missed = latencies("promote")
    timed, timed_missed = latencies("timed")
    argo, argo_missed = latencies("timed", argo=True)
    return [
        Row(
            scenario=scenario,
            trigger="all measured steps",
            latency=summarize(every),
            missed=every_missed,
            rss_mib=result.rss_mib,
            api_requests_per_step=result.api_requests_per_step,
            wall_seconds=result.update_seconds,
        ),
        Row(scenario=scenario, trigger="  promote", latency=summarize(promoted), missed=promoted_missed),
        Row(scenario=scenario, trigger="  timed pause", latency=summarize(timed), missed=timed_missed),
        Row(
            scenario=scenario, trigger="  timed, from startTime", latency=summarize(argo), missed=argo_missed
        ),
    ]


def details(result: ScenarioResult) -> list[str]:
    scenario = scenario_name(result.rollouts)
    to_status = summarize([m.to_status for m in result.measurements if m.to_status is not None])
    after_status = summarize(
        [
            m.latency - m.to_status
            for m in result.measurements
            if m.latency is not None and m.to_status is not None
        ]
    )
    verbs = ", ".join(
        f"{verb} {count / result.steps_completed:.1f}" for verb, count in result.api_requests.items() if count
    )
    reconcile_ms = result.reconcile_seconds / result.reconciles * 1000 if result.reconciles else 0.0
    lines = [
        f"{scenario}: {result.updates} update(s) x {result.rollouts} rollout(s), "
        f"{result.steps_completed} steps completed; scenario wall {result.total_seconds:.1f} s "
        f"(updates {result.update_seconds:.1f} s); namespace {result.namespace}",
        f"  API requests per step by verb: {verbs or '-'}",
        f"  CPU during the updates: {cpu_line(result.cpu_seconds)}",
        f"  reconciles: {result.reconciles:.0f} ({result.reconciles / max(result.steps_completed, 1):.1f} per step), "
        f"mean {reconcile_ms:.1f} ms, busy {result.reconcile_seconds:.1f} s of worker time; "
        f"controller watch events {result.watch_events_controller:.0f}; max queue depth seen {result.max_queue_depth:.0f}",
    ]
    if to_status and after_status:
        lines.append(
            f"  split: condition -> status shows next step p50 {_milliseconds(to_status.p50)} / "
            f"p99 {_milliseconds(to_status.p99)} ms; then -> ReplicaSet/Service change "
            f"p50 {_milliseconds(after_status.p50)} / p99 {_milliseconds(after_status.p99)} ms"
        )
    slowest = sorted(
        (m for m in result.measurements if m.latency is not None), key=lambda m: -(m.latency or 0)
    )
    for m in slowest[:3]:
        lines.append(
            f"  slow: {m.rollout} step {m.step_index} ({m.trigger}) {_milliseconds(m.latency)} ms -> {m.response}"
        )
    return lines


def cpu_line(cpu_seconds: Mapping[str, float]) -> str:
    """cpu_line({"machine busy": 90, "machine total": 100, "controller": 30, "etcd": 5})
    -> 'machine 90% busy; controller 30.0 s, etcd 5.0 s'
    """
    processes = sorted(
        ((name, seconds) for name, seconds in cpu_seconds.items() if not name.startswith("machine")),
        key=lambda item: -item[1],
    )
    listed = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in processes)
    total = cpu_seconds.get("machine total", 0.0)
    if not total:
        return listed
    return f"machine {cpu_seconds.get('machine busy', 0.0) / total:.0%} busy; {listed}"


def report(results: Sequence[ScenarioResult]) -> str:
    rows = [row for result in results for row in rows_for(result)]
    lines = [format_table(rows), ""]
    for result in results:
        lines += details(result)
    lines.append("")
    for result in results:
        main = rows_for(result)[0]
        lines.append(
            target_line(
                scenario=main.scenario,
                p99_seconds=main.latency.p99 if main.latency else None,
                target=target_seconds(result.rollouts),
            )
        )
    lines.append(
        "(targets apply to 'all measured steps': promotes and timed pauses measured from the observed pause start; "
        "informational, the exit code does not depend on them)"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--rollouts",
        default="1,200",
        help="comma-separated Rollout counts, one scenario each (default 1,200)",
    )
    parser.add_argument("--namespace-prefix", default="bench")
    parser.add_argument("--keep", action="store_true", help="keep namespaces and extra nodes for inspection")
    parser.add_argument(
        "--workers", type=int, default=None, help="passed to the controller (default: its own)"
    )
    parser.add_argument("--pause-seconds", type=int, default=2, help="duration of the timed pauses")
    parser.add_argument(
        "--min-samples",
        type=int,
        default=20,
        help="repeat the update until at least this many steps are measured (matters for 1 Rollout)",
    )
    parser.add_argument("--verbose", action="store_true", help="run the controller with --verbose")
    parser.add_argument(
        "--timeout", type=float, default=1500, help="seconds for the whole run, all scenarios (default 1500)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(part) for part in args.rollouts.split(",") if part.strip()]
    options = Options(
        namespace_prefix=args.namespace_prefix,
        keep=args.keep,
        workers=args.workers,
        pause_seconds=args.pause_seconds,
        min_samples=args.min_samples,
        verbose=args.verbose,
        log_dir=pathlib.Path(tempfile.mkdtemp(prefix="rollwave-bench-")),
        deadline=time.monotonic() + args.timeout,
    )
    kube = connect()
    results = []
    try:
        for count in counts:
            results.append(Scenario(rollouts=count, kube=kube, options=options).run())
    except BenchmarkError as err:
        say(f"benchmark failed: {err}")
        return 1
    except Exception:
        traceback.print_exc()
        say("benchmark failed: unexpected error (above)")
        return 1
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
