"""Applications in cluster tests: a Git repository the test writes and commits to, manifests, and waiting for
operations (the same `operation` request `rollwave app sync` and Argo CD's tools send)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from tests.support import kube

HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
POLL = "rollwave.dev/poll-interval"
FAIL_LABEL = "rollwave.dev/fake-outcome"


class GitRepo:
    """A repository in a temporary directory, reachable as a `file://` URL."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")

    @property
    def url(self) -> str:
        return f"file://{self.root}"

    def git(self, *args: str) -> str:
        result = subprocess.run(
            [
                "git",
                "-c",
                "user.name=rollwave-test",
                "-c",
                "user.email=test@rollwave.dev",
                "-c",
                "commit.gpgsign=false",
                *args,
            ],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout.strip()

    def write(self, path: str, content: str | Sequence[Mapping[str, Any]]) -> None:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump_all([dict(doc) for doc in content])
        file.write_text(text)

    def remove(self, path: str) -> None:
        (self.root / path).unlink()

    def commit(self, message: str = "change") -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def revert(self, commit: str) -> str:
        self.git("revert", "--no-edit", commit)
        return self.head()


def with_annotations(manifest: dict[str, Any], **annotations: str) -> dict[str, Any]:
    manifest.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)
    return manifest


def configmap(
    name: str, *, data: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": dict(data or {"k": "v"}),
    }
    return with_annotations(manifest, **annotations) if annotations else manifest


def job(
    name: str | None = None,
    *,
    generate_name: str | None = None,
    fail: bool = False,
    suspend: bool = False,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Job kwok completes (or fails, with `fail`) in a second or two; `backoffLimit: 0` so a failure is final."""
    metadata: dict[str, Any] = {"name": name} if name else {"generateName": generate_name}
    labels = {FAIL_LABEL: "fail"} if fail else {}
    manifest: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox"}]},
            },
        },
    }
    if suspend:
        manifest["spec"]["suspend"] = True
    return with_annotations(manifest, **annotations) if annotations else manifest


def application(
    name: str,
    *,
    repo_url: str,
    path: str = "",
    destination: str,
    automated: Mapping[str, Any] | None = None,
    sync_options: Sequence[str] = (),
    retry_limit: int | None = 0,
    annotations: Mapping[str, str] | None = None,
    target_revision: str = "HEAD",
    wave_timeout: str | None = None,
) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if automated is not None:
        policy["automated"] = dict(automated)
    if sync_options:
        policy["syncOptions"] = list(sync_options)
    if retry_limit is not None:
        policy["retry"] = {
            "limit": retry_limit,
            "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"},
        }
    if wave_timeout is not None:
        policy["waveTimeout"] = wave_timeout
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "rollwave.dev/v1alpha1",
        "kind": "Application",
        "metadata": metadata,
        "spec": {
            "source": {"repoURL": repo_url, "targetRevision": target_revision, "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
            "syncPolicy": policy,
        },
    }


def get(name: str, *, namespace: str) -> dict[str, Any]:
    found = kube.get("applications.rollwave.dev", name, namespace=namespace)
    assert found is not None, f"application {name} missing"
    return found


def status(name: str, *, namespace: str) -> dict[str, Any]:
    result: dict[str, Any] = get(name, namespace=namespace).get("status") or {}
    return result


def request_sync(name: str, *, namespace: str, **sync: Any) -> int:
    """Sets `operation.sync` (as `argocd app sync` does); returns the generation that carries the request."""
    body = {"operation": {"sync": sync, "initiatedBy": {"username": "test"}}}
    out = kube.kubectl(
        "patch",
        "applications.rollwave.dev",
        name,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps(body),
        "-o",
        "json",
    )
    generation: int = json.loads(out)["metadata"]["generation"]
    return generation


def wait_operation(
    name: str, *, namespace: str, generation: int | None = None, timeout: float = 60
) -> dict[str, Any]:
    """The completed operationState (of the request at `generation`, when given)."""

    def done() -> dict[str, Any] | None:
        state = status(name, namespace=namespace).get("operationState") or {}
        if generation is not None and state.get("requestGeneration") != generation:
            return None
        return state if state.get("phase") in ("Succeeded", "Failed", "Error") else None

    found = kube.wait_for(done, timeout=timeout, interval=0.3, what=f"operation of application {name}")
    assert found is not None
    return found


def wait_status(
    name: str, *, namespace: str, check: Callable[[dict[str, Any]], bool], timeout: float = 60, what: str = ""
) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        current = status(name, namespace=namespace)
        return current if check(current) else None

    found = kube.wait_for(look, timeout=timeout, interval=0.3, what=what or f"status of application {name}")
    assert found is not None
    return found


def result(state: Mapping[str, Any], name: str, phase: str | None = None) -> dict[str, Any]:
    """One entry of `syncResult.resources` by object name (and sync phase)."""
    for entry in (state.get("syncResult") or {}).get("resources") or []:
        if entry.get("name") == name and (phase is None or entry.get("syncPhase") == phase):
            return dict(entry)
    raise AssertionError(f"no result for {name} ({phase}) in {json.dumps(state, indent=1)[:3000]}")


def exists(kind: str, name: str, *, namespace: str) -> bool:
    return kube.get(kind, name, namespace=namespace) is not None


def wait_gone(kind: str, name: str, *, namespace: str, timeout: float = 30) -> None:
    kube.wait_for(
        lambda: not exists(kind, name, namespace=namespace), timeout=timeout, what=f"{kind}/{name} gone"
    )


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))
