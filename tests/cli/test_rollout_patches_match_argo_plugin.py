"""The patches `rollwave` sends are the ones Argo's kubectl plugin sends, so both tools (and Argo CD actions)
can act on the same Rollout: promote's three cases, --full, undo's template choice, set image, restartAt."""

from __future__ import annotations

import argparse
import copy
import datetime
from typing import Any

import pytest

from rollouts.cli import rollouts
from rollouts.core import hashing

STEPS = [
    {"setWeight": 25},
    {"pause": {}},
    {"analysis": {"templates": [{"templateName": "t"}]}},
    {"pause": {}},
]
PAUSE_CONDITION = {"reason": "CanaryPauseStep", "startTime": "2026-03-01T12:00:00Z"}


def _rollout(*, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "demo", "namespace": "shop"},
        "spec": {
            "replicas": 4,
            "template": {
                "metadata": {"labels": {"app": "demo"}},
                "spec": {
                    "initContainers": [{"name": "migrate", "image": "tool:1"}],
                    "containers": [
                        {"name": "app", "image": "nginx:1.25"},
                        {"name": "proxy", "image": "envoy:1"},
                    ],
                },
            },
            "strategy": {"canary": {"steps": STEPS}},
            **(spec or {}),
        },
        "status": status or {},
    }


# ---------------------------------------------------------------------------------------------------------------
# promote


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        pytest.param(
            {},
            {"currentStepIndex": 1, "pauseConditions": [PAUSE_CONDITION], "controllerPause": True},
            rollouts.Patches(status={"status": {"pauseConditions": None}}),
            id="paused-at-a-pause-step-clears-the-conditions",
        ),
        pytest.param(
            {},
            {
                "currentStepIndex": 2,
                "canary": {"currentStepAnalysisRunStatus": {"name": "r", "status": "Running"}},
            },
            rollouts.Patches(status={"status": {"pauseConditions": None, "currentStepIndex": 3}}),
            id="mid-analysis-moves-to-the-next-step",
        ),
        pytest.param(
            {},
            {
                "currentStepIndex": 2,
                "controllerPause": True,
                "pauseConditions": [
                    {"reason": "InconclusiveAnalysisRun", "startTime": "2026-03-01T12:00:00Z"}
                ],
                "canary": {"currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive"}},
            },
            rollouts.Patches(
                status={"status": {"pauseConditions": None, "controllerPause": False, "currentStepIndex": 3}}
            ),
            id="inconclusive-analysis-also-drops-controller-pause",
        ),
        pytest.param(
            {"paused": True},
            {"currentStepIndex": 1, "pauseConditions": [PAUSE_CONDITION], "controllerPause": True},
            rollouts.Patches(status={"status": {"pauseConditions": None}}, spec={"spec": {"paused": False}}),
            id="manually-paused-is-unpaused-too",
        ),
        pytest.param(
            {},
            {"currentStepIndex": 4},
            rollouts.Patches(status={"status": {"pauseConditions": None, "currentStepIndex": 4}}),
            id="past-the-last-step-the-index-stays",
        ),
        pytest.param(
            {},
            {},
            rollouts.Patches(status={"status": {"pauseConditions": None, "currentStepIndex": 1}}),
            id="unset-index-counts-as-zero",
        ),
        pytest.param(
            {"strategy": {"blueGreen": {"activeService": "a"}}},
            {},
            rollouts.Patches(),
            id="blue-green-without-pause-sends-nothing",
        ),
    ],
)
def test_promote_sends_argo_patch_for_the_situation(
    spec: dict[str, Any], status: dict[str, Any], expected: rollouts.Patches
) -> None:
    assert rollouts.promote_patches(_rollout(spec=spec, status=status), full=False) == expected


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        pytest.param(
            {},
            {"currentPodHash": "b", "stableRS": "a", "pauseConditions": [PAUSE_CONDITION]},
            rollouts.Patches(status={"status": {"promoteFull": True}}),
            id="mid-update",
        ),
        pytest.param(
            {"paused": True},
            {"currentPodHash": "b", "stableRS": "a"},
            rollouts.Patches(status={"status": {"promoteFull": True}}, spec={"spec": {"paused": False}}),
            id="manually-paused",
        ),
        pytest.param({}, {"currentPodHash": "a", "stableRS": "a"}, rollouts.Patches(), id="already-stable"),
    ],
)
def test_promote_full_requests_full_promotion(
    spec: dict[str, Any], status: dict[str, Any], expected: rollouts.Patches
) -> None:
    assert rollouts.promote_patches(_rollout(spec=spec, status=status), full=True) == expected


