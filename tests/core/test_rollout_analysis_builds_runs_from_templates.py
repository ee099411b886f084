"""A Rollout's AnalysisRun is built from its templates as Argo builds it (semantics 2.1, 2.9, 1.6).

Templates are merged (metrics, args, dryRun, measurementRetention); a Rollout arg overrides the template arg of the
same name and is resolved when the run is made (value, podTemplateHashValue, fieldRef); undeclared Rollout args are
ignored; a template arg left without a value, a missing template, a metric defined twice: an error naming the field.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.core import rollout_analysis
from rollouts.model import rollout as model

ROLLOUT: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "labels": {"env": "prod"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web", "version": "v2"}}},
    },
}


def template(*metrics: str, args: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metrics": [{"name": m, "provider": {"web": {"url": "http://x"}}} for m in metrics]
    }
    if args is not None:
        body["args"] = args
    body.update(spec)
    return {"kind": "AnalysisTemplate", "metadata": {"name": "t"}, "spec": body}


def analysis(*names: str, cluster: bool = False, **extra: Any) -> model.RolloutAnalysis:
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "a", "image": "a"}]},
            },
            "strategy": {
                "canary": {
                    "steps": [
                        {
                            "analysis": {
                                "templates": [{"templateName": n, "clusterScope": cluster} for n in names],
                                **extra,
                            }
                        }
                    ]
                }
            },
        },
    }
    parsed = model.parse_rollout(manifest)
    assert parsed.value is not None, parsed.issues
    strategy = parsed.value.spec.strategy
    assert isinstance(strategy, model.CanaryStrategy)
    step = strategy.steps[0]
    assert isinstance(step, model.AnalysisStep)
    return step.analysis


def request(spec: model.RolloutAnalysis, **overrides: Any) -> rollout_analysis.RunRequest:
    fields: dict[str, Any] = {
        "name": "web-abc-2-1",
        "run_type": rollout_analysis.RunType.STEP,
        "step_index": 1,
        "analysis": spec,
        "analysis_path": "spec.strategy.canary.steps[0].analysis",
        "pod_template_hash": "abc",
        "stable_pod_template_hash": "old",
        "revision": 2,
    }
    fields.update(overrides)
    return rollout_analysis.RunRequest(**fields)


def build(
    spec: model.RolloutAnalysis, templates: dict[str, dict[str, Any] | None], **overrides: Any
) -> dict[str, Any]:
    by_ref = {ref: templates.get(ref.name) for ref in spec.templates}
    return rollout_analysis.build_run(request(spec, **overrides), rollout=ROLLOUT, templates=by_ref)


def test_a_run_is_labelled_annotated_and_owned_like_argos() -> None:
    spec = analysis("rate", analysisRunMetadata={"labels": {"team": "a"}, "annotations": {"note": "n"}})
    run = build(spec, {"rate": template("success")})
    meta = run["metadata"]
    assert (meta["name"], meta["namespace"]) == ("web-abc-2-1", "shop")
    assert meta["labels"] == {
        "app": "web",
        "team": "a",
        "rollouts-pod-template-hash": "abc",
        "rollout-type": "Step",
        "step-index": "1",
    }
    assert meta["annotations"]["rollout.argoproj.io/revision"] == "2"
    assert meta["annotations"]["note"] == "n"
    assert meta["annotations"][rollout_analysis.SPEC_HASH_ANNOTATION] == rollout_analysis.spec_hash(
        run["spec"]
    )
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "name": "web",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_a_background_run_has_no_step_index() -> None:
    run = build(
        analysis("rate"),
        {"rate": template("success")},
        run_type=rollout_analysis.RunType.BACKGROUND,
        step_index=None,
    )
    assert run["metadata"]["labels"]["rollout-type"] == "Background"
    assert "step-index" not in run["metadata"]["labels"]


def test_templates_are_merged_in_order() -> None:
    spec = analysis("a", "b", dryRun=[{"metricName": "latency"}])
    run = build(
        spec,
        {
            "a": template("success", dryRun=[{"metricName": "success"}]),
            "b": template("latency", measurementRetention=[{"metricName": ".*", "limit": 20}]),
        },
    )
    assert [m["name"] for m in run["spec"]["metrics"]] == ["success", "latency"]
    assert run["spec"]["dryRun"] == [{"metricName": "success"}, {"metricName": "latency"}]
    assert run["spec"]["measurementRetention"] == [{"metricName": ".*", "limit": 20}]


def test_rollout_args_override_template_args_and_are_resolved() -> None:
    template_args = [
        {"name": "service"},
        {"name": "canary-hash"},
        {"name": "stable-hash"},
        {"name": "env"},
        {"name": "version"},
        {"name": "threshold", "value": "0.95"},
        {"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
    ]
    spec = analysis(
        "rate",
        args=[
            {"name": "service", "value": "web-canary"},
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
            {"name": "env", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['env']"}}},
            {
                "name": "version",
                "valueFrom": {"fieldRef": {"fieldPath": "spec.template.metadata.labels.version"}},
            },
            {"name": "not-declared", "value": "ignored"},
        ],
    )
    run = build(spec, {"rate": template("success", args=template_args)})
    assert run["spec"]["args"] == [
        {"name": "service", "value": "web-canary"},
        {"name": "canary-hash", "value": "abc"},
        {"name": "stable-hash", "value": "old"},
        {"name": "env", "value": "prod"},
        {"name": "version", "value": "v2"},
        {"name": "threshold", "value": "0.95"},
        # A secret stays a reference: the run reads it when it measures, and it never lands in the spec.
        {"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
    ]


@pytest.mark.parametrize(
    ("templates", "spec_kwargs", "path", "message"),
    [
        pytest.param(
            {},
            {},
            "spec.strategy.canary.steps[0].analysis.templates[0].templateName",
            'AnalysisTemplate "rate" not found in namespace "shop"',
            id="missing-template",
        ),
        pytest.param(
            {"rate": template("success", args=[{"name": "service"}])},
            {},
            "spec.strategy.canary.steps[0].analysis.args",
            'argument "service" was not supplied (the template declares it without a default)',
            id="required-arg-not-supplied",
        ),
        pytest.param(
            {"rate": template("success", args=[{"name": "team"}])},
            {"args": [{"name": "team", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['team']"}}}]},
            "spec.strategy.canary.steps[0].analysis.args[0].valueFrom.fieldRef.fieldPath",
            "\"metadata.labels['team']\" is not set on the Rollout",
            id="field-ref-to-nothing",
        ),
        pytest.param(
            {"rate": {"spec": {"templates": [{"templateName": "other"}]}}},
            {},
            "spec.strategy.canary.steps[0].analysis.templates[0].templateName",
            'template "rate" nests other templates, which rollwave does not support',
            id="nested-templates",
        ),
    ],
)
def test_what_cannot_be_built_names_the_rollout_field(
    templates: dict[str, dict[str, Any] | None], spec_kwargs: dict[str, Any], path: str, message: str
) -> None:
    spec = analysis("rate", **spec_kwargs)
    with pytest.raises(rollout_analysis.RunBuildError) as raised:
        build(spec, templates)
    assert (raised.value.path, raised.value.message) == (path, message)


def test_a_metric_in_two_templates_is_an_error() -> None:
    spec = analysis("a", "b")
    with pytest.raises(
        rollout_analysis.RunBuildError, match='metric "success" is defined by more than one template'
    ):
        build(spec, {"a": template("success"), "b": template("success")})


def test_a_missing_cluster_template_says_so() -> None:
    spec = analysis("global", cluster=True)
    with pytest.raises(rollout_analysis.RunBuildError, match=r'ClusterAnalysisTemplate "global" not found$'):
        build(spec, {})


def test_check_references_reports_every_analysis_by_path() -> None:
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "a", "image": "a"}]},
            },
            "strategy": {
                "canary": {
                    "analysis": {"templates": [{"templateName": "bg"}]},
                    "steps": [{"setWeight": 10}, {"analysis": {"templates": [{"templateName": "here"}]}}],
                }
            },
        },
    }
    rollout = model.parse_rollout(manifest).value
    assert rollout is not None and isinstance(rollout.spec.strategy, model.CanaryStrategy)
    issues = rollout_analysis.check_references(
        rollout.spec.strategy,
        rollout=manifest,
        templates={model.TemplateRef(name="here"): template("ok"), model.TemplateRef(name="bg"): None},
    )
    assert [(i.path, i.message) for i in issues] == [
        (
            "spec.strategy.canary.analysis.templates[0].templateName",
            'AnalysisTemplate "bg" not found in namespace "shop"',
        )
    ]


def test_run_names_take_argos_suffix_when_taken() -> None:
    name = rollout_analysis.run_name(
        rollout="web", pod_template_hash="abc", revision=3, step_index=2, taken=()
    )
    assert name == "web-abc-3-2"
    taken = {"web-abc-3-2", "web-abc-3-2.1"}
    assert rollout_analysis.run_name(
        rollout="web", pod_template_hash="abc", revision=3, step_index=2, taken=taken
    ) == ("web-abc-3-2.2")
    assert rollout_analysis.run_name(
        rollout="web", pod_template_hash="abc", revision=3, step_index=None, taken=()
    ) == ("web-abc-3")


def view(name: str, phase: str, minute: int) -> rollout_analysis.AnalysisRunView:
    return rollout_analysis.AnalysisRunView(
        name=name,
        run_type=rollout_analysis.RunType.STEP,
        step_index=0,
        pod_template_hash="h",
        phase=phase,
        created=datetime.datetime(2026, 1, 1, 0, minute, tzinfo=datetime.UTC),
    )


def test_history_limits_keep_the_newest_of_each_kind_and_spare_running_and_kept_runs() -> None:
    runs = [
        view("s1", "Successful", 1),
        view("f1", "Failed", 2),
        view("s2", "Successful", 3),
        view("e1", "Error", 4),
        view("s3", "Successful", 5),
        view("r1", "Running", 6),
        view("i1", "Inconclusive", 7),
    ]
    assert rollout_analysis.runs_to_delete(runs, keep={"f1"}, successful_limit=1, unsuccessful_limit=1) == [
        "s1",
        "s2",
        "e1",
    ]


def test_the_recorded_run_wins_and_only_going_runs_are_adopted() -> None:
    done = view("done", "Failed", 1)
    going = view("going", "Running", 2)
    pick = rollout_analysis.current_run
    assert (
        pick(
            [done, going],
            run_type=rollout_analysis.RunType.STEP,
            pod_template_hash="h",
            step_index=0,
            recorded="done",
        )
        is done
    )
    assert (
        pick(
            [done, going],
            run_type=rollout_analysis.RunType.STEP,
            pod_template_hash="h",
            step_index=0,
            recorded=None,
        )
        is going
    )
    assert (
        pick(
            [done], run_type=rollout_analysis.RunType.STEP, pod_template_hash="h", step_index=0, recorded=None
        )
        is None
    )
    assert (
        pick(
            [going],
            run_type=rollout_analysis.RunType.STEP,
            pod_template_hash="h",
            step_index=1,
            recorded=None,
        )
        is None
    )
