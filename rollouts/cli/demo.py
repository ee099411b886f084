"""`rollwave demo`: the whole product on one screen: an Application synced from Git, in waves, whose canary
Rollout is gated by Prometheus analysis; a bad commit is rolled back by its analysis, a good one goes through.

Run by `make demo` after `rollwave dev up`. It installs the CRDs, starts two background daemons (the controller
for namespace `rollwave-demo`, which reconciles Rollouts, AnalysisRuns and Applications there, and the traffic
simulator rollouts/devcluster/demo_traffic.py that makes request metrics for the fake pods), then:

1. makes a Git repository holding examples/app (`<dev state dir>/demo-repo`, e.g.
   `~/.cache/rollwave/dev/rollwave/demo-repo`) and applies the Application `demo` (examples/app/application.yaml
   with the repository's `file://` URL): automated sync of `deploy/`, the repository polled every 5 s. The sync
   runs the PreSync Job demo-migrate, wave -1 (ConfigMap demo-config), wave 0 (Services, Rollout demo,
   AnalysisTemplate), then the PostSync Job demo-smoke; the demo prints `rollwave app get demo`;
2. commits a bad version (a new image, `ERROR_RATE` 0.5: half its requests fail): the controller syncs it, the
   Rollout's analysis fails, the Rollout aborts back to its stable version (Degraded), so wave 0 fails, the sync
   fails without running the PostSync hook and the Application is Degraded. It prints the failed AnalysisRun;
3. commits a good version (another image, `ERROR_RATE` 0): synced the same way, its analysis passes, the Rollout
   becomes Healthy, then the PostSync smoke Job runs. It prints `rollwave app history demo`.

Exit 0 when all three went that way (checked on the cluster, not only from the sync's result), 1 otherwise.
Any state is a starting point: the repository is reused, and before the bad commit its HEAD is made a good
version (the stable one the Rollout runs, when there is one), committed only if the files differ, so a rerun
after a run that stopped half-way, or after `rollwave dev down`, works. Every run commits two new versions.
The daemons keep running (a second run reuses them, or restarts them when rollwave's code changed);
`rollwave dev down` stops them.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import pathlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import rollouts
from rollouts.devcluster import cluster as devcluster

NAMESPACE = "rollwave-demo"
APP = "demo"
ROLLOUT = "demo"
MIGRATE_JOB = "demo-migrate"
SMOKE_JOB = "demo-smoke"
CONTROLLER_PORT = 18090
TRAFFIC_PORT = 18091
GOOD_IMAGES = ("argoproj/rollouts-demo:blue", "argoproj/rollouts-demo:yellow")
BAD_IMAGE = "argoproj/rollouts-demo:bad-red"
BAD_ERROR_RATE = "0.5"
REPO_URL_PLACEHOLDER = "REPO_URL"
ROLLOUT_FILE = "deploy/rollout.yaml"
ENDED = ("Succeeded", "Failed", "Error")
SETTLED_HEALTH = ("Healthy", "Degraded")
HEALTH_GRACE_SECONDS = 15.0

Kubectl = Callable[..., str]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="run the demo on the local control plane (after `rollwave dev up`)"
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for each stage of the demo"
    )
    parser.set_defaults(run=run)


def _say(message: str) -> None:
    print(f"\n\033[1m==> {message}\033[0m" if sys.stdout.isatty() else f"\n==> {message}", flush=True)


def _source_checkout() -> pathlib.Path:
    return pathlib.Path(rollouts.__file__).resolve().parents[1]


def _repo_file(*parts: str) -> pathlib.Path:
    path = _source_checkout().joinpath(*parts)
    if not path.exists():
        raise SystemExit(f"rollwave demo needs a source checkout: {path} is missing")
    return path


# ---------------------------------------------------------------------------------------------------------------
# The Git repository the Application syncs from


class DemoRepo:
    """A Git repository under the dev cluster's state dir holding a copy of examples/app; the demo commits
    versions of it (the Rollout's image and ERROR_RATE)."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root

    @property
    def url(self) -> str:
        return f"file://{self.root}"

    def git(self, *args: str) -> str:
        result = subprocess.run(
            [
                "git",
                "-c",
                "user.name=rollwave demo",
                "-c",
                "user.email=demo@rollwave.dev",
                "-c",
                "commit.gpgsign=false",
                *args,
            ],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise SystemExit(f"git {' '.join(args)} in {self.root} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def ensure(self) -> bool:
        """Creates the repository unless it exists; True when it was created."""
        if (self.root / ".git").is_dir():
            return False
        self.root.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")
        return True

    def head(self) -> str | None:
        if not self.git("rev-list", "--all", "--max-count=1"):
            return None
        return self.git("rev-parse", "HEAD")

    def version(self) -> tuple[str, str] | None:
        """The (image, ERROR_RATE) of the Rollout in the working tree, if it is there."""
        path = self.root / ROLLOUT_FILE
        return read_version(path.read_text()) if path.exists() else None

    def write(self, *, image: str, error_rate: str) -> None:
        """Makes the working tree examples/app, with this image and ERROR_RATE in the Rollout."""
        source = _repo_file("examples", "app")
        wanted = {path.relative_to(source) for path in source.rglob("*") if path.is_file()}
        for path in sorted(self.root.rglob("*"), reverse=True):
            relative = path.relative_to(self.root)
            if relative.parts[0] == ".git":
                continue
            if path.is_file() and relative not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        for relative in sorted(wanted):
            target = self.root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, target)
        rollout = self.root / ROLLOUT_FILE
        rollout.write_text(with_version(rollout.read_text(), image=image, error_rate=error_rate))

    def commit(self, message: str) -> str | None:
        """Commits the working tree; None when nothing changed."""
        self.git("add", "--all")
        if not self.git("status", "--porcelain"):
            return None
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")


_IMAGE = re.compile(r"^(\s*image:\s*)(\S+)\s*$", re.MULTILINE)
_ERROR_RATE = re.compile(r"^(\s*- name: ERROR_RATE\n\s*value:\s*)\"([^\"]*)\"\s*$", re.MULTILINE)


def read_version(rollout_yaml: str) -> tuple[str, str] | None:
    image, rate = _IMAGE.search(rollout_yaml), _ERROR_RATE.search(rollout_yaml)
    return (image.group(2), rate.group(2)) if image and rate else None


def with_version(rollout_yaml: str, *, image: str, error_rate: str) -> str:
    """The Rollout file with another image and ERROR_RATE; comments and layout kept, so `git show` reads well."""
    text, images = _IMAGE.subn(lambda m: f"{m.group(1)}{image}", rollout_yaml)
    text, rates = _ERROR_RATE.subn(lambda m: f'{m.group(1)}"{error_rate}"', text)
    if (images, rates) != (1, 1):
        raise SystemExit(f"examples/app/{ROLLOUT_FILE} needs exactly one image and one ERROR_RATE value")
    return text


# ---------------------------------------------------------------------------------------------------------------
# The demo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SyncOutcome:
    """What one synced commit did: the Application, its operation and the Rollout once it all settled."""

    commit: str
    app: dict[str, Any]
    rollout: dict[str, Any]

    @property
    def state(self) -> dict[str, Any]:
        return dict((self.app.get("status") or {}).get("operationState") or {})

    @property
    def phase(self) -> str:
        return str(self.state.get("phase") or "")

    @property
    def health(self) -> str:
        return str(((self.app.get("status") or {}).get("health") or {}).get("status") or "")

    def hook(self, name: str) -> str:
        """The hook's result in this operation ("" when it did not run)."""
        for entry in (self.state.get("syncResult") or {}).get("resources") or []:
            if entry.get("name") == name and entry.get("hookType"):
                return str(entry.get("hookPhase") or "")
        return ""


def run(args: argparse.Namespace) -> int:
    cluster = devcluster.DevCluster()
    if not devcluster.api_is_ready(cluster):
        print("the local control plane is not running: run `rollwave dev up` first", file=sys.stderr)
        return 1

    def kubectl(*words: str, input_text: str | None = None) -> str:
        return devcluster.kubectl(cluster, *words, input_text=input_text).stdout

    _say("installing the CRDs (Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun, Application)")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(_repo_file("crds")))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    if devcluster.kubectl(cluster, "get", "namespace", NAMESPACE, check=False).returncode != 0:
        kubectl("create", "namespace", NAMESPACE)
        devcluster.wait_for_service_account(cluster, namespace=NAMESPACE)
    _start_daemons(cluster)
    cli = _Cli(kubeconfig=str(cluster.kubeconfig))

    repo = DemoRepo(cluster.state_dir / "demo-repo")
    baseline = _baseline(kubectl, repo, cli=cli, timeout=args.timeout)
    cli("app", "get", APP)
    if baseline is None:
        _say("done, but not as expected: the Application did not become Synced and Healthy (see above)")
        return 1
    stable_image, stable_hash = baseline
    good_image = next(image for image in GOOD_IMAGES if image != stable_image)
    bad_commit, rolled_back = _bad_version(
        kubectl, repo, cli=cli, stable_hash=stable_hash, timeout=args.timeout
    )
    good_commit, promoted = _good_version(kubectl, repo, cli=cli, image=good_image, timeout=args.timeout)

    _say(
        "the Application's syncs: its history holds the succeeded ones (as in Argo CD), its Events all of them"
    )
    cli("app", "history", APP)
    print()
    for event in _sync_events(kubectl, commits=(bad_commit, good_commit)):
        print(event)
    print()
    print(repo.git("log", "--oneline", "--max-count=3"))

    ok = rolled_back and promoted
    _say("done" if ok else "done, but not as expected (see above)")
    print(f"Git repository: {repo.root} (the Application syncs {repo.url}, path deploy)")
    print(f"Try: rollwave app get {APP} -n {NAMESPACE} | rollwave app diff {APP} -n {NAMESPACE}")
    print(f"     rollwave get rollout {ROLLOUT} -n {NAMESPACE} | rollwave list analysisruns -n {NAMESPACE}")
    print(
        "Run it again: make demo (commits a bad and a good version again). Stop everything: rollwave dev down"
    )
    return 0 if ok else 1


def _bad_version(
    kubectl: Kubectl, repo: DemoRepo, *, cli: _Cli, stable_hash: str, timeout: float
) -> tuple[str, bool]:
    """Commits the bad version and follows its sync; returns the commit and whether its analysis rolled it back
    (the sync failed before the PostSync hook, the Application is Degraded, the stable version still serves)."""
    _say(
        f"commit a bad version: {BAD_IMAGE}, ERROR_RATE={BAD_ERROR_RATE} (half its requests fail); its analysis "
        "should fail, the Rollout abort back to the stable version, and the sync fail before the PostSync hook"
    )
    repo.write(image=BAD_IMAGE, error_rate=BAD_ERROR_RATE)
    bad_commit = _commit(repo, f"bad version: {BAD_IMAGE}, ERROR_RATE={BAD_ERROR_RATE}")
    bad = _follow_sync(kubectl, bad_commit, timeout=timeout, expect="Degraded")
    bad_status = bad.rollout.get("status") or {}
    bad_run = _latest_step_run(kubectl, pod_hash=str(bad_status.get("currentPodHash")))
    rolled_back = (
        bad.phase == "Failed"
        and bad.health == "Degraded"
        and bad.hook(MIGRATE_JOB) == "Succeeded"
        and bad.hook(SMOKE_JOB) == ""
        and _phase(bad.rollout) == "Degraded"
        and bool(bad_status.get("abort"))
        and bad_status.get("stableRS") == stable_hash
        and _run_phase(bad_run) == "Failed"
    )
    if bad_run is not None:
        print()
        cli("get", "analysisrun", bad_run["metadata"]["name"])
    if rolled_back:
        _say(
            f"bad version rolled back by its analysis: sync of {bad_commit[:7]} Failed, Application Degraded, "
            f"the PostSync hook did not run"
        )
        print(f"Rollout: {_phase(bad.rollout)}: {bad_status.get('message', '')}")
        print(_wait_for_stable_only(kubectl, stable_hash=stable_hash, timeout=timeout))
    else:
        _say(
            f"unexpected: the bad version was not rolled back by its analysis (sync {bad.phase}, Application "
            f"{bad.health}, Rollout {_phase(bad.rollout)}, abort {bad_status.get('abort')}, run "
            f"{_run_summary(bad_run)}, hooks: migrate {bad.hook(MIGRATE_JOB) or '-'}, "
            f"smoke {bad.hook(SMOKE_JOB) or '-'})"
        )
    print()
    cli("app", "get", APP)
    return bad_commit, rolled_back


def _good_version(
    kubectl: Kubectl, repo: DemoRepo, *, cli: _Cli, image: str, timeout: float
) -> tuple[str, bool]:
    """Commits a good version and follows its sync; returns the commit and whether it went through (the
    analysis passed, the Rollout is Healthy on it, the PostSync Job ran after that, the sync is in the history)."""
    _say(
        f"commit a good version: {image}, ERROR_RATE=0; the sync runs the PreSync hook, then the canary "
        "walks 20% -> pause -> analysis -> 50% -> 80% -> 100%, then the PostSync smoke Job runs"
    )
    repo.write(image=image, error_rate="0")
    good_commit = _commit(repo, f"good version: {image}")
    good = _follow_sync(kubectl, good_commit, timeout=timeout)
    good_status = good.rollout.get("status") or {}
    good_hash = str(good_status.get("currentPodHash"))
    good_run = _latest_step_run(kubectl, pod_hash=good_hash)
    smoke_after = _smoke_ran_after_rollout(kubectl, good.rollout)
    history = [str(e.get("revision")) for e in (good.app.get("status") or {}).get("history") or []]
    promoted = (
        good.phase == "Succeeded"
        and good.health == "Healthy"
        and good.hook(MIGRATE_JOB) == "Succeeded"
        and good.hook(SMOKE_JOB) == "Succeeded"
        and _phase(good.rollout) == "Healthy"
        and good_status.get("stableRS") == good_hash
        and _image(good.rollout) == image
        and _run_phase(good_run) == "Successful"
        and smoke_after is not None
        and history[-1:] == [good_commit]
    )
    cli("app", "get", APP)
    if promoted:
        assert good_run is not None and smoke_after is not None
        _say(
            f"good version promoted: {image} ({ROLLOUT}-{good_hash}) is stable; AnalysisRun "
            f"{good_run['metadata']['name']} Successful, success rate {_last_value(good_run)}; "
            f"sync of {good_commit[:7]} Succeeded, Application Healthy"
        )
        print(smoke_after)
    else:
        _say(
            f"unexpected: the good version did not go through (sync {good.phase}, Application {good.health}, "
            f"Rollout {_phase(good.rollout)}, run {_run_summary(good_run)}, hooks: migrate "
            f"{good.hook(MIGRATE_JOB) or '-'}, smoke {good.hook(SMOKE_JOB) or '-'}; {smoke_after})"
        )
    return good_commit, promoted


class _Cli:
    """Runs a rollwave command in this process, as the user would type it, against the dev cluster."""

    def __init__(self, *, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig

    def __call__(self, *words: str) -> int:
        from rollouts.cli import main as cli

        print(f"$ rollwave {' '.join(words)} -n {NAMESPACE}", flush=True)
        code = cli.main([*words, "-n", NAMESPACE, "--kubeconfig", self.kubeconfig])
        sys.stdout.flush()
        return code


def _start_daemons(cluster: devcluster.DevCluster) -> None:
    _say(
        f"starting the controller and the traffic simulator in the background (logs: "
        f"{cluster.controller_dir / 'log'}, {cluster.demo_traffic_dir / 'log'})"
    )
    daemons = (
        (
            "controller",
            # Only the demo's namespace: a cluster-wide controller would also act on what tests and benchmarks
            # create. It reconciles the Rollouts, AnalysisRuns and Applications there.
            ["controller", "--namespace", NAMESPACE, "--http-address", f"127.0.0.1:{CONTROLLER_PORT}"],
            cluster.controller_dir,
            f"http://127.0.0.1:{CONTROLLER_PORT}/readyz",
        ),
        (
            "traffic simulator",
            ["--namespace", NAMESPACE, "--port", str(TRAFFIC_PORT)],
            cluster.demo_traffic_dir,
            f"http://127.0.0.1:{TRAFFIC_PORT}/metrics",
        ),
    )
    for name, words, folder, health_url in daemons:
        module = "rollouts.cli.main" if name == "controller" else "rollouts.devcluster.demo_traffic"
        argv = [sys.executable, "-m", module, *words]
        devcluster.start_daemon(
            name=name, argv=argv, folder=folder, health_url=health_url, say=print, version=_fingerprint(argv)
        )


def _fingerprint(argv: list[str]) -> str:
    """Changes when the arguments or any of rollwave's modules change, so a daemon of older code is restarted."""
    digest = hashlib.sha256(json.dumps(argv).encode())
    package = pathlib.Path(rollouts.__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package)} {stat.st_mtime_ns} {stat.st_size}\n".encode())
    return digest.hexdigest()[:16]


def _baseline(kubectl: Kubectl, repo: DemoRepo, *, cli: _Cli, timeout: float) -> tuple[str, str] | None:
    """Makes the repository's HEAD a good version and the Application Synced and Healthy at it (syncing it again
    when someone changed its objects since); returns the stable (image, pod hash), or None when the Application
    did not get there."""
    created = repo.ensure()
    image = _baseline_image(kubectl, repo)
    repo.write(image=image, error_rate="0")
    message = f"{'the demo app from' if created else 'back to'} examples/app, good version: {image}"
    commit = repo.commit(message)
    head = repo.head()
    assert head is not None
    manifest = _repo_file("examples", "app", "application.yaml").read_text()
    _say(
        f"the Application {APP}: Git repository {repo.root} at {head[:7]}"
        + (f" (committed: {message})" if commit else "")
        + "; automated sync of deploy/, polled every 5s"
    )
    print(
        kubectl(
            "apply", "-n", NAMESPACE, "-f", "-", input_text=manifest.replace(REPO_URL_PLACEHOLDER, repo.url)
        )
    )
    outcome = _follow_sync(kubectl, head, timeout=timeout)
    if outcome.health != "Healthy" or _sync_status(outcome.app) != "Synced":
        print(
            f"\nThe Application is {_sync_status(outcome.app)} and {outcome.health} at {head[:7]}: its objects were "
            "changed since its last sync (automated sync without selfHeal leaves them), so sync it again:"
        )
        cli("app", "sync", APP, "--timeout", f"{timeout:.0f}s")
        outcome = _follow_sync(kubectl, head, timeout=timeout)
    status = outcome.rollout.get("status") or {}
    if outcome.health != "Healthy" or _phase(outcome.rollout) != "Healthy" or not status.get("stableRS"):
        return None
    return _image(outcome.rollout), str(status["stableRS"])


def _baseline_image(kubectl: Kubectl, repo: DemoRepo) -> str:
    """The version to start from: the one the Rollout's stable pods run, else the repository's, when good."""
    rollout = _get_json(kubectl, "rollout", ROLLOUT)
    stable_hash = ((rollout or {}).get("status") or {}).get("stableRS")
    stable_rs = _get_json(kubectl, "replicaset", f"{ROLLOUT}-{stable_hash}") if stable_hash else None
    if stable_rs is not None:
        image = stable_rs["spec"]["template"]["spec"]["containers"][0]["image"]
        if image in GOOD_IMAGES:
            return str(image)
    current = repo.version()
    if current is not None and current[0] in GOOD_IMAGES:
        return current[0]
    return GOOD_IMAGES[0]


def _commit(repo: DemoRepo, message: str) -> str:
    commit = repo.commit(message)
    if commit is None:
        raise SystemExit(f"nothing to commit for '{message}': the repository already holds it")
    print(f"[main {commit[:7]}] {message}")
    for line in repo.git("show", "--format=", "--unified=0", "HEAD").splitlines():
        if line.startswith("+++ b/"):
            print(f"  {line.removeprefix('+++ b/')}:")
        elif line[:1] in "+-" and not line.startswith(("+++", "---")):
            print(f"  {line}")
    print(f"the controller polls {repo.url} every 5s and syncs the new commit", flush=True)
    return commit


def _follow_sync(kubectl: Kubectl, commit: str, *, timeout: float, expect: str = "Healthy") -> SyncOutcome:
    """Waits until the operation that syncs `commit` ended (or the Application is Synced to it without one) and
    the Application's health settled, printing each change of the operation and of the Rollout on the way.

    The health is compared with Git again after an operation ends, so for a few seconds it may still be the one
    from before: it must be `expect`, or settled (Healthy or Degraded) for HEALTH_GRACE_SECONDS."""
    started = time.monotonic()
    deadline = started + timeout
    finished_at: float | None = None
    seen: dict[str, str] = {}

    def note(key: str, text: str) -> None:
        if seen.get(key) != text:
            seen[key] = text
            print(f"  {time.monotonic() - started:5.1f}s  {text}", flush=True)

    while True:
        app = _get_json(kubectl, "applications.rollwave.dev", APP) or {}
        rollout = _get_json(kubectl, "rollout", ROLLOUT) or {}
        status = app.get("status") or {}
        state = status.get("operationState") or {}
        ours = commit in (
            (state.get("syncResult") or {}).get("revision"),
            ((state.get("operation") or {}).get("sync") or {}).get("revision"),
        )
        running = bool(app.get("operation")) or (ours and state.get("phase") not in ENDED)
        compared = (status.get("sync") or {}).get("revision") == commit
        health = str((status.get("health") or {}).get("status") or "")
        finished = (
            compared
            and not running
            and ((ours and state.get("phase") in ENDED) or _sync_status(app) == "Synced")
        )
        now = time.monotonic()
        finished_at = (finished_at or now) if finished else None
        if ours:
            note("app", _app_line(app))
        else:
            note(
                "app",
                f"Application: {_sync_status(app)}, {health or 'Unknown'}; waiting for a sync of {commit[:7]}",
            )
        if rollout:
            note("rollout", _rollout_line(rollout))
        if (
            finished_at is not None
            and health in SETTLED_HEALTH
            and (health == expect or now - finished_at > HEALTH_GRACE_SECONDS)
        ):
            return SyncOutcome(commit=commit, app=app, rollout=rollout)
        if now > deadline:
            raise SystemExit(
                f"the sync of {commit[:7]} did not end in {timeout:.0f}s: {json.dumps(state)[:2000]}"
            )
        time.sleep(0.5)


def _sync_events(kubectl: Kubectl, *, commits: tuple[str, ...]) -> list[str]:
    """The Application's OperationCompleted Events about these commits, oldest first, one line each."""
    listed = json.loads(
        kubectl(
            "get",
            "events",
            "-n",
            NAMESPACE,
            "--field-selector",
            f"involvedObject.kind=Application,involvedObject.name={APP},reason=OperationCompleted",
            "-o",
            "json",
        )
    )
    wanted = {commit[:7] for commit in commits}
    lines = []
    for event in sorted(
        listed["items"], key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or "")
    ):
        message = " ".join(str(event.get("message") or "").split())
        if any(f"Sync to {short} " in message for short in wanted):
            when = event.get("lastTimestamp") or event.get("eventTime") or ""
            lines.append(f"{when}  {event.get('type', ''):7}  {event.get('reason')}  {message[:140]}")
    return lines


