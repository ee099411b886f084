"""A canary Rollout on the real control plane: ReplicaSets per revision, the pod split at each step, Service
selectors, timed and indefinite pauses, promote, abort, retry, a new template mid-rollout, and a rollback."""

from __future__ import annotations

import time

from tests.support import kube
from tests.support import rollouts as ro

STEPS = [{"setWeight": 20}, {"pause": {"duration": "5s"}}, {"setWeight": 50}, {"pause": {}}]


def test_ten_replica_canary_walks_its_steps_to_healthy(controller: kube.Controller, namespace: str) -> None:
    ro.create(ro.rollout_manifest("web", replicas=10, steps=STEPS), namespace=namespace)
    first = ro.wait_phase("web", "Healthy", namespace=namespace)
    v1 = first["status"]["stableRS"]
    assert first["status"]["currentStepIndex"] == len(STEPS)  # initial deploy skips the steps
    assert ro.ready_pods_by_hash("web", namespace=namespace) == {v1: 10}
    rs_v1 = ro.replica_sets("web", namespace=namespace)[v1]
    assert rs_v1["metadata"]["name"] == f"web-{v1}"
    assert rs_v1["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "1"
    assert rs_v1["metadata"]["ownerReferences"][0]["kind"] == "Rollout"

    ro.set_image("web", "nginx:2.0", namespace=namespace)
    # 20%: 2 canary pods, 8 stable (maxSurge 25% = 3, maxUnavailable 25% = 2).
    v2, stable = ro.wait_split("web", namespace=namespace, canary=2, stable=8)
    assert stable == v1 and v2 != v1
    paused = ro.wait_phase("web", "Paused", namespace=namespace)
    assert paused["status"]["message"] == "CanaryPauseStep"
    assert ro.service_hash("web-stable", namespace=namespace) == v1
    assert ro.service_hash("web-canary", namespace=namespace) == v2
    rs_v2 = ro.replica_sets("web", namespace=namespace)[v2]
    assert rs_v2["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "2"
    assert rs_v2["spec"]["selector"]["matchLabels"][ro.HASH] == v2

    # The 5 s pause ends by itself; 50% then splits 5 / 5 and the indefinite pause holds.
    ro.wait_split("web", namespace=namespace, canary=5, stable=5, timeout=30)
    held = ro.wait_step("web", 3, namespace=namespace)
    assert held["pauseConditions"][0]["reason"] == "CanaryPauseStep"
    time.sleep(2)
    assert ro.status("web", namespace=namespace)["currentStepIndex"] == 3

    ro.promote("web", namespace=namespace)
    done = ro.wait_phase("web", "Healthy", namespace=namespace)
    assert done["status"]["stableRS"] == v2
    ro.wait_split("web", namespace=namespace, canary=10, stable=0)
    assert ro.replica_sets("web", namespace=namespace)[v1]["spec"]["replicas"] == 0
    assert ro.service_hash("web-stable", namespace=namespace) == v2
    assert ro.service_hash("web-canary", namespace=namespace) == v2
    reasons = ro.event_reasons("web", namespace=namespace)
    for expected in (
        "NewReplicaSetCreated",
        "RolloutStepCompleted",
        "RolloutPaused",
        "RolloutCompleted",
        "SwitchService",
    ):
        assert expected in reasons


def test_abort_returns_to_stable_and_retry_starts_the_steps_again(
    controller: kube.Controller, namespace: str
) -> None:
    ro.create(
        ro.rollout_manifest("api", replicas=4, steps=[{"setWeight": 25}, {"pause": {}}]), namespace=namespace
    )
    v1 = ro.wait_phase("api", "Healthy", namespace=namespace)["status"]["stableRS"]
    ro.set_image("api", "nginx:2.0", namespace=namespace)
    v2, _ = ro.wait_split("api", namespace=namespace, canary=1, stable=3)
    ro.wait_phase("api", "Paused", namespace=namespace)

    ro.abort("api", namespace=namespace)
    aborted = ro.wait_phase("api", "Degraded", namespace=namespace)
    assert aborted["status"]["message"].startswith("RolloutAborted:")
    assert aborted["status"]["abort"] is True
    ro.wait_split("api", namespace=namespace, canary=0, stable=4)
    assert ro.replica_sets("api", namespace=namespace)[v2]["spec"]["replicas"] == 0
    # Traffic back to stable: the canary Service selects the stable pods again.
    kube.wait_for(
        lambda: ro.service_hash("api-canary", namespace=namespace) == v1, timeout=30, what="canary svc"
    )
    assert "RolloutAborted" in ro.event_reasons("api", namespace=namespace)

    ro.retry("api", namespace=namespace)
    again = ro.wait_phase("api", "Paused", namespace=namespace)
    assert again["status"]["currentStepIndex"] == 1
    ro.wait_split("api", namespace=namespace, canary=1, stable=3)
    ro.promote("api", namespace=namespace)
    assert ro.wait_phase("api", "Healthy", namespace=namespace)["status"]["stableRS"] == v2


def test_new_template_mid_rollout_abandons_the_old_canary(
    controller: kube.Controller, namespace: str
) -> None:
    ro.create(
        ro.rollout_manifest("jobs", replicas=4, steps=[{"setWeight": 50}, {"pause": {}}]), namespace=namespace
    )
    v1 = ro.wait_phase("jobs", "Healthy", namespace=namespace)["status"]["stableRS"]
    ro.set_image("jobs", "nginx:2.0", namespace=namespace)
    v2, _ = ro.wait_split("jobs", namespace=namespace, canary=2, stable=2)
    ro.wait_phase("jobs", "Paused", namespace=namespace)

    ro.set_image("jobs", "nginx:3.0", namespace=namespace)
    v3, stable = ro.wait_split("jobs", namespace=namespace, canary=2, stable=2)
    assert v3 not in (v1, v2) and stable == v1
    paused = ro.wait_phase("jobs", "Paused", namespace=namespace)
    assert paused["status"]["currentStepIndex"] == 1
    assert ro.replica_sets("jobs", namespace=namespace)[v2]["spec"]["replicas"] == 0
    ro.promote("jobs", namespace=namespace)
    assert ro.wait_phase("jobs", "Healthy", namespace=namespace)["status"]["stableRS"] == v3
    assert sorted(ro.replica_sets("jobs", namespace=namespace)) == sorted([v1, v2, v3])


def test_going_back_to_the_stable_template_skips_the_steps(
    controller: kube.Controller, namespace: str
) -> None:
    ro.create(
        ro.rollout_manifest("back", replicas=4, steps=[{"setWeight": 50}, {"pause": {}}]), namespace=namespace
    )
    v1 = ro.wait_phase("back", "Healthy", namespace=namespace)["status"]["stableRS"]
    ro.set_image("back", "nginx:2.0", namespace=namespace)
    ro.wait_phase("back", "Paused", namespace=namespace)

    ro.set_image("back", "nginx:1.0", namespace=namespace)
    healthy = ro.wait_phase("back", "Healthy", namespace=namespace)
    assert healthy["status"]["stableRS"] == healthy["status"]["currentPodHash"] == v1
    ro.wait_split("back", namespace=namespace, canary=4, stable=0)
    assert "SkipSteps" in ro.event_reasons("back", namespace=namespace)


def test_scaling_mid_rollout_keeps_the_weight(controller: kube.Controller, namespace: str) -> None:
    ro.create(
        ro.rollout_manifest("grow", replicas=4, steps=[{"setWeight": 50}, {"pause": {}}]), namespace=namespace
    )
    ro.wait_phase("grow", "Healthy", namespace=namespace)
    ro.set_image("grow", "nginx:2.0", namespace=namespace)
    ro.wait_phase("grow", "Paused", namespace=namespace)
    kube.kubectl("scale", "rollout", "grow", "-n", namespace, "--replicas=8")
    ro.wait_split("grow", namespace=namespace, canary=4, stable=4)
    status = ro.status("grow", namespace=namespace)
    assert status["HPAReplicas"] == 8 and status["selector"] == "app=grow"


def test_manual_pause_holds_the_rollout(controller: kube.Controller, namespace: str) -> None:
    ro.create(
        ro.rollout_manifest("hold", replicas=2, steps=[{"setWeight": 50}, {"pause": {"duration": 1}}]),
        namespace=namespace,
    )
    ro.wait_phase("hold", "Healthy", namespace=namespace)
    kube.kubectl(
        "patch", "rollout", "hold", "-n", namespace, "--type", "merge", "-p", '{"spec":{"paused":true}}'
    )
    ro.set_image("hold", "nginx:2.0", namespace=namespace)
    paused = ro.wait_phase("hold", "Paused", namespace=namespace)
    assert paused["status"]["message"] == "manually paused"
    time.sleep(2)
    assert len(ro.replica_sets("hold", namespace=namespace)) == 1  # nothing created while paused
    kube.kubectl(
        "patch", "rollout", "hold", "-n", namespace, "--type", "merge", "-p", '{"spec":{"paused":false}}'
    )
    assert ro.wait_phase("hold", "Healthy", namespace=namespace, timeout=60)


def test_argo_example_rollout_canary_works_unchanged(controller: kube.Controller, namespace: str) -> None:
    from tests.support import paths

    kube.kubectl("apply", "-n", namespace, "-f", str(paths.ARGO_EXAMPLES / "rollout-canary.yaml"))
    ro.wait_phase("rollout-canary", "Healthy", namespace=namespace)
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"rollouts-demo","image":"argoproj/rollouts-demo:yellow"}]}}}}'
    kube.kubectl("patch", "rollout", "rollout-canary", "-n", namespace, "--type", "merge", "-p", patch)
    # Argo's worked example: weights 20/40/60/80 give 1/2/3/4 canary pods out of 5.
    ro.wait_split("rollout-canary", namespace=namespace, canary=1, stable=4)
    ro.wait_phase("rollout-canary", "Paused", namespace=namespace)
    ro.promote("rollout-canary", namespace=namespace)
    for canary in (2, 3, 4):
        ro.wait_split("rollout-canary", namespace=namespace, canary=canary, stable=5 - canary, timeout=90)
    assert ro.wait_phase("rollout-canary", "Healthy", namespace=namespace, timeout=90)
    ro.wait_split("rollout-canary", namespace=namespace, canary=5, stable=0)
