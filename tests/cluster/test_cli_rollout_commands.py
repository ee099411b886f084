"""The Rollout commands against the real control plane and a real `rollwave controller`: set image, promote,
abort, retry, promote --full, undo, pause, restart, status exit codes, get and list, and the console scripts."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from rollouts.cli import main, tree
from tests.support import kube

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
WAIT = 30


def _rollout(name: str = "demo", image: str = "nginx:1.25") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {
                "canary": {"steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]}
            },
        },
    }


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # drop anything printed before
    code = main.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _read(namespace: str, name: str = "demo") -> dict[str, Any]:
    found = kube.get("rollout", name, namespace=namespace)
    assert found is not None
    return found


def _wait_phase(namespace: str, phase: str, *, step: int | None = None, name: str = "demo") -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        rollout = _read(namespace, name)
        seen, _ = tree.client_phase(rollout)
        if seen != phase:
            return None
        if step is not None and rollout.get("status", {}).get("currentStepIndex") != step:
            return None
        return rollout

    try:
        found = kube.wait_for(reached, timeout=WAIT, what=f"rollout {phase} at step {step}")
    except AssertionError as err:
        status = _read(namespace, name).get("status", {})
        raise AssertionError(f"{err}\nstatus: {status}\nreplica sets: {_replica_sets(namespace)}") from None
    assert found is not None
    return found


def _replica_sets(namespace: str) -> dict[str, dict[str, Any]]:
    return {
        rs["metadata"]["labels"]["rollouts-pod-template-hash"]: rs
        for rs in kube.list_objects("replicasets", namespace=namespace)
    }


def _deployed_and_updated(capsys: pytest.CaptureFixture[str], namespace: str) -> dict[str, Any]:
    """A Healthy rollout whose image was then changed with `rollwave set image`: paused at step 1 (25%)."""
    kube.apply(_rollout(), namespace=namespace)
    _wait_phase(namespace, "Healthy")
    code, out, _ = _cli(capsys, "set", "image", "demo", "app=nginx:1.26", "-n", namespace)
    assert (code, out) == (0, 'rollout "demo" image updated\n')
    paused = _wait_phase(namespace, "Paused", step=1)
    assert paused["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    return paused


def test_promote_moves_past_the_pause_and_promote_full_makes_it_healthy(
    controller: kube.Controller, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    paused = _deployed_and_updated(capsys, namespace)
    stable_hash, canary_hash = paused["status"]["stableRS"], paused["status"]["currentPodHash"]

    code, out, _ = _cli(capsys, "get", "rollout", "demo", "-n", namespace)
    assert code == 0
    assert f"demo-{stable_hash}" in out and f"demo-{canary_hash}" in out
    assert "Step:          1/4" in out and "pause (until promoted)" in out

    code, out, _ = _cli(capsys, "promote", "demo", "-n", namespace)
    assert (code, out) == (0, "rollout 'demo' promoted\n")
    _wait_phase(namespace, "Paused", step=3)
    assert _replica_sets(namespace)[canary_hash]["spec"]["replicas"] == 2

    code, out, _ = _cli(capsys, "promote", "demo", "--full", "-n", namespace)
    assert (code, out) == (0, "rollout 'demo' fully promoted\n")
    healthy = _wait_phase(namespace, "Healthy")
    assert healthy["status"]["stableRS"] == canary_hash
    code, out, _ = _cli(capsys, "status", "demo", "--timeout", "20s", "-n", namespace)
    assert (code, out.splitlines()[-1]) == (0, "Healthy")


def test_abort_degrades_and_scales_the_canary_down_then_retry_pauses_again(
    controller: kube.Controller, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    paused = _deployed_and_updated(capsys, namespace)
    canary_hash = paused["status"]["currentPodHash"]

    code, out, _ = _cli(capsys, "abort", "demo", "-n", namespace)
    assert (code, out) == (0, "rollout 'demo' aborted\n")
    _wait_phase(namespace, "Degraded")
    kube.wait_for(
        lambda: _replica_sets(namespace)[canary_hash]["spec"]["replicas"] == 0,
        timeout=WAIT,
        what="canary at 0",
    )
    code, out, _ = _cli(capsys, "status", "demo", "--timeout", "20s", "-n", namespace)
    assert code == 1
    assert out.splitlines()[-1].startswith("Degraded - RolloutAborted")

    code, out, _ = _cli(capsys, "retry", "rollout", "demo", "-n", namespace)
    assert (code, out) == (0, "rollout 'demo' retried\n")
    _wait_phase(namespace, "Paused", step=1)
    assert _replica_sets(namespace)[canary_hash]["spec"]["replicas"] == 1


def test_undo_mid_update_goes_back_to_the_stable_revision(
    controller: kube.Controller, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    paused = _deployed_and_updated(capsys, namespace)
    stable_hash = paused["status"]["stableRS"]

    code, out, _ = _cli(capsys, "undo", "demo", "-n", namespace)
    assert (code, out) == (0, f"rollout 'demo' rolled back to revision 1 (demo-{stable_hash})\n")
    healthy = _wait_phase(namespace, "Healthy")
    assert healthy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "rollouts-pod-template-hash" not in healthy["spec"]["template"]["metadata"]["labels"]
    # The revision's ReplicaSet is used again (renumbered as the newest), no third ReplicaSet is made.
    assert healthy["status"]["currentPodHash"] == stable_hash
    replica_sets = _replica_sets(namespace)
    assert len(replica_sets) == 2
    assert replica_sets[stable_hash]["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "3"

    code, _, err = _cli(capsys, "undo", "demo", "--to-revision", "9", "-n", namespace)
    assert code == 1
    assert err == 'unable to find revision 9 of rollout "demo" (known revisions: 2, 3)\n'


def test_status_exit_codes_for_ci(
    controller: kube.Controller, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(capsys, "status", "missing", "-n", namespace)
    assert (code, err) == (2, f'rollout "missing" not found in namespace "{namespace}"\n')

    _deployed_and_updated(capsys, namespace)
    code, out, err = _cli(capsys, "status", "demo", "--timeout", "2s", "-n", namespace)
    assert code == 2
    assert out == "Paused - CanaryPauseStep\n"
    assert "did not finish within 2s" in err

    code, out, _ = _cli(capsys, "status", "demo", "--no-watch", "-n", namespace)
    assert (code, out) == (0, "Paused - CanaryPauseStep\n")


def test_pause_restart_set_image_errors_and_list(
    controller: kube.Controller, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.apply(_rollout(), namespace=namespace)
    _wait_phase(namespace, "Healthy")

    code, _, err = _cli(capsys, "set", "image", "demo", "web=nginx:2", "-n", namespace)
    assert (code, err) == (1, 'unable to find container named "web" in rollout "demo"\n')
    code, _, err = _cli(capsys, "promote", "nope", "-n", namespace)
    assert (code, err) == (2, f'rollout "nope" not found in namespace "{namespace}"\n')

    code, out, _ = _cli(capsys, "list", "rollouts", "-n", namespace)
    assert code == 0
    assert out.splitlines()[1].split() == ["demo", "Canary", "Healthy", "4/4", "100", "4/4", "4", "4", "4"]

    code, _, _ = _cli(capsys, "restart", "demo", "--in", "1h", "-n", namespace)
    assert code == 0
    assert _read(namespace)["spec"]["restartAt"].endswith("Z")

    code, out, _ = _cli(capsys, "pause", "demo", "-n", namespace)
    assert (code, out) == (0, "rollout 'demo' paused\n")
    paused = _wait_phase(namespace, "Paused")
    assert paused["status"]["message"] == "manually paused"
    code, _, _ = _cli(capsys, "promote", "demo", "-n", namespace)
    assert code == 0
    assert _read(namespace)["spec"]["paused"] is False


def test_console_scripts_run_get_and_watch(controller: kube.Controller, namespace: str) -> None:
    kube.apply(_rollout(), namespace=namespace)
    _wait_phase(namespace, "Healthy")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for argv in (
        [str(BIN / "rollwave"), "get", "rollout", "demo", "-n", namespace],
        [str(BIN / "kubectl-rollwave"), "get", "ro", "demo", "-n", namespace, "--watch", "--until-done"],
        ["kubectl", "rollwave", "list", "rollouts", "-n", namespace],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert "demo" in result.stdout and "Healthy" in result.stdout
