"""A controller killed in the middle of a sync resumes it from `status.operationState` after a restart: the
PreSync hook it was waiting for (named from `generateName`, so the same name again) is adopted, not run twice,
and the sync goes on to the next wave."""

from __future__ import annotations

import json
from typing import Any

from tests.support import applications as apps
from tests.support import kube


def test_a_killed_controller_resumes_the_sync_without_running_the_hook_again(
    controller: kube.Controller, namespace: str, tmp_path: Any
) -> None:
    repo = apps.GitRepo(tmp_path / "repo")
    # Suspended, the Job waits until the test lets it run: the sync is certainly waiting for it when killed.
    repo.write(
        "hooks.yaml", [apps.job(generate_name="migrate-", suspend=True, annotations={apps.HOOK: "PreSync"})]
    )
    repo.write("app.yaml", [apps.configmap("config")])
    commit = repo.commit()
    kube.apply(apps.application("shop", repo_url=repo.url, destination=namespace), namespace=namespace)
    generation = apps.request_sync("shop", namespace=namespace)

    def waiting_for_hook() -> list[dict[str, Any]] | None:
        state = apps.status("shop", namespace=namespace).get("operationState") or {}
        jobs = kube.list_objects("jobs", namespace=namespace)
        return jobs if "waiting for completion of hook" in (state.get("message") or "") and jobs else None

    jobs = kube.wait_for(waiting_for_hook, timeout=30, what="the sync waiting for its PreSync hook") or []
    assert len(jobs) == 1
    hook = jobs[0]["metadata"]
    assert hook["name"].startswith(f"migrate-{commit[:7]}-presync-"), hook["name"]
    assert not apps.exists("configmap", "config", namespace=namespace)

    controller.kill()
    kube.kubectl(
        "patch",
        "job",
        hook["name"],
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"suspend": False}}),
    )
    controller.start()
    state = apps.wait_operation("shop", namespace=namespace, generation=generation, timeout=60)

    assert state["phase"] == "Succeeded", state
    jobs = kube.list_objects("jobs", namespace=namespace)
    assert [job["metadata"]["uid"] for job in jobs] == [hook["uid"]], "the hook ran once"
    assert apps.result(state, hook["name"], "PreSync")["hookPhase"] == "Succeeded"
    assert apps.exists("configmap", "config", namespace=namespace)
    assert apps.result(state, "config")["startedAt"] >= apps.result(state, hook["name"])["finishedAt"]
