"""Bad input fails the sync with a message that says where: invalid YAML, an unknown kind, a namespace that does
not exist (without CreateNamespace), an unreachable repository, a path or revision that does not exist, and a
destination rollwave cannot sync to. Nothing is applied when the dry run fails, not even the valid objects; a
retry policy retries the failed operation with backoff before giving up."""

from __future__ import annotations

from typing import Any

from tests.support import applications as apps
from tests.support import kube


def test_each_bad_input_fails_the_operation_naming_the_file_and_object(
    controller: kube.Controller, namespace: str, tmp_path: Any
) -> None:
    repo = apps.GitRepo(tmp_path / "repo")
    repo.write("broken/good.yaml", [apps.configmap("fine")])
    repo.write("broken/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    repo.write("widget/app.yaml", [apps.configmap("before-widget"), widget])
    elsewhere = apps.configmap("lost")
    elsewhere["metadata"]["namespace"] = "no-such-namespace-rw"
    repo.write("elsewhere/app.yaml", [apps.configmap("at-home"), elsewhere])
    repo.write("ok/app.yaml", [apps.configmap("ok")])
    repo.commit()

    cases: dict[str, dict[str, Any]] = {
        # Retried twice with backoff (1 s, then 2 s) before it fails for good.
        "yaml": apps.application(
            "yaml", repo_url=repo.url, path="broken", destination=namespace, retry_limit=2
        ),
        "kind": apps.application("kind", repo_url=repo.url, path="widget", destination=namespace),
        "namespace": apps.application(
            "namespace", repo_url=repo.url, path="elsewhere", destination=namespace
        ),
        "repo": apps.application("repo", repo_url=f"file://{tmp_path}/missing", destination=namespace),
        "path": apps.application("path", repo_url=repo.url, path="nope", destination=namespace),
        "revision": apps.application(
            "revision", repo_url=repo.url, path="ok", destination=namespace, target_revision="no-such-branch"
        ),
        "server": apps.application("server", repo_url=repo.url, path="ok", destination=namespace),
    }
    cases["server"]["spec"]["destination"]["server"] = "https://10.0.0.1:6443"
    kube.apply(list(cases.values()), namespace=namespace)
    requests = {name: apps.request_sync(name, namespace=namespace) for name in cases}
    states = {
        name: apps.wait_operation(name, namespace=namespace, generation=generation)
        for name, generation in requests.items()
    }

    for name, state in states.items():
        assert state["phase"] in ("Failed", "Error"), (name, state)
    messages = {name: state["message"] for name, state in states.items()}
    assert "broken/bad.yaml" in messages["yaml"] and "document 1" in messages["yaml"], messages["yaml"]
    assert messages["yaml"].endswith("(retried 2 times)."), messages["yaml"]
    assert states["yaml"]["retryCount"] == 2
    assert "Widget/w (widget/app.yaml (document 2))" in messages["kind"], messages["kind"]
    assert "does not know kind Widget" in messages["kind"], messages["kind"]
    assert "ConfigMap/lost (elsewhere/app.yaml (document 2))" in messages["namespace"], messages["namespace"]
    assert 'namespaces "no-such-namespace-rw" not found' in messages["namespace"], messages["namespace"]
    assert f"{tmp_path}/missing" in messages["repo"], messages["repo"]
    assert "path 'nope' not found" in messages["path"], messages["path"]
    assert "no-such-branch" in messages["revision"], messages["revision"]
    assert "spec.destination.server" in messages["server"], messages["server"]
    # The dry run failed first: the valid objects next to the bad ones were not applied either.
    for name in ("fine", "before-widget", "at-home", "ok"):
        assert not apps.exists("configmap", name, namespace=namespace), name
    # Each failure is also a condition on the Application and a Warning Event.
    status = apps.status("kind", namespace=namespace)
    assert any(c["type"] == "SyncError" for c in status.get("conditions") or []), status
    warnings = [e for e in kube.events_for(namespace, "namespace") if e["type"] == "Warning"]
    assert any("ConfigMap/lost" in e["message"] for e in warnings), warnings
    # The request is consumed: the `operation` field is gone.
    assert "operation" not in apps.get("yaml", namespace=namespace)
