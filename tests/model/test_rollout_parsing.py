"""parse_rollout: typed values with Argo's defaults, every validation rule, every unsupported field."""

import copy
import datetime
from typing import Any

import pytest

from rollouts.model import analysis, fields, rollout

INVALID = fields.IssueKind.INVALID
UNSUPPORTED = fields.IssueKind.UNSUPPORTED
CANARY = "spec.strategy.canary"
BLUE_GREEN = "spec.strategy.blueGreen"
SERVICES = {"canaryService": "web-canary", "stableService": "web-stable"}


def manifest(**spec: Any) -> dict[str, Any]:
    """A valid Rollout; keyword arguments replace (or, when None, remove) top-level spec fields."""
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}},
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
        },
    }
    for key, value in spec.items():
        if value is None:
            body["spec"].pop(key, None)
        else:
            body["spec"][key] = value
    return body


def canary(**fields_: Any) -> dict[str, Any]:
    return {"canary": fields_}


def issue_set(body: dict[str, Any]) -> set[tuple[str, fields.IssueKind]]:
    return {(issue.path, issue.kind) for issue in rollout.parse_rollout(body).issues}


def only_issue(body: dict[str, Any]) -> fields.FieldIssue:
    issues = rollout.parse_rollout(body).issues
    assert len(issues) == 1, issues
    return issues[0]


# --------------------------------------------------------------------------------------------------
# Values and defaults