# ---------------------------------------------------------------------------------------------------------------
# undo


def _replica_set(
    *, revision: int, image: str, pod_hash: str | None = None, defaults: bool = False
) -> dict[str, Any]:
    template: dict[str, Any] = {
        "metadata": {"labels": {"app": "demo"}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }
    own_hash = pod_hash or hashing.pod_template_hash(template)
    stored = copy.deepcopy(template)
    stored["metadata"]["labels"]["rollouts-pod-template-hash"] = own_hash
    if defaults:
        stored["spec"].update(
            dnsPolicy="ClusterFirst",
            restartPolicy="Always",
            schedulerName="default-scheduler",
            securityContext={},
            terminationGracePeriodSeconds=30,
        )
        stored["spec"]["containers"][0].update(
            imagePullPolicy="IfNotPresent",
            resources={},
            terminationMessagePath="/dev/termination-log",
            terminationMessagePolicy="File",
        )
    return {
        "metadata": {
            "name": f"demo-{own_hash}",
            "labels": {"rollouts-pod-template-hash": own_hash},
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
        },
        "spec": {"replicas": 1, "template": stored},
    }


def _current(replica_set: dict[str, Any]) -> dict[str, Any]:
    return {"currentPodHash": replica_set["metadata"]["labels"]["rollouts-pod-template-hash"]}


def test_undo_defaults_to_the_highest_revision_below_the_current_one() -> None:
    first, second, third = (_replica_set(revision=n, image=f"app:{n}") for n in (1, 2, 3))
    plan = rollouts.undo_plan(_rollout(status=_current(third)), [third, first, second], to_revision=None)
    assert plan.revision == 2
    assert plan.template["spec"]["containers"][0]["image"] == "app:2"


def test_undo_follows_the_current_pod_hash_not_the_newest_number() -> None:
    # The user edited the template to revision 2's again; revision 3's ReplicaSet is still the newest number.
    first, second, third = (_replica_set(revision=n, image=f"app:{n}") for n in (1, 2, 3))
    plan = rollouts.undo_plan(_rollout(status=_current(second)), [first, second, third], to_revision=None)
    assert plan.revision == 1


def test_undo_to_a_given_revision_removes_the_hash_label() -> None:
    first, second = (_replica_set(revision=n, image=f"app:{n}") for n in (1, 2))
    plan = rollouts.undo_plan(_rollout(status=_current(second)), [first, second], to_revision=1)
    assert plan.template["metadata"]["labels"] == {"app": "demo"}
    assert rollouts.undo_operations(plan) == [
        {"op": "replace", "path": "/spec/template", "value": plan.template}
    ]
    assert plan.already_current is False


def test_undo_restores_the_template_without_server_defaults_when_the_hash_proves_it() -> None:
    stable = _replica_set(revision=1, image="app:1", defaults=True)
    plan = rollouts.undo_plan(
        _rollout(status={"currentPodHash": "zzz"}),
        [stable, _replica_set(revision=2, image="app:2")],
        to_revision=1,
    )
    assert plan.template == {
        "metadata": {"labels": {"app": "demo"}},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
    }


def test_undo_keeps_the_stored_template_when_the_hash_is_not_ours() -> None:
    # A ReplicaSet made by Argo: its hash comes from Go's serialisation, so the stored template is copied as is.
    foreign = _replica_set(revision=1, image="app:1", pod_hash="6d4f8b9c7", defaults=True)
    plan = rollouts.undo_plan(_rollout(), [foreign, _replica_set(revision=2, image="app:2")], to_revision=1)
    assert plan.template["spec"]["dnsPolicy"] == "ClusterFirst"
    assert plan.template["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "rollouts-pod-template-hash" not in plan.template["metadata"]["labels"]


def test_undo_to_the_current_template_is_skipped() -> None:
    first = _replica_set(revision=1, image="nginx:1.25", defaults=True)
    rollout = _rollout()
    rollout["spec"]["template"] = {
        "metadata": {"labels": {"app": "demo"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
    }
    plan = rollouts.undo_plan(rollout, [first, _replica_set(revision=2, image="x")], to_revision=1)
    assert plan.already_current is True


@pytest.mark.parametrize(
    ("revisions", "current", "to_revision", "message"),
    [
        pytest.param(
            [1],
            1,
            None,
            'no revision of rollout "demo" before 1 to go back to (known revisions: 1)',
            id="only-one",
        ),
        pytest.param(
            [1, 2], 2, 7, 'unable to find revision 7 of rollout "demo" (known revisions: 1, 2)', id="unknown"
        ),
    ],
)
def test_undo_without_such_a_revision_says_so(
    revisions: list[int], current: int, to_revision: int | None, message: str
) -> None:
    sets = [_replica_set(revision=n, image=f"app:{n}") for n in revisions]
    with pytest.raises(rollouts.CommandError) as raised:
        rollouts.undo_plan(_rollout(status=_current(sets[current - 1])), sets, to_revision=to_revision)
    assert raised.value.message == message
    assert raised.value.code == rollouts.EXIT_ERROR


def test_server_defaults_are_stripped_only_where_they_are_the_default() -> None:
    template = {
        "spec": {
            "dnsPolicy": "Default",
            "containers": [
                {
                    "name": "app",
                    "image": "nginx",
                    "imagePullPolicy": "Always",
                    "ports": [
                        {"containerPort": 80, "protocol": "TCP"},
                        {"containerPort": 53, "protocol": "UDP"},
                    ],
                    "readinessProbe": {
                        "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
                        "periodSeconds": 5,
                    },
                },
                {"name": "side", "image": "side:1", "imagePullPolicy": "Always"},
            ],
            "volumes": [{"name": "c", "configMap": {"name": "c", "defaultMode": 420}}],
        }
    }
    assert rollouts.strip_server_defaults(template) == {
        "spec": {
            "dnsPolicy": "Default",
            "containers": [
                {
                    "name": "app",
                    "image": "nginx",
                    "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5},
                },
                {"name": "side", "image": "side:1", "imagePullPolicy": "Always"},
            ],
            "volumes": [{"name": "c", "configMap": {"name": "c"}}],
        }
    }


# ---------------------------------------------------------------------------------------------------------------
# set image


def test_set_image_tests_each_container_name_then_sets_its_image() -> None:
    operations = rollouts.set_image_operations(_rollout(), [("app", "nginx:1.27")])
    assert operations == [
        {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
        {"op": "add", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27"},
    ]


def test_set_image_reaches_init_containers_and_star_sets_all() -> None:
    operations = rollouts.set_image_operations(_rollout(), [("*", "busybox:1"), ("proxy", "envoy:2")])
    images = {op["path"]: op["value"] for op in operations if op["op"] == "add"}
    assert images == {
        "/spec/template/spec/initContainers/0/image": "busybox:1",
        "/spec/template/spec/containers/0/image": "busybox:1",
        "/spec/template/spec/containers/1/image": "envoy:2",
    }


def test_set_image_to_the_same_image_sends_nothing() -> None:
    assert rollouts.set_image_operations(_rollout(), [("app", "nginx:1.25")]) == []


def test_set_image_names_the_unknown_container() -> None:
    with pytest.raises(rollouts.CommandError) as raised:
        rollouts.set_image_operations(_rollout(), [("app", "x:1"), ("web", "x:1")])
    assert raised.value.message == 'unable to find container named "web" in rollout "demo"'


@pytest.mark.parametrize("text", ["app", "=nginx", "app="])
def test_image_assignment_needs_container_and_image(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        rollouts.parse_image_assignment(text)


# ---------------------------------------------------------------------------------------------------------------
# restart


@pytest.mark.parametrize(
    ("now", "delay", "expected"),
    [
        pytest.param(
            datetime.datetime(2026, 3, 1, 12, 0, 0, 750_000, tzinfo=datetime.UTC),
            datetime.timedelta(0),
            "2026-03-01T12:00:00Z",
            id="now-at-second-precision",
        ),
        pytest.param(
            datetime.datetime(2026, 12, 31, 23, 59, 45, tzinfo=datetime.UTC),
            datetime.timedelta(seconds=30),
            "2027-01-01T00:00:15Z",
            id="in-30s-crosses-the-year",
        ),
        pytest.param(
            datetime.datetime(2026, 3, 1, 14, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
            datetime.timedelta(minutes=5),
            "2026-03-01T12:05:00Z",
            id="written-in-utc",
        ),
    ],
)
def test_restart_at_is_rfc3339_utc(now: datetime.datetime, delay: datetime.timedelta, expected: str) -> None:
    assert rollouts.restart_patch(now, delay=delay) == {"spec": {"restartAt": expected}}
