"""Which fields of a manifest rollwave cannot honour, by kind: for `rollwave lint` and the CRD-compat test.

A thin layer over the parsers: it picks the parser by `apiVersion`/`kind` and returns their issues.

>>> manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"},
...             "spec": {"workloadRef": {"kind": "Deployment", "name": "d"}}}
>>> [str(issue) for issue in unsupported_fields(manifest)]
['spec.workloadRef: not supported by rollwave']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rollouts.model import analysis, fields, rollout

ARGO_API_VERSION = "argoproj.io/v1alpha1"

PARSERS: Mapping[str, Callable[[Mapping[str, Any]], fields.Parsed[Any]]] = {
    "Rollout": rollout.parse_rollout,
    "AnalysisTemplate": analysis.parse_analysis_template,
    "ClusterAnalysisTemplate": analysis.parse_analysis_template,
    "AnalysisRun": analysis.parse_analysis_run,
}
# Argo kinds that rollwave does not implement at all.
UNSUPPORTED_KINDS = frozenset({"Experiment"})


def is_argo_manifest(manifest: Mapping[str, Any]) -> bool:
    """Whether the manifest belongs to Argo Rollouts' API group (and so to these parsers)."""
    api_version = manifest.get("apiVersion")
    return isinstance(api_version, str) and api_version.split("/")[0] == "argoproj.io"


def issues(manifest: Mapping[str, Any]) -> tuple[fields.FieldIssue, ...]:
    """Every issue (unsupported and invalid) of an Argo Rollouts manifest; () for other API groups.

    Argo Rollouts kinds rollwave does not implement, and other API versions of the group, are reported at
    `kind` / `apiVersion` as a whole.
    """
    if not is_argo_manifest(manifest):
        return ()
    kind = manifest.get("kind")
    if manifest.get("apiVersion") != ARGO_API_VERSION:
        return (
            fields.FieldIssue(
                path="apiVersion",
                message=f"only {ARGO_API_VERSION} is supported by rollwave",
                kind=fields.IssueKind.UNSUPPORTED,
            ),
        )
    parser = PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        message = (
            f"{kind} is {fields.NOT_SUPPORTED}" if kind in UNSUPPORTED_KINDS else f"unknown kind {kind!r}"
        )
        return (fields.FieldIssue(path="kind", message=message, kind=fields.IssueKind.UNSUPPORTED),)
    return parser(manifest).issues


def unsupported_fields(manifest: Mapping[str, Any]) -> tuple[fields.FieldIssue, ...]:
    """Only the fields (or kinds) rollwave does not support; invalid values are left to `issues`."""
    return tuple(issue for issue in issues(manifest) if issue.kind is fields.IssueKind.UNSUPPORTED)
