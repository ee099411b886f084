"""ReplicaSetView / ServiceView read what the core needs from raw objects; selectors evaluate as in k8s."""

import datetime
from typing import Any

import pytest

from rollouts.model import workloads

UTC = datetime.UTC

REPLICA_SET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {
        "name": "web-6d4b5c",
        "namespace": "shop",
        "uid": "rs-uid",
        "generation": 4,
        "creationTimestamp": "2026-11-22T09:00:00Z",
        "labels": {"app": "web", "rollouts-pod-template-hash": "6d4b5c"},
        "annotations": {
            "rollout.argoproj.io/revision": "3",
            "rollout.argoproj.io/desired-replicas": "5",
            "scale-down-deadline": "2026-11-22T10:00:30Z",
        },
        "ownerReferences": [
            {"kind": "Something", "uid": "other", "controller": False},
            {"kind": "Rollout", "name": "web", "uid": "rollout-uid", "controller": True},
        ],
    },
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web", "rollouts-pod-template-hash": "6d4b5c"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}},
    },
    "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 1, "observedGeneration": 3},
}


def test_replica_set_view_reads_counts_annotations_and_owner() -> None:
    view = workloads.ReplicaSetView.from_dict(REPLICA_SET)
    assert view == workloads.ReplicaSetView(
        name="web-6d4b5c",
        namespace="shop",
        uid="rs-uid",
        pod_template_hash="6d4b5c",
        revision=3,
        replicas=3,
        status_replicas=3,
        ready_replicas=2,
        available_replicas=1,
        observed_generation=3,
        generation=4,
        template=REPLICA_SET["spec"]["template"],
        annotations=REPLICA_SET["metadata"]["annotations"],
        labels=REPLICA_SET["metadata"]["labels"],
        creation_timestamp=datetime.datetime(2026, 11, 22, 9, tzinfo=UTC),
        scale_down_deadline=datetime.datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC),
        desired_replicas=5,
        controller_uid="rollout-uid",
        deleting=False,
    )
    assert not view.observed  # status is from generation 3, spec is generation 4


def test_replica_set_view_tolerates_missing_and_hand_edited_fields() -> None:
    view = workloads.ReplicaSetView.from_dict(
        {
            "metadata": {
                "name": "legacy",
                "annotations": {"rollout.argoproj.io/revision": "three", "scale-down-deadline": "soon"},
                "deletionTimestamp": "2026-11-22T10:00:00Z",
            },
            "spec": {"selector": {"matchLabels": {"rollouts-pod-template-hash": "abc"}}},
        }
    )
    assert (view.revision, view.scale_down_deadline, view.desired_replicas) == (None, None, None)
    assert (view.replicas, view.status_replicas, view.available_replicas) == (1, 0, 0)
    assert view.pod_template_hash == "abc"  # from the selector when the label is gone
    assert (view.controller_uid, view.deleting, view.observed) == (None, True, True)


def test_replica_set_template_is_a_copy() -> None:
    raw: dict[str, Any] = {
        "metadata": {"name": "x"},
        "spec": {"template": {"metadata": {"labels": {"a": "1"}}}},
    }
    view = workloads.ReplicaSetView.from_dict(raw)
    raw["spec"]["template"]["metadata"]["labels"]["a"] = "2"
    assert view.template == {"metadata": {"labels": {"a": "1"}}}


def test_service_view() -> None:
    view = workloads.ServiceView.from_dict(
        {
            "metadata": {
                "name": "web-stable",
                "namespace": "shop",
                "annotations": {"argo-rollouts.argoproj.io/managed-by-rollouts": "web"},
            },
            "spec": {
                "selector": {"app": "web", "rollouts-pod-template-hash": "58c9f7"},
                "ports": [{"port": 80}],
            },
        }
    )
    assert view.selector == {"app": "web", "rollouts-pod-template-hash": "58c9f7"}
    assert (view.name, view.namespace, view.managed_by, view.pod_template_hash) == (
        "web-stable",
        "shop",
        "web",
        "58c9f7",
    )


def test_unmanaged_service_without_selector() -> None:
    view = workloads.ServiceView.from_dict(
        {"metadata": {"name": "external"}, "spec": {"type": "ExternalName"}}
    )
    assert (view.selector, view.managed_by, view.pod_template_hash) == ({}, None, None)


LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        pytest.param({}, True, id="empty-matches-all"),
        pytest.param({"matchLabels": {"app": "web"}}, True, id="subset"),
        pytest.param({"matchLabels": {"app": "web", "tier": "front"}}, True, id="all-labels"),
        pytest.param({"matchLabels": {"app": "api"}}, False, id="other-value"),
        pytest.param({"matchLabels": {"zone": "a"}}, False, id="missing-key"),
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, True, id="in"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]},
            False,
            id="not-in-set",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, False, id="in-absent"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}, True, id="notin"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]},
            False,
            id="notin-hit",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]},
            True,
            id="notin-absent",
        ),
        pytest.param({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True, id="exists"),
        pytest.param(
            {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False, id="exists-absent"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, True, id="does-not-exist"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False, id="dne-present"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "app", "operator": "Like"}]}, False, id="unknown-operator"
        ),
        pytest.param(
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}],
            },
            False,
            id="labels-and-expressions-all-must-hold",
        ),
    ],
)
def test_selector_matches(selector: dict[str, Any], matches: bool) -> None:
    assert workloads.selector_matches(selector, LABELS) is matches


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        pytest.param({"matchLabels": {"app": "web"}}, "app=web", id="one-label"),
        pytest.param(
            {"matchLabels": {"tier": "front", "app": "web"}}, "app=web,tier=front", id="sorted-by-key"
        ),
        pytest.param(
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["b", "a"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "app=web,!canary,tier in (a,b)",
            id="docstring-example",
        ),
        pytest.param(
            {
                "matchExpressions": [
                    {"key": "env", "operator": "NotIn", "values": ["prod"]},
                    {"key": "a", "operator": "Exists"},
                ]
            },
            "a,env notin (prod)",
            id="notin-and-exists",
        ),
    ],
)
def test_selectors_format_as_kubernetes_strings(selector: dict[str, Any], text: str) -> None:
    assert workloads.format_selector(selector) == text
