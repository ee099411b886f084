"""The routers' CRDs come from their Go modules (module cache, pinned versions) and install idempotently: a second
install writes nothing; the SMI CRD, converted from apiextensions v1beta1, keeps its schema (the API server still
refuses a TrafficSplit without backends); a pinned path that is not in the module is a clear error."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.devcluster import router_crds as installer
from tests.support import kube


def test_installed_labelled_and_idempotent(
    dev_cluster: devcluster.DevCluster, router_crds: list[str]
) -> None:
    assert {
        "httproutes.gateway.networking.k8s.io",
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
        "trafficsplits.split.smi-spec.io",
    } <= set(router_crds)
    before = {name: kube.get("crd", name) for name in router_crds}
    assert (
        installer.install_router_crds(dev_cluster, say=lambda _: pytest.fail("nothing to apply"))
        == router_crds
    )
    pinned = {bundle.label_value for bundle in installer.BUNDLES}
    for name, crd in before.items():
        assert crd is not None
        after = kube.get("crd", name)
        assert after is not None
        assert after["metadata"]["resourceVersion"] == crd["metadata"]["resourceVersion"], "nothing written"
        assert after["metadata"]["labels"][installer.LABEL] in pinned


def test_the_converted_smi_schema_is_enforced(router_crds: list[str], namespace: str) -> None:
    assert "trafficsplits.split.smi-spec.io" in router_crds
    refused = subprocess.run(
        ["kubectl", "apply", "-n", namespace, "-f", "-"],
        input="apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: bad}\nspec: {service: web}\n",
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "spec.backends: Required value" in refused.stderr
    assert kube.get("trafficsplits.split.smi-spec.io", "bad", namespace=namespace) is None


def test_a_missing_file_in_a_module_is_a_clear_error() -> None:
    bundle = dataclasses.replace(installer.BUNDLES[2], paths=("crds/not-there.yaml",))
    with pytest.raises(installer.RouterCrdError) as raised:
        installer.crd_files(bundle, installer.module_dir(bundle))
    assert "github.com/servicemeshinterface/smi-sdk-go@v0.5.0 has no crds/not-there.yaml" in str(raised.value)
