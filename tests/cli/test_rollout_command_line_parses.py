"""The Rollout commands parse like Argo's plugin (aliases included), help works, and `get --watch` redraws only on
change: a terminal gets the screen cleared, a pipe gets frames separated by a blank line."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest

from rollouts.cli import main, rollouts


def _parse(*argv: str) -> Any:
    return main.build_parser().parse_args(list(argv))


def test_help_lists_the_rollout_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: rollwave ")
    for command in ("get", "list", "status", "promote", "abort", "retry", "undo", "restart", "pause", "set"):
        assert f"    {command} " in out or f"    {command}\n" in out


def test_subcommand_help_reads_as_rollwave(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["get", "rollout", "--help"])
    assert capsys.readouterr().out.startswith("usage: rollwave get rollout [-h] [-n NAMESPACE]")


@pytest.mark.parametrize("kind", ["rollout", "ro", "rollouts"])
def test_get_accepts_argo_kind_aliases(kind: str) -> None:
    args = _parse("get", kind, "demo", "-n", "shop", "--watch", "--until-done")
    assert (args.name, args.namespace, args.watch, args.until_done) == ("demo", "shop", True, True)
    assert args.run is rollouts.run_get


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        pytest.param(["retry", "demo"], "demo", id="short"),
        pytest.param(["retry", "rollout", "demo"], "demo", id="argo-spelling"),
    ],
)
def test_retry_takes_either_spelling(argv: list[str], name: str) -> None:
    args = _parse(*argv)
    assert rollouts._retry_target(args.target) == name


def test_retry_with_a_wrong_kind_is_an_error() -> None:
    with pytest.raises(rollouts.CommandError):
        rollouts._retry_target(["experiment", "demo"])


def test_status_waits_by_default_and_parses_the_timeout() -> None:
    args = _parse("status", "demo", "--timeout", "5m")
    assert args.watch is True
    assert args.timeout == datetime.timedelta(minutes=5)
    assert _parse("status", "demo", "--no-watch").watch is False


def test_set_image_takes_several_assignments() -> None:
    args = _parse("set", "image", "demo", "app=nginx:1.27", "*=busybox")
    assert args.assignments == [("app", "nginx:1.27"), ("*", "busybox")]


def test_bad_duration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parse("restart", "demo", "--in", "soon")
    assert exited.value.code == 2
    assert "--in: duration" in capsys.readouterr().err


def test_list_has_all_namespaces() -> None:
    args = _parse("list", "rollouts", "-A")
    assert args.all_namespaces is True


def _snapshot(
    *, version: str, phase: str
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    rollout = {
        "metadata": {"name": "demo", "namespace": "shop", "generation": 1, "resourceVersion": version},
        "spec": {"strategy": {"canary": {}}},
        "status": {"observedGeneration": "1", "phase": phase},
    }
    return rollout, [], []


def _watch(snapshots: list[Any], *, is_tty: bool, until_done: bool = True) -> tuple[int, str, int]:
    out = io.StringIO()
    sleeps: list[float] = []
    remaining = iter(snapshots)
    code = rollouts.watch_rollout(
        lambda: next(remaining),
        out=out,
        is_tty=is_tty,
        until_done=until_done,
        interval=0.5,
        now=lambda: datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
        sleep=sleeps.append,
    )
    return code, out.getvalue(), len(sleeps)


def test_watch_into_a_pipe_prints_each_new_state_once() -> None:
    snapshots = [
        _snapshot(version="1", phase="Progressing"),
        _snapshot(version="1", phase="Progressing"),
        _snapshot(version="2", phase="Paused"),
        _snapshot(version="3", phase="Healthy"),
    ]
    code, text, sleeps = _watch(snapshots, is_tty=False)
    assert code == 0
    assert sleeps == 3
    frames = text.split("\n\nName:")
    assert len(frames) == 3
    assert "◌ Progressing" in frames[0] and "॥ Paused" in frames[1] and "✔ Healthy" in frames[2]
    assert rollouts.CLEAR_SCREEN not in text


def test_watch_on_a_terminal_clears_and_redraws_on_change() -> None:
    snapshots = [
        _snapshot(version="1", phase="Progressing"),
        _snapshot(version="1", phase="Progressing"),
        _snapshot(version="2", phase="Degraded"),
    ]
    code, text, _ = _watch(snapshots, is_tty=True)
    assert code == 0
    assert text.count(rollouts.CLEAR_SCREEN) == 2
    assert text.rstrip().endswith("✖ Degraded")


def test_watch_without_until_done_keeps_going_after_healthy() -> None:
    snapshots = [_snapshot(version="1", phase="Healthy")] * 3
    with pytest.raises(StopIteration):
        _watch(snapshots, is_tty=False, until_done=False)
