"""Every Argo example manifest of our kinds parses, with exactly the issues written down here.

What each file yields (Argo kinds only; Services, Secrets, Deployments and Istio objects are not ours):

- analysis-templates.yaml: AnalysisTemplates `pass` and `random-fail` (Job provider): no issues.
- cluster-analysis-templates.yaml: ClusterAnalysisTemplate `always-pass`: no issues.
- e2e-expectedfailures/analysis-run-prometheus-bad-server.yaml: a bare AnalysisRun (generateName only) whose
  Prometheus is unreachable. It fails at run time (Error), not at parse time: no issues.
- e2e-functional/analysistemplate-sleep-job.yaml: `count: "{{args.count}}"` stays a placeholder: no issues.
- e2e-functional/analysistemplate-web-background.yaml: web provider, 5s interval: no issues.
- e2e-functional/rollout-background-analysis.yaml: background analysis + setWeight + pause: no issues.
- e2e-functional/rollout-inline-analysis.yaml: three analysis steps around a pause: no issues.
- getting-started-basic/rollout.yaml: `pause: {duration: 10}` is 10 seconds: no issues.
- istio-subset-split.yaml: Istio with DestinationRule subsets (needs no canary/stable Services): no issues.
- rollout-analysis-step.yaml: an analysis step with a cluster-scoped template: no issues.
- rollout-bluegreen.yaml: blue-green with a preview Service, manual promotion: no issues.
- rollout-canary.yaml: setWeight 20/40/60/80 with pauses: no issues.
- rollout-rolling-update.yaml: canary without steps, maxSurge/maxUnavailable 1 (absolute): no issues.
- rollout-secret.yaml: the Rollout and an AnalysisTemplate whose arg comes from a Secret: no issues.
- workload-ref.yaml: `spec.workloadRef` is unsupported; that is the only issue (no complaint about the
  missing selector and template, which workloadRef replaces).
"""

import datetime
import os
import pathlib
from typing import Any

import pytest
import yaml

from rollouts.model import analysis, fields, rollout, unsupported

EXAMPLES = pathlib.Path(
    os.environ.get(
        "ROLLWAVE_ARGO_EXAMPLES", pathlib.Path(__file__).resolve().parents[3] / "shared" / "argo-examples"
    )
)
SECONDS = datetime.timedelta(seconds=1)

# (file, kind, name or generateName) -> the exact issues, as "path: message [Kind]".
EXPECTED_ISSUES: dict[tuple[str, str, str], set[str]] = {
    ("analysis-templates.yaml", "AnalysisTemplate", "pass"): set(),
    ("analysis-templates.yaml", "AnalysisTemplate", "random-fail"): set(),
    ("cluster-analysis-templates.yaml", "ClusterAnalysisTemplate", "always-pass"): set(),
    (
        "e2e-expectedfailures/analysis-run-prometheus-bad-server.yaml",
        "AnalysisRun",
        "analysis-run-prometheus-bad-server-",
    ): set(),
    ("e2e-functional/analysistemplate-sleep-job.yaml", "AnalysisTemplate", "sleep-job"): set(),
    ("e2e-functional/analysistemplate-web-background.yaml", "AnalysisTemplate", "web-background"): set(),
    ("e2e-functional/rollout-background-analysis.yaml", "Rollout", "rollout-background-analysis"): set(),
    ("e2e-functional/rollout-inline-analysis.yaml", "Rollout", "rollout-inline-analysis"): set(),
    ("getting-started-basic/rollout.yaml", "Rollout", "rollouts-demo"): set(),
    ("istio-subset-split.yaml", "Rollout", "istio-subset-split"): set(),
    ("rollout-analysis-step.yaml", "Rollout", "rollout-analysis-step"): set(),
    ("rollout-bluegreen.yaml", "Rollout", "rollout-bluegreen"): set(),
    ("rollout-canary.yaml", "Rollout", "rollout-canary"): set(),
    ("rollout-rolling-update.yaml", "Rollout", "rollout-rollingupdate"): set(),
    ("rollout-secret.yaml", "Rollout", "rollout-secret"): set(),
    ("rollout-secret.yaml", "AnalysisTemplate", "analysis-secret"): set(),
    ("workload-ref.yaml", "Rollout", "rollout-ref-deployment"): {
        "spec.workloadRef: not supported by rollwave [Unsupported]"
    },
}


