"""kwok Stages for the local cluster: kwok's fast defaults, plus a deterministic way to make a pod fail.

kwok drops all of its default Stages as soon as one Stage is passed in, so we pass the full set ourselves:
node initialisation and lease heartbeat and pod ready/delete come from kwok's module unchanged; pod-complete is kwok's
with one extra selector term, so that a pod labelled ``rollwave.dev/fake-outcome: fail`` is not completed but failed
by our ``pod-fail`` Stage instead, and pod-ready is kwok's with the same extra term, so that such a pod is never
Ready, not even for a moment (a Ready instant would count as an available replica). kwok's own chaos stage picks
between competing Stages by weight and jitter, which would make a failing test flaky; disjoint selectors make the
outcome certain.
"""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

FAIL_LABEL = "rollwave.dev/fake-outcome"
FAIL_VALUE = "fail"

_FROM_KWOK = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-delete.yaml",
)
_FROM_KWOK_UNLESS_MARKED = ("pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml")

_POD_FAIL_STATUS = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  type: ContainersReady
containerStatuses:
{{ range $index, $item := .spec.containers }}
- image: {{ $item.image | Quote }}
  name: {{ $item.name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 1
      finishedAt: {{ $now | Quote }}
      reason: Error
      message: failed on purpose (rollwave.dev/fake-outcome=fail)
      startedAt: {{ $now | Quote }}
{{ end }}
phase: Failed
"""


def _not_marked_to_fail() -> dict[str, Any]:
    return {"key": f'.metadata.labels["{FAIL_LABEL}"]', "operator": "NotIn", "values": [FAIL_VALUE]}


def pod_fail_stage() -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": "rollwave-pod-fail"},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {
                "matchExpressions": [
                    {"key": f'.metadata.labels["{FAIL_LABEL}"]', "operator": "In", "values": [FAIL_VALUE]},
                    {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                    {"key": ".status.phase", "operator": "In", "values": ["Pending", "Running"]},
                    {"key": ".spec.nodeName", "operator": "Exists"},
                ]
            },
            "next": {"statusTemplate": _POD_FAIL_STATUS},
        },
    }


def stage_documents(kwok_stage_dir: pathlib.Path) -> list[dict[str, Any]]:
    """All Stage objects for the cluster, read from kwok's stage folder (kept beside the built binaries)."""
    documents = [yaml.safe_load((kwok_stage_dir / relative).read_text()) for relative in _FROM_KWOK]
    for relative in _FROM_KWOK_UNLESS_MARKED:
        stage = yaml.safe_load((kwok_stage_dir / relative).read_text())
        stage["spec"]["selector"]["matchExpressions"].append(_not_marked_to_fail())
        documents.append(stage)
    documents.append(pod_fail_stage())
    return documents
