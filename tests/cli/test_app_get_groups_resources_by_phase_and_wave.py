"""`rollwave app get` on plain Application dicts: the summary lines, and one row per task and managed object,
sorted by phase, wave, kind order and name, with the object's sync status and health next to the task's result."""

from __future__ import annotations

from typing import Any

from rollouts.cli import apps


def result(kind: str, name: str, phase: str, wave: int, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "name": name, "namespace": "shop", "syncPhase": phase, "syncWave": wave, **extra}


def resource(kind: str, name: str, wave: int, sync: str, health: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "namespace": "shop",
        "syncWave": wave,
        "status": sync,
        "health": {"status": health},
        **extra,
    }


APP: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "team-a"},
    "spec": {
        "source": {
            "repoURL": "https://bot:s3cret@git.example/shop.git",
            "path": "deploy",
            "targetRevision": "main",
        },
        "destination": {"namespace": "shop"},
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true"],
        },
    },
    "status": {
        "sync": {"status": "Synced", "revision": "5baed560abcdef"},
        "health": {"status": "Progressing", "message": "Rollout/web: more replicas need to be updated"},
        "operationState": {
            "phase": "Succeeded",
            "message": "successfully synced (all tasks run)",
            "startedAt": "2026-03-01T12:00:00Z",
            "finishedAt": "2026-03-01T12:00:04Z",
            "syncResult": {
                "revision": "5baed560abcdef",
                "resources": [
                    result(
                        "Job",
                        "smoke",
                        "PostSync",
                        0,
                        hookType="PostSync",
                        hookPhase="Succeeded",
                        group="batch",
                    ),
                    result(
                        "Rollout", "web", "Sync", 0, status="Synced", hookPhase="Running", group="argoproj.io"
                    ),
                    result(
                        "Service", "web", "Sync", 0, status="Synced", hookPhase="Succeeded", message="created"
                    ),
                    result("ConfigMap", "config", "Sync", -1, status="Synced", hookPhase="Succeeded"),
                    result(
                        "Job",
                        "migrate",
                        "PreSync",
                        0,
                        hookType="PreSync",
                        hookPhase="Succeeded",
                        group="batch",
                    ),
                    result(
                        "ConfigMap",
                        "old",
                        "Sync",
                        1,
                        status="SyncFailed",
                        hookPhase="Failed",
                        message="denied",
                    ),
                ],
            },
        },
        "resources": [
            resource("ConfigMap", "config", -1, "Synced", "Healthy"),
            resource("Service", "web", 0, "Synced", "Healthy"),
            resource("Rollout", "web", 0, "Synced", "Progressing", group="argoproj.io"),
            resource("Secret", "untouched", 2, "OutOfSync", "Healthy", requiresPruning=True),
        ],
    },
}


def test_rows_follow_the_sync_order_and_join_results_with_live_status() -> None:
    rows = apps.resource_rows(APP)
    assert [(row.phase, row.wave, row.kind, row.name) for row in rows] == [
        ("PreSync", 0, "Job", "migrate"),
        ("Sync", -1, "ConfigMap", "config"),
        ("Sync", 0, "Service", "web"),  # Services come before workloads in Argo's kind order
        ("Sync", 0, "Rollout", "web"),  # unknown kinds (CRs) last within their wave
        ("Sync", 1, "ConfigMap", "old"),
        ("Sync", 2, "Secret", "untouched"),  # not part of the last operation, still listed
        ("PostSync", 0, "Job", "smoke"),
    ]
    by_name = {(row.kind, row.name): row for row in rows}
    assert (by_name[("Rollout", "web")].sync, by_name[("Rollout", "web")].health) == ("Synced", "Progressing")
    assert by_name[("Rollout", "web")].result == "Synced"
    # A hook shows its phase; a failed object its failure; neither has a sync status of its own.
    assert (by_name[("Job", "migrate")].result, by_name[("Job", "migrate")].sync) == ("Succeeded", "")
    assert (by_name[("ConfigMap", "old")].result, by_name[("ConfigMap", "old")].message) == (
        "Failed",
        "denied",
    )
    assert by_name[("Secret", "untouched")].message == "requires pruning"


def test_get_prints_the_summary_then_the_table() -> None:
    text = apps.render_application(APP)
    lines = text.splitlines()
    summary = dict(line.split(":", 1) for line in lines[: lines.index("")])
    assert {key: value.strip() for key, value in summary.items()} == {
        "Name": "web",
        "Namespace": "team-a",
        "Source": "https://***@git.example/shop.git, path deploy, targetRevision main",
        "Destination": "shop (in-cluster)",
        "Sync policy": "automated (prune, selfHeal); CreateNamespace=true",
        "Sync status": "Synced to 5baed56",
        "Health": "Progressing (Rollout/web: more replicas need to be updated)",
        "Operation": "Sync Succeeded at 2026-03-01T12:00:04Z: successfully synced (all tasks run)",
    }
    table = lines[lines.index("") + 1 :]
    assert table[0].split() == ["PHASE", "WAVE", "KIND", "NAME", "SYNC", "HEALTH", "RESULT", "MESSAGE"]
    assert table[3].split() == ["Sync", "0", "Service", "web", "Synced", "Healthy", "Synced", "created"]
    # Columns line up: each column starts at the same offset on every line.
    start = table[0].index("HEALTH")
    assert all(line[start - 2 : start] == "  " for line in table[1:])


def test_an_application_never_synced_has_a_summary_and_no_table() -> None:
    text = apps.render_application(
        {"metadata": {"name": "new", "namespace": "a"}, "spec": {"source": {"inline": "---"}}}
    )
    assert "PHASE" not in text
    assert "Sync status:   Unknown" in text and "Source:        inline manifests" in text
    assert "Sync policy:   manual" in text


def test_a_hook_left_from_an_earlier_sync_is_shown_as_a_hook_not_in_the_sync_phase() -> None:
    app = {
        "status": {
            "resources": [
                {"kind": "Job", "name": "smoke", "namespace": "shop", "status": "Synced", "hook": True},
                {"kind": "ConfigMap", "name": "config", "namespace": "shop", "status": "Synced"},
            ]
        }
    }
    rows = {row.name: row.phase for row in apps.resource_rows(app)}
    assert rows == {"smoke": "Hook", "config": "Sync"}