def test_minimal_rollout_gets_argo_defaults() -> None:
    parsed = rollout.parse_rollout(manifest(strategy=None))
    assert parsed.issues == ()
    value = parsed.require()
    assert (value.name, value.namespace, value.uid, value.generation) == ("web", "shop", None, None)
    assert value.spec == rollout.RolloutSpec(
        replicas=1,
        selector={"matchLabels": {"app": "web"}},
        template={"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}},
        min_ready_seconds=0,
        progress_deadline_seconds=600,
        progress_deadline_abort=False,
        revision_history_limit=10,
        paused=False,
        restart_at=None,
        # No strategy at all is a canary without steps, as in Argo.
        strategy=rollout.CanaryStrategy(),
        successful_run_history_limit=5,
        unsuccessful_run_history_limit=5,
    )
    assert value.spec.strategy == rollout.CanaryStrategy(
        steps=(),
        max_surge=fields.IntOrPercent(value=25, is_percent=True),
        max_unavailable=fields.IntOrPercent(value=25, is_percent=True),
    )
    assert value.status == rollout.RolloutStatus()


def test_empty_strategy_is_a_canary_without_steps() -> None:
    assert rollout.parse_rollout(manifest(strategy={})).require().spec.strategy == rollout.CanaryStrategy()


def test_template_is_a_copy_not_the_callers_dict() -> None:
    body = manifest()
    parsed = rollout.parse_rollout(body).require()
    body["spec"]["template"]["metadata"]["labels"]["app"] = "changed"
    assert parsed.spec.template["metadata"]["labels"]["app"] == "web"


def test_every_top_level_field_is_read() -> None:
    body = manifest(
        replicas=4,
        minReadySeconds=5,
        progressDeadlineSeconds=120,
        progressDeadlineAbort=True,
        revisionHistoryLimit=3,
        paused=True,
        restartAt="2026-11-22T10:00:00Z",
        analysis={"successfulRunHistoryLimit": 2, "unsuccessfulRunHistoryLimit": 7},
    )
    body["metadata"].update(uid="u-1", generation=3, labels={"team": "a"}, annotations={"note": "b"})
    value = rollout.parse_rollout(body).require()
    assert (value.uid, value.generation, value.labels, value.annotations) == (
        "u-1",
        3,
        {"team": "a"},
        {"note": "b"},
    )
    spec = value.spec
    assert (spec.replicas, spec.min_ready_seconds, spec.progress_deadline_seconds) == (4, 5, 120)
    assert (spec.progress_deadline_abort, spec.revision_history_limit, spec.paused) == (True, 3, True)
    assert spec.restart_at == datetime.datetime(2026, 11, 22, 10, tzinfo=datetime.UTC)
    assert (spec.successful_run_history_limit, spec.unsuccessful_run_history_limit) == (2, 7)


def test_canary_steps_become_typed_steps() -> None:
    steps = [
        {"setWeight": 20},
        {"pause": {}},
        {"pause": {"duration": 10}},
        {"pause": {"duration": "1h30m"}},
        {"setCanaryScale": {"replicas": 3}},
        {"setCanaryScale": {"weight": 40}},
        {"setCanaryScale": {"matchTrafficWeight": True}},
        {"analysis": {"templates": [{"templateName": "success-rate"}]}},
        {"experiment": {"templates": []}},
    ]
    body = manifest(
        strategy=canary(steps=steps, trafficRouting={"nginx": {"stableIngress": "web"}}, **SERVICES)
    )
    parsed = rollout.parse_rollout(body)
    assert {(issue.path, issue.kind) for issue in parsed.issues} == {
        (f"{CANARY}.steps[8].experiment", UNSUPPORTED)
    }
    strategy = parsed.require(allow_unsupported=True).spec.strategy
    assert isinstance(strategy, rollout.CanaryStrategy)
    assert strategy.steps == (
        rollout.SetWeight(weight=20),
        rollout.Pause(duration=None),
        rollout.Pause(duration=datetime.timedelta(seconds=10)),
        rollout.Pause(duration=datetime.timedelta(hours=1, minutes=30)),
        rollout.SetCanaryScale(replicas=3),
        rollout.SetCanaryScale(weight=40),
        rollout.SetCanaryScale(match_traffic_weight=True),
        rollout.AnalysisStep(
            analysis=rollout.RolloutAnalysis(templates=(rollout.TemplateRef(name="success-rate"),))
        ),
        rollout.UnsupportedStep(kind="experiment"),
    )
    pause = strategy.steps[1]
    assert isinstance(pause, rollout.Pause)
    assert pause.indefinite
    assert strategy.raw_steps == tuple(steps)


def test_unsupported_steps_keep_step_indexes_aligned() -> None:
    steps = [
        {"setWeight": 10},
        {"experiment": {"templates": []}},
        {"plugin": {"name": "m"}},
        {"pause": {}},
    ]
    body = manifest(strategy=canary(steps=steps))
    strategy = rollout.parse_rollout(body).require(allow_unsupported=True).spec.strategy
    assert isinstance(strategy, rollout.CanaryStrategy)
    assert strategy.steps == (
        rollout.SetWeight(weight=10),
        rollout.UnsupportedStep(kind="experiment"),
        rollout.UnsupportedStep(kind="plugin"),
        rollout.Pause(),
    )


def test_canary_strategy_fields_are_read() -> None:
    body = manifest(
        strategy=canary(
            **SERVICES,
            maxSurge="50%",
            maxUnavailable=0,
            trafficRouting={
                "nginx": {"stableIngress": "web", "additionalIngressAnnotations": {"a": "b"}},
                "maxTrafficWeight": 1000,
                "managedRoutes": [{"name": "header-route"}],
            },
            analysis={
                "templates": [
                    {"templateName": "success-rate"},
                    {"templateName": "global", "clusterScope": True},
                ],
                "args": [
                    {"name": "service", "value": "web"},
                    {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
                    {"name": "env", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['env']"}}},
                ],
                "startingStep": 1,
                "dryRun": [{"metricName": "latency.*"}],
                "measurementRetention": [{"metricName": ".*", "limit": 20}],
                "analysisRunMetadata": {"labels": {"l": "1"}, "annotations": {"a": "2"}},
            },
            dynamicStableScale=True,
            abortScaleDownDelaySeconds=0,
            minPodsPerReplicaSet=2,
            steps=[{"setWeight": 500}],
        )
    )
    parsed = rollout.parse_rollout(body)
    assert parsed.issues == ()
    strategy = parsed.require().spec.strategy
    assert strategy == rollout.CanaryStrategy(
        steps=(rollout.SetWeight(weight=500),),
        canary_service="web-canary",
        stable_service="web-stable",
        max_surge=fields.IntOrPercent(value=50, is_percent=True),
        max_unavailable=fields.IntOrPercent(value=0, is_percent=False),
        traffic_routing=rollout.TrafficRouting(
            router="nginx",
            config={"stableIngress": "web", "additionalIngressAnnotations": {"a": "b"}},
            max_traffic_weight=1000,
            managed_routes=("header-route",),
        ),
        analysis=rollout.BackgroundAnalysis(
            templates=(
                rollout.TemplateRef(name="success-rate"),
                rollout.TemplateRef(name="global", cluster_scope=True),
            ),
            args=(
                analysis.AnalysisArg(name="service", value="web"),
                analysis.AnalysisArg(
                    name="stable-hash",
                    value_from=analysis.ArgValueFrom(pod_template_hash=analysis.PodTemplateHashValue.STABLE),
                ),
                analysis.AnalysisArg(
                    name="env", value_from=analysis.ArgValueFrom(field_path="metadata.labels['env']")
                ),
            ),
            dry_run=(analysis.DryRun(metric_name="latency.*"),),
            measurement_retention=(analysis.MeasurementRetention(metric_name=".*", limit=20),),
            analysis_run_metadata=rollout.AnalysisRunMetadata(labels={"l": "1"}, annotations={"a": "2"}),
            starting_step=1,
        ),
        dynamic_stable_scale=True,
        abort_scale_down_delay_seconds=0,
        min_pods_per_replica_set=2,
        raw_steps=({"setWeight": 500},),
    )
    assert strategy.max_traffic_weight == 1000


@pytest.mark.parametrize(
    ("routing", "router", "config"),
    [
        pytest.param({"nginx": {"stableIngress": "web"}}, "nginx", {"stableIngress": "web"}, id="nginx"),
        pytest.param(
            {"istio": {"virtualService": {"name": "vs"}}},
            "istio",
            {"virtualService": {"name": "vs"}},
            id="istio",
        ),
        pytest.param({"smi": {"rootService": "web"}}, "smi", {"rootService": "web"}, id="smi"),
        pytest.param(
            {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "web"}}},
            "plugin:argoproj-labs/gatewayAPI",
            {"httpRoute": "web"},
            id="gateway-api-plugin",
        ),
    ],
)
def test_supported_traffic_routers(routing: dict[str, Any], router: str, config: dict[str, Any]) -> None:
    parsed = rollout.parse_rollout(manifest(strategy=canary(trafficRouting=routing, **SERVICES)))
    assert parsed.issues == ()
    strategy = parsed.require().spec.strategy
    assert isinstance(strategy, rollout.CanaryStrategy)
    assert strategy.traffic_routing == rollout.TrafficRouting(router=router, config=config)


def test_istio_subsets_need_no_services() -> None:
    routing = {"istio": {"virtualService": {"name": "vs"}, "destinationRule": {"name": "dr"}}}
    assert rollout.parse_rollout(manifest(strategy=canary(trafficRouting=routing))).issues == ()


def test_blue_green_fields_are_read() -> None:
    check = {"templates": [{"templateName": "smoke"}], "args": [{"name": "x", "value": "1"}]}
    body = manifest(
        strategy={
            "blueGreen": {
                "activeService": "web-active",
                "previewService": "web-preview",
                "autoPromotionEnabled": False,
                "autoPromotionSeconds": 30,
                "previewReplicaCount": 1,
                "scaleDownDelaySeconds": 60,
                "abortScaleDownDelaySeconds": 0,
                "prePromotionAnalysis": check,
                "postPromotionAnalysis": check,
            }
        }
    )
    parsed = rollout.parse_rollout(body)
    assert parsed.issues == ()
    expected_check = rollout.RolloutAnalysis(
        templates=(rollout.TemplateRef(name="smoke"),), args=(analysis.AnalysisArg(name="x", value="1"),)
    )
    assert parsed.require().spec.strategy == rollout.BlueGreenStrategy(
        active_service="web-active",
        preview_service="web-preview",
        auto_promotion_enabled=False,
        auto_promotion_seconds=30,
        preview_replica_count=1,
        scale_down_delay_seconds=60,
        abort_scale_down_delay_seconds=0,
        pre_promotion_analysis=expected_check,
        post_promotion_analysis=expected_check,
    )


def test_blue_green_promotes_automatically_by_default() -> None:
    strategy = (
        rollout.parse_rollout(manifest(strategy={"blueGreen": {"activeService": "a"}}))
        .require()
        .spec.strategy
    )
    assert strategy == rollout.BlueGreenStrategy(active_service="a", auto_promotion_enabled=True)


# --------------------------------------------------------------------------------------------------
# Validation rules: each manifest below has exactly one problem, reported as INVALID at that path.

INVALID_CASES = [
    pytest.param(
        {"strategy": {"canary": {}, "blueGreen": {"activeService": "a"}}},
        "spec.strategy",
        "only one of canary and blueGreen",
        id="both-strategies",
    ),
    pytest.param(
        {"strategy": canary(steps=[{}])}, f"{CANARY}.steps[0]", "must set one of", id="step-without-action"
    ),
    pytest.param(
        {"strategy": canary(steps=[{"setWeight": 10, "pause": {}}])},
        f"{CANARY}.steps[0]",
        "only one action per step (got setWeight, pause)",
        id="step-with-two-actions",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"setWeight": 120}])},
        f"{CANARY}.steps[0].setWeight",
        "must be between 0 and 100 (got 120)",
        id="set-weight-over-100",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"setWeight": -1}])},
        f"{CANARY}.steps[0].setWeight",
        "must be between 0 and 100 (got -1)",
        id="set-weight-negative",
    ),
    pytest.param(
        {
            "strategy": canary(
                steps=[{"setWeight": 60}],
                trafficRouting={"nginx": {"stableIngress": "i"}, "maxTrafficWeight": 50},
                **SERVICES,
            )
        },
        f"{CANARY}.steps[0].setWeight",
        "must be between 0 and 50 (got 60)",
        id="set-weight-over-max-traffic-weight",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"setWeight": "20"}])},
        f"{CANARY}.steps[0].setWeight",
        "must be an integer",
        id="set-weight-string",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"pause": {"duration": "soon"}}])},
        f"{CANARY}.steps[0].pause.duration",
        "duration",
        id="pause-duration-unparseable",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"pause": {"duration": -5}}])},
        f"{CANARY}.steps[0].pause.duration",
        "negative",
        id="pause-duration-negative",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"pause": None}])},
        f"{CANARY}.steps[0].pause",
        "pause: {}",
        id="pause-null",
    ),
    pytest.param({"selector": None}, "spec.selector", "is required", id="selector-missing"),
    pytest.param({"selector": {}}, "spec.selector", "empty selector", id="selector-empty"),
    pytest.param(
        {"selector": {"matchLabels": {"app": "other"}}},
        "spec.template.metadata.labels",
        "`selector` does not match template `labels`",
        id="match-labels-mismatch",
    ),
    pytest.param(
        {"selector": {"matchLabels": {"app": "web", "tier": "front"}}},
        "spec.template.metadata.labels",
        "does not match",
        id="match-labels-not-a-subset",
    ),
    pytest.param(
        {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}},
        "spec.template.metadata.labels",
        "does not match",
        id="expression-in-mismatch",
    ),
    pytest.param(
        {"selector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}},
        "spec.template.metadata.labels",
        "does not match",
        id="expression-notin-mismatch",
    ),
    pytest.param(
        {"selector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}},
        "spec.template.metadata.labels",
        "does not match",
        id="expression-exists-mismatch",
    ),
    pytest.param(
        {"selector": {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}},
        "spec.template.metadata.labels",
        "does not match",
        id="expression-does-not-exist-mismatch",
    ),
    pytest.param(
        {"selector": {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]}},
        "spec.selector.matchExpressions[0].operator",
        "must be one of In, NotIn, Exists, DoesNotExist",
        id="expression-unknown-operator",
    ),
    pytest.param(
        {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": []}]}},
        "spec.selector.matchExpressions[0].values",
        "non-empty",
        id="expression-in-without-values",
    ),
    pytest.param(
        {"selector": {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]}},
        "spec.selector.matchExpressions[0].values",
        "must be empty",
        id="expression-exists-with-values",
    ),
    pytest.param({"template": None}, "spec.template", "is required", id="template-missing"),
    pytest.param(
        {"strategy": canary(steps=[{"setCanaryScale": {"replicas": 1}}])},
        f"{CANARY}.steps[0].setCanaryScale",
        "requires trafficRouting",
        id="set-canary-scale-without-traffic-routing",
    ),
    pytest.param(
        {
            "strategy": canary(
                steps=[{"setCanaryScale": {"replicas": 1, "weight": 10}}],
                trafficRouting={"nginx": {"stableIngress": "i"}},
                **SERVICES,
            )
        },
        f"{CANARY}.steps[0].setCanaryScale",
        "only one of replicas and weight",
        id="set-canary-scale-replicas-and-weight",
    ),
    pytest.param(
        {
            "strategy": canary(
                steps=[{"setCanaryScale": {}}], trafficRouting={"nginx": {"stableIngress": "i"}}, **SERVICES
            )
        },
        f"{CANARY}.steps[0].setCanaryScale",
        "must set replicas, weight or matchTrafficWeight",
        id="set-canary-scale-empty",
    ),
    pytest.param({"replicas": -1}, "spec.replicas", "must be >= 0 (got -1)", id="replicas-negative"),
    pytest.param({"replicas": "three"}, "spec.replicas", "must be an integer", id="replicas-not-a-number"),
    pytest.param({"replicas": True}, "spec.replicas", "must be an integer", id="replicas-bool"),
    pytest.param(
        {"strategy": {"blueGreen": {"previewService": "p"}}},
        f"{BLUE_GREEN}.activeService",
        "is required",
        id="blue-green-without-active-service",
    ),
    pytest.param(
        {"strategy": {"blueGreen": {"activeService": "s", "previewService": "s"}}},
        f"{BLUE_GREEN}.previewService",
        "must differ from activeService",
        id="blue-green-same-services",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"analysis": {"templates": []}}])},
        f"{CANARY}.steps[0].analysis.templates",
        "at least one template",
        id="analysis-step-without-templates",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"analysis": {"args": [{"name": "a", "value": "b"}]}}])},
        f"{CANARY}.steps[0].analysis.templates",
        "at least one template",
        id="analysis-step-with-missing-templates",
    ),
    pytest.param(
        {"strategy": canary(steps=[{"analysis": {"templates": [{"clusterScope": True}]}}])},
        f"{CANARY}.steps[0].analysis.templates[0].templateName",
        "is required",
        id="analysis-template-without-name",
    ),
    pytest.param(
        {
            "strategy": canary(
                steps=[
                    {
                        "analysis": {
                            "templates": [{"templateName": "t"}],
                            "args": [{"name": "h", "valueFrom": {"podTemplateHashValue": "Newest"}}],
                        }
                    }
                ]
            )
        },
        f"{CANARY}.steps[0].analysis.args[0].valueFrom.podTemplateHashValue",
        "must be Stable or Latest",
        id="analysis-arg-bad-pod-template-hash",
    ),
    pytest.param(
        {
            "strategy": canary(
                steps=[
                    {
                        "analysis": {
                            "templates": [{"templateName": "t"}],
                            "args": [
                                {"name": "h", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}
                            ],
                        }
                    }
                ]
            )
        },
        f"{CANARY}.steps[0].analysis.args[0]",
        "only one of value and valueFrom",
        id="analysis-arg-value-and-value-from",
    ),
    pytest.param(
        {"strategy": canary(canaryService="same", stableService="same")},
        f"{CANARY}.stableService",
        "must differ from canaryService",
        id="canary-service-equals-stable-service",
    ),
    pytest.param(
        {"strategy": canary(maxSurge=0, maxUnavailable="0%")},
        f"{CANARY}.maxSurge",
        "cannot both be 0",
        id="max-surge-and-max-unavailable-zero",
    ),
    pytest.param(
        {"strategy": canary(maxSurge="lots")}, f"{CANARY}.maxSurge", "percentage", id="max-surge-unparseable"
    ),
    pytest.param(
        {"minReadySeconds": 600},
        "spec.progressDeadlineSeconds",
        "must be greater than minReadySeconds (600) (got 600)",
        id="progress-deadline-not-above-min-ready",
    ),
    pytest.param(
        {"strategy": canary(scaleDownDelaySeconds=30)},
        f"{CANARY}.scaleDownDelaySeconds",
        "only be used with trafficRouting",
        id="scale-down-delay-without-traffic-routing",
    ),
    pytest.param(
        {"strategy": canary(dynamicStableScale=True)},
        f"{CANARY}.dynamicStableScale",
        "only be used with trafficRouting",
        id="dynamic-stable-scale-without-traffic-routing",
    ),
    pytest.param(
        {
            "strategy": canary(
                dynamicStableScale=True,
                scaleDownDelaySeconds=30,
                trafficRouting={"nginx": {"stableIngress": "i"}},
                **SERVICES,
            )
        },
        f"{CANARY}.dynamicStableScale",
        "cannot be used with scaleDownDelaySeconds",
        id="dynamic-stable-scale-with-scale-down-delay",
    ),
    pytest.param(
        {"strategy": canary(trafficRouting={"nginx": {"stableIngress": "i"}}, canaryService="c")},
        f"{CANARY}.stableService",
        "required with the nginx traffic router",
        id="nginx-without-stable-service",
    ),
    pytest.param(
        {"strategy": canary(trafficRouting={"smi": {}}, stableService="s")},
        f"{CANARY}.canaryService",
        "required with the smi traffic router",
        id="smi-without-canary-service",
    ),
    pytest.param(
        {
            "strategy": canary(
                trafficRouting={"istio": {"virtualService": {"name": "v"}}, "maxTrafficWeight": 1000},
                **SERVICES,
            )
        },
        f"{CANARY}.trafficRouting.maxTrafficWeight",
        "only supported with nginx, gatewayAPI and plugins",
        id="max-traffic-weight-with-istio",
    ),
    pytest.param(
        {"strategy": canary(trafficRouting={"managedRoutes": [{"name": "r"}]}, **SERVICES)},
        f"{CANARY}.trafficRouting",
        "must configure a traffic router",
        id="traffic-routing-without-router",
    ),
    pytest.param({"restartAt": "tomorrow"}, "spec.restartAt", "RFC 3339", id="restart-at-not-a-timestamp"),
    pytest.param({"paused": "yes"}, "spec.paused", "true or false", id="paused-not-a-bool"),
    pytest.param(
        {"strategy": canary(steps={"setWeight": 10})},
        f"{CANARY}.steps",
        "must be a list",
        id="steps-not-a-list",
    ),
    pytest.param(
        {"strategy": canary(analysis={"templates": [{"templateName": "t"}], "startingStep": -1})},
        f"{CANARY}.analysis.startingStep",
        "must be >= 0",
        id="background-starting-step-negative",
    ),
    pytest.param(
        {
            "strategy": canary(
                analysis={"templates": [{"templateName": "t"}], "measurementRetention": [{"metricName": "m"}]}
            )
        },
        f"{CANARY}.analysis.measurementRetention[0].limit",
        "is required",
        id="measurement-retention-without-limit",
    ),
    pytest.param(
        {
            "strategy": canary(
                analysis={"templates": [{"templateName": "t"}], "dryRun": [{"metricName": "("}]}
            )
        },
        f"{CANARY}.analysis.dryRun[0].metricName",
        "regular expression",
        id="dry-run-bad-regex",
    ),
]


