"""`rollwave dev up | down | status | env`: a real Kubernetes control plane on 127.0.0.1, built here.

Layout of the state folder (outside the repo, ``~/.cache/rollwave/dev/<name>/`` by default):

    kwok/               kwokctl's workdir: pki, etcd data, component logs, pids
    kwokctl.yaml        the kwokctl configuration and the Stages we pass in
    prometheus/         prometheus.yml, targets/*.json (file-based discovery, for tests), data/, pid, log
    alertmanager/       alertmanager.yml, data/, pid, log
    env                 the `export ...` lines printed by `rollwave dev env`

Every step checks before it acts, so `up` twice is a no-op and `up` after a crash repairs what is missing.
`down` stops exactly the processes `up` started: kwokctl's components by the pids kwokctl recorded, and
Prometheus/Alertmanager by the pid files written here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence

import yaml

from rollouts.devcluster import stages

K8S_VERSION = "1.34.4"
KWOK_VERSION = "v0.8.0"
ETCD_VERSION = "v3.6.10"
PROMETHEUS_PORT = 19090
ALERTMANAGER_PORT = 19093
NODE_COUNT = 2

Say = Callable[[str], None]


def _say_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DevCluster:
    """Where one local cluster keeps its binaries and state."""

    name: str = "rollwave"
    cache_root: pathlib.Path = dataclasses.field(default_factory=lambda: default_cache_root())

    @property
    def build_dir(self) -> pathlib.Path:
        return self.cache_root / f"k8s-v{K8S_VERSION}-kwok{KWOK_VERSION}-etcd{ETCD_VERSION}"

    @property
    def bin_dir(self) -> pathlib.Path:
        return self.build_dir / "bin"

    @property
    def state_dir(self) -> pathlib.Path:
        return self.cache_root / "dev" / self.name

    @property
    def kwok_workdir(self) -> pathlib.Path:
        return self.state_dir / "kwok"

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.kwok_workdir / "clusters" / self.name / "kubeconfig.yaml"

    @property
    def prometheus_dir(self) -> pathlib.Path:
        return self.state_dir / "prometheus"

    @property
    def prometheus_targets_dir(self) -> pathlib.Path:
        return self.prometheus_dir / "targets"

    @property
    def alertmanager_dir(self) -> pathlib.Path:
        return self.state_dir / "alertmanager"

    @property
    def controller_dir(self) -> pathlib.Path:
        """Where `rollwave demo` keeps the controller it started in the background (pid, log)."""
        return self.state_dir / "controller"

    @property
    def demo_traffic_dir(self) -> pathlib.Path:
        """Where `rollwave demo` keeps its traffic simulator (rollouts/devcluster/demo_traffic.py): pid, log."""
        return self.state_dir / "demo-traffic"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{PROMETHEUS_PORT}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{ALERTMANAGER_PORT}"

    def env(self) -> dict[str, str]:
        """What a shell, a test or the controller needs to use this cluster."""
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "ROLLWAVE_DEV_BIN": str(self.bin_dir),
            "ROLLWAVE_PROMETHEUS_URL": self.prometheus_url,
            "ROLLWAVE_PROMETHEUS_TARGETS_DIR": str(self.prometheus_targets_dir),
            "ROLLWAVE_ALERTMANAGER_URL": self.alertmanager_url,
        }


def default_cache_root() -> pathlib.Path:
    explicit = os.environ.get("ROLLWAVE_CACHE_DIR")
    if explicit:
        return pathlib.Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (pathlib.Path(xdg) if xdg else pathlib.Path.home() / ".cache") / "rollwave"


# ---------------------------------------------------------------------------------------------------------------
# Build


def build_binaries(cluster: DevCluster, *, say: Say = _say_to_stderr) -> pathlib.Path:
    """Build (once) kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, kwokctl and etcd."""
    if (cluster.build_dir / ".done").exists():
        return cluster.bin_dir
    if shutil.which("go") is None:
        raise DevClusterError(
            "Go is needed to build the control plane (go 1.26 from the machine); `go` is not on PATH"
        )
    script = pathlib.Path(__file__).with_name("build-binaries.sh")
    env = {
        **os.environ,
        "RW_K8S_VERSION": K8S_VERSION,
        "RW_KWOK_VERSION": KWOK_VERSION,
        "RW_ETCD_VERSION": ETCD_VERSION,
        "RW_CACHE_DIR": str(cluster.cache_root),
    }
    say(f"building the control plane into {cluster.build_dir} (first time only; cached by version)")
    log_path = cluster.cache_root / "build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("a") as log, _Ticker(say=say, started=started) as ticker:
        process = subprocess.Popen(
            ["bash", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        for line in process.stderr:
            log.write(line)
            log.flush()
            if line.startswith("==> "):
                ticker.stage = line.split("] ", 1)[-1].strip()
                say(f"  [{_elapsed(started)}] {ticker.stage}")
        process.wait()
    if process.returncode != 0:
        raise DevClusterError(
            f"building the control plane failed (exit {process.returncode}); see {log_path}"
        )
    say(f"  [{_elapsed(started)}] build finished")
    return cluster.bin_dir


class _Ticker:
    """Prints a line every 30 s during the long compile, so a newcomer sees that work goes on."""

    def __init__(self, *, say: Say, started: float) -> None:
        self.say, self.started, self.stage = say, started, "starting"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(30):
            self.say(f"  [{_elapsed(self.started)}] still working: {self.stage}")


def _elapsed(started: float) -> str:
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60}m{seconds % 60:02d}s"


class DevClusterError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Debian packages


def ensure_debian_packages(*, say: Say = _say_to_stderr) -> None:
    missing = [
        pkg
        for pkg, exe in (("prometheus", "prometheus"), ("prometheus-alertmanager", "prometheus-alertmanager"))
        if shutil.which(exe) is None
    ]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise DevClusterError(f"{', '.join(missing)} missing and no apt-get to install them")
    say(f"installing Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes (kwokctl, binary runtime)


def _tool_env(cluster: DevCluster) -> dict[str, str]:
    # kwokctl checks readiness with the kubectl it finds on PATH and would download one if none were there.
    return {
        **os.environ,
        "PATH": f"{cluster.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "KWOK_WORKDIR": str(cluster.kwok_workdir),
        "GOTOOLCHAIN": "local",
    }


def _kwokctl(cluster: DevCluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cluster.bin_dir / "kwokctl"), f"--name={cluster.name}", *args],
        env=_tool_env(cluster),
        check=check,
        capture_output=True,
        text=True,
    )


def kubectl(
    cluster: DevCluster, *args: str, check: bool = True, input_text: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={cluster.kubeconfig}", *args],
        env=_tool_env(cluster),
        check=check,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=timeout,
    )


def write_kwokctl_config(cluster: DevCluster) -> pathlib.Path:
    b = cluster.bin_dir
    configuration = {
        "kind": "KwokctlConfiguration",
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeApiserverBinary": str(b / "kube-apiserver"),
            "kubeControllerManagerBinary": str(b / "kube-controller-manager"),
            "kubeSchedulerBinary": str(b / "kube-scheduler"),
            "kubectlBinary": str(b / "kubectl"),
            "kwokControllerBinary": str(b / "kwok"),
            "etcdBinary": str(b / "etcd"),
            "kubeVersion": f"v{K8S_VERSION}",
            "etcdVersion": ETCD_VERSION.lstrip("v"),
        },
        "componentsPatches": [
            {
                "name": "kube-apiserver",
                # No default route on these machines: the apiserver refuses to start without an explicit address.
                "extraArgs": [{"key": "advertise-address", "value": "127.0.0.1"}],
            },
            # One instance each: leader election would only make a restarted component wait ~15 s for the lease
            # its previous process still holds, with Jobs and Deployments stalled meanwhile.
            {"name": "kube-controller-manager", "extraArgs": [{"key": "leader-elect", "value": "false"}]},
            {"name": "kube-scheduler", "extraArgs": [{"key": "leader-elect", "value": "false"}]},
            # kwok holds a lease per node and a restarted kwok waits for its predecessor's to expire before it runs
            # any pod: kwokctl's 200 s would stall a recovered cluster for minutes. Leases stay on (without them the
            # controller-manager would evict every pod after a while), just short.
            {"name": "kwok-controller", "extraArgs": [{"key": "node-lease-duration-seconds", "value": "15"}]},
        ],
    }
    documents = [configuration, *stages.stage_documents(cluster.build_dir / "kwok-stages")]
    path = cluster.state_dir / "kwokctl.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def api_is_ready(cluster: DevCluster) -> bool:
    if not cluster.kubeconfig.exists():
        return False
    try:
        return kubectl(cluster, "get", "--raw=/readyz", check=False, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def dead_components(cluster: DevCluster) -> list[str]:
    """Components kwokctl started whose process is gone (e.g. after a crash or an OOM kill)."""
    pids = cluster.kwok_workdir / "clusters" / cluster.name / "pids"
    return sorted(
        pid_file.stem for pid_file in pids.glob("*.pid") if not _pid_alive(_pid_from(pid_file) or 0)
    )


def start_kubernetes(cluster: DevCluster, *, say: Say = _say_to_stderr) -> None:
    config = write_kwokctl_config(cluster)
    cluster_dir = cluster.kwok_workdir / "clusters" / cluster.name
    created_with = cluster.state_dir / "kwokctl.created.yaml"
    if cluster_dir.exists() and (not created_with.exists() or created_with.read_text() != config.read_text()):
        # kwokctl keeps the configuration a cluster was created with; a changed one (a new rollwave version) needs a
        # new cluster. Test clusters hold nothing worth keeping.
        say("kubernetes: the cluster configuration changed, recreating the cluster")
        _kwokctl(cluster, "delete", "cluster", check=False)
    dead = dead_components(cluster)
    if api_is_ready(cluster) and not dead:
        say("kubernetes: already running")
    else:
        if cluster_dir.exists():
            # A crash or reboot left the cluster (or part of it) stopped: kwokctl starts what is missing, keeping
            # etcd's data; if that fails, the cluster is recreated.
            say(f"kubernetes: restarting {', '.join(dead) if dead else 'the existing cluster'}")
            if dead:
                # kwokctl takes an unreaped (zombie) pid for a running process and would skip it: stop all, then start.
                _kwokctl(cluster, "stop", "cluster", check=False)
            restarted = _kwokctl(cluster, "start", "cluster", "--timeout=3m", check=False)
            if restarted.returncode != 0 or not _wait(lambda: api_is_ready(cluster), timeout=120):
                say("kubernetes: restart failed, recreating the cluster")
                _kwokctl(cluster, "delete", "cluster", check=False)
        if not api_is_ready(cluster):
            say(
                "kubernetes: creating the cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok)"
            )
            dry = _kwokctl(cluster, "create", "cluster", f"--config={config}", "--dry-run", check=False)
            if "Download http" in dry.stdout + dry.stderr:
                raise DevClusterError(
                    "kwokctl would download a binary; refusing (check the kwokctl configuration)"
                )
            created = _kwokctl(
                cluster,
                "create",
                "cluster",
                f"--config={config}",
                f"--kubeconfig={cluster.state_dir / 'kubeconfig-merged'}",
                "--wait=3m",
                check=False,
            )
            if created.returncode != 0:
                raise DevClusterError(f"kwokctl create cluster failed:\n{created.stdout}\n{created.stderr}")
            created_with.write_text(config.read_text())
    _ensure_nodes(cluster, say=say)
    wait_for_service_account(cluster)


def _ensure_nodes(cluster: DevCluster, *, say: Say) -> None:
    listed = json.loads(kubectl(cluster, "get", "nodes", "-o", "json").stdout)
    if len(listed["items"]) < NODE_COUNT:
        say(f"kubernetes: adding {NODE_COUNT - len(listed['items'])} fake node(s)")
        _kwokctl(cluster, "scale", "node", f"--replicas={NODE_COUNT}")
    kubectl(cluster, "wait", "--for=condition=Ready", "node", "--all", "--timeout=90s")


def wait_for_service_account(cluster: DevCluster, *, namespace: str = "default") -> None:
    # The ServiceAccount admission plugin refuses pods until the controller-manager made the namespace's default SA.
    ok = _wait(
        lambda: (
            kubectl(cluster, "get", "serviceaccount", "default", "-n", namespace, check=False).returncode == 0
        ),
        timeout=60,
    )
    if not ok:
        raise DevClusterError(
            "the default ServiceAccount never appeared; is kube-controller-manager running?"
        )


# ---------------------------------------------------------------------------------------------------------------
# Prometheus and Alertmanager (Debian packages, loopback only)


def _prometheus_config(cluster: DevCluster) -> dict[str, object]:
    return {
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{ALERTMANAGER_PORT}"]}]}]
        },
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{PROMETHEUS_PORT}"]}]},
            # Tests drop a JSON file here to have Prometheus scrape an exporter they started on loopback.
            {
                "job_name": "loopback",
                "file_sd_configs": [
                    {"files": [str(cluster.prometheus_targets_dir / "*.json")], "refresh_interval": "2s"}
                ],
            },
        ],
    }


def _alertmanager_config() -> dict[str, object]:
    return {
        "route": {"receiver": "default", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "default"}],
    }


def start_daemon(
    *, name: str, argv: Sequence[str], folder: pathlib.Path, health_url: str, say: Say, version: str = ""
) -> None:
    """Starts a background process unless the one we started before is alive, healthy and was started with the
    same `version` (any text, e.g. a fingerprint of the code and arguments; kept in `folder/version`), else
    restarts it; its pid goes to `folder/pid`. A healthy answer from a process we did not start means the port
    is taken: say so."""
    folder.mkdir(parents=True, exist_ok=True)
    pid_file, version_file = folder / "pid", folder / "version"
    ours_alive = _pid_from(pid_file) is not None and _pid_alive(_pid_from(pid_file) or 0)
    started_as = version_file.read_text() if version_file.exists() else ""
    if ours_alive and _http_ok(health_url):
        if started_as == version:
            say(f"{name}: already running")
            return
        say(f"{name}: restarting (its code or arguments changed)")
    _stop_by_pid_file(pid_file)
    version_file.write_text(version)
    if _http_ok(health_url):
        raise DevClusterError(
            f"{name}: {health_url} already answers, but not from a process rollwave started; "
            "stop that process or free the port"
        )
    say(f"{name}: starting on {urllib.parse.urlsplit(health_url).netloc}")
    log = (folder / "log").open("ab")
    process = subprocess.Popen(
        list(argv), stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
    )
    pid_file.write_text(str(process.pid))
    if (
        not _wait(lambda: _http_ok(health_url) or process.poll() is not None, timeout=60)
        or process.poll() is not None
    ):
        raise DevClusterError(f"{name} did not become ready; see {folder / 'log'}")


def daemon_running(folder: pathlib.Path) -> bool:
    """Whether the process `start_daemon` started with this folder is alive."""
    pid = _pid_from(folder / "pid")
    return pid is not None and _pid_alive(pid)


def stop_daemon(folder: pathlib.Path) -> bool:
    """Stops what `start_daemon` started with this folder (SIGTERM, then SIGKILL after 15 s); True if it ran."""
    return _stop_by_pid_file(folder / "pid")


def _pid_from(pid_file: pathlib.Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def start_monitoring(cluster: DevCluster, *, say: Say = _say_to_stderr) -> None:
    prom, am = cluster.prometheus_dir, cluster.alertmanager_dir
    for folder in (prom / "data", cluster.prometheus_targets_dir, am / "data"):
        folder.mkdir(parents=True, exist_ok=True)
    (prom / "prometheus.yml").write_text(yaml.safe_dump(_prometheus_config(cluster), sort_keys=False))
    (am / "alertmanager.yml").write_text(yaml.safe_dump(_alertmanager_config(), sort_keys=False))
    start_daemon(
        name="alertmanager",
        argv=[
            "prometheus-alertmanager",
            f"--config.file={am / 'alertmanager.yml'}",
            f"--storage.path={am / 'data'}",
            f"--web.listen-address=127.0.0.1:{ALERTMANAGER_PORT}",
            "--cluster.listen-address=",  # no gossip port on 0.0.0.0: a single local instance
        ],
        folder=am,
        health_url=f"{cluster.alertmanager_url}/-/ready",
        say=say,
    )
    start_daemon(
        name="prometheus",
        argv=[
            "prometheus",
            f"--config.file={prom / 'prometheus.yml'}",
            f"--storage.tsdb.path={prom / 'data'}",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=1d",
        ],
        folder=prom,
        health_url=f"{cluster.prometheus_url}/-/ready",
        say=say,
    )


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def _stop_by_pid_file(pid_file: pathlib.Path) -> bool:
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        pid_file.unlink()
        return False
    stopped = False
    if _pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        if not _wait(lambda: not _pid_alive(pid), timeout=15):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    pid_file.unlink()
    return stopped


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def _wait(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------------------------
# Commands


def up(cluster: DevCluster, *, say: Say = _say_to_stderr) -> None:
    started = time.monotonic()
    build_binaries(cluster, say=say)
    ensure_debian_packages(say=say)
    start_kubernetes(cluster, say=say)
    start_monitoring(cluster, say=say)
    (cluster.state_dir / "env").write_text(format_env(cluster))
    say(f'ready in {_elapsed(started)}; run: eval "$(rollwave dev env)"')


def down(cluster: DevCluster, *, say: Say = _say_to_stderr) -> None:
    daemons = (
        ("controller", cluster.controller_dir),
        ("demo traffic", cluster.demo_traffic_dir),
        ("prometheus", cluster.prometheus_dir),
        ("alertmanager", cluster.alertmanager_dir),
    )
    for name, folder in daemons:
        if _stop_by_pid_file(folder / "pid"):
            say(f"{name}: stopped")
    if (cluster.kwok_workdir / "clusters" / cluster.name).exists():
        result = _kwokctl(cluster, "delete", "cluster", check=False)
        say(
            "kubernetes: deleted"
            if result.returncode == 0
            else f"kubernetes: delete failed: {result.stderr.strip()}"
        )


def status(cluster: DevCluster) -> dict[str, bool]:
    return {
        "binaries built": (cluster.build_dir / ".done").exists(),
        "kubernetes api ready": api_is_ready(cluster),
        "kubernetes components running": (cluster.kwok_workdir / "clusters" / cluster.name / "pids").exists()
        and not dead_components(cluster),
        "prometheus ready": _http_ok(f"{cluster.prometheus_url}/-/ready"),
        "alertmanager ready": _http_ok(f"{cluster.alertmanager_url}/-/ready"),
    }


def format_env(cluster: DevCluster) -> str:
    lines = [f"export {key}={value}" for key, value in cluster.env().items()]
    lines.append(f'export PATH="{cluster.bin_dir}:$PATH"')
    return "\n".join(lines) + "\n"


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
