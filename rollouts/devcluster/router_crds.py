"""The traffic routers' CRDs on the local control plane, taken from the routers' own Go modules.

rollwave's routers act on objects of other projects (Gateway API HTTPRoutes, Istio VirtualServices and
DestinationRules, SMI TrafficSplits). Tests and demos need those kinds on the API server, and the honest source
for their schemas is the CRD files each project publishes in its Go module. They are never copied into this
repository: `go mod download -json MODULE@VERSION` puts the module into the Go module cache (which persists, so
later runs are offline and take well under a second), and the files are applied from there with
`kubectl apply --server-side`.

Versions are pinned in `BUNDLES` and nowhere else. Every applied CRD carries the label
`rollwave.dev/router-crds: <bundle>-<version>`; when every CRD of every bundle is already there with that label
and Established, `install_router_crds` sends nothing (idempotent, 0.1 s). Ingress needs nothing: it is built in
(networking.k8s.io/v1).

One module needs a conversion: smi-sdk-go (the SMI project's published module; the spec repository itself is
not a Go module) ships its CRDs as `apiextensions.k8s.io/v1beta1`, which Kubernetes stopped serving in 1.22.
`crd_v1beta1_to_v1` rewrites them to v1 without changing what they accept (same versions, served/storage flags,
schema and printer columns).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from rollouts.devcluster import cluster as devcluster

LABEL = "rollwave.dev/router-crds"
FIELD_MANAGER = "rollwave-dev"

Say = Callable[[str], None]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CrdBundle:
    """Where one router's CRDs live: a Go module at a pinned version, and paths (files or folders) inside it.

    `groups`, when set, keeps only the CRDs of those API groups (Istio's file holds every Istio kind).
    """

    name: str
    module: str
    version: str
    paths: tuple[str, ...]
    groups: frozenset[str] | None = None

    @property
    def label_value(self) -> str:
        return f"{self.name}-{self.version}"


BUNDLES: tuple[CrdBundle, ...] = (
    # Standard channel: HTTPRoute v1 (and the other standard kinds, which cost nothing to have).
    CrdBundle(
        name="gateway-api",
        module="sigs.k8s.io/gateway-api",
        version="v1.6.3",
        paths=("config/crd/standard",),
    ),
    CrdBundle(
        name="istio",
        module="istio.io/api",
        version="v1.31.1",
        paths=("kubernetes/customresourcedefinitions.gen.yaml",),
        groups=frozenset({"networking.istio.io"}),
    ),
    CrdBundle(
        name="smi",
        module="github.com/servicemeshinterface/smi-sdk-go",
        version="v0.5.0",
        paths=("crds/split.yaml",),
    ),
)


class RouterCrdError(RuntimeError):
    pass


def _say_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Finding the files


def module_dir(bundle: CrdBundle) -> pathlib.Path:
    """The module's folder in the Go module cache, downloaded through the Go proxy the first time."""
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    # Outside any module, so no go.mod of ours (or of the caller's cwd) takes part.
    with tempfile.TemporaryDirectory(prefix="rollwave-crds-") as scratch:
        try:
            result = subprocess.run(
                ["go", "mod", "download", "-json", f"{bundle.module}@{bundle.version}"],
                cwd=scratch,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except FileNotFoundError:
            raise RouterCrdError("Go is needed to fetch the router CRDs; `go` is not on PATH") from None
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise RouterCrdError(
            f"go mod download {bundle.module}@{bundle.version} failed: {result.stderr.strip() or result.stdout}"
        ) from None
    if answer.get("Error") or not answer.get("Dir"):
        raise RouterCrdError(
            f"go mod download {bundle.module}@{bundle.version} failed: {answer.get('Error') or 'no Dir'}"
        )
    return pathlib.Path(answer["Dir"])


def crd_files(bundle: CrdBundle, root: pathlib.Path) -> list[pathlib.Path]:
    """The YAML files named by `bundle.paths` (folders give their `*.yaml`), or an error naming what is missing."""
    found: list[pathlib.Path] = []
    for relative in bundle.paths:
        path = root / relative
        if path.is_dir():
            found.extend(sorted(path.glob("*.yaml")))
        elif path.is_file():
            found.append(path)
        else:
            raise RouterCrdError(
                f"{bundle.module}@{bundle.version} has no {relative} (looked in {root}); "
                "the pinned version in rollouts/devcluster/router_crds.py may need its paths updated"
            )
    if not found:
        raise RouterCrdError(f"{bundle.module}@{bundle.version}: no YAML files under {bundle.paths}")
    return found


def load_crds(bundle: CrdBundle, files: Sequence[pathlib.Path]) -> list[dict[str, Any]]:
    """The bundle's CustomResourceDefinitions as apiextensions.k8s.io/v1 objects, labelled as ours."""
    crds: list[dict[str, Any]] = []
    for path in files:
        # libyaml when present: Istio's file is 19,000 lines, 4 s in pure Python.
        for document in yaml.load_all(path.read_text(), Loader=_LOADER):
            if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                continue
            if bundle.groups is not None and document.get("spec", {}).get("group") not in bundle.groups:
                continue
            if document.get("apiVersion") == "apiextensions.k8s.io/v1beta1":
                document = crd_v1beta1_to_v1(document)
            metadata = document.setdefault("metadata", {})
            metadata.setdefault("labels", {})[LABEL] = bundle.label_value
            crds.append(document)
    if not crds:
        raise RouterCrdError(
            f"{bundle.module}@{bundle.version}: no CustomResourceDefinition found in {files}"
        )
    return crds


def crd_v1beta1_to_v1(crd: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite a v1beta1 CRD as v1: the schema and printer columns move into every version.

    >>> old = {"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "CustomResourceDefinition",
    ...        "metadata": {"name": "things.example.com"},
    ...        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Thing", "plural": "things"},
    ...                 "version": "v1", "additionalPrinterColumns": [{"name": "N", "type": "string",
    ...                 "JSONPath": ".spec.n"}], "validation": {"openAPIV3Schema": {"properties": {}}}}}
    >>> new = crd_v1beta1_to_v1(old)
    >>> new["apiVersion"], [v["name"] for v in new["spec"]["versions"]]
    ('apiextensions.k8s.io/v1', ['v1'])
    >>> new["spec"]["versions"][0]["additionalPrinterColumns"][0]["jsonPath"]
    '.spec.n'
    >>> new["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["type"]
    'object'
    """
    spec = crd["spec"]
    shared_schema = copy.deepcopy((spec.get("validation") or {}).get("openAPIV3Schema") or {})
    # v1 requires a structural schema, whose root is an object.
    shared_schema.setdefault("type", "object")
    shared_columns = [_column_v1(column) for column in spec.get("additionalPrinterColumns") or ()]
    raw_versions = spec.get("versions") or [{"name": spec["version"], "served": True, "storage": True}]
    versions = []
    for raw in raw_versions:
        schema = (raw.get("schema") or {}).get("openAPIV3Schema")
        version: dict[str, Any] = {
            "name": raw["name"],
            "served": bool(raw.get("served", True)),
            "storage": bool(raw.get("storage", False)),
            "schema": {"openAPIV3Schema": copy.deepcopy(schema) if schema else copy.deepcopy(shared_schema)},
        }
        columns = [
            _column_v1(column) for column in raw.get("additionalPrinterColumns") or ()
        ] or shared_columns
        if columns:
            version["additionalPrinterColumns"] = copy.deepcopy(columns)
        subresources = raw.get("subresources") or spec.get("subresources")
        if subresources:
            version["subresources"] = copy.deepcopy(subresources)
        versions.append(version)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": copy.deepcopy(dict(crd.get("metadata") or {})),
        "spec": {
            "group": spec["group"],
            "names": copy.deepcopy(spec["names"]),
            "scope": spec.get("scope", "Namespaced"),
            "versions": versions,
        },
    }


def _column_v1(column: Mapping[str, Any]) -> dict[str, Any]:
    converted = {key: value for key, value in column.items() if key != "JSONPath"}
    converted["jsonPath"] = column.get("JSONPath") or column.get("jsonPath")
    return converted


# ---------------------------------------------------------------------------------------------------------------
# Installing


def desired_crds(bundles: Sequence[CrdBundle] = BUNDLES) -> list[dict[str, Any]]:
    """Every CRD of every bundle, read from the module cache (downloading a module the first time)."""
    crds: list[dict[str, Any]] = []
    for bundle in bundles:
        crds.extend(load_crds(bundle, crd_files(bundle, module_dir(bundle))))
    return crds


def installed_labels(cluster: devcluster.DevCluster) -> dict[str, str]:
    """Name -> label value of the Established CRDs that carry our label."""
    result = devcluster.kubectl(cluster, "get", "crd", "-l", LABEL, "-o", "json", check=False)
    if result.returncode != 0:
        raise RouterCrdError(f"kubectl get crd failed: {result.stderr.strip()}")
    found: dict[str, str] = {}
    for item in json.loads(result.stdout).get("items", []):
        conditions = item.get("status", {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            found[item["metadata"]["name"]] = item["metadata"].get("labels", {}).get(LABEL, "")
    return found


def install_router_crds(
    cluster: devcluster.DevCluster, *, bundles: Sequence[CrdBundle] = BUNDLES, say: Say = _say_to_stderr
) -> list[str]:
    """Apply the routers' CRDs (server-side) unless they are all there at the pinned versions; wait until
    Established. Returns the CRD names."""
    crds = desired_crds(bundles)
    names = [crd["metadata"]["name"] for crd in crds]
    wanted = {crd["metadata"]["name"]: crd["metadata"]["labels"][LABEL] for crd in crds}
    present = installed_labels(cluster)
    if all(present.get(name) == value for name, value in wanted.items()):
        return names
    say(f"router CRDs: applying {len(crds)} ({', '.join(b.label_value for b in bundles)})")
    text = yaml.safe_dump_all(crds, sort_keys=False)
    applied = devcluster.kubectl(
        cluster,
        "apply",
        "--server-side",
        "--force-conflicts",
        f"--field-manager={FIELD_MANAGER}",
        "-f",
        "-",
        input_text=text,
        check=False,
        timeout=300,
    )
    if applied.returncode != 0:
        raise RouterCrdError(f"applying the router CRDs failed: {applied.stderr.strip()}")
    waited = devcluster.kubectl(
        cluster,
        "wait",
        "--for=condition=Established",
        "--timeout=120s",
        *(f"crd/{name}" for name in names),
        check=False,
        timeout=180,
    )
    if waited.returncode != 0:
        raise RouterCrdError(f"router CRDs not Established: {waited.stderr.strip()}")
    return names