def _sync_status(app: dict[str, Any]) -> str:
    return str((((app.get("status") or {}).get("sync")) or {}).get("status") or "Unknown")


def _app_line(app: dict[str, Any]) -> str:
    status = app.get("status") or {}
    state = status.get("operationState") or {}
    health = str((status.get("health") or {}).get("status") or "Unknown")
    revision = str((state.get("syncResult") or {}).get("revision") or "")[:7]
    message = " ".join(str(state.get("message") or "").split())
    return (
        f"Application: {_sync_status(app)}, {health}; sync of {revision} {state.get('phase', '')}: {message}"
    )


def _rollout_line(rollout: dict[str, Any]) -> str:
    status = rollout.get("status") or {}
    steps = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary", {}).get("steps") or []
    weight = ((status.get("canary") or {}).get("weights") or {}).get("canary", {}).get("weight")
    step = status.get("currentStepIndex")
    where = f"step {step}/{len(steps)}, canary weight {weight if weight is not None else 0}"
    message = f": {status['message']}" if status.get("message") else ""
    return f"Rollout {ROLLOUT}: {_phase(rollout)}, {where}, image {_image(rollout)}{message}"


def _smoke_ran_after_rollout(kubectl: Kubectl, rollout: dict[str, Any]) -> str | None:
    """A sentence saying the PostSync Job completed after the Rollout became Healthy; None if it did not."""
    job = _get_json(kubectl, "job", SMOKE_JOB)
    healthy_since = next(
        (
            str(c.get("lastTransitionTime"))
            for c in (rollout.get("status") or {}).get("conditions") or []
            if c.get("type") == "Healthy" and c.get("status") == "True"
        ),
        None,
    )
    if job is None or healthy_since is None:
        return None
    created = str(job["metadata"]["creationTimestamp"])
    completed = str((job.get("status") or {}).get("completionTime") or "")
    # RFC 3339 times in UTC with second precision compare as text.
    if not completed or created < healthy_since:
        return None
    return (
        f"PostSync Job {SMOKE_JOB} created at {created} (the Rollout was Healthy since {healthy_since}), "
        f"completed at {completed}."
    )


