"""One configured API client per process, and the typed API groups rollwave uses."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import kubernetes

from rollouts.observability import metrics


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Clients:
    api: kubernetes.client.ApiClient
    core: kubernetes.client.CoreV1Api
    apps: kubernetes.client.AppsV1Api
    batch: kubernetes.client.BatchV1Api
    custom: kubernetes.client.CustomObjectsApi
    events: kubernetes.client.EventsV1Api


class CountingApiClient(kubernetes.client.ApiClient):
    """Counts requests by verb, so the controller's cost per rollout step can be measured (and graphed)."""

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        metrics.api_requests_total.labels(verb=method.upper()).inc()
        return super().call_api(method, url, *args, **kwargs)


def load(*, config_file: str | None = None, context: str | None = None, pool_size: int = 32) -> Clients:
    """In-cluster config when running in a Pod, else the kubeconfig (KUBECONFIG or ~/.kube/config)."""
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        # The client reads KUBECONFIG once, at import; read it now so a value set later (tests, tools) counts.
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=config_file or os.environ.get("KUBECONFIG") or None,
            context=context,
            client_configuration=configuration,
        )
    # Reconciles run in worker threads; the default pool of 4 connections would serialise them.
    configuration.connection_pool_maxsize = pool_size
    api = CountingApiClient(configuration)
    return Clients(
        api=api,
        core=kubernetes.client.CoreV1Api(api),
        apps=kubernetes.client.AppsV1Api(api),
        batch=kubernetes.client.BatchV1Api(api),
        custom=kubernetes.client.CustomObjectsApi(api),
        events=kubernetes.client.EventsV1Api(api),
    )
