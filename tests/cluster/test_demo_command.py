"""`rollwave demo` does what the README says: an Application synced from a Git repository runs its PreSync Job,
wave -1, wave 0 (Services, the Rollout with its Prometheus analysis) and its PostSync Job; a commit with a bad
version is synced and rolled back by the Rollout's analysis (the sync fails, the Application is Degraded, the
stable version keeps serving); a commit with a good version goes through, and the PostSync Job runs only after
the Rollout finished.

The demo runs as a user runs it (a subprocess) in its own namespace `rollwave-demo`, from whatever state an
earlier run left there, with its own background controller and traffic simulator (reused when already running;
stopped afterwards only if this test started them). Its verdict is checked against the cluster, not only its words.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from rollouts.cli import demo
from rollouts.devcluster import cluster as devcluster
from tests.support import kube


@pytest.fixture
def demo_daemons(dev_cluster: devcluster.DevCluster) -> Iterator[None]:
    folders = (dev_cluster.controller_dir, dev_cluster.demo_traffic_dir)
    running_before = {folder: devcluster.daemon_running(folder) for folder in folders}
    yield
    for folder, was_running in running_before.items():
        if not was_running:
            devcluster.stop_daemon(folder)


def _result(state: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in state["syncResult"]["resources"]:
        if entry["name"] == name:
            return dict(entry)
    raise AssertionError(f"no sync result for {name}: {state}")


def _condition_time(rollout: dict[str, Any], kind: str) -> str:
    for condition in rollout["status"]["conditions"]:
        if condition["type"] == kind and condition["status"] == "True":
            return str(condition["lastTransitionTime"])
    raise AssertionError(f"no true {kind} condition: {rollout['status']['conditions']}")


def test_the_demo_syncs_a_bad_commit_rolled_back_by_analysis_then_a_good_one_that_goes_through(
    dev_cluster: devcluster.DevCluster, demo_daemons: None
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "rollouts.cli.main", "demo", "--timeout", "90"],
        capture_output=True,
        text=True,
        timeout=170,
    )
    out = finished.stdout
    assert finished.returncode == 0, f"{out[-8000:]}\n{finished.stderr[-3000:]}"

    bad_commit = re.search(rf"\[main (\w+)\] bad version: {re.escape(demo.BAD_IMAGE)}, ERROR_RATE=0.5", out)
    good_commit = re.search(r"\[main (\w+)\] good version: (\S+)", out)
    assert bad_commit is not None and good_commit is not None, out[-8000:]
    bad_short, (good_short, good_image) = bad_commit.group(1), good_commit.groups()
    assert good_image in demo.GOOD_IMAGES
    assert (
        f"==> bad version rolled back by its analysis: sync of {bad_short} Failed, Application Degraded"
        in out
    )
    promoted = re.search(r"==> good version promoted: (\S+) \(demo-(\w+)\) is stable; AnalysisRun (\S+)", out)
    assert promoted is not None, out[-8000:]
    assert promoted.group(1) == good_image
    good_hash, good_run_name = promoted.group(2), promoted.group(3)
    stable_kept = re.search(r"The stable version kept serving: demo-(\w+) has 10/10 pods ready", out)
    assert stable_kept is not None, out[-8000:]
    # The failed AnalysisRun is printed with its measurements, and `app get` shows the waves.
    bad_run_name = re.search(r"\$ rollwave get analysisrun (\S+)", out)
    assert bad_run_name is not None
    assert re.search(r"\d+\s+\d\d:\d\d:\d\d\s+✖ Failed\s+\[0\.5\]", out)
    for row in (
        r"PreSync\s+0\s+Job\s+demo-migrate\s+Healthy\s+Succeeded",
        r"Sync\s+-1\s+ConfigMap\s+demo-config\s+Synced\s+Healthy",
        r"Sync\s+0\s+Rollout\s+demo\s+Synced\s+Degraded\s+Failed\s+RolloutAborted",
        r"Sync\s+0\s+Rollout\s+demo\s+Synced\s+Healthy\s+Synced",
        r"PostSync\s+0\s+Job\s+demo-smoke\s+Healthy\s+Succeeded",
    ):
        assert re.search(row, out), (row, out[-8000:])

    # What it said is what the cluster holds. The Application: synced to the good commit, Healthy; its history
    # holds the succeeded syncs only (as in Argo CD), the failed one is a Warning Event.
    app = kube.get("applications.rollwave.dev", demo.APP, namespace=demo.NAMESPACE)
    assert app is not None
    status = app["status"]
    good_sha = status["sync"]["revision"]
    assert good_sha.startswith(good_short)
    assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy")
    history = [entry["revision"] for entry in status["history"]]
    assert history[-1] == good_sha
    assert not any(revision.startswith(bad_short) for revision in history)
    completed = [
        (event["type"], " ".join(event["message"].split()))
        for event in kube.events_for(demo.NAMESPACE, demo.APP)
        if event["involvedObject"]["kind"] == "Application" and event["reason"] == "OperationCompleted"
    ]
    assert any(
        kind == "Warning"
        and message.startswith(f"Sync to {bad_short} failed")
        and "Step-based analysis phase failed" in message
        for kind, message in completed
    ), completed
    assert ("Normal", f"Sync to {good_short} succeeded: successfully synced (no more tasks)") in completed

    # The good sync ran in order: the PreSync Job finished before the Rollout was applied, and the PostSync Job
    # started after the Rollout had become Healthy with the new version stable.
    state = status["operationState"]
    assert (state["phase"], state["syncResult"]["revision"]) == ("Succeeded", good_sha)
    migrate, rollout_result, smoke = (_result(state, name) for name in ("demo-migrate", "demo", "demo-smoke"))
    assert (migrate["hookType"], migrate["hookPhase"]) == ("PreSync", "Succeeded")
    assert (smoke["hookType"], smoke["hookPhase"]) == ("PostSync", "Succeeded")
    assert migrate["finishedAt"] <= rollout_result["startedAt"]
    rollout = kube.get("rollout", demo.ROLLOUT, namespace=demo.NAMESPACE)
    assert rollout is not None
    rollout_status = rollout["status"]
    assert (rollout_status["phase"], rollout_status["stableRS"], rollout_status["currentPodHash"]) == (
        "Healthy",
        good_hash,
        good_hash,
    )
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == good_image
    assert {"name": "ERROR_RATE", "value": "0"} in container["env"]
    healthy_since = _condition_time(rollout, "Healthy")
    smoke_job = kube.get("job", "demo-smoke", namespace=demo.NAMESPACE)
    assert smoke_job is not None
    assert smoke_job["status"].get("succeeded") == 1
    assert smoke_job["metadata"]["creationTimestamp"] >= healthy_since
    assert smoke["startedAt"] >= healthy_since

    # The analyses: the good version's passed 3 times, the bad one's failed twice and aborted its update.
    good_run = kube.get("analysisrun", good_run_name, namespace=demo.NAMESPACE)
    bad_run = kube.get("analysisrun", bad_run_name.group(1), namespace=demo.NAMESPACE)
    assert good_run is not None and bad_run is not None
    assert good_run["status"]["phase"] == "Successful"
    assert good_run["metadata"]["labels"]["rollouts-pod-template-hash"] == good_hash
    assert good_run["status"]["metricResults"][0]["successful"] == 3
    assert bad_run["status"]["phase"] == "Failed"
    assert bad_run["status"]["metricResults"][0]["failed"] == 2
    bad_hash = bad_run["metadata"]["labels"]["rollouts-pod-template-hash"]
    assert bad_hash not in (good_hash, stable_kept.group(1))
    bad_rs = kube.get("replicaset", f"demo-{bad_hash}", namespace=demo.NAMESPACE)
    assert bad_rs is not None and bad_rs["spec"]["replicas"] == 0
    assert bad_rs["spec"]["template"]["spec"]["containers"][0]["image"] == demo.BAD_IMAGE
