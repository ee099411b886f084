"""AnalysisTemplate / ClusterAnalysisTemplate / AnalysisRun parsing: metrics, providers, args, validation."""

import datetime
from typing import Any

import pytest

from rollouts.model import analysis, fields

INVALID = fields.IssueKind.INVALID
UNSUPPORTED = fields.IssueKind.UNSUPPORTED
PROMETHEUS = {"prometheus": {"address": "http://prometheus:9090", "query": "sum(up)"}}


def template(*metrics: dict[str, Any], kind: str = "AnalysisTemplate", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "success-rate", "namespace": "shop"},
        "spec": {"metrics": list(metrics) or [metric()], **spec},
    }


def metric(**fields_: Any) -> dict[str, Any]:
    return {"name": "success-rate", "provider": PROMETHEUS, **fields_}


def only_issue(body: dict[str, Any]) -> fields.FieldIssue:
    issues = analysis.parse_analysis_template(body).issues
    assert len(issues) == 1, issues
    return issues[0]


def test_metric_defaults_follow_argo() -> None:
    parsed = analysis.parse_analysis_template(template())
    assert parsed.issues == ()
    value = parsed.require()
    assert (value.name, value.namespace, value.cluster_scope) == ("success-rate", "shop", False)
    (only,) = value.spec.metrics
    assert only == analysis.Metric(
        name="success-rate",
        provider=analysis.MetricProviderSpec(kind="prometheus", config=PROMETHEUS["prometheus"]),
        interval=None,
        initial_delay=None,
        count=None,
        count_raw=None,
        failure_limit=0,
        inconclusive_limit=0,
        consecutive_error_limit=4,
        consecutive_success_limit=0,
        success_condition=None,
        failure_condition=None,
        no_data=None,
        has_placeholders=False,
        raw=metric(),
    )
    assert only.effective_count == 1


def test_every_metric_field_is_read() -> None:
    raw = metric(
        interval="5m",
        initialDelay="30s",
        count=10,
        failureLimit=3,
        inconclusiveLimit=2,
        consecutiveErrorLimit=0,
        consecutiveSuccessLimit=5,
        successCondition="result[0] >= 0.95",
        failureCondition="result[0] < 0.5",
        noDataPolicy="Inconclusive",
    )
    (only,) = analysis.parse_analysis_template(template(raw)).require().spec.metrics
    assert (only.interval, only.initial_delay) == (
        datetime.timedelta(minutes=5),
        datetime.timedelta(seconds=30),
    )
    assert (only.count, only.count_raw, only.effective_count) == (10, 10, 10)
    assert (only.failure_limit, only.inconclusive_limit) == (3, 2)
    assert (only.consecutive_error_limit, only.consecutive_success_limit) == (0, 5)
    assert (only.success_condition, only.failure_condition) == ("result[0] >= 0.95", "result[0] < 0.5")
    assert only.no_data == "Inconclusive"


def test_interval_without_count_runs_indefinitely() -> None:
    (only,) = analysis.parse_analysis_template(template(metric(interval="1m"))).require().spec.metrics
    assert only.effective_count is None


def test_failure_limit_minus_one_disables_it() -> None:
    (only,) = analysis.parse_analysis_template(template(metric(failureLimit=-1))).require().spec.metrics
    assert only.failure_limit == -1


def test_numeric_strings_are_counts_after_substitution() -> None:
    raw = metric(count="3", interval="5s", failureLimit="1")
    (only,) = analysis.parse_analysis_template(template(raw)).require().spec.metrics
    assert (only.count, only.count_raw, only.failure_limit) == (3, "3", 1)


