"""`rollwave dev up | down | status | env`: the local control plane for tests and demos."""

from __future__ import annotations

import argparse
from typing import Any

from rollouts.devcluster import cluster as devcluster
from rollouts.devcluster import router_crds


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "dev", help="local control plane (kube-apiserver, kwok, etcd, Prometheus) on 127.0.0.1"
    )
    parser.add_argument(
        "--name", default="rollwave", help="cluster name (state in ~/.cache/rollwave/dev/NAME)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="build once, then start (idempotent)")
    up.add_argument(
        "--with-router-crds",
        action="store_true",
        help="also install the Gateway API, Istio and SMI CRDs from their Go modules (for traffic routing)",
    )
    up.set_defaults(run=_up)
    actions.add_parser("down", help="stop what `up` started").set_defaults(run=_down)
    actions.add_parser("status", help="show what is running").set_defaults(run=_status)
    actions.add_parser(
        "env", help="print `export` lines for KUBECONFIG, PATH and the Prometheus URLs"
    ).set_defaults(run=_env)


def _cluster(args: argparse.Namespace) -> devcluster.DevCluster:
    return devcluster.DevCluster(name=args.name)


def _up(args: argparse.Namespace) -> int:
    try:
        devcluster.up(_cluster(args))
        if getattr(args, "with_router_crds", False):
            router_crds.install_router_crds(_cluster(args))
    except (devcluster.DevClusterError, router_crds.RouterCrdError) as err:
        print(f"rollwave dev up: {err}")
        return 1
    return 0


def _down(args: argparse.Namespace) -> int:
    devcluster.down(_cluster(args))
    return 0


def _status(args: argparse.Namespace) -> int:
    states = devcluster.status(_cluster(args))
    for what, ok in states.items():
        print(f"{'ok ' if ok else 'no '} {what}")
    return 0 if all(states.values()) else 1


def _env(args: argparse.Namespace) -> int:
    print(devcluster.format_env(_cluster(args)), end="")
    return 0