@pytest.mark.parametrize(("spec", "path", "message"), INVALID_CASES)
def test_each_validation_rule_reports_one_invalid_field(
    spec: dict[str, Any], path: str, message: str
) -> None:
    issue = only_issue(manifest(**spec))
    assert (issue.path, issue.kind) == (path, INVALID)
    assert message in issue.message


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]}, id="in"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}, id="notin"
        ),
        pytest.param({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, id="exists"),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, id="does-not-exist"
        ),
        pytest.param(
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}],
            },
            id="labels-and-expressions",
        ),
    ],
)
def test_matching_selectors_are_valid(selector: dict[str, Any]) -> None:
    assert issue_set(manifest(selector=selector)) == set()


def test_both_services_missing_for_nginx_are_both_reported() -> None:
    body = manifest(strategy=canary(trafficRouting={"nginx": {"stableIngress": "i"}}))
    assert issue_set(body) == {(f"{CANARY}.stableService", INVALID), (f"{CANARY}.canaryService", INVALID)}


def test_missing_spec_yields_no_value() -> None:
    body = manifest()
    del body["spec"]
    parsed = rollout.parse_rollout(body)
    assert parsed.value is None
    assert [(issue.path, issue.kind) for issue in parsed.issues] == [("spec", INVALID)]


def test_missing_name_is_invalid() -> None:
    body = manifest()
    del body["metadata"]["name"]
    assert issue_set(body) == {("metadata.name", INVALID)}