def test_placeholders_are_kept_raw_until_resolved() -> None:
    raw = metric(
        count="{{args.count}}",
        interval="{{ args.interval }}",
        provider={"web": {"url": "{{args.url}}"}},
    )
    parsed = analysis.parse_analysis_template(template(raw, args=[{"name": "count"}, {"name": "interval"}]))
    assert parsed.issues == ()
    (only,) = parsed.require().spec.metrics
    assert (only.count, only.count_raw, only.interval, only.has_placeholders) == (
        None,
        "{{args.count}}",
        None,
        True,
    )
    assert only.raw == raw
    # The analysis core substitutes the arguments in `raw` and parses the metric again.
    resolved = {**raw, "count": "2", "interval": "10s", "provider": {"web": {"url": "https://example"}}}
    again = analysis.parse_metric(resolved, path="spec.metrics[0]").require()
    assert (again.count, again.interval, again.has_placeholders) == (2, datetime.timedelta(seconds=10), False)
    assert again.provider == analysis.MetricProviderSpec(kind="web", config={"url": "https://example"})


def test_template_args_are_read() -> None:
    args = [
        {"name": "service"},
        {"name": "namespace", "value": "shop"},
        {"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "env", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['env']"}}},
    ]
    parsed = analysis.parse_analysis_template(template(args=args))
    assert parsed.issues == ()
    assert parsed.require().spec.args == (
        analysis.AnalysisArg(name="service"),
        analysis.AnalysisArg(name="namespace", value="shop"),
        analysis.AnalysisArg(
            name="token",
            value_from=analysis.ArgValueFrom(secret_key_ref=analysis.SecretKeyRef(name="creds", key="token")),
        ),
        analysis.AnalysisArg(
            name="env", value_from=analysis.ArgValueFrom(field_path="metadata.labels['env']")
        ),
    )


def test_dry_run_and_measurement_retention_are_read() -> None:
    body = template(
        dryRun=[{"metricName": ".*"}], measurementRetention=[{"metricName": "success.*", "limit": 3}]
    )
    spec = analysis.parse_analysis_template(body).require().spec
    assert spec.dry_run == (analysis.DryRun(metric_name=".*"),)
    assert spec.measurement_retention == (analysis.MeasurementRetention(metric_name="success.*", limit=3),)


def test_cluster_analysis_templates_are_cluster_scoped() -> None:
    body = template(kind="ClusterAnalysisTemplate")
    value = analysis.parse_analysis_template(body).require()
    assert (value.cluster_scope, value.namespace) == (True, None)


@pytest.mark.parametrize(
    ("provider", "kind"),
    [
        pytest.param(PROMETHEUS, "prometheus", id="prometheus"),
        pytest.param({"web": {"url": "https://x", "jsonPath": "{$.ok}"}}, "web", id="web"),
        pytest.param({"job": {"spec": {"template": {"spec": {"containers": []}}}}}, "job", id="job"),
    ],
)
def test_supported_providers(provider: dict[str, Any], kind: str) -> None:
    parsed = analysis.parse_analysis_template(template(metric(provider=provider)))
    assert parsed.issues == ()
    (only,) = parsed.require().spec.metrics
    assert only.provider == analysis.MetricProviderSpec(kind=kind, config=provider[kind])


@pytest.mark.parametrize(
    "provider",
    [
        pytest.param(name, id=name)
        for name in (
            "kayenta",
            "datadog",
            "wavefront",
            "newRelic",
            "cloudWatch",
            "graphite",
            "influxdb",
            "skywalking",
            "plugin",
        )
    ],
)
def test_unsupported_providers_are_reported_by_path(provider: str) -> None:
    body = template(metric(), metric(name="second", provider={provider: {"query": "q"}}))
    issue = only_issue(body)
    assert (issue.path, issue.kind) == (f"spec.metrics[1].provider.{provider}", UNSUPPORTED)
    assert issue.message == "not supported by rollwave"


def test_unknown_provider_is_reported_as_unknown() -> None:
    issue = only_issue(template(metric(provider={"splunk": {"query": "q"}})))
    assert (issue.path, issue.kind) == ("spec.metrics[0].provider.splunk", UNSUPPORTED)
    assert issue.message.startswith("unknown field")


@pytest.mark.parametrize(
    ("spec_changes", "path", "kind"),
    [
        pytest.param({"templates": [{"templateName": "other"}]}, "spec.templates", UNSUPPORTED, id="nested"),
        pytest.param({"metricz": []}, "spec.metricz", UNSUPPORTED, id="unknown-spec-field"),
    ],
)
def test_unsupported_template_fields(spec_changes: dict[str, Any], path: str, kind: fields.IssueKind) -> None:
    issue = only_issue(template(**spec_changes))
    assert (issue.path, issue.kind) == (path, kind)


