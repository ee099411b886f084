"""sync.next_step/record: wave timeouts, prune and PruneLast, retries with backoff, termination, dry runs, and
resuming from the recorded status after a crash at any point without running a hook twice."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollouts.core import sync, waves
from rollouts.model import application as model
from tests.core.sync_sim import T0, SimCluster, desired, drive, obj, one_pass, result, spec, start

Phase = model.OperationPhase
SECONDS = datetime.timedelta(seconds=1)


def progressing_deployment(item: dict[str, Any]) -> None:
    if item["kind"] == "Deployment":
        item["metadata"]["generation"] = 2
        item["status"] = {"observedGeneration": 1}


def make_healthy(item: dict[str, Any]) -> None:
    item["metadata"]["generation"] = 1
    item["status"] = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}


def complete_jobs(cluster: SimCluster, state: model.OperationState, number: int) -> None:
    for item in cluster.objects.values():
        if item["kind"] == "Job" and "status" not in item:
            item["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}


# --------------------------------------------------------------------------------------------------
# Wave timeout (rollwave extension)


def test_a_wave_that_never_becomes_healthy_fails_after_the_timeout_naming_each_object() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    manifests = desired(
        obj("Deployment", "web"),
        obj("Deployment", "api"),
        obj("ConfigMap", "later", wave=1),
        obj("Job", "page", hook="SyncFail"),
    )
    run = drive(cluster, manifests, app=spec(timeout=10 * SECONDS), between=complete_jobs)
    assert run.state.phase is Phase.FAILED
    why = (
        "timed out after 10s (spec.syncPolicy.waveTimeout) without becoming healthy while Progressing: "
        "Waiting for rollout to finish: observed deployment generation less than desired generation"
    )
    assert run.state.message == (
        "wave 0 of phase Sync did not become healthy within 10s, reason: "
        f"Deployment/api (app.yaml (document 2)): {why}; Deployment/web (app.yaml (document 1)): {why}"
    )
    assert "later" not in cluster.events("create")
    assert "page" in cluster.events("create")  # SyncFail hooks run on a timeout too
    assert run.state.finished_at is not None and run.state.finished_at - T0 <= 12 * SECONDS


def test_waiting_requeues_no_later_than_the_wave_deadline() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    manifests = desired(obj("Deployment", "web"), obj("ConfigMap", "later", wave=1))
    app = spec(timeout=3 * SECONDS)
    state, _ = one_pass(cluster, start(), manifests=manifests, app=app, now=T0)
    _, step = one_pass(cluster, state, manifests=manifests, app=app, now=T0 + 2 * SECONDS)
    assert step.requeue_after == SECONDS


def test_a_hook_that_never_completes_times_out() -> None:
    run = drive(
        SimCluster(),
        desired(obj("Job", "migrate", hook="PreSync"), obj("ConfigMap", "a")),
        app=spec(timeout=5 * SECONDS),
    )
    assert run.state.phase is Phase.FAILED
    assert (run.state.message or "").startswith(
        "wave 0 of phase PreSync did not become healthy within 5s, reason: Job/migrate"
    )
    assert "without becoming complete while Progressing" in (run.state.message or "")


def test_a_timed_out_hook_is_released_so_nothing_stays_held_after_the_operation() -> None:
    cluster = SimCluster()
    run = drive(cluster, desired(obj("Job", "migrate", hook="PreSync")), app=spec(timeout=5 * SECONDS))
    assert run.state.phase is Phase.FAILED
    assert cluster.objects[cluster.key("migrate")]["metadata"]["finalizers"] == []


def test_without_a_timeout_a_wave_waits_as_long_as_argo_cd_would() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    run = drive(
        cluster,
        desired(obj("Deployment", "web"), obj("ConfigMap", "later", wave=1)),
        app=spec(timeout=None),
        max_passes=200,
    )
    assert run.state.phase is Phase.RUNNING and run.now - T0 > datetime.timedelta(minutes=6)


# --------------------------------------------------------------------------------------------------
# Prune


def live(kind: str, name: str, **kwargs: Any) -> dict[str, Any]:
    return obj(kind, name, namespace="shop", **kwargs)


def test_prune_deletes_only_tracked_objects_that_left_git() -> None:
    cluster = SimCluster()
    cluster.put(live("ConfigMap", "gone"))
    cluster.put(live("ConfigMap", "someone-elses"), tracked=False)
    cluster.put(live("Job", "old-hook", hook="PreSync"))
    run = drive(cluster, desired(obj("ConfigMap", "kept")), state=start(prune=True))
    assert run.state.phase is Phase.SUCCEEDED
    assert cluster.events("prune") == ["gone"]
    assert (result(run.state, "gone").status, result(run.state, "gone").message) == (
        model.ResultCode.PRUNED,
        "pruned",
    )
    assert {key.name for key in cluster.objects} == {"kept", "someone-elses", "old-hook"}


@pytest.mark.parametrize(
    ("prune", "annotations", "message"),
    [
        pytest.param(False, {}, "ignored (requires pruning)", id="prune-off"),
        pytest.param(
            True, {waves.ANNOTATION_SYNC_OPTIONS: "Prune=false"}, "ignored (no prune)", id="prune-false"
        ),
    ],
)
def test_prune_skipped(prune: bool, annotations: dict[str, str], message: str) -> None:
    cluster = SimCluster()
    cluster.put(live("ConfigMap", "gone", annotations=annotations))
    run = drive(cluster, desired(obj("ConfigMap", "kept")), state=start(prune=prune))
    assert run.state.phase is Phase.SUCCEEDED
    assert cluster.events("prune") == []
    assert (result(run.state, "gone").status, result(run.state, "gone").message) == (
        model.ResultCode.PRUNE_SKIPPED,
        message,
    )


def test_prune_runs_in_mirrored_waves_and_waits_for_deletion() -> None:
    cluster = SimCluster(linger_passes=2)
    cluster.put(live("ConfigMap", "w0", wave=0))
    cluster.put(live("ConfigMap", "w2", wave=2))
    run = drive(cluster, desired(obj("ConfigMap", "new", wave=1)), state=start(prune=True))
    assert run.state.phase is Phase.SUCCEEDED
    assert cluster.pass_of("prune", "w2") < cluster.pass_of("create", "new") < cluster.pass_of("prune", "w0")
    # "new" waited until w2 was really gone.
    assert cluster.pass_of("create", "new") - cluster.pass_of("prune", "w2") >= 2
    assert any(step.state.message == "waiting for deletion of ConfigMap/w2" for step in run.steps)


def test_prune_last_prunes_after_every_wave_is_healthy() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    cluster.put(live("ConfigMap", "old"))

    def world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
        if number == 3:
            make_healthy(cluster.objects[cluster.key("web")])

    run = drive(
        cluster,
        desired(obj("Deployment", "web")),
        app=spec(options=["PruneLast=true"]),
        state=start(prune=True),
        between=world,
    )
    assert run.state.phase is Phase.SUCCEEDED
    assert cluster.pass_of("prune", "old") > 4 > cluster.pass_of("create", "web")
    assert result(run.state, "old").sync_wave == 1


# --------------------------------------------------------------------------------------------------
# Resume from the recorded state


MANIFESTS = desired(
    obj("Job", "", generate_name="migrate-", hook="PreSync", delete_policy="HookSucceeded"),
    obj("ConfigMap", "config", wave=-1),
    obj("Deployment", "web"),
    obj("Job", "smoke", hook="PostSync"),
)


def _world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
    complete_jobs(cluster, state, number)
    web = cluster.objects.get(waves.ObjectKey("apps", "Deployment", "shop", "web"))
    if web is not None and number % 3 == 0:
        make_healthy(web)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=12), max_size=6))
def test_a_crash_after_any_pass_resumes_from_status_without_running_a_hook_twice(crashes: set[int]) -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    run = drive(cluster, MANIFESTS, between=_world, crash_after=crashes)
    assert run.state.phase is Phase.SUCCEEDED, run.state.message
    created = cluster.events("create")
    hooks = [name for name in created if name.startswith("migrate-") or name == "smoke"]
    assert sorted(hooks) == sorted(set(hooks)) and len(hooks) == 2
    assert set(created) == {hooks[0], "config", "web", "smoke"}
    assert cluster.pass_of("create", "config") > cluster.pass_of("create", hooks[0])
    assert cluster.events("delete") == [hooks[0]]


def test_status_written_mid_operation_is_enough_to_continue() -> None:
    cluster = SimCluster(on_apply=progressing_deployment)
    state = start()
    for number in range(4):
        state, _ = one_pass(cluster, state, manifests=MANIFESTS, app=spec(), now=T0 + number * SECONDS)
        _world(cluster, state, number)
    wire = state.to_dict()
    assert wire["phase"] == "Running" and wire["syncResult"]["resources"]
    restored = model.OperationState.from_dict(wire)
    run = drive(cluster, MANIFESTS, state=restored, between=_world, now=T0 + 10 * SECONDS)
    assert run.state.phase is Phase.SUCCEEDED
    assert len([name for name in cluster.events("create") if name.startswith("migrate-")]) == 1


# --------------------------------------------------------------------------------------------------
# Retry


@pytest.mark.parametrize(
    ("backoff", "attempt", "seconds"),
    [
        pytest.param(model.Backoff(), 1, 5, id="first-retry-waits-duration"),
        pytest.param(model.Backoff(), 3, 20, id="doubles"),
        pytest.param(model.Backoff(), 50, 180, id="capped-at-3m"),
        pytest.param(model.Backoff(), 10_000, 180, id="no-overflow"),
        pytest.param(model.Backoff(factor=1), 9, 5, id="factor-one"),
        pytest.param(model.Backoff(max_duration=datetime.timedelta(0)), 4, 40, id="zero-max-means-no-cap"),
    ],
)
def test_retry_delay(backoff: model.Backoff, attempt: int, seconds: int) -> None:
    assert sync.retry_delay(model.RetryPolicy(limit=-1, backoff=backoff), attempt) == datetime.timedelta(
        seconds=seconds
    )


def test_a_failed_sync_is_retried_with_backoff_then_fails_for_good() -> None:
    cluster = SimCluster(apply_errors={"a": "admission webhook denied the request"})
    state = start(retry=model.RetryPolicy(limit=2))
    run = drive(cluster, desired(obj("ConfigMap", "a")), state=state)
    assert run.state.phase is Phase.FAILED
    assert run.state.retry_count == 2
    assert cluster.events("apply-failed") == ["a", "a", "a"]
    assert (run.state.message or "").endswith("admission webhook denied the request (retried 2 times).")
    messages = [step.state.message for step in run.steps]
    assert any(message and "Retrying attempt #1 at" in message for message in messages)
    waits = [
        step.requeue_after for step in run.steps if step.state.finished_at is not None and step.requeue_after
    ]
    assert waits and max(waits) <= 10 * SECONDS


def test_a_retry_starts_over_and_reruns_the_hooks() -> None:
    cluster = SimCluster(apply_errors={"a": "conflict"})

    def world(cluster: SimCluster, state: model.OperationState, number: int) -> None:
        complete_jobs(cluster, state, number)
        if state.retry_count == 1:
            cluster.apply_errors.clear()

    run = drive(
        cluster,
        desired(obj("Job", "migrate", hook="PreSync"), obj("ConfigMap", "a")),
        state=start(retry=model.RetryPolicy(limit=3)),
        between=world,
    )
    assert run.state.phase is Phase.SUCCEEDED and run.state.retry_count == 1
    assert cluster.events("create") == ["migrate", "migrate", "a"]
    assert cluster.events("delete") == ["migrate"]


def test_fail_with_error_phase_and_no_retry_policy() -> None:
    state = sync.fail(
        start(), "repository https://git.example/app.git: revision v9 not found", now=T0, phase=Phase.ERROR
    )
    assert (state.phase, state.finished_at, state.retry_count) == (Phase.ERROR, T0, 0)


def test_automated_syncs_default_to_five_retries() -> None:
    assert sync.automated_retry(spec()).limit == 5


# --------------------------------------------------------------------------------------------------
# Termination, dry run, history


def test_terminating_deletes_running_hooks_and_fails() -> None:
    cluster = SimCluster()
    manifests = desired(obj("Job", "migrate", hook="PreSync"), obj("ConfigMap", "a"))
    state, _ = one_pass(cluster, start(), manifests=manifests, app=spec(), now=T0)
    state, step = one_pass(cluster, sync.terminate(state), manifests=manifests, app=spec(), now=T0 + SECONDS)
    assert (state.phase, state.message) == (Phase.FAILED, "Operation terminated")
    assert [(action.kind, action.reason) for action in step.actions] == [
        (sync.ActionKind.DELETE_HOOKS, "Terminate")
    ]
    assert cluster.events("delete") == ["migrate"] and not cluster.objects


def test_a_dry_run_operation_changes_nothing() -> None:
    cluster = SimCluster()
    run = drive(
        cluster,
        desired(obj("ConfigMap", "a"), obj("Job", "migrate", hook="PreSync")),
        state=start(dry_run=True),
    )
    assert (run.state.phase, run.state.message) == (Phase.SUCCEEDED, "successfully synced (dry run)")
    assert cluster.objects == {} and sorted(cluster.events("dry-run")) == ["a", "migrate"]
    failing = drive(
        SimCluster(dry_run_errors={"a": "bad"}), desired(obj("ConfigMap", "a")), state=start(dry_run=True)
    )
    assert failing.state.phase is Phase.FAILED and "ConfigMap/a (app.yaml (document 1)): bad" in (
        failing.state.message or ""
    )


def test_a_succeeded_sync_becomes_a_history_entry() -> None:
    run = drive(SimCluster(), desired(obj("ConfigMap", "a")))
    entry = sync.history_entry(run.state, entry_id=3)
    assert (entry.id, entry.revision, entry.deploy_started_at, entry.deployed_at) == (
        3,
        "5baed560abcdef",
        T0,
        run.state.finished_at,
    )
    status = model.ApplicationStatus(history=tuple(model.RevisionHistory(id=i) for i in range(10)))
    assert [e.id for e in status.with_history(entry).history] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 3]
