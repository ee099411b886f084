"""`rollwave` (also `kubectl rollwave`): one entry point, one module per command group.

Each command group module exposes `register(subparsers)`; the chosen command's `run(args) -> int` is the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rollouts import __version__
from rollouts.cli import controller, dev


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollwave",
        description="Progressive delivery and wave-ordered sync for Kubernetes (Argo Rollouts compatible).",
    )
    parser.add_argument("--version", action="version", version=f"rollwave {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    dev.register(commands)
    controller.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
