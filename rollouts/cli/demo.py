"""`rollwave demo`: the main job on one screen: a good version promoted, a bad one rolled back by its analysis.

Run by `make demo` after `rollwave dev up`. It installs the CRDs, starts two background daemons (the controller for
namespace `rollwave-demo`, and the traffic simulator rollouts/devcluster/demo_traffic.py that makes request metrics
for the fake pods), applies analysis/http-success-rate.yaml and examples/canary-demo.yaml, then:

1. a good version (a new image, `ERROR_RATE` 0) walks every step, its analysis passes, it becomes stable;
2. a bad version (`ERROR_RATE` 0.5: half its requests fail) fails its analysis; rollwave aborts the update and the
   stable version keeps serving. The demo prints the AnalysisRun.

Exit 0 when both went that way, 1 otherwise. Any state is a starting point: the Rollout is first set back to its
stable version (the example's template with the stable image), so running the demo again works, also after an
interrupted run. The daemons keep running (a second run reuses them); `rollwave dev down` stops them.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import yaml

import rollouts
from rollouts.devcluster import cluster as devcluster

NAMESPACE = "rollwave-demo"
NAME = "demo"
CONTROLLER_PORT = 18090
TRAFFIC_PORT = 18091
GOOD_IMAGES = ("argoproj/rollouts-demo:blue", "argoproj/rollouts-demo:yellow")
BAD_IMAGE = "argoproj/rollouts-demo:bad-red"
BAD_ERROR_RATE = "0.5"

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


def _repo_file(*parts: str) -> pathlib.Path:
    path = pathlib.Path(rollouts.__file__).resolve().parents[1].joinpath(*parts)
    if not path.exists():
        raise SystemExit(f"rollwave demo needs a source checkout: {path} is missing")
    return path


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

    _start_daemons(cluster)

    _say(f"applying analysis/http-success-rate.yaml and examples/canary-demo.yaml in namespace {NAMESPACE}")
    if devcluster.kubectl(cluster, "get", "namespace", NAMESPACE, check=False).returncode != 0:
        kubectl("create", "namespace", NAMESPACE)
        devcluster.wait_for_service_account(cluster, namespace=NAMESPACE)
    kubectl("apply", "-n", NAMESPACE, "-f", str(_repo_file("analysis", "http-success-rate.yaml")))
    _apply_example_at_stable(kubectl)
    rollout = _wait_for(
        lambda r: _phase(r) == "Healthy", kubectl=kubectl, timeout=args.timeout, what="Healthy"
    )
    stable_image = _image(rollout)
    print(kubectl("get", "rollout", NAME, "-n", NAMESPACE))

    good_image = next(image for image in GOOD_IMAGES if image != stable_image)
    _say(
        f"good version: {good_image}, ERROR_RATE=0; rollwave walks 20% -> pause -> analysis -> 50% -> 80% -> 100%"
    )
    good = _roll_out(kubectl, image=good_image, error_rate="0", timeout=args.timeout)
    good_hash = str(good["status"].get("currentPodHash"))
    good_run = _latest_step_run(kubectl, pod_hash=good_hash)
    promoted = (
        _phase(good) == "Healthy"
        and good["status"].get("stableRS") == good_hash
        and good_run is not None
        and _run_phase(good_run) == "Successful"
    )
    if promoted:
        assert good_run is not None
        _say(
            f"good version promoted: {good_image} ({NAME}-{good_hash}) is stable; "
            f"AnalysisRun {good_run['metadata']['name']} Successful, success rate {_last_value(good_run)}"
        )
    else:
        _say(
            f"unexpected: the good version was not promoted (phase {_phase(good)}, run {_run_summary(good_run)})"
        )

    _say(
        f"bad version: {BAD_IMAGE}, ERROR_RATE={BAD_ERROR_RATE}: half its requests fail, so its analysis should "
        "fail and rollwave should roll it back"
    )
    bad = _roll_out(kubectl, image=BAD_IMAGE, error_rate=BAD_ERROR_RATE, timeout=args.timeout)
    bad_hash = str(bad["status"].get("currentPodHash"))
    bad_run = _latest_step_run(kubectl, pod_hash=bad_hash)
    failed_event = _run_failed_event(kubectl, bad_run)
    rolled_back = (
        _phase(bad) == "Degraded"
        and bool(bad["status"].get("abort"))
        and bad["status"].get("stableRS") == good_hash
        and bad_run is not None
        and _run_phase(bad_run) == "Failed"
        and failed_event is not None
    )
    if bad_run is not None:
        print()
        from rollouts.cli import main as cli

        cli.main(["get", "analysisrun", bad_run["metadata"]["name"], "-n", NAMESPACE])
    if rolled_back:
        _say(f"bad version rolled back: AnalysisRunFailed: {failed_event}")
        serving = _wait_for_stable_only(kubectl, stable_hash=good_hash, timeout=args.timeout)
        print(f"Rollout: {_phase(bad)}: {_progressing_message(bad)}")
        print(serving)
    else:
        _say(
            f"unexpected: the bad version was not rolled back by its analysis "
            f"(phase {_phase(bad)}, abort {bad['status'].get('abort')}, run {_run_summary(bad_run)})"
        )

    _say("done" if promoted and rolled_back else "done, but not as expected (see above)")
    print(kubectl("get", "rollout,replicasets,analysisruns", "-n", NAMESPACE))
    print(f"Try: rollwave get rollout {NAME} -n {NAMESPACE} | rollwave retry rollout {NAME} -n {NAMESPACE}")
    print(f"     rollwave list analysisruns --rollout {NAME} -n {NAMESPACE}")
    print("Run it again: make demo (starts from the stable version). Stop everything: rollwave dev down")
    return 0 if promoted and rolled_back else 1


def _start_daemons(cluster: devcluster.DevCluster) -> None:
    _say(
        f"starting the controller and the traffic simulator in the background (logs: "
        f"{cluster.controller_dir / 'log'}, {cluster.demo_traffic_dir / 'log'})"
    )
    devcluster.start_daemon(
        name="controller",
        # Only the demo's namespace: a cluster-wide controller would also act on what tests and benchmarks create.
        argv=[
            sys.executable,
            "-m",
            "rollouts.cli.main",
            "controller",
            "--namespace",
            NAMESPACE,
            "--http-address",
            f"127.0.0.1:{CONTROLLER_PORT}",
        ],
        folder=cluster.controller_dir,
        health_url=f"http://127.0.0.1:{CONTROLLER_PORT}/readyz",
        say=print,
    )
    devcluster.start_daemon(
        name="traffic simulator",
        argv=[
            sys.executable,
            "-m",
            "rollouts.devcluster.demo_traffic",
            "--namespace",
            NAMESPACE,
            "--port",
            str(TRAFFIC_PORT),
        ],
        folder=cluster.demo_traffic_dir,
        health_url=f"http://127.0.0.1:{TRAFFIC_PORT}/metrics",
        say=print,
    )


def _apply_example_at_stable(kubectl: Kubectl) -> None:
    """Applies the example with the image the stable ReplicaSet runs, so an existing Rollout goes back to its
    stable version at once (no steps) from any state: aborted, paused or mid-update."""
    documents = [d for d in yaml.safe_load_all(_repo_file("examples", "canary-demo.yaml").read_text()) if d]
    existing = _get_json(kubectl, "rollout", NAME)
    stable_hash = ((existing or {}).get("status") or {}).get("stableRS")
    stable_rs = _get_json(kubectl, "replicaset", f"{NAME}-{stable_hash}") if stable_hash else None
    if stable_rs is not None:
        image = stable_rs["spec"]["template"]["spec"]["containers"][0]["image"]
        for document in documents:
            if document.get("kind") == "Rollout":
                document["spec"]["template"]["spec"]["containers"][0]["image"] = image
    kubectl("apply", "-n", NAMESPACE, "-f", "-", input_text=yaml.safe_dump_all(documents, sort_keys=False))


def _roll_out(kubectl: Kubectl, *, image: str, error_rate: str, timeout: float) -> dict[str, Any]:
    """Changes the image and ERROR_RATE in one update, watches until Healthy or Degraded, returns the Rollout."""
    rollout = _get_json(kubectl, "rollout", NAME) or {}
    containers = rollout["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = image
    env = [e for e in containers[0].get("env") or [] if e.get("name") != "ERROR_RATE"]
    containers[0]["env"] = [*env, {"name": "ERROR_RATE", "value": error_rate}]
    patch = {"spec": {"template": {"spec": {"containers": containers}}}}
    kubectl("patch", "rollout", NAME, "-n", NAMESPACE, "--type", "merge", "-p", json.dumps(patch))
    print(f'rollout "{NAME}" updated: image {image}, ERROR_RATE={error_rate}')
    _watch(timeout=timeout)
    return _wait_for(
        lambda r: _phase(r) in ("Healthy", "Degraded"),
        kubectl=kubectl,
        timeout=10,
        what="Healthy or Degraded",
    )


def _watch(*, timeout: float) -> None:
    """`rollwave get rollout --watch --until-done`, given up after `timeout` seconds."""
    from rollouts.cli import main as cli

    watcher = threading.Thread(
        target=cli.main,
        args=(["get", "rollout", NAME, "-n", NAMESPACE, "--watch", "--until-done"],),
        daemon=True,
    )
    watcher.start()
    watcher.join(timeout)
    if watcher.is_alive():
        raise SystemExit(f"the demo rollout did not finish in {timeout:.0f}s")


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
            for service in (f"{NAME}-stable", f"{NAME}-canary")
        }
        if others or stable_ready < stable_replicas or set(selectors.values()) != {stable_hash}:
            return None
        return (
            f"The stable version kept serving: {NAME}-{stable_hash} has {stable_ready}/{stable_replicas} pods "
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


def _run_failed_event(kubectl: Kubectl, run: dict[str, Any] | None) -> str | None:
    """The message of the Rollout's AnalysisRunFailed Warning about this run, if there is one."""
    if run is None:
        return None
    listed = json.loads(
        kubectl(
            "get",
            "events",
            "-n",
            NAMESPACE,
            "--field-selector",
            f"involvedObject.name={NAME},reason=AnalysisRunFailed",
            "-o",
            "json",
        )
    )
    name = run["metadata"]["name"]
    for event in listed["items"]:
        if f"'{name}'" in str(event.get("message")):
            return str(event["message"])
    return None


def _progressing_message(rollout: dict[str, Any]) -> str:
    for condition in rollout["status"].get("conditions") or []:
        if condition.get("type") == "Progressing":
            return str(condition.get("message") or "")
    return ""


def _image(rollout: dict[str, Any]) -> str:
    return str(rollout["spec"]["template"]["spec"]["containers"][0]["image"])


def _phase(rollout: dict[str, Any]) -> str:
    status = rollout.get("status") or {}
    if status.get("observedGeneration") != str(rollout["metadata"].get("generation")):
        return "Progressing"
    return str(status.get("phase") or "")


def _wait_for(
    predicate: Callable[[dict[str, Any]], bool], *, kubectl: Kubectl, timeout: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        rollout = _get_json(kubectl, "rollout", NAME)
        if rollout is not None and predicate(rollout):
            return rollout
        if time.monotonic() > deadline:
            status = (rollout or {}).get("status")
            raise SystemExit(f"the demo rollout did not become {what} in {timeout:.0f}s: {status}")
        time.sleep(0.5)
