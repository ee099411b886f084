"""An Application that holds a Rollout and the Services it steers: the sync keeps the Rollout's
`rollouts-pod-template-hash` key in their selectors (a Service's selector is applied whole), so each Service keeps
selecting one revision and the Application stays Synced; self-heal of a Service does not undo the Rollout's steering."""

from __future__ import annotations

from typing import Any

from tests.support import applications as apps
from tests.support import kube
from tests.support import rollouts as ro


def test_synced_services_keep_the_rollouts_selector_and_stay_in_sync(
    controller: kube.Controller, namespace: str, tmp_path: Any
) -> None:
    repo = apps.GitRepo(tmp_path / "repo")
    rollout = ro.rollout_manifest("web", replicas=2, steps=[{"setWeight": 50}, {"pause": {}}])
    services = [ro.service_manifest("web-stable", app="web"), ro.service_manifest("web-canary", app="web")]
    repo.write("app.yaml", [*services, rollout])
    first = repo.commit("web v1")
    app = apps.application(
        "web",
        repo_url=repo.url,
        destination=namespace,
        automated={"selfHeal": True},
        annotations={apps.POLL: "1s"},
    )
    kube.apply(app, namespace=namespace)
    kube.wait_for(
        lambda: kube.get("rollout", "web", namespace=namespace), timeout=60, what="the synced Rollout"
    )
    v1 = ro.wait_phase("web", "Healthy", namespace=namespace)["status"]["stableRS"]
    kube.wait_for(
        lambda: ro.service_hash("web-stable", namespace=namespace) == v1, timeout=30, what="stable steered"
    )

    # A new commit: the canary Service goes to the new pods while the stable stays on v1, and syncs keep both.
    rollout["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2.0"
    repo.write("app.yaml", [*services, rollout])
    second = repo.commit("web v2")
    paused = ro.wait_phase("web", "Paused", namespace=namespace, timeout=60)
    v2 = paused["status"]["currentPodHash"]
    apps.wait_status(
        "web",
        namespace=namespace,
        check=lambda s: (
            (s.get("operationState") or {}).get("syncResult", {}).get("revision") == second
            and (s.get("operationState") or {}).get("phase") == "Succeeded"
        ),
        what="the second commit synced",
    )
    kube.wait_for(
        lambda: ro.service_hash("web-canary", namespace=namespace) == v2, timeout=30, what="canary steered"
    )
    # Another sync (a refresh compares again): nothing is out of sync, the selectors keep one revision each.
    kube.kubectl(
        "annotate", "applications.rollwave.dev", "web", "-n", namespace, "argocd.argoproj.io/refresh=normal"
    )
    status = apps.wait_status(
        "web",
        namespace=namespace,
        check=lambda s: (
            (s.get("sync") or {}).get("revision") == second
            and (s.get("sync") or {}).get("status") == "Synced"
        ),
        what="Synced after the Rollout steered its Services",
    )
    services_status = {r["name"]: r["status"] for r in status["resources"] if r["kind"] == "Service"}
    assert services_status == {"web-stable": "Synced", "web-canary": "Synced"}
    assert ro.service_hash("web-stable", namespace=namespace) == v1
    assert ro.service_hash("web-canary", namespace=namespace) == v2
    assert first != second