def test_wrong_kind_is_invalid() -> None:
    body = manifest()
    body["kind"] = "Deployment"
    assert issue_set(body) == {("kind", INVALID)}


def test_invalid_values_keep_the_rest_readable() -> None:
    """An invalid manifest still yields a value, so the controller can name it in conditions and events."""
    parsed = rollout.parse_rollout(
        manifest(replicas=-3, strategy=canary(steps=[{"setWeight": 500}], **SERVICES))
    )
    assert {issue.path for issue in parsed.invalid} == {"spec.replicas", f"{CANARY}.steps[0].setWeight"}
    assert parsed.value is not None
    assert parsed.value.spec.replicas == 1
    assert parsed.value.spec.strategy == rollout.CanaryStrategy(
        steps=(rollout.UnsupportedStep(kind="setWeight"),),
        canary_service="web-canary",
        stable_service="web-stable",
        raw_steps=({"setWeight": 500},),
    )
    with pytest.raises(fields.InvalidSpec, match=r"spec\.replicas: must be >= 0"):
        parsed.require()


def test_malformed_status_is_reported_not_raised() -> None:
    body = manifest()
    body["status"] = {"pauseConditions": [{"reason": "Coffee", "startTime": "2026-11-22T10:00:00Z"}]}
    issue = only_issue(body)
    assert (issue.path, issue.kind) == ("status", INVALID)
    assert "status.pauseConditions[0].reason" in issue.message