INVALID_METRICS = [
    pytest.param(
        [metric(provider={})], "spec.metrics[0].provider", "must set one provider", id="no-provider"
    ),
    pytest.param([{"name": "m"}], "spec.metrics[0].provider", "is required", id="provider-missing"),
    pytest.param(
        [metric(provider={**PROMETHEUS, "web": {"url": "u"}})],
        "spec.metrics[0].provider",
        "exactly one provider (got prometheus, web)",
        id="two-providers",
    ),
    pytest.param([metric(name="")], "spec.metrics[0].name", "is required", id="no-name"),
    pytest.param([metric(), metric()], "spec.metrics[1].name", "duplicate metric name", id="duplicate-names"),
    pytest.param([metric(interval="5")], "spec.metrics[0].interval", "duration", id="interval-without-unit"),
    pytest.param([metric(interval=30)], "spec.metrics[0].interval", "duration", id="interval-int"),
    pytest.param(
        [metric(initialDelay="soon")], "spec.metrics[0].initialDelay", "duration", id="bad-initial-delay"
    ),
    pytest.param(
        [metric(count=3)], "spec.metrics[0].interval", "required when count > 1", id="count-no-interval"
    ),
    pytest.param([metric(count=-1)], "spec.metrics[0].count", "must be >= 0", id="count-negative"),
    pytest.param([metric(count="many")], "spec.metrics[0].count", "must be an integer", id="count-text"),
    pytest.param(
        [metric(count=1, failureLimit=2)],
        "spec.metrics[0].count",
        "must be >= failureLimit (2)",
        id="count-below-failure-limit",
    ),
    pytest.param(
        [metric(count=1, inconclusiveLimit=2)],
        "spec.metrics[0].count",
        "must be >= inconclusiveLimit (2)",
        id="count-below-inconclusive-limit",
    ),
    pytest.param(
        [metric(failureLimit=-2)], "spec.metrics[0].failureLimit", "must be >= -1", id="failure-limit"
    ),
    pytest.param(
        [metric(inconclusiveLimit=-1)],
        "spec.metrics[0].inconclusiveLimit",
        "must be >= 0",
        id="inconclusive-limit",
    ),
    pytest.param(
        [metric(consecutiveErrorLimit=-1)],
        "spec.metrics[0].consecutiveErrorLimit",
        "must be >= 0",
        id="consecutive-error-limit",
    ),
    pytest.param(
        [metric(successCondition=True)],
        "spec.metrics[0].successCondition",
        "must be a string",
        id="condition-bool",
    ),
    pytest.param(
        [metric(provider={"web": "https://x"})], "spec.metrics[0].provider.web", "object", id="config-str"
    ),
]


@pytest.mark.parametrize(("metrics", "path", "message"), INVALID_METRICS)
def test_each_metric_rule_reports_one_invalid_field(
    metrics: list[dict[str, Any]], path: str, message: str
) -> None:
    issue = only_issue(template(*metrics))
    assert (issue.path, issue.kind) == (path, INVALID)
    assert message in issue.message


@pytest.mark.parametrize(
    ("spec_changes", "path", "message"),
    [
        pytest.param({"metrics": []}, "spec.metrics", "at least one metric", id="no-metrics"),
        pytest.param({"args": [{"value": "x"}]}, "spec.args[0].name", "is required", id="arg-without-name"),
        pytest.param(
            {"args": [{"name": "a"}, {"name": "a"}]},
            "spec.args[1].name",
            "duplicate argument",
            id="duplicate-arg",
        ),
        pytest.param(
            {"args": [{"name": "a", "value": 1}]}, "spec.args[0].value", "must be a string", id="arg-int"
        ),
        pytest.param(
            {"args": [{"name": "a", "valueFrom": {"secretKeyRef": {"name": "s"}}}]},
            "spec.args[0].valueFrom.secretKeyRef.key",
            "is required",
            id="secret-without-key",
        ),
        pytest.param(
            {"args": [{"name": "a", "valueFrom": {}}]},
            "spec.args[0].valueFrom",
            "exactly one of fieldRef, secretKeyRef",
            id="empty-value-from",
        ),
    ],
)
def test_template_rules(spec_changes: dict[str, Any], path: str, message: str) -> None:
    body = template()
    body["spec"].update(spec_changes)
    issue = only_issue(body)
    assert (issue.path, issue.kind) == (path, INVALID)
    assert message in issue.message


