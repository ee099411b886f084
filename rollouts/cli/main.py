"""`rollwave` (also `kubectl rollwave`): one entry point, one module per command group.

Each command group module exposes `register(subparsers)`; the chosen command's `run(args) -> int` is the exit code.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

from rollouts import __version__
from rollouts.cli import analysisruns, apps, controller, demo, dev, rollouts


def build_parser(*, prog: str = "rollwave") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Progressive delivery and wave-ordered sync for Kubernetes (Argo Rollouts compatible).",
    )
    parser.add_argument("--version", action="version", version=f"rollwave {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    dev.register(commands)
    controller.register(commands)
    demo.register(commands)
    analysisruns.register(rollouts.register(commands))
    apps.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Invoked as the kubectl plugin (kubectl-rollwave), help should read the way the user typed it.
    invoked_as = pathlib.Path(sys.argv[0]).name
    parser = build_parser(prog="kubectl rollwave" if invoked_as == "kubectl-rollwave" else "rollwave")
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
