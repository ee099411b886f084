"""The ready AnalysisTemplates in analysis/ parse cleanly, document exactly their args, and judge as documented.

For every analysis/*.yaml:

- one AnalysisTemplate named after its file, parsed with no issues, and still none as a ClusterAnalysisTemplate;
- the header's `Args:` block names every `spec.args` entry in order, says `required` exactly for those without a
  value, gives each default exactly as `spec.args` has it, and an example (`e.g.`) for each;
- the header's "Use from a Rollout" snippet is valid YAML that references this template and supplies every
  required arg, and nothing the template does not declare;
- `{{args.*}}` appears only in `spec.metrics` (where Argo substitutes), every placeholder names a declared arg,
  and every declared arg is used;
- resolved with its defaults (plus a dummy value for each required arg, as Argo validates a template), every
  metric parses again with no issues, runs a finite number of times (so it can be a Rollout step) and its
  conditions parse;
- the conditions judge samples as the header says, no data included: `[]` and `[NaN]` are Inconclusive;
- any templates combine in one analysis: metric names are unique across the library, and an arg name shared by
  several templates has the same default everywhere (Argo refuses a run whose templates disagree).

The API server's view of the same files (strict validation against our CRDs) is in
tests/cluster/test_analysis_library_on_the_cluster.py.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pathlib
import re
from typing import Any

import pytest
import yaml

from rollouts.core import analysis as core_analysis
from rollouts.core import expressions, templating
from rollouts.model import analysis
from rollouts.model.analysis import AnalysisPhase

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "analysis"
TEMPLATES = sorted(LIBRARY.glob("*.yaml"))
EXPECTED_NAMES = {
    "error-budget-burn-rate",
    "http-success-rate",
    "job-smoke-test",
    "latency-percentile",
    "pod-restarts",
    "web-health",
}
_ARG_LINE = re.compile(
    r'^#   (?P<name>[a-z0-9-]+) \((?:(?P<required>required)|default (?P<default>"(?:[^"\\]|\\.)*"))\):(?: (?P<text>.*))?$'
)
_CONTINUATION = "#     "
_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
NAN = math.nan

every_template = pytest.mark.parametrize("path", TEMPLATES, ids=[path.stem for path in TEMPLATES])


@dataclasses.dataclass(frozen=True)
class DocumentedArg:
    name: str
    required: bool
    default: str | None
    text: str


def _header(path: pathlib.Path) -> list[str]:
    lines = path.read_text().splitlines()
    end = next(index for index, line in enumerate(lines) if not line.startswith("#"))
    return lines[:end]


def _section(header: list[str], title: str) -> list[str]:
    """The lines after the line starting `# <title>`, up to the next bare `#` line (or the end)."""
    start = next(index for index, line in enumerate(header) if line.startswith(f"# {title}"))
    lines: list[str] = []
    for line in header[start + 1 :]:
        if line == "#":
            break
        lines.append(line)
    return lines


def _documented_args(path: pathlib.Path) -> list[DocumentedArg]:
    documented: list[DocumentedArg] = []
    for line in _section(_header(path), "Args:"):
        if line.startswith(_CONTINUATION) and documented:
            last = documented.pop()
            text = f"{last.text} {line[len(_CONTINUATION) :]}".strip()
            documented.append(dataclasses.replace(last, text=text))
            continue
        match = _ARG_LINE.match(line)
        assert match is not None, f"{path.name}: not an argument line: {line!r}"
        default = match.group("default")
        documented.append(
            DocumentedArg(
                name=match.group("name"),
                required=match.group("required") is not None,
                default=None if default is None else json.loads(default),
                text=match.group("text") or "",
            )
        )
    return documented


def _document(path: pathlib.Path) -> dict[str, Any]:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert len(documents) == 1, f"{path.name} must hold one template"
    document: dict[str, Any] = documents[0]
    return document


def _template(path: pathlib.Path) -> analysis.AnalysisTemplate:
    parsed = analysis.parse_analysis_template(_document(path))
    assert parsed.issues == (), [str(issue) for issue in parsed.issues]
    assert parsed.value is not None
    return parsed.value


def _defaults(template: analysis.AnalysisTemplate, **given: str) -> dict[str, str]:
    """Every arg's value: `given`, else the template's default, else a dummy (Argo validates with one)."""
    return {
        arg.name: given.get(arg.name, arg.value if arg.value is not None else "dummy-value")
        for arg in template.spec.args
    }


def _resolved(path: pathlib.Path, **given: str) -> analysis.Metric:
    template = _template(path)
    [metric] = template.spec.metrics
    return templating.resolve_metric(metric, _defaults(template, **given))


def test_the_library_holds_the_documented_templates() -> None:
    assert {path.stem for path in TEMPLATES} == EXPECTED_NAMES
    readme = (LIBRARY / "README.md").read_text()
    for name in EXPECTED_NAMES:
        assert f"`{name}`" in readme, f"analysis/README.md does not list {name}"


def test_any_templates_combine_in_one_analysis() -> None:
    # Argo flattens the templates of one analysis into one run: it refuses two metrics of the same name, and an
    # arg declared twice with different default values ("Argument `x` specified multiple times with different
    # values"). Shared names (service, version, interval, ...) therefore share their defaults library-wide.
    templates = [_template(path) for path in TEMPLATES]
    metric_names = [metric.name for template in templates for metric in template.spec.metrics]
    assert len(metric_names) == len(set(metric_names))
    defaults: dict[str, tuple[str, str | None]] = {}
    for template in templates:
        for arg in template.spec.args:
            first = defaults.setdefault(arg.name, (template.name, arg.value))
            assert first[1] == arg.value, (
                f"{arg.name}: {first[0]} says {first[1]!r}, {template.name} {arg.value!r}"
            )


@every_template
def test_a_template_parses_with_no_issues_under_both_kinds(path: pathlib.Path) -> None:
    template = _template(path)
    assert (template.name, template.cluster_scope) == (path.stem, False)
    cluster_wide = copy.deepcopy(_document(path))
    cluster_wide["kind"] = "ClusterAnalysisTemplate"
    parsed = analysis.parse_analysis_template(cluster_wide)
    assert parsed.issues == ()
    assert parsed.value is not None and parsed.value.cluster_scope


@every_template
def test_the_header_documents_exactly_the_args(path: pathlib.Path) -> None:
    template = _template(path)
    documented = _documented_args(path)
    assert [arg.name for arg in documented] == [arg.name for arg in template.spec.args]
    for doc, arg in zip(documented, template.spec.args, strict=True):
        assert arg.value_from is None, f"{arg.name}: the library takes plain values only"
        assert doc.required == (arg.value is None), f"{path.name}: {arg.name} required?"
        assert doc.default == arg.value, f"{path.name}: {arg.name} default"
        assert "e.g." in doc.text, f"{path.name}: {arg.name} has no example"


@every_template
def test_the_header_explains_kind_checks_metrics_and_no_data(path: pathlib.Path) -> None:
    header = "\n".join(_header(path))
    assert header.startswith(f"# {path.stem}: ")
    for section in (
        "# Kind: AnalysisTemplate",
        "# What it checks:",
        "No data",
        "# Args:",
        "# Use from a Rollout",
    ):
        assert section in header, f"{path.name}: no {section!r}"
    if _template(path).spec.metrics[0].provider.kind == "prometheus":
        assert "# Metrics expected:" in header


@every_template
def test_the_rollout_snippet_references_the_template_and_supplies_required_args(path: pathlib.Path) -> None:
    template = _template(path)
    snippet = yaml.safe_load(
        "\n".join(line.removeprefix("#   ") for line in _section(_header(path), "Use from"))
    )
    canary = snippet["strategy"]["canary"]
    analyses = [step["analysis"] for step in canary.get("steps", []) if "analysis" in step]
    if "analysis" in canary:
        analyses.append(canary["analysis"])
    [reference] = analyses
    assert reference["templates"] == [{"templateName": template.name}]
    supplied = {arg["name"] for arg in reference.get("args", [])}
    declared = {arg.name for arg in template.spec.args}
    required = {arg.name for arg in template.spec.args if arg.value is None}
    assert required <= supplied <= declared


@every_template
def test_placeholders_are_only_in_metrics_and_name_declared_args(path: pathlib.Path) -> None:
    document = _document(path)
    outside = {key: value for key, value in document.items() if key != "spec"}
    outside["spec"] = {key: value for key, value in document["spec"].items() if key != "metrics"}
    assert "{{" not in json.dumps(outside)
    used = set(_PLACEHOLDER.findall(json.dumps(document["spec"]["metrics"])))
    declared = {f"args.{arg.name}" for arg in _template(path).spec.args}
    assert used == declared


@every_template
def test_resolved_with_defaults_a_metric_is_valid_finite_and_its_conditions_parse(path: pathlib.Path) -> None:
    metric = _resolved(path)
    reparsed = analysis.parse_metric(metric.raw)
    assert reparsed.issues == ()
    assert not metric.has_placeholders
    assert metric.effective_count is not None, "a metric that never ends cannot be a Rollout step"
    assert metric.no_data is None, (
        "noDataPolicy is rollwave-only; the library must also work on Argo Rollouts"
    )
    for condition in (metric.success_condition, metric.failure_condition):
        if condition is not None:
            expressions.parse(condition)


# template -> (args, samples that pass, samples that fail), with the template's defaults for everything else.
PROMETHEUS_JUDGEMENTS: dict[str, tuple[dict[str, str], list[object], list[object]]] = {
    "http-success-rate": ({}, [[0.95], [1.0]], [[0.9499], [0.0]]),
    "latency-percentile": ({}, [[0.5], [0.01]], [[0.5001], [math.inf]]),
    "error-budget-burn-rate": ({}, [[14.4], [0.0]], [[14.5], [1000.0]]),
    "pod-restarts": ({}, [[0.0], [1.0]], [[2.0], [7.0]]),
}


@pytest.mark.parametrize("name", sorted(PROMETHEUS_JUDGEMENTS))
def test_prometheus_conditions_pass_fail_and_call_no_data_inconclusive(name: str) -> None:
    args, passing, failing = PROMETHEUS_JUDGEMENTS[name]
    metric = _resolved(LIBRARY / f"{name}.yaml", **args)
    assert metric.provider.kind == "prometheus"

    def phase(value: object) -> AnalysisPhase:
        return core_analysis.judge(metric, core_analysis.Sample(value=value, text=str(value)))[0]

    assert [phase(value) for value in passing] == [AnalysisPhase.SUCCESSFUL] * len(passing)
    assert [phase(value) for value in failing] == [AnalysisPhase.FAILED] * len(failing)
    # No requests in the window (0/0 = NaN) and no series at all ([]) are both "no data".
    assert [phase(value) for value in ([], [NAN])] == [AnalysisPhase.INCONCLUSIVE] * 2
    assert (metric.inconclusive_limit, metric.count) == (2, 5)


def test_web_health_compares_the_picked_field_as_text() -> None:
    path = LIBRARY / "web-health.yaml"

    def phase(value: object, **args: str) -> AnalysisPhase:
        metric = _resolved(path, **args)
        return core_analysis.judge(metric, core_analysis.Sample(value=value, text=str(value)))[0]

    assert phase("UP") is AnalysisPhase.SUCCESSFUL
    assert phase("DOWN") is AnalysisPhase.FAILED
    assert phase(True, expected="true") is AnalysisPhase.SUCCESSFUL
    assert phase(False, expected="true") is AnalysisPhase.FAILED
    assert phase("ok", expected="ok") is AnalysisPhase.SUCCESSFUL


def test_the_job_smoke_test_runs_the_script_with_the_url_in_the_environment() -> None:
    metric = _resolved(LIBRARY / "job-smoke-test.yaml", url="http://checkout-canary.shop.svc/")
    assert (metric.success_condition, metric.failure_condition, metric.effective_count) == (None, None, 1)
    spec = metric.provider.config["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 300)
    [container] = spec["template"]["spec"]["containers"]
    assert container["command"] == [
        "sh",
        "-c",
        'curl --fail --silent --show-error --max-time 10 --retry 3 --retry-connrefused "$URL"',
    ]
    assert container["env"] == [{"name": "URL", "value": "http://checkout-canary.shop.svc/"}]
    assert container["image"] == "curlimages/curl:8.11.1"
