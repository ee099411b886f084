"""sync.next_step/record drive a whole operation: waves are health-gated, hooks run in their phases, failures stop
the sync and run SyncFail hooks, delete policies fire when Argo CD's do."""

from __future__ import annotations

import datetime
from typing import Any

from rollouts.core import sync, waves
from rollouts.model import application as model
from tests.core.sync_sim import SimCluster, desired, drive, namespaced, obj, one_pass, result, spec, start

Phase = model.OperationPhase


def healthy_deployment(item: dict[str, Any]) -> None:
    if item["kind"] == "Deployment":
        item["status"] = {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
        }
        item["metadata"]["generation"] = 1


def progressing_deployment(item: dict[str, Any]) -> None:
    if item["kind"] == "Deployment":
        item["metadata"]["generation"] = 2
        item["status"] = {"observedGeneration": 1}


def complete_jobs(cluster: SimCluster, state: model.OperationState, number: int) -> None:
    for item in cluster.objects.values():
        if item["kind"] == "Job" and "status" not in item:
            item["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}


# --------------------------------------------------------------------------------------------------
# Waves


def test_a_wave_starts_only_when_every_object_of_the_previous_wave_is_healthy() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    manifests = desired(
        obj("ConfigMap", "config", wave=-1),
        obj("Deployment", "web", wave=0),
        obj("ConfigMap", "after", wave=1),
    )
    state = start()
    for _ in range(5):
        state, _step = one_pass(
            cluster, state, manifests=manifests, app=spec(), now=datetime.datetime.now(datetime.UTC)
        )
    assert cluster.events("create") == ["config", "web"]
    assert state.message == "waiting for healthy state of apps/Deployment/web"
    assert result(state, "web").message == (
        "Progressing: Waiting for rollout to finish: observed deployment generation less than desired generation"
    )
    healthy_deployment(cluster.objects[cluster.key("web")])
    run = drive(cluster, manifests, state=state)
    assert run.state.phase is Phase.SUCCEEDED
    assert cluster.events("create") == ["config", "web", "after"]


def test_the_last_wave_of_plain_objects_is_not_waited_on() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    run = drive(cluster, desired(obj("ConfigMap", "config"), obj("Deployment", "web")))
    assert (run.state.phase, run.state.message) == (Phase.SUCCEEDED, "successfully synced (all tasks run)")
    assert len(run.steps) == 1
    # ... but a later wave makes it a multi-step sync, and then each wave is gated.
    cluster = SimCluster(on_apply=progressing_deployment)
    run = drive(cluster, desired(obj("Deployment", "web"), obj("ConfigMap", "late", wave=1)), max_passes=5)
    assert run.state.phase is Phase.RUNNING and "late" not in cluster.events("create")


def test_objects_of_one_wave_are_applied_in_groups_of_consecutive_kind() -> None:
    cluster = SimCluster()
    run = drive(
        cluster,
        desired(obj("Service", "b"), obj("ConfigMap", "a"), obj("ConfigMap", "c"), obj("Deployment", "d")),
    )
    [first] = run.steps[:1]
    applies = [action for action in first.actions if action.kind is sync.ActionKind.APPLY]
    assert [[task.key.name for task in action.tasks] for action in applies] == [["a", "c"], ["b"], ["d"]]


def test_a_failed_apply_stops_the_wave_and_later_waves() -> None:
    cluster = SimCluster(apply_errors={"b": 'Service "b" is invalid: spec.ports: Required value'})
    manifests = desired(
        obj("ConfigMap", "a"), obj("Service", "b"), obj("Deployment", "d"), obj("ConfigMap", "later", wave=1)
    )
    run = drive(cluster, manifests)
    assert cluster.events("create") == ["a"]
    assert run.state.phase is Phase.FAILED
    assert run.state.message == (
        'one or more objects failed to apply, reason: Service/b (app.yaml (document 2)): Service "b" is invalid: '
        "spec.ports: Required value"
    )
    assert result(run.state, "b").status is model.ResultCode.SYNC_FAILED


# --------------------------------------------------------------------------------------------------
# Hooks in their phases


def test_presync_completes_before_wave_minus_one_and_postsync_waits_for_the_rollout_canary() -> None:
    manifests = desired(
        obj("Job", "", generate_name="migrate-", hook="PreSync"),
        obj("ConfigMap", "config", wave=-1),
        obj("Service", "web"),
        obj("Rollout", "web", spec={"replicas": 1, "strategy": {"canary": {}}}),
        obj("Job", "smoke", hook="PostSync"),
    )
    cluster = SimCluster()
    passes: dict[str, int] = {}

    def world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
        rollout = cluster.objects.get(waves.ObjectKey("argoproj.io", "Rollout", "shop", "web"))
        if rollout is not None:
            # The canary runs for a few passes: Progressing, then Healthy once stable == current.
            passes.setdefault("rollout-seen", number)
            done = number - passes["rollout-seen"] >= 3
            rollout["status"] = {
                "phase": "Healthy" if done else "Progressing",
                "message": "" if done else "more replicas",
            }
            if done:
                passes.setdefault("rollout-healthy", number)
        complete_jobs(cluster, state, number)

    run = drive(cluster, manifests, between=world)
    assert run.state.phase is Phase.SUCCEEDED
    migrate = next(name for name in cluster.events("create") if name.startswith("migrate-"))
    assert cluster.pass_of("create", migrate) < cluster.pass_of("create", "config")
    assert cluster.pass_of("create", "smoke") > passes["rollout-healthy"]
    assert cluster.pass_of("create", "config") < cluster.pass_of("create", "web")


def test_a_sync_hook_runs_in_its_wave_beside_the_objects() -> None:
    cluster = SimCluster()
    run = drive(
        cluster,
        desired(obj("ConfigMap", "a"), obj("Job", "seed", hook="Sync"), obj("ConfigMap", "b", wave=1)),
        between=complete_jobs,
    )
    assert run.state.phase is Phase.SUCCEEDED
    assert (
        cluster.pass_of("create", "seed") == cluster.pass_of("create", "a") < cluster.pass_of("create", "b")
    )


def test_a_failing_presync_hook_stops_the_sync_and_runs_the_syncfail_hooks() -> None:
    manifests = desired(
        obj("Job", "migrate", hook="PreSync", delete_policy="HookFailed"),
        obj("ConfigMap", "config", wave=-1),
        obj("Deployment", "web"),
        obj("Job", "page-oncall", hook="SyncFail"),
    )
    cluster = SimCluster()

    def world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
        for item in cluster.objects.values():
            if item["metadata"]["name"] == "migrate" and "status" not in item:
                item["status"] = {
                    "conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]
                }
        complete_jobs(cluster, state, number)

    run = drive(cluster, manifests, between=world)
    assert run.state.phase is Phase.FAILED
    assert cluster.events("create") == ["migrate", "page-oncall"]
    assert run.state.message == (
        "one or more synchronization tasks completed unsuccessfully, reason: "
        "Job/migrate (app.yaml (document 1)): BackoffLimitExceeded"
    )
    assert result(run.state, "page-oncall").hook_phase is Phase.SUCCEEDED
    # HookFailed: the failed hook is deleted when the operation fails.
    assert "migrate" in cluster.events("delete")
    assert waves.ObjectKey("batch", "Job", "shop", "migrate") not in cluster.objects


def test_a_failing_syncfail_hook_is_named_in_the_message() -> None:
    cluster = SimCluster(apply_errors={"config": "forbidden"})

    def world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
        for item in cluster.objects.values():
            if item["kind"] == "Job" and "status" not in item:
                item["status"] = {"conditions": [{"type": "Failed", "status": "True", "message": "no pager"}]}

    run = drive(
        cluster, desired(obj("ConfigMap", "config"), obj("Job", "page", hook="SyncFail")), between=world
    )
    assert run.state.phase is Phase.FAILED
    assert (run.state.message or "").endswith(
        "; SyncFail hook failed: Job/page (app.yaml (document 2)): no pager"
    )


def test_a_named_hook_of_two_phases_runs_in_both() -> None:
    cluster = SimCluster()
    run = drive(
        cluster,
        desired(obj("Job", "check", hook="PreSync,PostSync"), obj("ConfigMap", "a")),
        between=complete_jobs,
    )
    assert run.state.phase is Phase.SUCCEEDED
    assert cluster.events("create").count("check") == 2
    assert cluster.events("delete") == ["check"]  # BeforeHookCreation before the PostSync run


def test_a_hook_that_exists_but_was_not_created_by_rollwave_is_not_touched() -> None:
    cluster = SimCluster()
    cluster.put(obj("Job", "migrate", namespace="shop"), tracked=False)
    run = drive(cluster, desired(obj("Job", "migrate", hook="PreSync"), obj("ConfigMap", "a")))
    assert run.state.phase is Phase.FAILED
    assert "Job/migrate exists and was not created by rollwave" in (run.state.message or "")
    assert cluster.events("delete") == [] and cluster.events("create") == []


# --------------------------------------------------------------------------------------------------
# Delete policies


def test_hook_succeeded_deletes_when_the_whole_operation_succeeds_not_after_its_wave() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    manifests = desired(
        obj("Job", "migrate", hook="PreSync", delete_policy="HookSucceeded"),
        obj("Deployment", "web"),
        obj("ConfigMap", "late", wave=1),
    )

    def world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
        complete_jobs(cluster, state, number)
        if number == 4:
            healthy_deployment(cluster.objects[cluster.key("web")])

    run = drive(cluster, manifests, between=world)
    assert run.state.phase is Phase.SUCCEEDED
    # Released as soon as its result was recorded; deleted only with the last wave, when the operation succeeds.
    assert cluster.pass_of("release", "migrate") == cluster.pass_of("create", "web")
    assert (
        cluster.pass_of("delete", "migrate")
        == cluster.pass_of("create", "late")
        > cluster.pass_of("create", "web")
    )


def test_before_hook_creation_replaces_the_previous_operations_hook() -> None:
    manifests = desired(obj("Job", "migrate", hook="PreSync"), obj("ConfigMap", "a"))
    cluster = SimCluster()
    first = drive(cluster, manifests, between=complete_jobs)
    assert first.state.phase is Phase.SUCCEEDED and cluster.events("delete") == []
    old = cluster.objects[cluster.key("migrate")]
    later = sync.new_operation(
        first.state.operation, revision="abcdef0", now=first.now + datetime.timedelta(hours=1)
    )
    second = drive(cluster, manifests, state=later, between=complete_jobs)
    assert second.state.phase is Phase.SUCCEEDED
    assert cluster.events("create") == ["migrate", "a", "migrate"]
    assert cluster.events("delete") == ["migrate"]
    new = cluster.objects[cluster.key("migrate")]
    assert (
        new["metadata"]["annotations"][waves.ANNOTATION_SYNC_ID]
        != old["metadata"]["annotations"][waves.ANNOTATION_SYNC_ID]
    )


def test_without_hook_failed_a_failed_hook_stays_for_inspection() -> None:
    cluster = SimCluster()

    def world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
        item = cluster.objects.get(waves.ObjectKey("batch", "Job", "shop", "migrate"))
        if item is not None:
            item["status"] = {"conditions": [{"type": "Failed", "status": "True", "message": "exit 1"}]}

    run = drive(
        cluster, desired(obj("Job", "migrate", hook="PreSync", delete_policy="HookSucceeded")), between=world
    )
    assert run.state.phase is Phase.FAILED
    assert cluster.events("delete") == []
    live = cluster.objects[cluster.key("migrate")]
    assert waves.HOOK_FINALIZER not in live["metadata"]["finalizers"]  # released, so a TTL may clean it up


def test_a_hook_deleted_before_it_completed_fails_instead_of_hanging() -> None:
    cluster = SimCluster()
    manifests = desired(obj("Job", "migrate", hook="PreSync"), obj("ConfigMap", "a"))
    state, _ = one_pass(
        cluster, start(), manifests=manifests, app=spec(), now=datetime.datetime.now(datetime.UTC)
    )
    del cluster.objects[cluster.key("migrate")]  # e.g. someone removed the finalizer and deleted it
    run = drive(cluster, manifests, state=state)
    assert run.state.phase is Phase.FAILED
    assert "the hook was deleted before it completed" in (run.state.message or "")


# --------------------------------------------------------------------------------------------------
# Dry run and bad input


def test_a_dry_run_failure_fails_before_anything_is_applied_and_without_syncfail_hooks() -> None:
    cluster = SimCluster(dry_run_errors={"web": 'namespaces "nowhere" not found'})
    manifests = desired(
        obj("ConfigMap", "a"),
        obj("Deployment", "web", namespace="nowhere", wave=2),
        obj("Job", "page", hook="SyncFail"),
    )
    run = drive(cluster, manifests)
    assert run.state.phase is Phase.FAILED
    assert run.state.message == (
        "one or more objects failed to apply (dry run), reason: Deployment/web (app.yaml (document 2)): "
        'namespaces "nowhere" not found'
    )
    assert cluster.events("create") == []


def test_broken_objects_fail_the_sync_without_any_io() -> None:
    cluster = SimCluster()
    run = drive(cluster, desired(obj("ConfigMap", "a"), obj("Gadget", "g", api_version="example.com/v1")))
    assert run.state.phase is Phase.FAILED
    assert run.steps[0].actions == ()
    assert run.state.message == (
        "one or more objects failed to apply (dry run), reason: Gadget/g (app.yaml (document 2)): the API server "
        "does not know kind Gadget in example.com/v1 (is its CRD installed?)"
    )


def test_objects_in_a_namespace_created_by_the_sync_are_not_dry_run_before_it_exists() -> None:
    cluster = SimCluster()
    run = drive(cluster, desired(obj("Namespace", "payments"), obj("ConfigMap", "a", namespace="payments")))
    assert run.state.phase is Phase.SUCCEEDED
    assert cluster.events("dry-run") == ["payments"]


def test_create_namespace_applies_the_namespace_before_the_dry_run_and_does_not_track_it() -> None:
    cluster = SimCluster()
    run = drive(cluster, desired(obj("ConfigMap", "a")), app=spec(options=["CreateNamespace=true"]))
    assert run.state.phase is Phase.SUCCEEDED
    first = run.steps[0]
    assert [action.kind for action in first.actions] == [sync.ActionKind.APPLY, sync.ActionKind.DRY_RUN]
    assert first.actions[0].tasks[0].auto_namespace
    assert cluster.tracked()[0]["metadata"]["name"] == "a"  # the namespace carries no tracking label


def test_apply_out_of_sync_only_applies_only_drifted_objects_but_still_runs_hooks() -> None:
    cluster = SimCluster()
    manifests = desired(
        obj("ConfigMap", "same"), obj("ConfigMap", "drifted"), obj("Job", "migrate", hook="PreSync")
    )
    app = spec(options=["ApplyOutOfSyncOnly=true"])
    state = start()
    drifted = {waves.ObjectKey("", "ConfigMap", "shop", "drifted")}
    for _ in range(6):
        if state.phase.completed:
            break
        cluster.tick()
        plan = waves.plan_sync(
            desired=manifests, live=cluster.tracked(), spec=app, state=state, namespaced=namespaced
        )
        step = sync.next_step(
            plan,
            state=state,
            observations=sync.Observations(live=cluster.live(plan.object_keys()), out_of_sync=drifted),
            wave_timeout=None,
            now=datetime.datetime.now(datetime.UTC),
        )
        state = sync.record(
            step,
            [cluster.perform(action) for action in step.actions],
            now=datetime.datetime.now(datetime.UTC),
        )
        complete_jobs(cluster, state, 0)
    assert state.phase is Phase.SUCCEEDED
    assert sorted(cluster.events("create")) == ["drifted", "migrate"]