# --------------------------------------------------------------------------------------------------
# Unsupported fields: reported by path, never dropped silently.

UNSUPPORTED_CASES = [
    pytest.param({"rollbackWindow": {"revisions": 2}}, "spec.rollbackWindow", id="rollback-window"),
    pytest.param(
        {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}},
        "spec.workloadRef",
        id="workload-ref-with-template",
    ),
    *(
        pytest.param({"strategy": canary(**{key: value})}, f"{CANARY}.{key}", id=f"canary-{key}")
        for key, value in {
            "antiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}},
            "canaryMetadata": {"labels": {"role": "canary"}},
            "stableMetadata": {"labels": {"role": "stable"}},
            "scaleDownDelayRevisionLimit": 1,
            "pingPong": {"pingService": "ping", "pongService": "pong"},
            "replicaProgressThreshold": {"type": "Percent", "value": 50},
        }.items()
    ),
    *(
        pytest.param(
            {"strategy": {"blueGreen": {"activeService": "a", key: value}}},
            f"{BLUE_GREEN}.{key}",
            id=f"bg-{key}",
        )
        for key, value in {
            "maxUnavailable": 1,
            "scaleDownDelayRevisionLimit": 1,
            "antiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}},
            "previewMetadata": {"labels": {"role": "preview"}},
            "activeMetadata": {"labels": {"role": "active"}},
        }.items()
    ),
    *(
        pytest.param(
            {"strategy": canary(steps=[{"setWeight": 10}, {key: value}])},
            f"{CANARY}.steps[1].{key}",
            id=f"step-{key}",
        )
        for key, value in {
            "experiment": {"templates": [{"name": "e", "specRef": "canary"}]},
            "plugin": {"name": "step-plugin", "config": {}},
        }.items()
    ),
    *(
        pytest.param(
            {"strategy": canary(trafficRouting={key: value}, **SERVICES)},
            f"{CANARY}.trafficRouting.{key}",
            id=f"router-{key}",
        )
        for key, value in {
            "alb": {"ingress": "i", "servicePort": 80},
            "ambassador": {"mappings": ["m"]},
            "appMesh": {"virtualService": {"name": "v"}},
            "traefik": {"weightedTraefikServiceName": "t"},
            "apisix": {"route": {"name": "r"}},
        }.items()
    ),
    pytest.param(
        {"strategy": canary(trafficRouting={"plugins": {"argoproj-labs/contour": {}}}, **SERVICES)},
        f"{CANARY}.trafficRouting.plugins[argoproj-labs/contour]",
        id="router-plugin-other-than-gateway-api",
    ),
    pytest.param(
        {"strategy": canary(trafficRouting={"nginx": {"stableIngress": "i"}, "smi": {}}, **SERVICES)},
        f"{CANARY}.trafficRouting.smi",
        id="second-router",
    ),
]


