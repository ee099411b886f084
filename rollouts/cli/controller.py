"""`rollwave controller`: run the operator (kopf) against the current kubeconfig or in-cluster config."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

import kopf

from rollouts.model import fields


def register(commands: Any) -> None:
    parser = commands.add_parser("controller", help="run the rollwave controller")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n", "--namespace", action="append", default=[], help="watch this namespace (repeatable)"
    )
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="watch all namespaces (the default)"
    )
    parser.add_argument(
        "--http-address", default="127.0.0.1:8090", help="address for /healthz, /readyz and /metrics"
    )
    parser.add_argument("--workers", type=int, default=8, help="concurrent reconciles per resource kind")
    parser.add_argument(
        "--git-cache-dir",
        help="where Applications' Git repositories are cached (default: $XDG_CACHE_HOME/rollwave/git, "
        "that is ~/.cache/rollwave/git)",
    )
    parser.add_argument(
        "--app-poll-interval",
        type=_seconds,
        default=180.0,
        metavar="DURATION",
        help="how often each Application is compared with Git and its repository polled for new commits "
        "(default 3m; an Application's annotation rollwave.dev/poll-interval overrides it)",
    )
    parser.add_argument("--log-format", choices=["plain", "json"], default="plain")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(run=run)


def _seconds(text: str) -> float:
    try:
        value = fields.parse_duration(text).total_seconds()
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be longer than 0s")
    return value


def run(args: argparse.Namespace) -> int:
    # Importing the handler modules registers them with kopf.
    from rollouts.handlers import analysisruns, operator, rollouts  # noqa: F401

    operator.OPTIONS.http_address = args.http_address
    operator.OPTIONS.workers = args.workers
    operator.OPTIONS.git_cache_dir = args.git_cache_dir
    operator.OPTIONS.app_poll_seconds = args.app_poll_interval
    kopf.configure(
        verbose=args.verbose,
        log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.PLAIN,
    )
    logging.getLogger("rollwave").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    # kopf logs every handler call at INFO; with one handler per watch event that drowns what matters.
    logging.getLogger("kopf.objects").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    # kopf installs SIGTERM/SIGINT handlers when it runs in the main thread, and stops cleanly on either.
    asyncio.run(
        kopf.operator(
            standalone=True,
            clusterwide=not args.namespace,
            namespaces=list(args.namespace) or [],
        )
    )
    return 0
