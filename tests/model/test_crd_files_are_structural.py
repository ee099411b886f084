"""The CRDs in crds/ are structural, documented, and accept every Argo example unchanged.

These checks are pure (no cluster). They mirror the rules kube-apiserver applies to a CRD: every schema
node has a type (int-or-string nodes have none), `x-kubernetes-preserve-unknown-fields` sits next to
`type: object`, and a field that the schema does not declare is pruned. The example walk follows what
the API server would keep: it stops at preserve-unknown nodes and reports every field that would be
pruned or rejected.

Worked example of the walk (mirrored by `test_walk_reports_pruned_and_mistyped_fields`):

    spec.strategy.canary.steps[0] = {"setWeight": "20", "stepz": 1}
    -> "spec.strategy.canary.steps[0].setWeight: expected integer, got str"
    -> "spec.strategy.canary.steps[0].stepz: not in the schema, the API server would prune it"
"""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CRD_DIR = REPO_ROOT / "crds"
# Argo's own example manifests, shared outside the repository; overridable for other checkouts.
ARGO_EXAMPLES = pathlib.Path(
    os.environ.get(
        "ROLLWAVE_ARGO_EXAMPLES", pathlib.Path(__file__).resolve().parents[3] / "shared" / "argo-examples"
    )
)

ARGO_KINDS = ("Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun")
UNSUPPORTED_NOTE = "rollwave reports this field as unsupported"

# Keys a structural schema node may carry here; anything else is most likely a typo the API server rejects.
SCHEMA_KEYS = frozenset(
    {
        "description",
        "type",
        "format",
        "properties",
        "additionalProperties",
        "items",
        "required",
        "minimum",
        "maximum",
        "maxItems",
        "minItems",
        "maxLength",
        "enum",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "x-kubernetes-validations",
    }
)
TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})

Schema = Mapping[str, Any]