def argo_documents() -> dict[tuple[str, str, str], dict[str, Any]]:
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in sorted(EXAMPLES.glob("**/*.yaml")):
        with path.open() as stream:
            for document in yaml.safe_load_all(stream):
                if not document or not unsupported.is_argo_manifest(document):
                    continue
                metadata = document.get("metadata") or {}
                name = str(metadata.get("name") or metadata.get("generateName"))
                found[(path.relative_to(EXAMPLES).as_posix(), str(document["kind"]), name)] = document
    return found


DOCUMENTS = argo_documents()


def document(file: str, kind: str, name: str) -> dict[str, Any]:
    return DOCUMENTS[(file, kind, name)]


def test_the_examples_are_there() -> None:
    assert EXAMPLES.is_dir(), f"Argo examples not found at {EXAMPLES} (set ROLLWAVE_ARGO_EXAMPLES)"


def test_every_argo_document_has_a_written_expectation() -> None:
    assert set(DOCUMENTS) == set(EXPECTED_ISSUES)


@pytest.mark.parametrize(
    ("key", "expected"), [pytest.param(k, v, id=f"{k[0]}:{k[2]}") for k, v in EXPECTED_ISSUES.items()]
)
def test_each_example_yields_exactly_the_expected_issues(
    key: tuple[str, str, str], expected: set[str]
) -> None:
    found = unsupported.issues(DOCUMENTS[key])
    assert {f"{issue} [{issue.kind.value}]" for issue in found} == expected
    assert len(found) == len(expected)  # no issue reported twice


def rollout_of(file: str, name: str) -> rollout.Rollout:
    return rollout.parse_rollout(document(file, "Rollout", name)).require(allow_unsupported=True)


def canary_of(file: str, name: str) -> rollout.CanaryStrategy:
    strategy = rollout_of(file, name).spec.strategy
    assert isinstance(strategy, rollout.CanaryStrategy)
    return strategy


def test_rollout_canary_steps() -> None:
    strategy = canary_of("rollout-canary.yaml", "rollout-canary")
    assert strategy.steps == (
        rollout.SetWeight(weight=20),
        rollout.Pause(),
        rollout.SetWeight(weight=40),
        rollout.Pause(duration=40 * SECONDS),
        rollout.SetWeight(weight=60),
        rollout.Pause(duration=20 * SECONDS),
        rollout.SetWeight(weight=80),
        rollout.Pause(duration=20 * SECONDS),
    )
    assert rollout_of("rollout-canary.yaml", "rollout-canary").spec.replicas == 5


def test_getting_started_integer_pauses_are_seconds() -> None:
    strategy = canary_of("getting-started-basic/rollout.yaml", "rollouts-demo")
    pauses = [step.duration for step in strategy.steps if isinstance(step, rollout.Pause)]
    assert pauses == [None, 10 * SECONDS, 10 * SECONDS, 10 * SECONDS]
    assert rollout_of("getting-started-basic/rollout.yaml", "rollouts-demo").spec.revision_history_limit == 2


def test_rolling_update_uses_absolute_surge_and_unavailable() -> None:
    strategy = canary_of("rollout-rolling-update.yaml", "rollout-rollingupdate")
    assert strategy.steps == ()
    assert strategy.max_surge == fields.IntOrPercent(value=1, is_percent=False)
    assert strategy.max_unavailable == fields.IntOrPercent(value=1, is_percent=False)


def test_blue_green_waits_for_manual_promotion() -> None:
    assert rollout_of(
        "rollout-bluegreen.yaml", "rollout-bluegreen"
    ).spec.strategy == rollout.BlueGreenStrategy(
        active_service="rollout-bluegreen-active",
        preview_service="rollout-bluegreen-preview",
        auto_promotion_enabled=False,
    )


def test_analysis_step_references_a_cluster_template() -> None:
    step = canary_of("rollout-analysis-step.yaml", "rollout-analysis-step").steps[1]
    assert step == rollout.AnalysisStep(
        analysis=rollout.RolloutAnalysis(
            templates=(
                rollout.TemplateRef(name="random-fail"),
                rollout.TemplateRef(name="always-pass", cluster_scope=True),
            )
        )
    )


