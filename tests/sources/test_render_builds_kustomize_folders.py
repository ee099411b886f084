"""A folder with a kustomization file is rendered by the built kubectl's kustomize (bases, overlays, patches,
namespace), unless the Application set directory options; a failing kustomize is reported with paths relative to
the repository."""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.sources import render


@pytest.fixture(scope="module")
def kubectl() -> str:
    # Only the binary is needed (kustomize is built into kubectl), not a running control plane.
    return str(devcluster.build_binaries(devcluster.DevCluster()) / "kubectl")


def write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> pathlib.Path:
    return write(
        tmp_path / "repo",
        {
            "base/kustomization.yaml": """\
                resources:
                  - deployment.yaml
                  - service.yaml
                labels:
                  - pairs: {app: shop}
                    includeSelectors: true
                """,
            "base/deployment.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: web
                spec:
                  replicas: 1
                  template:
                    spec:
                      containers:
                        - name: web
                          image: shop:1.0
                """,
            "base/service.yaml": """\
                apiVersion: v1
                kind: Service
                metadata:
                  name: web
                spec:
                  ports: [{port: 80}]
                """,
            "overlays/prod/kustomization.yml": """\
                namespace: shop-prod
                namePrefix: prod-
                resources:
                  - ../../base
                  - hook.yaml
                images:
                  - name: shop
                    newTag: "2.0"
                patches:
                  - target: {kind: Deployment, name: web}
                    patch: |-
                      - op: replace
                        path: /spec/replicas
                        value: 3
                """,
            "overlays/prod/hook.yaml": """\
                apiVersion: batch/v1
                kind: Job
                metadata:
                  name: smoke
                  annotations:
                    argocd.argoproj.io/hook: PostSync
                spec:
                  template:
                    spec:
                      restartPolicy: Never
                      containers: [{name: smoke, image: curl}]
                """,
            "overlays/broken/kustomization.yaml": """\
                resources:
                  - missing.yaml
                """,
        },
    )


def test_an_overlay_is_rendered_with_kustomize(repo: pathlib.Path, kubectl: str) -> None:
    assert render.source_type(repo / "overlays/prod") == "Kustomize"

    manifests = render.render(root=repo, path="overlays/prod", kubectl=kubectl)

    by_kind = {m.kind: m for m in manifests}
    assert sorted(by_kind) == ["Deployment", "Job", "Service"]
    assert {m.name for m in manifests} == {"prod-web", "prod-smoke"}
    assert {m.namespace for m in manifests} == {"shop-prod"}
    assert {m.source for m in manifests} == {"overlays/prod/kustomization.yml"}
    assert [m.index for m in manifests] == [0, 1, 2]
    deployment = by_kind["Deployment"].body
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "shop:2.0"
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "shop"}
    assert by_kind["Job"].body["metadata"]["annotations"] == {"argocd.argoproj.io/hook": "PostSync"}


def test_directory_options_make_it_a_plain_directory(repo: pathlib.Path, kubectl: str) -> None:
    # As in Argo CD: `spec.source.directory` set means "directory", so the kustomization is read as a manifest.
    options = render.DirectoryOptions(exclude="kustomization.yaml")
    assert render.source_type(repo / "base", directory_options=options) == "Directory"

    manifests = render.render(root=repo, path="base", directory=options, kubectl=kubectl)

    assert [(m.kind, m.name, m.source) for m in manifests] == [
        ("Deployment", "web", "base/deployment.yaml"),
        ("Service", "web", "base/service.yaml"),
    ]


def test_a_failing_kustomization_is_reported_relative_to_the_repository(
    repo: pathlib.Path, kubectl: str
) -> None:
    with pytest.raises(render.RenderError) as caught:
        render.render(root=repo, path="overlays/broken", kubectl=kubectl)

    (issue,) = caught.value.issues
    assert issue.source == "overlays/broken/kustomization.yaml"
    assert str(issue).startswith("overlays/broken/kustomization.yaml: kustomize failed: ")
    assert "missing.yaml" in issue.message
    assert str(repo) not in issue.message


def test_a_missing_kubectl_is_a_render_error(repo: pathlib.Path, tmp_path: pathlib.Path) -> None:
    with pytest.raises(render.RenderError) as caught:
        render.render(root=repo, path="overlays/prod", kubectl=str(tmp_path / "no-kubectl"))

    assert str(caught.value).startswith("overlays/prod/kustomization.yml: kustomize failed: fatal: ")
    assert "command not found" in str(caught.value)
