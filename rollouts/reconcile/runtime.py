"""What every reconcile needs, built once at start-up and passed down (never a global)."""

from __future__ import annotations

import dataclasses
import datetime

from rollouts.kube import cache as kube_cache
from rollouts.kube import client as kube_client
from rollouts.kube import discovery as kube_discovery
from rollouts.kube import events as kube_events
from rollouts.providers import base as providers_base
from rollouts.reconcile import workqueue
from rollouts.sources import git as sources_git


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApplicationSettings:
    """What the Application reconciler needs besides the API clients (see `reconcile.application`)."""

    git: sources_git.Cache
    kinds: kube_discovery.Discovery
    # How often an Application is compared with Git (and its repository polled for new commits).
    poll_interval: datetime.timedelta = datetime.timedelta(minutes=3)
    kubectl: str = "kubectl"  # renders Kustomize folders


@dataclasses.dataclass(frozen=True, kw_only=True)
class Runtime:
    clients: kube_client.Clients
    cache: kube_cache.ObjectCache
    events: kube_events.EventRecorder
    queues: dict[str, workqueue.WorkQueue[kube_cache.ObjectKey]]
    # What metric providers need (API clients, shared HTTP clients, the default Prometheus address).
    providers: providers_base.ProviderDeps = dataclasses.field(default_factory=providers_base.ProviderDeps)
    # None when the Application reconciler is not running (tools that build a Runtime for Rollouts only).
    applications: ApplicationSettings | None = None