def test_rollout_only_value_sources_are_unknown_in_templates() -> None:
    issue = only_issue(template(args=[{"name": "h", "valueFrom": {"podTemplateHashValue": "Stable"}}]))
    assert (issue.path, issue.kind) == ("spec.args[0].valueFrom.podTemplateHashValue", UNSUPPORTED)


def test_wrong_kind_for_a_template_is_invalid() -> None:
    issue = only_issue(template(kind="AnalysisRun"))
    assert (issue.path, issue.kind) == ("kind", INVALID)


# --------------------------------------------------------------------------------------------------
# AnalysisRun


def run(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"generateName": "web-", "namespace": "shop", "labels": {"rollout-type": "Step"}},
        "spec": {"metrics": [metric()], **spec},
    }


def test_analysis_run_spec_and_empty_status() -> None:
    parsed = analysis.parse_analysis_run(run(args=[{"name": "service", "value": "web"}], terminate=True))
    assert parsed.issues == ()
    value = parsed.require()
    assert (value.name, value.generate_name, value.namespace) == ("", "web-", "shop")
    assert value.labels == {"rollout-type": "Step"}
    assert value.spec.terminate is True
    assert value.spec.args == (analysis.AnalysisArg(name="service", value="web"),)
    assert [m.name for m in value.spec.metrics] == ["success-rate"]
    assert value.status == analysis.AnalysisRunStatus()


def test_analysis_run_status_is_parsed() -> None:
    body = run()
    body["status"] = {
        "phase": "Running",
        "startedAt": "2026-11-22T10:00:00Z",
        "metricResults": [{"name": "success-rate", "phase": "Running", "count": 1, "successful": 1}],
    }
    status = analysis.parse_analysis_run(body).require().status
    assert status.phase is analysis.AnalysisPhase.RUNNING
    result = status.metric_result("success-rate")
    assert result is not None
    assert (result.count, result.successful, result.phase) == (1, 1, analysis.AnalysisPhase.RUNNING)
    assert status.metric_result("latency") is None


def test_analysis_run_ttl_strategy_is_unsupported() -> None:
    issues = analysis.parse_analysis_run(run(ttlStrategy={"secondsAfterCompletion": 60})).issues
    assert [(issue.path, issue.kind) for issue in issues] == [("spec.ttlStrategy", UNSUPPORTED)]


def test_analysis_run_malformed_status_is_invalid() -> None:
    body = run()
    body["status"] = {"phase": "Done"}
    issues = analysis.parse_analysis_run(body).issues
    assert [(issue.path, issue.kind) for issue in issues] == [("status", INVALID)]


def test_analysis_run_needs_a_name_or_generate_name() -> None:
    body = run()
    del body["metadata"]["generateName"]
    issues = analysis.parse_analysis_run(body).issues
    assert [(issue.path, issue.kind) for issue in issues] == [("metadata.name", INVALID)]


@pytest.mark.parametrize(
    ("phase", "completed"),
    [
        pytest.param(analysis.AnalysisPhase.PENDING, False, id="pending"),
        pytest.param(analysis.AnalysisPhase.RUNNING, False, id="running"),
        pytest.param(analysis.AnalysisPhase.SUCCESSFUL, True, id="successful"),
        pytest.param(analysis.AnalysisPhase.FAILED, True, id="failed"),
        pytest.param(analysis.AnalysisPhase.ERROR, True, id="error"),
        pytest.param(analysis.AnalysisPhase.INCONCLUSIVE, True, id="inconclusive"),
    ],
)
def test_analysis_phase_completion(phase: analysis.AnalysisPhase, completed: bool) -> None:
    assert phase.completed is completed
    assert phase == phase.value  # the wire string itself