def test_inline_analysis_has_three_analysis_steps() -> None:
    strategy = canary_of("e2e-functional/rollout-inline-analysis.yaml", "rollout-inline-analysis")
    kinds = [type(step).__name__ for step in strategy.steps]
    assert kinds == ["SetWeight", "AnalysisStep", "Pause", "AnalysisStep", "AnalysisStep"]


def test_background_analysis() -> None:
    strategy = canary_of("e2e-functional/rollout-background-analysis.yaml", "rollout-background-analysis")
    assert strategy.analysis == rollout.BackgroundAnalysis(
        templates=(rollout.TemplateRef(name="web-background"),)
    )


def test_istio_subset_split_router() -> None:
    strategy = canary_of("istio-subset-split.yaml", "istio-subset-split")
    assert strategy.traffic_routing is not None
    assert strategy.traffic_routing.router == "istio"
    assert strategy.traffic_routing.config["destinationRule"]["canarySubsetName"] == "canary"
    assert (strategy.canary_service, strategy.stable_service) == (None, None)


def test_workload_ref_rollout_still_yields_a_value() -> None:
    value = rollout_of("workload-ref.yaml", "rollout-ref-deployment")
    assert (value.spec.replicas, value.spec.selector, value.spec.template) == (5, {}, {})


def template_of(file: str, name: str, kind: str = "AnalysisTemplate") -> analysis.AnalysisTemplate:
    return analysis.parse_analysis_template(document(file, kind, name)).require()


def test_job_templates() -> None:
    (passing,) = template_of("analysis-templates.yaml", "pass").spec.metrics
    (random_fail,) = template_of("analysis-templates.yaml", "random-fail").spec.metrics
    assert (passing.provider.kind, passing.count, passing.interval, passing.failure_limit) == (
        "job",
        1,
        5 * SECONDS,
        1,
    )
    assert (random_fail.count, random_fail.effective_count) == (2, 2)
    cluster = template_of("cluster-analysis-templates.yaml", "always-pass", kind="ClusterAnalysisTemplate")
    assert (cluster.cluster_scope, cluster.namespace) == (True, None)


def test_sleep_job_count_waits_for_its_argument() -> None:
    spec = template_of("e2e-functional/analysistemplate-sleep-job.yaml", "sleep-job").spec
    (sleep_job,) = spec.metrics
    assert (sleep_job.count, sleep_job.count_raw, sleep_job.has_placeholders) == (
        None,
        "{{args.count}}",
        True,
    )
    assert [(arg.name, arg.value) for arg in spec.args] == [
        ("duration", "0"),
        ("exit-code", "0"),
        ("count", "1"),
        ("rev", "notset"),
    ]


def test_web_background_template() -> None:
    (web,) = template_of("e2e-functional/analysistemplate-web-background.yaml", "web-background").spec.metrics
    assert (web.provider.kind, web.interval, web.success_condition) == (
        "web",
        5 * SECONDS,
        "result.major == '1'",
    )
    assert web.effective_count is None  # an interval without a count runs until terminated


def test_secret_argument() -> None:
    (arg,) = template_of("rollout-secret.yaml", "analysis-secret").spec.args
    assert arg == analysis.AnalysisArg(
        name="secret-url",
        value_from=analysis.ArgValueFrom(
            secret_key_ref=analysis.SecretKeyRef(name="example-secret", key="secretUrl")
        ),
    )


def test_bare_analysis_run() -> None:
    raw = document(
        "e2e-expectedfailures/analysis-run-prometheus-bad-server.yaml",
        "AnalysisRun",
        "analysis-run-prometheus-bad-server-",
    )
    run = analysis.parse_analysis_run(raw).require()
    assert (run.name, run.generate_name) == ("", "analysis-run-prometheus-bad-server-")
    (success_rate,) = run.spec.metrics
    assert success_rate.provider == analysis.MetricProviderSpec(
        kind="prometheus",
        config={"address": "http://prometheus-operator-prometheus.prometheus-operator:9090"},
    )
    assert run.status == analysis.AnalysisRunStatus()