def _load_crds() -> dict[str, dict[str, Any]]:
    crds: dict[str, dict[str, Any]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        assert len(docs) == 1, f"{path.name}: expected one CRD per file, found {len(docs)}"
        crds[path.name] = docs[0]
    return crds


CRDS = _load_crds()
CRD_BY_KIND = {crd["spec"]["names"]["kind"]: crd for crd in CRDS.values()}


def _version(crd: Mapping[str, Any]) -> dict[str, Any]:
    versions = crd["spec"]["versions"]
    assert len(versions) == 1, "one served version per CRD"
    version: dict[str, Any] = versions[0]
    return version


def _schema(kind: str) -> Schema:
    schema: Schema = _version(CRD_BY_KIND[kind])["schema"]["openAPIV3Schema"]
    return schema


def _nodes(node: Schema, path: str) -> Iterator[tuple[str, Schema]]:
    """Every schema node below (and including) `node`, with a readable path."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), Mapping):
        yield from _nodes(node["additionalProperties"], f"{path}.*")
    if "items" in node:
        yield from _nodes(node["items"], f"{path}[]")


def _properties(node: Schema, path: str) -> Iterator[tuple[str, Schema]]:
    """Every named property below `node` (list items and map values are not properties)."""
    for child_path, child in _nodes(node, path):
        for name, prop in child.get("properties", {}).items():
            yield f"{child_path}.{name}", prop


def _node_at(schema: Schema, dotted: str) -> Schema:
    """The schema node for a path like `spec.strategy.canary.steps[].pause`."""
    node = schema
    for part in dotted.split("."):
        name, is_list = (part[:-2], True) if part.endswith("[]") else (part, False)
        node = node["properties"][name]
        if is_list:
            node = node["items"]
    return node


def _is_open(node: Schema) -> bool:
    return node.get("x-kubernetes-preserve-unknown-fields") is True


AT_MOST_N_OF = re.compile(
    r"\[(?P<fields>has\(self\.\w+\)(?:, has\(self\.\w+\))*)\]\.filter\(x, x\)\.size\(\) <= (?P<n>\d+)"
)
NOT_BOTH = re.compile(r"!\(has\(self\.(?P<a>\w+)\) && has\(self\.(?P<b>\w+)\)\)")


def rule_holds_on_create(rule: str, value: Mapping[str, Any]) -> bool:
    """Evaluate the few CEL rule shapes our CRDs use, as the API server would on create.

    >>> rule_holds_on_create("[has(self.a), has(self.b)].filter(x, x).size() <= 1", {"a": 1, "b": 2})
    False
    """
    if rule == "self == oldSelf":
        return True  # a transition rule: not evaluated on create
    if match := AT_MOST_N_OF.fullmatch(rule):
        fields = re.findall(r"self\.(\w+)", match["fields"])
        return sum(field in value for field in fields) <= int(match["n"])
    if match := NOT_BOTH.fullmatch(rule):
        return not (match["a"] in value and match["b"] in value)
    raise AssertionError(f"teach rule_holds_on_create this CEL rule: {rule}")


def walk(value: Any, node: Schema, path: str) -> list[str]:
    """Problems the API server would have with `value` under `node`: pruned fields and wrong types."""
    if node.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            return [f"{path}: expected int or string, got {type(value).__name__}"]
        return []
    expected = node["type"]
    if expected == "object":
        if not isinstance(value, Mapping):
            return [f"{path}: expected object, got {type(value).__name__}"]
        problems = [f"{path}.{key}: required" for key in node.get("required", []) if key not in value]
        for key, child in value.items():
            if key in node.get("properties", {}):
                problems += walk(child, node["properties"][key], f"{path}.{key}")
            elif isinstance(node.get("additionalProperties"), Mapping):
                problems += walk(child, node["additionalProperties"], f"{path}.{key}")
            elif not _is_open(node):
                problems.append(f"{path}.{key}: not in the schema, the API server would prune it")
        for rule in node.get("x-kubernetes-validations", []):
            if not rule_holds_on_create(rule["rule"], value):
                problems.append(f"{path}: {rule['message']}")
        return problems
    if expected == "array":
        if not isinstance(value, list):
            return [f"{path}: expected array, got {type(value).__name__}"]
        problems = []
        if "maxItems" in node and len(value) > node["maxItems"]:
            problems.append(f"{path}: more than {node['maxItems']} items")
        for index, element in enumerate(value):
            problems += walk(element, node["items"], f"{path}[{index}]")
        return problems
    python_types: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
    }
    if isinstance(value, bool) != (expected == "boolean") or not isinstance(value, python_types[expected]):
        return [f"{path}: expected {expected}, got {type(value).__name__}"]
    if "minimum" in node and value < node["minimum"]:
        return [f"{path}: below minimum {node['minimum']}"]
    return []


def walk_manifest(manifest: Mapping[str, Any]) -> list[str]:
    """Walk a whole object; metadata is ObjectMeta, which the API server validates itself."""
    body = {key: value for key, value in manifest.items() if key != "metadata"}
    return walk(body, _schema(manifest["kind"]), manifest["kind"])


def _argo_example_docs() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(ARGO_EXAMPLES.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("apiVersion") == "argoproj.io/v1alpha1" and doc.get("kind") in ARGO_KINDS:
                metadata = doc.get("metadata", {})
                name = metadata.get("name") or metadata.get("generateName", "")
                docs.append((f"{path.relative_to(ARGO_EXAMPLES)}:{doc['kind']}/{name}", doc))
    return docs


ARGO_EXAMPLE_DOCS = _argo_example_docs() if ARGO_EXAMPLES.is_dir() else []


# --- CRD shape -------------------------------------------------------------------------------------------


def test_crds_directory_holds_exactly_our_five_crds() -> None:
    assert sorted(crd["metadata"]["name"] for crd in CRDS.values()) == [
        "analysisruns.argoproj.io",
        "analysistemplates.argoproj.io",
        "applications.rollwave.dev",
        "clusteranalysistemplates.argoproj.io",
        "rollouts.argoproj.io",
    ]


@pytest.mark.parametrize("file_name", sorted(CRDS))
def test_each_file_is_a_v1_crd_with_one_stored_version(file_name: str) -> None:
    crd = CRDS[file_name]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"
    version = _version(crd)
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["schema"]["openAPIV3Schema"]["type"] == "object"


@pytest.mark.parametrize(
    ("kind", "group", "plural", "short_names", "scope"),
    [
        pytest.param("Rollout", "argoproj.io", "rollouts", ["ro"], "Namespaced", id="rollout"),
        pytest.param("AnalysisTemplate", "argoproj.io", "analysistemplates", ["at"], "Namespaced", id="at"),
        pytest.param(
            "ClusterAnalysisTemplate", "argoproj.io", "clusteranalysistemplates", ["cat"], "Cluster", id="cat"
        ),
        pytest.param("AnalysisRun", "argoproj.io", "analysisruns", ["ar"], "Namespaced", id="ar"),
        pytest.param("Application", "rollwave.dev", "applications", ["app", "apps"], "Namespaced", id="app"),
    ],
)
def test_names_short_names_and_scope(
    kind: str, group: str, plural: str, short_names: list[str], scope: str
) -> None:
    spec = CRD_BY_KIND[kind]["spec"]
    assert spec["group"] == group
    assert spec["names"]["plural"] == plural
    assert spec["names"]["shortNames"] == short_names
    assert spec["scope"] == scope


@pytest.mark.parametrize(
    ("kind", "subresources"),
    [
        pytest.param(
            "Rollout",
            {
                "status": {},
                "scale": {
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.HPAReplicas",
                    "labelSelectorPath": ".status.selector",
                },
            },
            id="rollout-status-and-scale",
        ),
        pytest.param("AnalysisTemplate", None, id="at-none"),
        pytest.param("ClusterAnalysisTemplate", None, id="cat-none"),
        # Argo patches AnalysisRun status on the main resource, so there must be no status subresource.
        pytest.param("AnalysisRun", None, id="ar-none"),
        pytest.param("Application", {"status": {}}, id="app-status"),
    ],
)
def test_subresources(kind: str, subresources: dict[str, Any] | None) -> None:
    assert _version(CRD_BY_KIND[kind]).get("subresources") == subresources


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        pytest.param(
            "Rollout",
            [
                ("Desired", ".spec.replicas", "integer"),
                ("Current", ".status.replicas", "integer"),
                ("Up-to-date", ".status.updatedReplicas", "integer"),
                ("Available", ".status.availableReplicas", "integer"),
                ("Phase", ".status.phase", "string"),
                ("Step", ".status.currentStepIndex", "integer"),
                ("Weight", ".status.canary.weights.canary.weight", "integer"),
                ("Age", ".metadata.creationTimestamp", "date"),
            ],
            id="rollout",
        ),
        pytest.param("AnalysisTemplate", [("Age", ".metadata.creationTimestamp", "date")], id="at"),
        pytest.param("ClusterAnalysisTemplate", [("Age", ".metadata.creationTimestamp", "date")], id="cat"),
        pytest.param(
            "AnalysisRun",
            [("Status", ".status.phase", "string"), ("Age", ".metadata.creationTimestamp", "date")],
            id="ar",
        ),
        pytest.param(
            "Application",
            [
                ("Sync Status", ".status.sync.status", "string"),
                ("Health", ".status.health.status", "string"),
                ("Revision", ".status.sync.revision", "string"),
                ("Age", ".metadata.creationTimestamp", "date"),
            ],
            id="app",
        ),
    ],
)
def test_printer_columns(kind: str, columns: list[tuple[str, str, str]]) -> None:
    printed = _version(CRD_BY_KIND[kind])["additionalPrinterColumns"]
    assert [(col["name"], col["jsonPath"], col["type"]) for col in printed] == columns


@pytest.mark.parametrize("kind", sorted(CRD_BY_KIND))
def test_printer_columns_and_scale_paths_point_at_typed_fields(kind: str) -> None:
    version = _version(CRD_BY_KIND[kind])
    paths = [(col["jsonPath"], col["type"]) for col in version["additionalPrinterColumns"]]
    if scale := version.get("subresources", {}).get("scale"):
        paths += [
            (scale["specReplicasPath"], "integer"),
            (scale["statusReplicasPath"], "integer"),
            (scale["labelSelectorPath"], "string"),
        ]
    for json_path, column_type in paths:
        if json_path == ".metadata.creationTimestamp":
            continue
        node = _node_at(_schema(kind), json_path.lstrip("."))
        assert node["type"] == column_type, json_path


# --- structural rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CRD_BY_KIND))
def test_every_schema_node_is_structural(kind: str) -> None:
    problems = []
    for path, node in _nodes(_schema(kind), kind):
        if unknown := set(node) - SCHEMA_KEYS:
            problems.append(f"{path}: unexpected keys {sorted(unknown)}")
        if node.get("x-kubernetes-int-or-string"):
            # The API server requires int-or-string nodes to leave `type` empty.
            if "type" in node:
                problems.append(f"{path}: int-or-string must not set type")
            continue
        if node.get("type") not in TYPES:
            problems.append(f"{path}: missing or unknown type {node.get('type')!r}")
        if "x-kubernetes-preserve-unknown-fields" in node and not (
            _is_open(node) and node["type"] == "object"
        ):
            problems.append(f"{path}: preserve-unknown-fields must be true and sit next to type: object")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: properties and additionalProperties are mutually exclusive")
        if ("properties" in node or "additionalProperties" in node) and node["type"] != "object":
            problems.append(f"{path}: properties on a non-object")
        if (node["type"] == "array") != ("items" in node):
            problems.append(f"{path}: arrays (and only arrays) need items")
        for required in node.get("required", []):
            if required not in node.get("properties", {}):
                problems.append(f"{path}: required field {required!r} is not a property")
    assert problems == []


@pytest.mark.parametrize("kind", sorted(CRD_BY_KIND))
def test_every_property_has_a_description(kind: str) -> None:
    schema = _schema(kind)
    undocumented = [
        path
        for path, prop in _properties(schema, kind)
        if path != f"{kind}.metadata" and not prop.get("description", "").strip()
    ]
    assert undocumented == []


def test_rollout_observed_generation_is_a_string() -> None:
    assert _node_at(_schema("Rollout"), "status.observedGeneration")["type"] == "string"


@pytest.mark.parametrize("kind", sorted(CRD_BY_KIND))
def test_status_root_keeps_unknown_fields(kind: str) -> None:
    schema = _schema(kind)
    if "status" in schema["properties"]:
        assert _is_open(schema["properties"]["status"])


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("spec.template", id="template"),
        pytest.param("spec.strategy.canary.trafficRouting.plugins", id="router-plugins"),
        pytest.param("spec.strategy.canary.steps[].plugin.config", id="step-plugin-config"),
    ],
)
def test_free_form_rollout_fields_keep_unknown_fields(path: str) -> None:
    assert _is_open(_node_at(_schema("Rollout"), path))


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("spec.strategy.canary.maxSurge", id="max-surge"),
        pytest.param("spec.strategy.canary.maxUnavailable", id="max-unavailable"),
        pytest.param("spec.strategy.blueGreen.maxUnavailable", id="bg-max-unavailable"),
        pytest.param("spec.strategy.canary.steps[].pause.duration", id="pause-duration"),
    ],
)
def test_rollout_int_or_string_fields(path: str) -> None:
    assert _node_at(_schema("Rollout"), path).get("x-kubernetes-int-or-string") is True


@pytest.mark.parametrize("field", ["count", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit"])
@pytest.mark.parametrize("kind", ["AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun"])
def test_metric_limits_are_int_or_string(kind: str, field: str) -> None:
    assert _node_at(_schema(kind), f"spec.metrics[].{field}").get("x-kubernetes-int-or-string") is True


@pytest.mark.parametrize("kind", ["AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun"])
def test_metric_providers_are_typed_or_open(kind: str) -> None:
    provider = _node_at(_schema(kind), "spec.metrics[].provider")
    typed = {"prometheus", "web", "job"}
    open_ = {
        "datadog",
        "newRelic",
        "wavefront",
        "kayenta",
        "cloudWatch",
        "graphite",
        "influxdb",
        "skywalking",
        "plugin",
    }
    assert set(provider["properties"]) == typed | open_
    assert all(not _is_open(provider["properties"][name]) for name in typed)
    assert all(_is_open(provider["properties"][name]) for name in open_)
    assert _is_open(provider["properties"]["job"]["properties"]["spec"])


# --- CEL rules -------------------------------------------------------------------------------------------


def _rules(kind: str) -> Iterator[tuple[str, Schema, dict[str, str]]]:
    for path, node in _nodes(_schema(kind), kind):
        for rule in node.get("x-kubernetes-validations", []):
            yield path, node, rule


@pytest.mark.parametrize("kind", sorted(CRD_BY_KIND))
def test_cel_rules_name_declared_fields_and_carry_messages(kind: str) -> None:
    """A CEL rule that names an undeclared field of a closed object does not compile."""
    problems = []
    for path, node, rule in _rules(kind):
        if not rule.get("message", "").strip():
            problems.append(f"{path}: rule {rule['rule']!r} has no message")
        for field in re.findall(r"\bself\.(\w+)", rule["rule"]):
            if field not in node.get("properties", {}):
                problems.append(f"{path}: rule names undeclared field {field!r}")
    assert problems == []


def test_step_rule_counts_every_step_action_and_the_list_is_bounded() -> None:
    steps = _node_at(_schema("Rollout"), "spec.strategy.canary.steps")
    [rule] = steps["items"]["x-kubernetes-validations"]
    actions = set(steps["items"]["properties"])
    assert set(re.findall(r"has\(self\.(\w+)\)", rule["rule"])) == actions
    assert rule["rule"].endswith("size() <= 1")
    # Per-item CEL rules are costed by the list's maxItems; without it the cost estimate can fail.
    assert 0 < steps["maxItems"] <= 100


@pytest.mark.parametrize(
    ("path", "expected_rule"),
    [
        pytest.param("spec.selector", "self == oldSelf", id="selector-immutable"),
        pytest.param("spec.strategy", "!(has(self.canary) && has(self.blueGreen))", id="one-strategy"),
    ],
)
def test_rollout_rules(path: str, expected_rule: str) -> None:
    rules = [rule["rule"] for rule in _node_at(_schema("Rollout"), path)["x-kubernetes-validations"]]
    assert rules == [expected_rule]


def test_cel_rules_only_iterate_bounded_lists() -> None:
    """Rules under an unbounded list would be costed as if the list had millions of items."""
    for kind in CRD_BY_KIND:
        for path, _node, _rule in _rules(kind):
            for index in [match.start() for match in re.finditer(r"\[\]", path)]:
                list_node = _node_at(_schema(kind), path[len(kind) + 1 : index])
                assert "maxItems" in list_node, f"{path}: rule under an unbounded list"


# --- unsupported fields are accepted, documented, and kept --------------------------------------------


UNSUPPORTED_ROLLOUT_FIELDS = [
    "spec.workloadRef",
    "spec.rollbackWindow",
    "spec.strategy.canary.steps[].experiment",
    "spec.strategy.canary.steps[].plugin",
    "spec.strategy.canary.trafficRouting.alb",
    "spec.strategy.canary.trafficRouting.traefik",
    "spec.strategy.canary.trafficRouting.ambassador",
    "spec.strategy.canary.trafficRouting.appMesh",
    "spec.strategy.canary.trafficRouting.apisix",
    "spec.strategy.canary.antiAffinity",
    "spec.strategy.canary.pingPong",
    "spec.strategy.blueGreen.antiAffinity",
]


@pytest.mark.parametrize("path", UNSUPPORTED_ROLLOUT_FIELDS)
def test_unsupported_rollout_fields_say_so(path: str) -> None:
    assert UNSUPPORTED_NOTE in _node_at(_schema("Rollout"), path)["description"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("spec.strategy.canary.steps[].setWeight", id="set-weight"),
        pytest.param("spec.strategy.canary.steps[].pause", id="pause"),
        pytest.param("spec.strategy.canary.steps[].setCanaryScale", id="set-canary-scale"),
        pytest.param("spec.strategy.canary.steps[].analysis", id="analysis-step"),
        pytest.param("spec.strategy.canary.trafficRouting.nginx", id="nginx"),
        pytest.param("spec.strategy.canary.trafficRouting.istio", id="istio"),
        pytest.param("spec.strategy.canary.trafficRouting.smi", id="smi"),
        pytest.param("spec.strategy.canary.analysis", id="background-analysis"),
        pytest.param("spec.strategy.blueGreen.activeService", id="active-service"),
        pytest.param("spec.paused", id="paused"),
        pytest.param("spec.restartAt", id="restart-at"),
    ],
)
def test_supported_rollout_fields_do_not_say_unsupported(path: str) -> None:
    assert UNSUPPORTED_NOTE not in _node_at(_schema("Rollout"), path)["description"]


# A Rollout that uses every documented field: nothing may be pruned or rejected, supported or not.
KITCHEN_SINK_ROLLOUT: dict[str, Any] = yaml.safe_load(
    """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: everything}
