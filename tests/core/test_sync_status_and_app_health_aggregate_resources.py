"""sync_status: per-resource sync status, the app's Synced/OutOfSync, and the app health as the worst child's."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.core import sync_status, waves
from rollouts.model import application as model
from tests.core.sync_sim import desired, namespaced, obj, spec

S = model.SyncStatusCode
H = model.HealthStatusCode


def key(kind: str, name: str, group: str = "", namespace: str = "shop") -> waves.ObjectKey:
    return waves.ObjectKey(group=group, kind=kind, namespace=namespace, name=name)


def plan(*manifests: dict[str, Any], live: list[dict[str, Any]] | None = None) -> waves.SyncPlan:
    return waves.plan_sync(
        desired=desired(*manifests), live=live or [], spec=spec(), state=None, namespaced=namespaced
    )


def live_obj(kind: str, name: str, status: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    item = obj(kind, name, namespace="shop", **kwargs)
    if status is not None:
        item["status"] = status
    return item


def test_resource_statuses_compare_desired_and_live() -> None:
    result = plan(
        obj("ConfigMap", "same", wave=-1),
        obj("ConfigMap", "drifted"),
        obj("ConfigMap", "missing"),
        obj("ConfigMap", "unknowable"),
        obj("Job", "migrate", hook="PreSync"),
        obj("Job", "admission", hook="Skip"),
        live=[live_obj("ConfigMap", "extra", wave=2)],
    )
    live = {
        key("ConfigMap", "same"): live_obj("ConfigMap", "same"),
        key("ConfigMap", "drifted"): live_obj("ConfigMap", "drifted"),
        key("ConfigMap", "unknowable"): live_obj("ConfigMap", "unknowable"),
        key("Job", "migrate", group="batch"): live_obj(
            "Job", "migrate", {"conditions": [{"type": "Complete", "status": "True"}]}
        ),
        key("ConfigMap", "extra"): live_obj("ConfigMap", "extra"),
    }
    statuses = sync_status.resource_statuses(
        result, live=live, out_of_sync={key("ConfigMap", "drifted")}, unknown={key("ConfigMap", "unknowable")}
    )
    table = {
        (entry.kind, entry.name): (
            entry.status,
            entry.health.status if entry.health else None,
            entry.hook,
            entry.requires_pruning,
            entry.sync_wave,
        )
        for entry in statuses
    }
    assert table == {
        ("Job", "migrate"): (None, H.HEALTHY, True, False, 0),
        ("ConfigMap", "same"): (S.SYNCED, H.HEALTHY, False, False, -1),
        ("ConfigMap", "drifted"): (S.OUT_OF_SYNC, H.HEALTHY, False, False, 0),
        ("ConfigMap", "missing"): (S.OUT_OF_SYNC, H.MISSING, False, False, 0),
        ("ConfigMap", "unknowable"): (S.UNKNOWN, H.HEALTHY, False, False, 0),
        ("ConfigMap", "extra"): (S.OUT_OF_SYNC, H.HEALTHY, False, True, 2),
    }
    assert sync_status.app_sync_status(statuses) is S.OUT_OF_SYNC


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        pytest.param([], S.SYNCED, id="empty"),
        pytest.param([S.SYNCED, S.SYNCED], S.SYNCED, id="all-synced"),
        pytest.param([S.SYNCED, S.UNKNOWN], S.UNKNOWN, id="unknown"),
        pytest.param([S.UNKNOWN, S.OUT_OF_SYNC], S.OUT_OF_SYNC, id="out-of-sync-wins"),
    ],
)
def test_app_sync_status(codes: list[model.SyncStatusCode], expected: model.SyncStatusCode) -> None:
    resources = [
        model.ResourceStatus(kind="ConfigMap", name=str(i), status=code) for i, code in enumerate(codes)
    ]
    hook = model.ResourceStatus(kind="Job", name="hook", hook=True, status=S.OUT_OF_SYNC)
    assert sync_status.app_sync_status([*resources, hook]) is expected


def deployment(name: str, status: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    item = live_obj("Deployment", name, status, **kwargs)
    item["spec"] = {"replicas": 1}
    return item


HEALTHY_DEPLOY = {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
PROGRESSING_DEPLOY = {"replicas": 1, "updatedReplicas": 0}
DEGRADED_DEPLOY = {
    **PROGRESSING_DEPLOY,
    "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}],
}


@pytest.mark.parametrize(
    ("objects", "expected"),
    [
        pytest.param({}, (H.HEALTHY, None), id="no-objects-is-healthy"),
        pytest.param({"a": HEALTHY_DEPLOY, "b": HEALTHY_DEPLOY}, (H.HEALTHY, None), id="all-healthy"),
        pytest.param(
            {"a": HEALTHY_DEPLOY, "b": PROGRESSING_DEPLOY},
            (H.PROGRESSING, "Deployment/b: Waiting"),
            id="progressing",
        ),
        pytest.param(
            {"a": DEGRADED_DEPLOY, "b": PROGRESSING_DEPLOY},
            (H.DEGRADED, "Deployment/a: Deployment 'a' exceeded"),
            id="degraded-beats-progressing",
        ),
        pytest.param(
            {"a": HEALTHY_DEPLOY, "b": None}, (H.MISSING, "Deployment/b"), id="missing-deployment-counts"
        ),
        pytest.param(
            {"a": None, "b": None}, (H.MISSING, "none of the application's objects exists"), id="nothing-live"
        ),
    ],
)
def test_app_health_is_the_worst_child(
    objects: dict[str, dict[str, Any] | None], expected: tuple[H, str | None]
) -> None:
    result = plan(*(obj("Deployment", name) for name in objects))
    live = {
        key("Deployment", name, group="apps"): deployment(name, status)
        for name, status in objects.items()
        if status is not None
    }
    verdict = sync_status.app_health(result, live=live)
    assert verdict.status is expected[0]
    if expected[1] is None:
        assert verdict.message is None
    else:
        assert verdict.message is not None and verdict.message.startswith(expected[1])


def test_app_health_ignores_hooks_ignored_objects_and_missing_kinds_without_a_health_check() -> None:
    result = plan(
        obj("Deployment", "web"),
        obj("Job", "migrate", hook="PreSync"),
        obj("Deployment", "ignored", annotations={waves.ANNOTATION_IGNORE_HEALTHCHECK: "true"}),
        obj("ConfigMap", "not-yet"),
    )
    live = {
        key("Deployment", "web", group="apps"): deployment("web", HEALTHY_DEPLOY),
        key("Job", "migrate", group="batch"): live_obj(
            "Job", "migrate", {"conditions": [{"type": "Failed", "status": "True"}]}
        ),
        key("Deployment", "ignored", group="apps"): deployment("ignored", DEGRADED_DEPLOY),
    }
    assert sync_status.app_health(result, live=live).status is H.HEALTHY
