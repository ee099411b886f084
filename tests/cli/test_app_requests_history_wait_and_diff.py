"""The rest of `rollwave app`, pure: the patches sync and refresh send (Argo CD's fields), when `app wait` stops
and with which exit, the history table, the diff text, and the command line itself."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.cli import apps, main
from rollouts.core import diffs, waves
from rollouts.model import application as model
from rollouts.reconcile import application as reconcile_application


def test_sync_sends_argo_cds_operation_field() -> None:
    assert apps.sync_request() == {"operation": {"sync": {}}}
    assert apps.sync_request(prune=True, dry_run=True, revision="v2", username="alice") == {
        "operation": {
            "sync": {"revision": "v2", "prune": True, "dryRun": True},
            "initiatedBy": {"username": "alice"},
        }
    }
    # What the controller parses back is the same request.
    parsed = model.Operation.from_dict(apps.sync_request(prune=True, revision="v2")["operation"])
    assert (parsed.sync.prune, parsed.sync.revision, parsed.sync.dry_run) == (True, "v2", False)


def test_refresh_sets_argo_cds_annotation() -> None:
    assert apps.refresh_request() == {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}
    assert apps.refresh_request(hard=True)["metadata"]["annotations"] == {
        "argocd.argoproj.io/refresh": "hard"
    }
    assert reconcile_application.REFRESH_ANNOTATION == "argocd.argoproj.io/refresh"


def app_with(
    health: str = "Healthy", sync: str = "Synced", phase: str | None = None, requested: bool = False
) -> dict[str, Any]:
    status: dict[str, Any] = {"health": {"status": health}, "sync": {"status": sync}}
    if phase:
        status["operationState"] = {"phase": phase, "message": "why"}
    app: dict[str, Any] = {"status": status}
    if requested:
        app["operation"] = {"sync": {}}
    return app


@pytest.mark.parametrize(
    ("app", "flags", "done", "failed"),
    [
        pytest.param(app_with(), {}, True, False, id="healthy-synced-idle"),
        pytest.param(app_with(health="Progressing"), {"health": True}, False, False, id="progressing"),
        pytest.param(
            app_with(health="Progressing"), {"sync": True}, True, False, id="sync-only-ignores-health"
        ),
        pytest.param(app_with(health="Degraded"), {"health": True}, True, True, id="degraded-fails"),
        pytest.param(app_with(sync="OutOfSync"), {"sync": True}, False, False, id="out-of-sync"),
        pytest.param(app_with(phase="Running"), {"operation": True}, False, False, id="operation-running"),
        pytest.param(app_with(requested=True), {"operation": True}, False, False, id="requested-not-started"),
        pytest.param(app_with(phase="Failed"), {"operation": True}, True, True, id="operation-failed"),
        pytest.param(app_with(phase="Succeeded"), {"operation": True}, True, False, id="operation-succeeded"),
        pytest.param(
            app_with(health="Degraded", phase="Running"),
            {"health": True},
            False,
            False,
            id="degraded-mid-sync",
        ),
    ],
)
def test_wait_stops_when_every_chosen_condition_holds(
    app: dict[str, Any], flags: dict[str, bool], done: bool, failed: bool
) -> None:
    chosen = {"health": False, "sync": False, "operation": False} | flags
    verdict = apps.wait_verdict(app, **chosen)
    assert (verdict.done, verdict.failed) == (done, failed)


def test_history_lists_each_sync_with_who_asked() -> None:
    app = {
        "status": {
            "history": [
                {
                    "id": 0,
                    "revision": "5baed560abcdef",
                    "deployedAt": "2026-03-01T12:00:04Z",
                    "source": {"targetRevision": "main"},
                    "initiatedBy": {"automated": True},
                },
                {
                    "id": 1,
                    "revision": "e8850766116c",
                    "deployedAt": "2026-03-02T09:30:00Z",
                    "initiatedBy": {"username": "alice"},
                },
            ]
        }
    }
    lines = apps.render_history(app).splitlines()
    assert [line.split() for line in lines] == [
        ["ID", "DATE", "REVISION", "TARGET", "INITIATED", "BY"],
        ["0", "2026-03-01T12:00:04Z", "5baed56", "main", "automated"],
        ["1", "2026-03-02T09:30:00Z", "e885076", "alice"],
    ]


def test_diff_shows_changed_missing_and_extra_objects_in_sync_order() -> None:
    def task(name: str, wave: int, *, prune: bool = False) -> waves.SyncTask:
        return waves.SyncTask(
            key=waves.ObjectKey("", "ConfigMap", "shop", name),
            api_version="v1",
            phase=model.SyncPhase.SYNC,
            wave=wave,
            manifest=None if prune else {"kind": "ConfigMap"},
            prune=prune,
            origin="" if prune else "app.yaml (document 1)",
        )

    def cm(name: str, value: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "shop"},
            "data": {"k": value},
        }

    plan = waves.SyncPlan(
        tasks=(task("changed", 0), task("same", 0), task("new", 1), task("gone", 2, prune=True))
    )
    drift = reconcile_application.Drift(
        comparisons={
            plan.tasks[0].key: diffs.compare(live=cm("changed", "old"), desired=cm("changed", "new")),
            plan.tasks[1].key: diffs.compare(live=cm("same", "v"), desired=cm("same", "v")),
            plan.tasks[2].key: diffs.compare(live=None, desired=cm("new", "v")),
            plan.tasks[3].key: diffs.compare(live=cm("gone", "v"), desired=None),
        },
        unknown={},
    )
    text = apps.render_diff(plan, drift)
    titles = [line for line in text.splitlines() if line.startswith("=====")]
    assert titles == [
        "===== ConfigMap/changed (app.yaml (document 1)) =====",
        "===== ConfigMap/new (app.yaml (document 1)) =====",
        "===== ConfigMap/gone (live object) (requires pruning) =====",
    ]
    assert "-  k: old\n+  k: new" in text
    assert "--- /dev/null" in text and "+++ /dev/null" in text
    assert drift.out_of_sync == {plan.tasks[0].key, plan.tasks[2].key, plan.tasks[3].key}
    assert apps.render_diff(plan, reconcile_application.Drift(comparisons={}, unknown={})) == ""


def test_the_app_commands_parse() -> None:
    parser = main.build_parser()
    args = parser.parse_args(
        ["app", "sync", "shop", "-n", "team-a", "--prune", "--dry-run", "--timeout", "2m"]
    )
    assert (args.name, args.namespace, args.prune, args.dry_run, args.timeout.total_seconds()) == (
        "shop",
        "team-a",
        True,
        True,
        120.0,
    )
    for verb in ("get", "diff", "history", "refresh", "wait"):
        assert parser.parse_args(["app", verb, "shop"]).run is not None
    with pytest.raises(SystemExit):
        parser.parse_args(["app", "wait", "shop", "--timeout", "soon"])
