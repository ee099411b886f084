"""Our CRDs on a real kube-apiserver: Argo's example manifests are accepted unchanged (strict field validation,
so nothing would be pruned silently), the validation rules reject what they should, and `kubectl explain`,
`kubectl get` columns and the scale subresource work as users expect."""

from __future__ import annotations

import pathlib
import subprocess
from typing import Any

import pytest
import yaml

from tests.support import kube, paths

OUR_GROUPS = ("argoproj.io/", "rollwave.dev/")
THIRD_PARTY_GROUPS = ("networking.istio.io/",)


def _documents() -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in sorted(paths.ARGO_EXAMPLES.rglob("*.yaml")):
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document:
                found.append((str(path.relative_to(paths.ARGO_EXAMPLES)), index, document))
    return found


DOCUMENTS = _documents()


def test_the_argo_examples_are_there() -> None:
    # A missing ../shared must fail loudly, not turn the parametrised tests below into nothing.
    assert len(DOCUMENTS) >= 20, paths.ARGO_EXAMPLES


def _dry_run(document: dict[str, Any], namespace: str) -> subprocess.CompletedProcess[str]:
    # `create`, not `apply`: one example uses generateName, which apply refuses.
    return subprocess.run(
        ["kubectl", "create", "-n", namespace, "--dry-run=server", "--validate=strict", "-f", "-"],
        input=yaml.safe_dump(document),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("source", "index", "document"),
    [
        pytest.param(s, i, d, id=f"{s}#{i}-{d.get('kind')}")
        for s, i, d in DOCUMENTS
        if not str(d.get("apiVersion", "")).startswith(THIRD_PARTY_GROUPS)
    ],
)
def test_argo_example_is_accepted_unchanged(
    crds: None, namespace: str, source: str, index: int, document: dict[str, Any]
) -> None:
    result = _dry_run(document, namespace)
    assert result.returncode == 0, f"{source}#{index}: {result.stderr}"
    assert "unknown field" not in result.stderr, result.stderr


def _rollout(**canary: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "checked"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "checked"}},
            "template": {
                "metadata": {"labels": {"app": "checked"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1"}]},
            },
            "strategy": {"canary": canary},
        },
    }


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda r: r["spec"]["strategy"]["canary"].update(steps=[{"setWeight": 20, "pause": {}}]),
            "one",
            id="step-with-two-actions",
        ),
        pytest.param(
            lambda r: r["spec"]["strategy"].update(blueGreen={"activeService": "a"}),
            "canary",
            id="two-strategies",
        ),
        pytest.param(
            lambda r: r["spec"]["strategy"]["canary"].update(steps=[{"setWeight": -5}]),
            "setWeight",
            id="negative-weight",
        ),
    ],
)
def test_schema_rejects_invalid_rollouts(crds: None, namespace: str, mutate: Any, expected: str) -> None:
    rollout = _rollout(steps=[{"setWeight": 20}])
    mutate(rollout)
    result = _dry_run(rollout, namespace)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr


def test_selector_is_immutable(crds: None, namespace: str) -> None:
    kube.apply(_rollout(steps=[{"setWeight": 20}]), namespace=namespace)
    result = subprocess.run(
        [
            "kubectl",
            "patch",
            "rollout",
            "checked",
            "-n",
            namespace,
            "--type",
            "merge",
            "-p",
            '{"spec":{"selector":{"matchLabels":{"app":"other"}}}}',
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "immutable" in result.stderr.lower(), result.stderr


def test_kubectl_explain_describes_canary_steps(crds: None) -> None:
    text = kube.kubectl("explain", "rollout.spec.strategy.canary.steps")
    for word in ("setWeight", "pause", "analysis", "setCanaryScale"):
        assert word in text
    assert "DESCRIPTION" in text.upper()
    pause = kube.kubectl("explain", "rollout.spec.strategy.canary.steps.pause.duration")
    assert "seconds" in pause.lower()


def test_short_names_and_printer_columns(crds: None, namespace: str) -> None:
    kube.apply(_rollout(steps=[{"setWeight": 20}]), namespace=namespace)
    header = kube.kubectl("get", "ro", "-n", namespace).splitlines()[0].split()
    for column in ("DESIRED", "CURRENT", "UP-TO-DATE", "AVAILABLE", "PHASE", "STEP", "WEIGHT", "AGE"):
        assert column in header, header
    for short in ("at", "cat", "ar"):
        kube.kubectl("get", short, "-n", namespace)
    app_header = kube.kubectl("get", "applications.rollwave.dev", "-n", namespace, "--no-headers=false")
    assert app_header == "" or "SYNC" in app_header


def test_scale_subresource_moves_spec_replicas(crds: None, namespace: str) -> None:
    kube.apply(_rollout(steps=[{"setWeight": 20}]), namespace=namespace)
    kube.kubectl("scale", "rollout", "checked", "-n", namespace, "--replicas=5")
    rollout = kube.get("rollout", "checked", namespace=namespace)
    assert rollout is not None and rollout["spec"]["replicas"] == 5


def test_crd_files_in_repo_are_the_installed_ones(crds: None) -> None:
    for path in sorted(pathlib.Path(paths.REPO / "crds").glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        installed = kube.get("crd", name)
        assert installed is not None, name
        established = {c["type"]: c["status"] for c in installed["status"]["conditions"]}
        assert established.get("Established") == "True", name