@pytest.mark.parametrize(("spec", "path"), UNSUPPORTED_CASES)
def test_each_unsupported_field_is_reported_by_path(spec: dict[str, Any], path: str) -> None:
    issue = only_issue(manifest(**spec))
    assert (issue.path, issue.kind) == (path, UNSUPPORTED)
    assert "not supported by rollwave" in issue.message


def test_workload_ref_without_template_reports_only_the_workload_ref() -> None:
    body = manifest(
        workloadRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}, selector=None, template=None
    )
    assert issue_set(body) == {("spec.workloadRef", UNSUPPORTED)}


@pytest.mark.parametrize(
    ("body_patch", "path"),
    [
        pytest.param({"spek": {}}, "spek", id="top-level"),
        pytest.param({"spec": {"replica": 3}}, "spec.replica", id="spec"),
        pytest.param({"strategy": canary(maxSurges=1)}, f"{CANARY}.maxSurges", id="canary"),
        pytest.param(
            {"strategy": canary(steps=[{"setWeight": 10, "weight": 10}])},
            f"{CANARY}.steps[0].weight",
            id="step",
        ),
        pytest.param(
            {"strategy": canary(steps=[{"pause": {"duration": 10, "until": "x"}}])},
            f"{CANARY}.steps[0].pause.until",
            id="pause",
        ),
    ],
)
def test_unknown_fields_are_reported_as_unknown(body_patch: dict[str, Any], path: str) -> None:
    body = manifest()
    for key, value in body_patch.items():
        if key == "spek":
            body[key] = value
        elif key == "spec":
            body["spec"].update(value)
        else:
            body["spec"][key] = value
    issue = only_issue(body)
    assert (issue.path, issue.kind) == (path, UNSUPPORTED)
    assert issue.message.startswith("unknown field")


