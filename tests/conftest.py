"""Shared fixtures. Tests marked `cluster` run against the real local control plane (`rollwave dev up`).

The cluster is brought up here if it is not running (idempotent), so `pytest` alone works on a fresh machine.
A cluster test never skips: if the control plane cannot be started, the test errors with the reason.
"""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Iterator

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.devcluster import router_crds as devcluster_router_crds
from tests.support import kube

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def dev_cluster() -> devcluster.DevCluster:
    cluster = devcluster.DevCluster()
    devcluster.up(cluster)
    for key, value in cluster.env().items():
        os.environ[key] = value
    os.environ["PATH"] = f"{cluster.bin_dir}{os.pathsep}{os.environ['PATH']}"
    return cluster


@pytest.fixture(scope="session")
def crds(dev_cluster: devcluster.DevCluster) -> None:
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    kube.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")


@pytest.fixture(scope="session")
def router_crds(dev_cluster: devcluster.DevCluster) -> list[str]:
    """Gateway API, Istio and SMI CRDs from their Go modules (idempotent; 1 s when already installed)."""
    return devcluster_router_crds.install_router_crds(dev_cluster)


@pytest.fixture
def namespace(dev_cluster: devcluster.DevCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"t-{request.node.name[:30].lower().replace('_', '-').strip('-')}-{uuid.uuid4().hex[:5]}"
    name = "".join(c for c in name if c.isalnum() or c == "-").strip("-")
    kube.kubectl("create", "namespace", name)
    kube.wait_for(
        lambda: kube.get("serviceaccount", "default", namespace=name), timeout=60, what="default SA"
    )
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def controller(
    crds: None, namespace: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> Iterator[kube.Controller]:
    with kube.running_controller(
        namespace=namespace, log_dir=tmp_path, port=devcluster.free_loopback_port()
    ) as running:
        yield running
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(f"--- controller log ---\n{running.logs()}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/cluster needs the control plane; mark it so `-m "not cluster"` gives the fast unit run.
    for item in items:
        if "tests/cluster" in str(item.path) or "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.cluster)