def _wait_for_stable_only(kubectl: Kubectl, *, stable_hash: str, timeout: float) -> str:
    """Waits until the canary is scaled away and says who serves: the stable pods and both Services' selectors."""

    def settled() -> str | None:
        listed = json.loads(kubectl("get", "replicasets", "-n", NAMESPACE, "-l", "app=demo", "-o", "json"))
        ready = {
            rs["metadata"]["labels"].get("rollouts-pod-template-hash"): (
                int(rs["spec"].get("replicas") or 0),
                int((rs.get("status") or {}).get("readyReplicas") or 0),
            )
            for rs in listed["items"]
        }
        others = sum(replicas for pod_hash, (replicas, _) in ready.items() if pod_hash != stable_hash)
        stable_replicas, stable_ready = ready.get(stable_hash, (0, 0))
        selectors = {
            service: (_get_json(kubectl, "service", service) or {})
            .get("spec", {})
            .get("selector", {})
            .get("rollouts-pod-template-hash")
            for service in (f"{ROLLOUT}-stable", f"{ROLLOUT}-canary")
        }
        if others or stable_ready < stable_replicas or set(selectors.values()) != {stable_hash}:
            return None
        return (
            f"The stable version kept serving: {ROLLOUT}-{stable_hash} has {stable_ready}/{stable_replicas} pods "
            f"ready, and the Services {' and '.join(selectors)} select it; the bad version has no pods."
        )

    deadline = time.monotonic() + timeout
    while (text := settled()) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"the canary was not scaled away in {timeout:.0f}s")
        time.sleep(0.5)
    return text


