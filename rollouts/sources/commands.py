"""Running the source tools (`git`, `kubectl kustomize`): argument lists (never a shell), a timeout that ends the
whole process group (git's ssh and https helpers too), and output decoded as text."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import typing
from collections.abc import Mapping, Sequence


class Result(typing.NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def run(
    args: Sequence[str],
    *,
    timeout_seconds: float,
    cwd: pathlib.Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Result:
    """Runs `args`; a command that outlives `timeout_seconds` is killed and reported with `timed_out=True` and
    returncode -1. A missing executable is returncode 127, as a shell would say."""
    try:
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=True,  # its own process group, so a timeout can end its children too
        )
    except FileNotFoundError as err:
        return Result(127, "", f"fatal: {args[0]}: command not found ({err.strerror})")
    try:
        stdout, stderr = process.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        kill(process)
        return Result(-1, "", f"fatal: timed out after {timeout_seconds:g} s", timed_out=True)
    except BaseException:
        kill(process)
        raise
    return Result(process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


def kill(process: subprocess.Popen[bytes]) -> None:
    """Ends the process and its group (started with `start_new_session=True`), and reaps it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
