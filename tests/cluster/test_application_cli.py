"""`rollwave app` against the real control plane: sync waits for the operation and shows the resources by phase
and wave; diff shows a `kubectl edit` as a unified diff (exit 1) and nothing once synced (exit 0); history lists
the syncs; refresh and wait return once the controller has answered."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from rollouts.cli import main
from tests.support import applications as apps
from tests.support import kube


@dataclasses.dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def rollwave(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """The command line in this process (what `rollwave ...` runs), with its output captured."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main.main(list(args))
        out, err = capsys.readouterr()
        return Result(returncode=code, stdout=out, stderr=err)

    return run


def words(line: str) -> list[str]:
    return line.split()


def test_app_sync_get_diff_history_refresh_and_wait(
    controller: kube.Controller, namespace: str, tmp_path: Any, rollwave: Callable[..., Result]
) -> None:
    repo = apps.GitRepo(tmp_path / "repo")
    repo.write("hooks.yaml", [apps.job("migrate", annotations={apps.HOOK: "PreSync"})])
    repo.write(
        "app.yaml",
        [apps.configmap("config", data={"mode": "a"}, annotations={apps.WAVE: "-1"}), apps.configmap("web")],
    )
    repo.commit()
    kube.apply(apps.application("shop", repo_url=repo.url, destination=namespace), namespace=namespace)

    # Before any sync: everything is missing, so diff exits 1 and shows the objects to create.
    before = rollwave("app", "diff", "shop", "-n", namespace)
    assert before.returncode == 1, before.stderr
    assert "===== ConfigMap/config (app.yaml (document 1)) =====" in before.stdout
    assert "--- /dev/null" in before.stdout

    synced = rollwave("app", "sync", "shop", "-n", namespace)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    lines = synced.stdout.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("PHASE")) :]
    assert words(table[0]) == ["PHASE", "WAVE", "KIND", "NAME", "SYNC", "HEALTH", "RESULT", "MESSAGE"]
    rows = [words(line)[:4] for line in table[1:]]
    assert rows == [
        ["PreSync", "0", "Job", "migrate"],
        ["Sync", "-1", "ConfigMap", "config"],
        ["Sync", "0", "ConfigMap", "web"],
    ]

    got = rollwave("app", "get", "shop", "-n", namespace)
    assert got.returncode == 0, got.stderr
    assert any(
        words(line)[:2] == ["Sync", "status:"] and "Synced" in line for line in got.stdout.splitlines()
    )
    config_row = next(words(line) for line in got.stdout.splitlines() if " config " in f" {line} ")
    assert config_row[4:6] == ["Synced", "Healthy"], got.stdout

    same = rollwave("app", "diff", "shop", "-n", namespace)
    assert (same.returncode, same.stdout) == (0, ""), same.stdout + same.stderr

    kube.kubectl(
        "patch",
        "configmap",
        "config",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"data": {"mode": "b"}}),
    )
    edited = rollwave("app", "diff", "shop", "-n", namespace)
    assert edited.returncode == 1, edited.stdout + edited.stderr
    assert "-  mode: b\n+  mode: a" in edited.stdout, edited.stdout
    assert "web" not in edited.stdout

    refreshed = rollwave("app", "refresh", "shop", "-n", namespace)
    assert refreshed.returncode == 0, refreshed.stderr
    assert any(words(line)[:3] == ["Sync", "status:", "OutOfSync"] for line in refreshed.stdout.splitlines())

    dry = rollwave("app", "sync", "shop", "-n", namespace, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert kube.get("configmap", "config", namespace=namespace)["data"] == {"mode": "b"}  # type: ignore[index]

    again = rollwave("app", "sync", "shop", "-n", namespace)
    assert again.returncode == 0, again.stdout + again.stderr
    assert kube.get("configmap", "config", namespace=namespace)["data"] == {"mode": "a"}  # type: ignore[index]

    waited = rollwave("app", "wait", "shop", "-n", namespace, "--health", "--sync", "--timeout", "30s")
    assert waited.returncode == 0, waited.stdout + waited.stderr

    history = rollwave("app", "history", "shop", "-n", namespace)
    assert history.returncode == 0, history.stderr
    lines = history.stdout.splitlines()
    assert words(lines[0]) == ["ID", "DATE", "REVISION", "TARGET", "INITIATED", "BY"]
    # Two syncs (the dry run is not history), both of the same commit, requested by a user.
    assert [words(line)[0] for line in lines[1:]] == ["0", "1"]
    assert all(words(line)[2] == repo.head()[:7] for line in lines[1:])

    missing = rollwave("app", "get", "nope", "-n", namespace)
    assert missing.returncode == 1 and 'application "nope" not found' in missing.stderr
