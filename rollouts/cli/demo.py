"""`rollwave demo`: the main job on one screen: CRDs, the controller in the background, a canary walking its steps.

Run by `make demo` after `rollwave dev up`. Each run changes the demo Rollout's image (blue <-> yellow), so running
it again shows another canary. The controller it starts keeps running; `rollwave dev down` stops it.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from typing import Any

import rollouts
from rollouts.devcluster import cluster as devcluster

NAMESPACE = "rollwave-demo"
CONTROLLER_PORT = 18090
IMAGES = ("argoproj/rollouts-demo:blue", "argoproj/rollouts-demo:yellow")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="run the demo on the local control plane (after `rollwave dev up`)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the canary to finish")
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

    _say(f"starting the controller in the background (log: {cluster.controller_dir / 'log'})")
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

    _say(f"applying examples/canary-demo.yaml in namespace {NAMESPACE}")
    if devcluster.kubectl(cluster, "get", "namespace", NAMESPACE, check=False).returncode != 0:
        kubectl("create", "namespace", NAMESPACE)
        devcluster.wait_for_service_account(cluster, namespace=NAMESPACE)
    kubectl("apply", "-n", NAMESPACE, "-f", str(_repo_file("examples", "canary-demo.yaml")))
    rollout = _wait(lambda r: _phase(r) == "Healthy", kubectl=kubectl, timeout=args.timeout)
    print(kubectl("get", "rollout", "demo", "-n", NAMESPACE))

    current = rollout["spec"]["template"]["spec"]["containers"][0]["image"]
    image = IMAGES[1] if current == IMAGES[0] else IMAGES[0]
    _say(f"new version: {image}; rollwave walks the steps 20% -> 50% -> 80% -> 100% (Ctrl-C stops watching)")
    from rollouts.cli import main as cli

    cli.main(["set", "image", "demo", f"demo={image}", "-n", NAMESPACE])
    code = cli.main(["get", "rollout", "demo", "-n", NAMESPACE, "--watch", "--until-done"])
    _say("done")
    print(kubectl("get", "rollout,replicasets", "-n", NAMESPACE))
    print(
        "Try: rollwave get rollout demo -n rollwave-demo | rollwave promote / abort / undo demo -n rollwave-demo"
    )
    print("Stop everything: rollwave dev down")
    return code


def _phase(rollout: dict[str, Any]) -> str:
    status = rollout.get("status") or {}
    if status.get("observedGeneration") != str(rollout["metadata"].get("generation")):
        return "Progressing"
    return str(status.get("phase") or "")


def _wait(predicate: Any, *, kubectl: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        rollout: dict[str, Any] = json.loads(kubectl("get", "rollout", "demo", "-n", NAMESPACE, "-o", "json"))
        if predicate(rollout):
            return rollout
        if time.monotonic() > deadline:
            raise SystemExit(
                f"the demo rollout did not become ready in {timeout:.0f}s: {rollout.get('status')}"
            )
        time.sleep(0.5)
