"""An Application's sync runs in Argo CD's order on the real control plane: a PreSync Job completes before the
wave -1 objects exist, a PostSync Job starts only once the wave 0 Rollout has finished its canary, a failing
PreSync Job stops the sync before any Sync-phase object and runs the SyncFail hook, and the delete policies
remove (or keep, or replace) each hook as documented.

Order is checked two ways: the recorded `syncResult` times, and an observer that polls the namespace every
100 ms and, the first time an object appears, reads what must already be true (the Job complete, the Rollout
healthy with the new revision stable)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rollouts.kube import apply, client, discovery
from tests.support import applications as apps
from tests.support import kube
from tests.support.rollouts import rollout_manifest, service_manifest

Check = Callable[[], Any]


class Observer:
    """Polls for objects; when one is first seen, runs its check at once and keeps the answer."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.kinds = discovery.Discovery(client.load().api)
        self.watched: dict[tuple[str, str, str], Check] = {}
        self.seen: dict[tuple[str, str, str], Any] = {}
        self.rollout_phases: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def on_first_sight(self, api_version: str, kind: str, name: str, check: Check) -> None:
        self.watched[(api_version, kind, name)] = check

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        return apply.get(self.kinds, api_version=api_version, kind=kind, name=name, namespace=self.namespace)

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, check in list(self.watched.items()):
                if key not in self.seen and self.get(*key) is not None:
                    self.seen[key] = check()
            rollout = self.get("argoproj.io/v1alpha1", "Rollout", "web")
            phase = ((rollout or {}).get("status") or {}).get("phase")
            if phase and (not self.rollout_phases or self.rollout_phases[-1] != phase):
                self.rollout_phases.append(phase)
            self._stop.wait(0.1)

    def __enter__(self) -> Observer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def repo(tmp_path: Any) -> apps.GitRepo:
    return apps.GitRepo(tmp_path / "repo")


def job_complete(observer: Observer, name: str) -> Check:
    def check() -> bool:
        found = observer.get("batch/v1", "Job", name)
        conditions = ((found or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)

    return check


def rollout_finished(observer: Observer, image: str) -> Check:
    """The Rollout is Healthy, runs `image`, and its canary is over (the new revision is the stable one)."""

    def check() -> dict[str, Any]:
        found = observer.get("argoproj.io/v1alpha1", "Rollout", "web") or {}
        status = found.get("status") or {}
        containers = found.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])
        return {
            "phase": status.get("phase"),
            "image": containers[0].get("image"),
            "stable": bool(status.get("stableRS")) and status.get("stableRS") == status.get("currentPodHash"),
        }

    return check


def web_app(repo: apps.GitRepo, *, image: str) -> None:
    rollout = rollout_manifest(
        "web", replicas=1, steps=[{"setWeight": 50}, {"pause": {"duration": "3s"}}], image=image
    )
    repo.write(
        "deploy/hooks.yaml",
        [
            apps.job("migrate", annotations={apps.HOOK: "PreSync"}),
            apps.job("smoke", annotations={apps.HOOK: "PostSync", apps.DELETE_POLICY: "HookSucceeded"}),
        ],
    )
    repo.write("deploy/config.yaml", [apps.configmap("config", annotations={apps.WAVE: "-1"})])
    repo.write(
        "deploy/web.yaml",
        [service_manifest("web-canary", app="web"), service_manifest("web-stable", app="web"), rollout],
    )


def sync(name: str, namespace: str, timeout: float = 90) -> dict[str, Any]:
    generation = apps.request_sync(name, namespace=namespace)
    return apps.wait_operation(name, namespace=namespace, generation=generation, timeout=timeout)