def test_parsing_does_not_modify_the_input() -> None:
    body = manifest(strategy=canary(steps=[{"setWeight": 10}, {"experiment": {}}]))
    before = copy.deepcopy(body)
    rollout.parse_rollout(body)
    assert body == before


ISTIO_ROUTES = {
    "istio": {"virtualService": {"name": "vs", "routes": ["primary"]}},
    "managedRoutes": [{"name": "h"}, {"name": "m"}],
}


def test_header_and_mirror_route_steps_parse_into_their_routes() -> None:
    steps = [
        {
            "setHeaderRoute": {
                "name": "h",
                "match": [{"headerName": "X-Canary", "headerValue": {"exact": "yes"}}],
            }
        },
        {"setMirrorRoute": {"name": "m", "percentage": 10, "match": [{"method": {"exact": "GET"}}]}},
        {"setHeaderRoute": {"name": "h"}},
    ]
    parsed = rollout.parse_rollout(
        manifest(strategy=canary(steps=steps, trafficRouting=ISTIO_ROUTES, **SERVICES))
    )
    assert parsed.issues == ()
    strategy = parsed.require().spec.strategy
    assert isinstance(strategy, rollout.CanaryStrategy)
    header, mirror, removal = strategy.steps
    assert isinstance(header, rollout.SetHeaderRoute) and header.route.name == "h"
    assert header.route.headers[0][0] == "X-Canary"
    assert isinstance(mirror, rollout.SetMirrorRoute) and mirror.route.percentage == 10
    assert isinstance(removal, rollout.SetHeaderRoute) and removal.route.headers == ()


def test_a_header_match_without_a_value_kind_names_the_field() -> None:
    steps = [{"setHeaderRoute": {"name": "h", "match": [{"headerName": "X", "headerValue": {}}]}}]
    issue = only_issue(manifest(strategy=canary(steps=steps, trafficRouting=ISTIO_ROUTES, **SERVICES)))
    assert issue.path == f"{CANARY}.steps[0].setHeaderRoute.match[0].headerValue"
    assert issue.message == "must set exactly one of exact, prefix, regex"


def test_a_route_step_needs_a_router_and_a_managed_route_of_its_name() -> None:
    steps = [{"setHeaderRoute": {"name": "h"}}]
    issue = only_issue(manifest(strategy=canary(steps=steps)))
    assert (issue.path, issue.message) == (f"{CANARY}.steps[0].setHeaderRoute", "requires trafficRouting")
    steps = [{"setMirrorRoute": {"name": "elsewhere"}}]
    issue = only_issue(manifest(strategy=canary(steps=steps, trafficRouting=ISTIO_ROUTES, **SERVICES)))
    assert (issue.path, issue.message) == (
        f"{CANARY}.steps[0].setMirrorRoute.name",
        'route "elsewhere" is not listed in trafficRouting.managedRoutes',
    )
