"""Before anything is measured, the run's arguments are resolved into its metrics; what cannot be resolved or is
invalid afterwards ends the run in Error with Argo's message, and secret values never appear in it."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.model import analysis as model
from rollouts.reconcile import analysisrun


def _run(spec: dict[str, Any]) -> model.AnalysisRun:
    parsed = model.parse_analysis_run(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun", "metadata": {"name": "r"}, "spec": spec}
    )
    assert parsed.value is not None, parsed.issues
    return parsed.value


def _web(name: str = "m", **fields: Any) -> dict[str, Any]:
    return {"name": name, "provider": {"web": {"url": "http://svc/{{args.path}}"}}, **fields}


def test_arguments_are_substituted_into_every_metric() -> None:
    run = _run(
        {
            "metrics": [_web("a"), _web("b", count="{{args.count}}", interval="1s")],
            "args": [{"name": "path", "value": "health"}, {"name": "count", "value": "3"}],
        }
    )
    resolved = analysisrun.resolve_run(run, secret_values={})
    assert [m.provider.config["url"] for m in resolved.metrics] == ["http://svc/health"] * 2
    assert resolved.metrics[1].count == 3
    assert resolved.secrets == frozenset()


def test_secret_values_are_substituted_and_remembered_for_masking() -> None:
    run = _run(
        {
            "metrics": [_web()],
            "args": [{"name": "path", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        }
    )
    assert analysisrun.secret_refs(run) == {"path": model.SecretKeyRef(name="s", key="k")}
    resolved = analysisrun.resolve_run(run, secret_values={"path": "t0ken"})
    assert resolved.metrics[0].provider.config["url"] == "http://svc/t0ken"
    assert resolved.secrets == frozenset({"t0ken"})


def test_dry_run_and_retention_rules_are_resolved_by_metric_name() -> None:
    run = _run(
        {
            "metrics": [_web("error-rate"), _web("latency")],
            "args": [{"name": "path", "value": "x"}],
            "dryRun": [{"metricName": "error"}],
            "measurementRetention": [{"metricName": "lat", "limit": 3}],
        }
    )
    resolved = analysisrun.resolve_run(run, secret_values={})
    assert resolved.dry_run_names == frozenset({"error-rate"})
    assert resolved.retention == {"latency": 3}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"metrics": [_web()], "args": [{"name": "path"}]},
            'Unable to resolve metric arguments: argument "path" was not supplied',
            id="argument-without-value",
        ),
        pytest.param(
            {"metrics": [_web()]},
            "Unable to resolve metric arguments: failed to resolve {{args.path}}",
            id="placeholder-naming-no-argument",
        ),
        pytest.param(
            {
                "metrics": [_web()],
                "args": [{"name": "path", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            },
            'Unable to resolve metric arguments: argument "path" was not supplied: its valueFrom was not resolved',
            id="field-ref-left-for-the-rollout",
        ),
        pytest.param(
            {
                "metrics": [_web(count="{{args.count}}", interval="1s")],
                "args": [{"name": "path", "value": "x"}, {"name": "count", "value": "three"}],
            },
            "Analysis spec invalid: spec.metrics[0].count: must be an integer (got 'three')",
            id="invalid-after-substitution",
        ),
        pytest.param(
            {
                "metrics": [_web()],
                "args": [{"name": "path", "value": "x"}],
                "dryRun": [{"metricName": "zzz"}],
            },
            "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)",
            id="dry-run-rule-matching-nothing",
        ),
        pytest.param(
            {"metrics": [_web(noDataPolicy="Ignore")], "args": [{"name": "path", "value": "x"}]},
            'Analysis spec invalid: metric "m": noDataPolicy must be one of Error, Inconclusive, Successful, '
            'Failed (got "Ignore")',
            id="unknown-no-data-policy",
        ),
    ],
)
def test_a_run_that_cannot_be_resolved_is_an_error_with_argos_message(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(analysisrun.RunSpecError) as raised:
        analysisrun.resolve_run(_run(spec), secret_values={})
    assert raised.value.message == message


def test_a_secret_value_never_appears_in_an_error_message() -> None:
    run = _run(
        {
            "metrics": [_web(count="{{args.path}}", interval="1s")],
            "args": [{"name": "path", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        }
    )
    with pytest.raises(analysisrun.RunSpecError) as raised:
        analysisrun.resolve_run(run, secret_values={"path": "hunter2"})
    assert "hunter2" not in raised.value.message
    assert "*****" in raised.value.message


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        pytest.param(
            {"kind": "AnalysisRun", "metadata": {"name": "r"}, "spec": {"metrics": [_web()]}},
            None,
            id="valid",
        ),
        pytest.param(
            {
                "kind": "AnalysisRun",
                "metadata": {"name": "r"},
                "spec": {"metrics": [{"name": "m", "provider": {"datadog": {}}}], "ttlStrategy": {}},
            },
            None,
            id="unsupported-fields-are-not-a-problem-here",
        ),
        pytest.param(
            {
                "kind": "AnalysisRun",
                "metadata": {"name": "r"},
                "spec": {"metrics": [_web(count=1, failureLimit=2)]},
            },
            "Analysis spec invalid: spec.metrics[0].count: must be >= failureLimit (2) (got 1)",
            id="invalid-metric",
        ),
        pytest.param(
            {
                "kind": "AnalysisRun",
                "metadata": {"name": "r"},
                "spec": {"metrics": [_web()]},
                "status": {"phase": "Sideways"},
            },
            "AnalysisRun status cannot be read: status: status.phase must be one of "
            "['Pending', 'Running', 'Successful', 'Failed', 'Error', 'Inconclusive'] (got 'Sideways')",
            id="malformed-status",
        ),
    ],
)
def test_spec_problems_are_named_by_field(manifest: dict[str, Any], problem: str | None) -> None:
    assert analysisrun.spec_problem(model.parse_analysis_run(manifest)) == problem