spec:
  replicas: 5
  selector:
    matchLabels: {app: guestbook}
    matchExpressions: [{key: tier, operator: In, values: [web]}]
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: guestbook, scaleDown: progressively}
  template:
    metadata: {labels: {app: guestbook}, annotations: {a: b}}
    spec: {containers: [{name: guestbook, image: "argoproj/rollouts-demo:blue"}]}
  minReadySeconds: 30
  revisionHistoryLimit: 3
  paused: true
  progressDeadlineSeconds: 600
  progressDeadlineAbort: false
  restartAt: "2020-03-30T21:19:35Z"
  rollbackWindow: {revisions: 3}
  analysis: {successfulRunHistoryLimit: 10, unsuccessfulRunHistoryLimit: 10}
  strategy:
    canary:
      canaryService: canary-service
      stableService: stable-service
      canaryMetadata: {annotations: {role: canary}, labels: {role: canary}}
      stableMetadata: {annotations: {role: stable}, labels: {role: stable}}
      maxUnavailable: 1
      maxSurge: "20%"
      scaleDownDelaySeconds: 30
      scaleDownDelayRevisionLimit: 2
      abortScaleDownDelaySeconds: 30
      minPodsPerReplicaSet: 2
      dynamicStableScale: false
      replicaProgressThreshold: {type: Percent, value: 90}
      pingPong: {pingService: ping, pongService: pong}
      antiAffinity:
        requiredDuringSchedulingIgnoredDuringExecution: {}
        preferredDuringSchedulingIgnoredDuringExecution: {weight: 1}
      analysis:
        templates: [{templateName: success-rate}]
        startingStep: 2
        args:
          - {name: service-name, value: guestbook-svc.default.svc.cluster.local}
          - {name: stable-hash, valueFrom: {podTemplateHashValue: Stable}}
          - {name: region, valueFrom: {fieldRef: {fieldPath: "metadata.labels['region']"}}}
        dryRun: [{metricName: ".*"}]
        measurementRetention: [{metricName: ".*", limit: 20}]
        analysisRunMetadata: {labels: {a: b}, annotations: {c: d}}
      steps:
        - setWeight: 20
        - pause: {duration: 1h}
        - pause: {duration: 10}
        - pause: {}
        - setCanaryScale: {replicas: 3}
        - setCanaryScale: {weight: 25}
        - setCanaryScale: {matchTrafficWeight: true}
        - plugin: {name: example, config: {key: value}}
        - setHeaderRoute:
            name: header-route-1
            match: [{headerName: version, headerValue: {exact: "2", regex: "2.0.(.*)", prefix: "2.0"}}]
        - setMirrorRoute:
            name: mirror-route
            percentage: 100
            match:
              - method: {exact: GET}
                path: {prefix: /}
                headers: {agent-1b: {exact: firefox}}
        - analysis: {templates: [{templateName: success-rate, clusterScope: true}]}
        - experiment:
            duration: 1h
            templates:
              - {name: baseline, specRef: stable, service: {name: test-service}}
              - {name: canary, specRef: canary, weight: 10, replicas: 1}
            analyses:
              - name: mann-whitney
                templateName: mann-whitney
                requiredForCompletion: true
                args: [{name: a, value: b}]
            analysisRunMetadata: {labels: {a: b}}
      trafficRouting:
        maxTrafficWeight: 1000
        managedRoutes: [{name: set-header}, {name: mirror-route}]
        istio:
          virtualService: {name: rollout-vsvc, routes: [primary]}
          virtualServices: [{name: vsvc1, routes: [primary], tlsRoutes: [{port: 443, sniHosts: [a.example]}]}]
          destinationRule: {name: dr, canarySubsetName: canary, stableSubsetName: stable}
        nginx:
          stableIngress: primary-ingress
          stableIngresses: [primary-ingress, secondary-ingress]
          annotationPrefix: customingress.nginx.ingress.kubernetes.io
          additionalIngressAnnotations: {canary-by-header: X-Canary}
          canaryIngressAnnotations: {my-custom-annotation.mygroup.com/key: value}
        alb:
          ingress: ingress
          servicePort: 443
          annotationPrefix: custom.alb.ingress.kubernetes.io
          stickinessConfig: {enabled: true, durationSeconds: 3600}
        smi: {rootService: root-svc, trafficSplitName: split}
        traefik: {weightedTraefikServiceName: traefik-service}
        ambassador: {mappings: [stable-mapping]}
        appMesh:
          virtualService: {name: vsvc, routes: [primary]}
          virtualNodeGroup: {canaryVirtualNodeRef: {name: canary}, stableVirtualNodeRef: {name: stable}}
        apisix: {route: {name: route, rules: [rule-1]}}
        plugins: {argoproj-labs/gatewayAPI: {httpRoute: argo-rollouts-http-route, namespace: default}}
