"""`rollwave demo` does what the README says: a good version is promoted through its analysis, a bad one is rolled
back automatically because its analysis fails, and the stable version keeps serving.

The demo runs as a user runs it (a subprocess) in its own namespace `rollwave-demo`, from whatever state an
earlier run left there, with its own background controller and traffic simulator (reused when already running;
stopped afterwards only if this test started them). Its verdict is checked against the cluster, not only its words.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

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


def test_the_demo_promotes_a_good_version_and_rolls_back_a_bad_one(
    dev_cluster: devcluster.DevCluster, demo_daemons: None
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "rollouts.cli.main", "demo", "--timeout", "90"],
        capture_output=True,
        text=True,
        timeout=150,
    )
    out = finished.stdout
    assert finished.returncode == 0, f"{out[-6000:]}\n{finished.stderr[-3000:]}"

    promoted = re.search(r"==> good version promoted: (\S+) \(demo-(\w+)\) is stable; AnalysisRun (\S+)", out)
    assert promoted is not None, out[-6000:]
    good_image, good_hash, good_run_name = promoted.groups()
    assert good_image in demo.GOOD_IMAGES
    rolled_back = re.search(
        r"==> bad version rolled back: AnalysisRunFailed: Step Analysis Run '(\S+)' Status New: 'Failed'", out
    )
    assert rolled_back is not None, out[-6000:]
    bad_run_name = rolled_back.group(1)
    assert 'metric "success-rate" Failed, last value [0.5]' in out
    assert f"The stable version kept serving: demo-{good_hash} has 10/10 pods ready" in out
    # The failed run is printed with its measurements.
    assert f"Name:            {bad_run_name}" in out
    assert re.search(r"\d+\s+\d\d:\d\d:\d\d\s+✖ Failed\s+\[0\.5\]", out)

    # What it said is what the cluster holds.
    rollout = kube.get("rollout", "demo", namespace=demo.NAMESPACE)
    assert rollout is not None
    status = rollout["status"]
    assert (status["phase"], status["abort"], status["stableRS"]) == ("Degraded", True, good_hash)
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == demo.BAD_IMAGE
    good_run = kube.get("analysisrun", good_run_name, namespace=demo.NAMESPACE)
    bad_run = kube.get("analysisrun", bad_run_name, namespace=demo.NAMESPACE)
    assert good_run is not None and bad_run is not None
    assert good_run["status"]["phase"] == "Successful"
    assert good_run["metadata"]["labels"]["rollouts-pod-template-hash"] == good_hash
    assert good_run["status"]["metricResults"][0]["successful"] == 3
    assert bad_run["status"]["phase"] == "Failed"
    assert bad_run["metadata"]["labels"]["rollouts-pod-template-hash"] == status["currentPodHash"]
    assert bad_run["status"]["metricResults"][0]["failed"] == 2
    bad_rs = kube.get("replicaset", f"demo-{status['currentPodHash']}", namespace=demo.NAMESPACE)
    assert bad_rs is not None and bad_rs["spec"]["replicas"] == 0
