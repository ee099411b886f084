"""Automated Applications on the real control plane: a new commit is synced by polling the repository; objects
that left Git are pruned after every other wave (PruneLast), except those marked Prune=false and anything
rollwave did not create; a `git revert` brings them back; CreateNamespace creates the destination; self-heal
re-applies only the object someone edited, without running the hooks again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import applications as apps
from tests.support import kube


@pytest.fixture
def repo(tmp_path: Any) -> apps.GitRepo:
    return apps.GitRepo(tmp_path / "repo")


def synced_to(name: str, namespace: str, commit: str, timeout: float = 60) -> dict[str, Any]:
    """The status once the operation for `commit` ended and the comparison after it saw `commit`."""

    def check(status: dict[str, Any]) -> bool:
        state = status.get("operationState") or {}
        return (
            state.get("syncResult", {}).get("revision") == commit
            and state.get("phase") in ("Succeeded", "Failed", "Error")
            and status.get("sync", {}).get("revision") == commit
            and status.get("comparedOperation") is not None
        )

    return apps.wait_status(
        name, namespace=namespace, check=check, timeout=timeout, what=f"synced to {commit[:7]}"
    )


def test_new_commits_are_synced_pruning_last_and_a_revert_brings_objects_back(
    controller: kube.Controller, namespace: str, repo: apps.GitRepo
) -> None:
    repo.write("a.yaml", [apps.configmap("a")])
    repo.write("b.yaml", [apps.configmap("b", annotations={apps.WAVE: "1"})])
    repo.write("kept.yaml", [apps.configmap("kept", annotations={apps.SYNC_OPTIONS: "Prune=false"})])
    first = repo.commit("a, b and kept")
    # Not rollwave's: never pruned, whatever leaves Git.
    kube.apply(apps.configmap("bystander"), namespace=namespace)
    app = apps.application(
        "shop",
        repo_url=repo.url,
        destination=namespace,
        automated={"prune": True},
        sync_options=["PruneLast=true"],
        annotations={apps.POLL: "1s"},
    )
    kube.apply(app, namespace=namespace)
    status = synced_to("shop", namespace, first)
    assert status["operationState"]["phase"] == "Succeeded"
    assert status["operationState"]["operation"]["initiatedBy"] == {"automated": True}
    assert status["sync"]["status"] == "Synced", status["resources"]

    repo.remove("b.yaml")
    repo.remove("kept.yaml")
    repo.write("c.yaml", [apps.configmap("c", annotations={apps.WAVE: "2"})])
    second = repo.commit("c replaces b")
    state = synced_to("shop", namespace, second)["operationState"]
    assert state["phase"] == "Succeeded", state
    b, c, kept = apps.result(state, "b"), apps.result(state, "c"), apps.result(state, "kept")
    assert (b["status"], kept["status"]) == ("Pruned", "PruneSkipped")
    # PruneLast: pruned in a wave of its own after the last one (2), once everything else was applied.
    assert b["syncWave"] == 3 and b["startedAt"] >= c["finishedAt"]
    apps.wait_gone("configmap", "b", namespace=namespace)
    for name in ("a", "c", "kept", "bystander"):
        assert apps.exists("configmap", name, namespace=namespace), name
    status = apps.status("shop", namespace=namespace)
    kept_status = next(r for r in status["resources"] if r["name"] == "kept")
    assert kept_status["requiresPruning"] is True and status["sync"]["status"] == "OutOfSync"
    events = [e["message"] for e in kube.events_for(namespace, "shop") if e["reason"] == "ResourcePruned"]
    assert any("ConfigMap/b" in message for message in events), events

    third = repo.revert(second)
    state = synced_to("shop", namespace, third)["operationState"]
    assert state["phase"] == "Succeeded", state
    assert apps.result(state, "c")["status"] == "Pruned"
    apps.wait_gone("configmap", "c", namespace=namespace)
    assert apps.exists("configmap", "b", namespace=namespace)
    assert apps.exists("configmap", "bystander", namespace=namespace)
    status = apps.wait_status(
        "shop",
        namespace=namespace,
        check=lambda s: s.get("sync", {}).get("status") == "Synced",
        what="Synced",
    )
    assert [entry["revision"] for entry in status["history"]] == [first, second, third]


@pytest.fixture
def destination(namespace: str) -> Iterator[str]:
    name = f"{namespace[:50]}-dest"
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_create_namespace_then_self_heal_reapplies_only_the_edited_object_without_hooks(
    controller: kube.Controller, namespace: str, destination: str, repo: apps.GitRepo
) -> None:
    repo.write("hooks.yaml", [apps.job("migrate", annotations={apps.HOOK: "PreSync"})])
    repo.write("settings.yaml", [apps.configmap("settings", data={"mode": "a"})])
    repo.write("other.yaml", [apps.configmap("other", data={"x": "1"})])
    repo.commit()
    app = apps.application(
        "shop",
        repo_url=repo.url,
        destination=destination,
        automated={"prune": True, "selfHeal": True},
        sync_options=["CreateNamespace=true"],
        annotations={apps.POLL: "1s"},
    )
    kube.apply(app, namespace=namespace)
    synced_to("shop", namespace, repo.head())
    created = kube.get("namespace", destination)
    assert created is not None
    # The namespace is not tracked, so it is never pruned.
    assert "rollwave.dev/app" not in (created["metadata"].get("labels") or {})
    migrate = kube.get("job", "migrate", namespace=destination)
    other = kube.get("configmap", "other", namespace=destination)
    assert migrate is not None and other is not None

    kube.kubectl(
        "patch",
        "configmap",
        "settings",
        "-n",
        destination,
        "--type=merge",
        "-p",
        json.dumps({"data": {"mode": "b"}}),
    )
    kube.wait_for(
        lambda: (kube.get("configmap", "settings", namespace=destination) or {}).get("data") == {"mode": "a"},
        timeout=30,
        what="settings healed",
    )
    status = apps.wait_status(
        "shop",
        namespace=namespace,
        check=lambda s: (
            (s.get("operationState") or {}).get("phase") == "Succeeded"
            and s.get("sync", {}).get("status") == "Synced"
        ),
        what="healed and Synced",
    )
    operation = status["operationState"]["operation"]
    assert operation["sync"]["resources"] == [
        {"kind": "ConfigMap", "name": "settings", "namespace": destination}
    ]
    assert [r["name"] for r in status["operationState"]["syncResult"]["resources"]] == ["settings"]
    # No hook ran: the PreSync Job is the same object; the other ConfigMap was not touched.
    again = kube.get("job", "migrate", namespace=destination)
    assert again is not None and again["metadata"]["uid"] == migrate["metadata"]["uid"]
    untouched = kube.get("configmap", "other", namespace=destination)
    assert (
        untouched is not None
        and untouched["metadata"]["resourceVersion"] == other["metadata"]["resourceVersion"]
    )
    heal = [e["message"] for e in kube.events_for(namespace, "shop") if e["reason"] == "SelfHeal"]
    assert heal and "ConfigMap/settings (settings.yaml (document 1))" in heal[0], heal