def _get_json(kubectl: Kubectl, kind: str, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(
            kubectl("get", kind, name, "-n", NAMESPACE, "-o", "json", "--ignore-not-found")
        )
    except json.JSONDecodeError:  # --ignore-not-found prints nothing
        return None
    return found


def _latest_step_run(kubectl: Kubectl, *, pod_hash: str) -> dict[str, Any] | None:
    listed = json.loads(
        kubectl(
            "get",
            "analysisruns",
            "-n",
            NAMESPACE,
            "-l",
            f"rollout-type=Step,rollouts-pod-template-hash={pod_hash}",
            "-o",
            "json",
        )
    )
    runs: list[dict[str, Any]] = sorted(
        listed["items"], key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["name"])
    )
    return runs[-1] if runs else None


def _run_phase(run: dict[str, Any] | None) -> str:
    return str(((run or {}).get("status") or {}).get("phase") or "")


def _run_summary(run: dict[str, Any] | None) -> str:
    return "none" if run is None else f"{run['metadata']['name']} {_run_phase(run) or 'Pending'}"


def _last_value(run: dict[str, Any]) -> str:
    results = (run.get("status") or {}).get("metricResults") or []
    measurements = results[0].get("measurements") or [] if results else []
    return str(measurements[-1].get("value")) if measurements else "-"


def _image(rollout: dict[str, Any]) -> str:
    containers = (((rollout.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or [{}]
    return str(containers[0].get("image") or "")


def _phase(rollout: dict[str, Any]) -> str:
    status = rollout.get("status") or {}
    if status.get("observedGeneration") != str((rollout.get("metadata") or {}).get("generation")):
        return "Progressing"
    return str(status.get("phase") or "")
