"""unsupported_fields / issues pick the parser by apiVersion and kind (for `rollwave lint` and CRD tests)."""

from typing import Any

import pytest

from rollouts.model import fields, unsupported

ARGO = "argoproj.io/v1alpha1"
UNSUPPORTED = fields.IssueKind.UNSUPPORTED
INVALID = fields.IssueKind.INVALID

ROLLOUT: dict[str, Any] = {
    "apiVersion": ARGO,
    "kind": "Rollout",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": -1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}},
        "strategy": {"canary": {"canaryMetadata": {"labels": {"role": "canary"}}}},
    },
}
METRIC = {"name": "m", "provider": {"datadog": {"query": "avg:x"}}}


def paths(found: tuple[fields.FieldIssue, ...]) -> list[tuple[str, fields.IssueKind]]:
    return [(issue.path, issue.kind) for issue in found]


def test_rollout_issues_include_invalid_values_and_unsupported_fields() -> None:
    assert sorted(paths(unsupported.issues(ROLLOUT))) == [
        ("spec.replicas", INVALID),
        ("spec.strategy.canary.canaryMetadata", UNSUPPORTED),
    ]


def test_unsupported_fields_leave_invalid_values_out() -> None:
    assert paths(unsupported.unsupported_fields(ROLLOUT)) == [
        ("spec.strategy.canary.canaryMetadata", UNSUPPORTED)
    ]


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("AnalysisTemplate", id="template"),
        pytest.param("ClusterAnalysisTemplate", id="cluster-template"),
        pytest.param("AnalysisRun", id="run"),
    ],
)
def test_analysis_kinds_report_unsupported_providers(kind: str) -> None:
    manifest = {"apiVersion": ARGO, "kind": kind, "metadata": {"name": "a"}, "spec": {"metrics": [METRIC]}}
    assert paths(unsupported.unsupported_fields(manifest)) == [
        ("spec.metrics[0].provider.datadog", UNSUPPORTED)
    ]


def test_experiments_are_unsupported_as_a_whole() -> None:
    manifest = {"apiVersion": ARGO, "kind": "Experiment", "metadata": {"name": "e"}, "spec": {}}
    (issue,) = unsupported.unsupported_fields(manifest)
    assert (issue.path, issue.kind, issue.message) == (
        "kind",
        UNSUPPORTED,
        "Experiment is not supported by rollwave",
    )


def test_unknown_argo_kinds_are_reported() -> None:
    (issue,) = unsupported.issues({"apiVersion": ARGO, "kind": "Canary", "metadata": {"name": "c"}})
    assert (issue.path, issue.kind) == ("kind", UNSUPPORTED)
    assert "unknown kind" in issue.message


def test_other_versions_of_the_argo_group_are_reported() -> None:
    manifest = {**ROLLOUT, "apiVersion": "argoproj.io/v1beta1"}
    assert paths(unsupported.issues(manifest)) == [("apiVersion", UNSUPPORTED)]


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"strategy": {"canary": {}}}}, id="apps"
        ),
        pytest.param({"apiVersion": "v1", "kind": "Service", "spec": {}}, id="core"),
        pytest.param({"kind": "Rollout"}, id="no-api-version"),
    ],
)
def test_other_api_groups_are_not_ours(manifest: dict[str, Any]) -> None:
    assert not unsupported.is_argo_manifest(manifest)
    assert unsupported.issues(manifest) == ()