"""
)

KITCHEN_SINK_BLUE_GREEN: dict[str, Any] = yaml.safe_load(
    """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: bg}
spec:
  selector: {matchLabels: {app: bg}}
  template: {metadata: {labels: {app: bg}}}
  strategy:
    blueGreen:
      activeService: active-service
      previewService: preview-service
      previewReplicaCount: 1
      autoPromotionEnabled: false
      autoPromotionSeconds: 30
      maxUnavailable: "25%"
      scaleDownDelaySeconds: 30
      scaleDownDelayRevisionLimit: 2
      abortScaleDownDelaySeconds: 30
      prePromotionAnalysis:
        templates: [{templateName: success-rate}]
        args: [{name: service-name, value: svc}]
      postPromotionAnalysis: {templates: [{templateName: success-rate}]}
      antiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: {weight: 50}}
      activeMetadata: {labels: {role: active}}
      previewMetadata: {labels: {role: preview}}
"""
)

KITCHEN_SINK_TEMPLATE: dict[str, Any] = yaml.safe_load(
    """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: everything}
spec:
  args:
    - {name: service-name}
    - {name: count, value: "3"}
    - {name: api-token, valueFrom: {secretKeyRef: {name: token-secret, key: apiToken}}}
    - {name: env, valueFrom: {fieldRef: {fieldPath: "metadata.labels['env']"}}}
  dryRun: [{metricName: total-.*}]
  measurementRetention: [{metricName: ".*", limit: 20}]
  templates: [{templateName: base, clusterScope: true}]
  metrics:
    - name: success-rate
      interval: 5m
      initialDelay: 1m
      count: "{{args.count}}"
      successCondition: len(result) == 0 || result[0] >= 0.95
      failureCondition: result[0] < 0.5
      failureLimit: 3
      inconclusiveLimit: 1
      consecutiveErrorLimit: 4
      consecutiveSuccessLimit: 2
      provider:
        prometheus:
          address: http://prometheus.example.com:9090
          query: sum(rate(http_requests_total{code!~"5.*"}[5m]))
          timeout: 20
          insecure: true
          headers: [{key: X-Scope-OrgID, value: tenant-a}]
          authentication:
            sigv4: {region: us-east-1, profile: default, roleArn: "arn:aws:iam::1:role/x"}
            oauth2: {tokenUrl: https://auth.example/token, clientId: id, clientSecret: s, scopes: [read]}
          rangeQuery: {start: 'now() - duration("5m")', end: now(), step: 1m}
    - name: web
      provider:
        web:
          method: POST
          url: https://example.com/check
          headers: [{key: Authorization, value: "Bearer {{ args.api-token }}"}]
          jsonBody: {key: value}
          timeoutSeconds: 20
          jsonPath: "{$.data.ok}"
          insecure: false
    - name: job
      provider:
        job:
          metadata: {labels: {a: b}, annotations: {c: d}}
          spec: {backoffLimit: 1, template: {spec: {restartPolicy: Never, containers: []}}}
    - {name: dd, provider: {datadog: {interval: 5m, query: "avg:x{*}", apiVersion: v2}}}
    - {name: nr, provider: {newRelic: {profile: p, query: "SELECT 1"}}}
    - {name: wf, provider: {wavefront: {address: a, query: q}}}
    - {name: ky, provider: {kayenta: {address: a, application: b, threshold: {pass: 90, marginal: 75}}}}
    - {name: cw, provider: {cloudWatch: {interval: 5m, metricDataQueries: [{id: rate, expression: a}]}}}
    - {name: gr, provider: {graphite: {address: a, query: q}}}
    - {name: ix, provider: {influxdb: {profile: p, query: q}}}
    - {name: sw, provider: {skywalking: {address: a, query: q, interval: 5m}}}
    - {name: pl, provider: {plugin: {argoproj-labs/sample-prometheus: {address: a, query: q}}}}
"""
)

KITCHEN_SINK_RUN: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisRun",
    "spec": {
        "metrics": KITCHEN_SINK_TEMPLATE["spec"]["metrics"],
        "args": [{"name": "service-name", "value": "svc"}],
        "terminate": True,
        "dryRun": [{"metricName": ".*"}],
        "measurementRetention": [{"metricName": ".*", "limit": 5}],
        "ttlStrategy": {"secondsAfterCompletion": 60, "secondsAfterFailure": 600, "secondsAfterSuccess": 30},
    },
    "status": {
        "phase": "Failed",
        "message": 'Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)',
        "startedAt": "2024-01-01T00:00:00Z",
        "completedAt": "2024-01-01T00:10:00Z",
        "metricResults": [
            {
                "name": "success-rate",
                "phase": "Failed",
                "measurements": [
                    {
                        "phase": "Failed",
                        "value": "[0.5]",
                        "startedAt": "2024-01-01T00:00:00Z",
                        "finishedAt": "2024-01-01T00:00:01Z",
                        "resumeAt": "2024-01-01T00:00:10Z",
                        "message": "",
                        "metadata": {"job-name": "x"},
                    }
                ],
                "count": 4,
                "successful": 0,
                "failed": 4,
                "inconclusive": 0,
                "error": 0,
                "consecutiveError": 0,
                "consecutiveSuccess": 0,
                "message": "",
                "dryRun": False,
                "metadata": {"ResolvedPrometheusQuery": "up"},
            }
        ],
        "runSummary": {"count": 1, "failed": 1},
        "dryRunSummary": {"count": 0},
    },
}

KITCHEN_SINK_ROLLOUT_STATUS: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "spec": {"strategy": {"canary": {}}},
    "status": {
        "phase": "Paused",
        "message": "CanaryPauseStep",
        "observedGeneration": "3",
        "currentPodHash": "6b7d9f8c5",
        "stableRS": "5f8d7c6b4",
        "currentStepIndex": 1,
        "currentStepHash": "7c9f6d5b8",
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2024-01-01T00:00:00Z"}],
        "controllerPause": True,
        "abort": False,
        "abortedAt": "2024-01-01T00:00:00Z",
        "promoteFull": False,
        "replicas": 6,
        "updatedReplicas": 1,
        "readyReplicas": 6,
        "availableReplicas": 6,
        "HPAReplicas": 6,
        "selector": "app=guestbook",
        "restartedAt": "2024-01-01T00:00:00Z",
        "collisionCount": 0,
        "canary": {
            "currentStepAnalysisRunStatus": {"name": "r-1", "status": "Running", "message": ""},
            "currentBackgroundAnalysisRunStatus": {"name": "r-bg", "status": "Running"},
            "currentExperiment": "",
            "weights": {
                "canary": {"weight": 20, "serviceName": "canary", "podTemplateHash": "6b7d9f8c5"},
                "stable": {"weight": 80, "serviceName": "stable", "podTemplateHash": "5f8d7c6b4"},
                "additional": [{"weight": 0, "serviceName": "exp"}],
                "verified": True,
            },
        },
        "blueGreen": {
            "activeSelector": "5f8d7c6b4",
            "previewSelector": "6b7d9f8c5",
            "scaleUpPreviewCheckPoint": False,
            "prePromotionAnalysisRunStatus": {"name": "r-pre", "status": "Successful"},
            "postPromotionAnalysisRunStatus": {"name": "r-post", "status": "Running"},
        },
        "conditions": [
            {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated",
                "message": 'ReplicaSet "guestbook-6b7d9f8c5" is progressing.',
                "lastUpdateTime": "2024-01-01T00:00:00Z",
                "lastTransitionTime": "2024-01-01T00:00:00Z",
            }
        ],
        "someFutureField": {"kept": True},
    },
}

KITCHEN_SINK_APPLICATION: dict[str, Any] = yaml.safe_load(
    """
apiVersion: rollwave.dev/v1alpha1
kind: Application
metadata: {name: guestbook}
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
    directory: {recurse: true, include: "*.yaml", exclude: "skip/*"}
  destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
  syncPolicy:
    automated: {prune: true, selfHeal: true, allowEmpty: false}
    syncOptions: [CreateNamespace=true, PruneLast=true]
    retry: {limit: 5, backoff: {duration: 5s, factor: 2, maxDuration: 3m}}
    waveTimeout: 10m
  ignoreDifferences: [{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]
operation:
  sync: {revision: HEAD, prune: true, syncOptions: [ServerSideApply=true]}
  initiatedBy: {username: admin}
status:
  sync: {status: Synced, revision: abc123}
  health: {status: Healthy}
  reconciledAt: "2024-01-01T00:00:00Z"
  resources: [{group: apps, version: v1, kind: Deployment, namespace: guestbook, name: web, status: Synced,
               health: {status: Healthy}, syncWave: 0}]
  history: [{id: 1, revision: abc123, deployedAt: "2024-01-01T00:00:00Z"}]
  operationState:
    phase: Succeeded
    message: successfully synced (no more tasks)
    startedAt: "2024-01-01T00:00:00Z"
    finishedAt: "2024-01-01T00:01:00Z"
    syncResult:
      revision: abc123
      resources: [{kind: Job, name: migrate, hookType: PreSync, hookPhase: Succeeded}]
"""
)

KITCHEN_SINK_INLINE_APPLICATION: dict[str, Any] = {
    "apiVersion": "rollwave.dev/v1alpha1",
    "kind": "Application",
    "spec": {
        "source": {"inline": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
        "destination": {"namespace": "demo"},
    },
}


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(KITCHEN_SINK_ROLLOUT, id="rollout-canary-every-field"),
        pytest.param(KITCHEN_SINK_BLUE_GREEN, id="rollout-bluegreen-every-field"),
        pytest.param(KITCHEN_SINK_ROLLOUT_STATUS, id="rollout-status-every-field"),
        pytest.param(KITCHEN_SINK_TEMPLATE, id="analysistemplate-every-provider"),
        pytest.param(
            {**KITCHEN_SINK_TEMPLATE, "kind": "ClusterAnalysisTemplate"}, id="clusteranalysistemplate"
        ),
        pytest.param(KITCHEN_SINK_RUN, id="analysisrun-spec-and-status"),
        pytest.param(KITCHEN_SINK_APPLICATION, id="application-argo-cd-shape"),
        pytest.param(KITCHEN_SINK_INLINE_APPLICATION, id="application-inline-extension"),
    ],
)
def test_every_documented_field_is_kept(manifest: dict[str, Any]) -> None:
    assert walk_manifest(manifest) == []


def _rollout(spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Rollout", "spec": spec}


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        pytest.param(
            _rollout({"strategy": {"canary": {"steps": [{"setWeight": 10, "pause": {}}]}}}),
            "Rollout.spec.strategy.canary.steps[0]: a canary step may set only one of",
            id="two-actions-in-one-step",
        ),
        pytest.param(
            _rollout({"strategy": {"canary": {}, "blueGreen": {"activeService": "active"}}}),
            "Rollout.spec.strategy: set either canary or blueGreen, not both",
            id="two-strategies",
        ),
        pytest.param(
            {"kind": "Application", "spec": {"source": {"repoURL": "https://git.example/x", "inline": "{}"}}},
            "Application.spec.source: set only one of repoURL, inline or manifests",
            id="two-application-sources",
        ),
    ],
)
def test_walk_applies_the_cel_rules(manifest: dict[str, Any], problem: str) -> None:
    [reported] = walk_manifest(manifest)
    assert reported.startswith(problem)


def test_walk_reports_pruned_and_mistyped_fields() -> None:
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "spec": {"strategy": {"canary": {"steps": [{"setWeight": "20", "stepz": 1}]}}},
    }
    assert walk_manifest(manifest) == [
        "Rollout.spec.strategy.canary.steps[0].setWeight: expected integer, got str",
        "Rollout.spec.strategy.canary.steps[0].stepz: not in the schema, the API server would prune it",
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(True, "expected int or string, got bool", id="bool-is-not-int-or-string"),
        pytest.param(1.5, "expected int or string, got float", id="float-is-not-int-or-string"),
        pytest.param([1], "expected int or string, got list", id="list-is-not-int-or-string"),
    ],
)
def test_walk_rejects_non_int_or_string_durations(value: Any, problem: str) -> None:
    manifest = {
        "kind": "Rollout",
        "spec": {"strategy": {"canary": {"steps": [{"pause": {"duration": value}}]}}},
    }
    assert walk_manifest(manifest) == [f"Rollout.spec.strategy.canary.steps[0].pause.duration: {problem}"]


# --- Argo's example manifests ----------------------------------------------------------------------------


def test_argo_examples_cover_all_four_argo_kinds() -> None:
    assert ARGO_EXAMPLES.is_dir(), f"{ARGO_EXAMPLES} is missing; set ROLLWAVE_ARGO_EXAMPLES"
    assert {doc["kind"] for _, doc in ARGO_EXAMPLE_DOCS} == set(ARGO_KINDS)
    # Subfolders (e2e-*) are part of the corpus, not just the top level.
    assert any("/" in name for name, _ in ARGO_EXAMPLE_DOCS)


@pytest.mark.parametrize("manifest", [pytest.param(doc, id=name) for name, doc in ARGO_EXAMPLE_DOCS])
def test_argo_example_is_kept_unchanged_by_our_schema(manifest: dict[str, Any]) -> None:
    assert walk_manifest(manifest) == []
