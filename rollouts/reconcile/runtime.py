"""What every reconcile needs, built once at start-up and passed down (never a global)."""

from __future__ import annotations

import dataclasses

from rollouts.kube import cache as kube_cache
from rollouts.kube import client as kube_client
from rollouts.kube import events as kube_events
from rollouts.providers import base as providers_base
from rollouts.reconcile import workqueue


@dataclasses.dataclass(frozen=True, kw_only=True)
class Runtime:
    clients: kube_client.Clients
    cache: kube_cache.ObjectCache
    events: kube_events.EventRecorder
    queues: dict[str, workqueue.WorkQueue[kube_cache.ObjectKey]]
    # What metric providers need (API clients, shared HTTP clients, the default Prometheus address).
    providers: providers_base.ProviderDeps = dataclasses.field(default_factory=providers_base.ProviderDeps)