def test_presync_job_runs_before_wave_minus_one_and_postsync_after_the_canary_finished(
    controller: kube.Controller, namespace: str, repo: apps.GitRepo
) -> None:
    web_app(repo, image="nginx:1.0")
    repo.commit("web 1.0")
    kube.apply(
        apps.application("web", repo_url=repo.url, path="deploy", destination=namespace), namespace=namespace
    )

    with Observer(namespace) as observer:
        observer.on_first_sight("v1", "ConfigMap", "config", job_complete(observer, "migrate"))
        state = sync("web", namespace)
    assert state["phase"] == "Succeeded", state
    assert observer.seen[("v1", "ConfigMap", "config")] is True, (
        "the ConfigMap appeared before migrate completed"
    )

    migrate = apps.result(state, "migrate", "PreSync")
    config = apps.result(state, "config")
    web = apps.result(state, "web")
    smoke = apps.result(state, "smoke", "PostSync")
    assert (migrate["hookPhase"], config["syncWave"], web["syncWave"]) == ("Succeeded", -1, 0)
    assert migrate["finishedAt"] <= config["startedAt"] <= config["finishedAt"] <= web["startedAt"]
    assert web["finishedAt"] <= smoke["startedAt"]
    # HookSucceeded: the PostSync Job is deleted once the whole sync succeeded; the PreSync one (no policy, so
    # BeforeHookCreation) stays until the next sync replaces it.
    apps.wait_gone("job", "smoke", namespace=namespace)
    first_migrate = kube.get("job", "migrate", namespace=namespace)
    assert first_migrate is not None
    assert "rollwave.dev/hook-finalizer" not in (first_migrate["metadata"].get("finalizers") or [])

    # A new image: the Rollout runs its canary (a 3 s pause) and the PostSync Job waits for it to finish.
    web_app(repo, image="nginx:2.0")
    repo.commit("web 2.0")
    with Observer(namespace) as observer:
        observer.on_first_sight("batch/v1", "Job", "smoke", rollout_finished(observer, "nginx:2.0"))
        state = sync("web", namespace)
    assert state["phase"] == "Succeeded", state
    assert observer.seen[("batch/v1", "Job", "smoke")] == {
        "phase": "Healthy",
        "image": "nginx:2.0",
        "stable": True,
    }
    assert "Paused" in observer.rollout_phases or "Progressing" in observer.rollout_phases, (
        observer.rollout_phases
    )
    second_migrate = kube.get("job", "migrate", namespace=namespace)
    assert second_migrate is not None
    assert second_migrate["metadata"]["uid"] != first_migrate["metadata"]["uid"], (
        "BeforeHookCreation recreates it"
    )

    history = apps.status("web", namespace=namespace)["history"]
    assert [entry["revision"] for entry in history] == [repo.git("rev-parse", "HEAD~1"), repo.head()]


def test_a_failing_presync_job_stops_the_sync_and_runs_the_syncfail_hook(
    controller: kube.Controller, namespace: str, repo: apps.GitRepo
) -> None:
    repo.write(
        "hooks.yaml",
        [
            apps.job(
                "migrate", fail=True, annotations={apps.HOOK: "PreSync", apps.DELETE_POLICY: "HookFailed"}
            ),
            apps.job("notify", annotations={apps.HOOK: "SyncFail"}),
        ],
    )
    repo.write("app.yaml", [apps.configmap("early", annotations={apps.WAVE: "-5"}), apps.configmap("config")])
    repo.commit()
    kube.apply(apps.application("shop", repo_url=repo.url, destination=namespace), namespace=namespace)

    state = sync("shop", namespace)

    assert state["phase"] == "Failed"
    assert "Job/migrate (hooks.yaml (document 1))" in state["message"], state["message"]
    assert "backoff limit" in state["message"], state["message"]
    # Nothing of the Sync phase was applied, not even the earliest wave.
    for name in ("early", "config"):
        assert not apps.exists("configmap", name, namespace=namespace)
    assert [r["name"] for r in state["syncResult"]["resources"] if r.get("syncPhase") == "Sync"] == []
    notify = apps.result(state, "notify", "SyncFail")
    assert notify["hookPhase"] == "Succeeded"
    assert notify["startedAt"] >= apps.result(state, "migrate", "PreSync")["finishedAt"]
    # HookFailed deleted the failed PreSync Job; the SyncFail Job (no policy) stays.
    apps.wait_gone("job", "migrate", namespace=namespace)
    assert apps.exists("job", "notify", namespace=namespace)
    reasons = [(e["reason"], e["message"]) for e in kube.events_for(namespace, "shop")]
    assert any(
        r == "HookFailed" and "PreSync hook Job/migrate (hooks.yaml (document 1))" in m for r, m in reasons
    )
    assert any(r == "OperationCompleted" and "failed" in m for r, m in reasons), reasons


@pytest.fixture(autouse=True)
def _timing() -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"took {time.monotonic() - started:.1f}s")
