"""Operator start-up and shutdown, the watch handlers, the worker pool and the probe/metrics HTTP server.

Why `kopf.on.event` and not kopf's create/update handlers: those keep their progress in annotations on the user's
objects and need finalizers for daemons. A Rollout is reconciled level-triggered from its whole state instead, so a
watch event only feeds the cache and queues the key; workers run the reconcile in threads (the kubernetes client is
blocking) and re-queue it when the decision asks to be woken later (a pause that ends, a retry).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime
import inspect
import logging
import os
import pathlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import kopf
from aiohttp import web

from rollouts.kube import cache as kube_cache
from rollouts.kube import client as kube_client
from rollouts.kube import discovery as kube_discovery
from rollouts.kube import events as kube_events
from rollouts.model import workloads
from rollouts.observability import metrics
from rollouts.providers import base as providers_base
from rollouts.reconcile import application as reconcile_application
from rollouts.reconcile import runtime as reconcile_runtime
from rollouts.reconcile import workqueue
from rollouts.sources import git as sources_git

logger = logging.getLogger("rollwave")

GROUP, VERSION = "argoproj.io", "v1alpha1"
HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL

# A reconciler is either blocking (run in a worker thread: the kubernetes client is synchronous) or a coroutine
# function (awaited on the loop: analysis providers are async and offload their own blocking calls).
Reconciler = Callable[
    [kube_cache.ObjectKey, reconcile_runtime.Runtime], Awaitable[float | None] | float | None
]


@dataclasses.dataclass(kw_only=True)
class OperatorOptions:
    """Set by the CLI before kopf starts; read once at start-up."""

    http_address: str = "127.0.0.1:8090"
    workers: int = 8
    # Applications: where Git repositories are cached (None: $XDG_CACHE_HOME/rollwave/git), how often each
    # Application is compared with Git and its repository polled.
    git_cache_dir: str | None = None
    app_poll_seconds: float = 180.0


OPTIONS = OperatorOptions()
_reconcilers: dict[str, Reconciler] = {}


def register_reconciler(queue_name: str, reconciler: Reconciler) -> None:
    _reconcilers[queue_name] = reconciler


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Our own Events are deliberate and deduplicated; kopf's per-handler Events would only add noise.
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=max(16, OPTIONS.workers * 2)))
    clients = kube_client.load()
    runtime = reconcile_runtime.Runtime(
        clients=clients,
        cache=kube_cache.ObjectCache(),
        events=kube_events.EventRecorder(clients.core),
        queues={name: workqueue.WorkQueue() for name in _reconcilers},
        # One pool of HTTP connections for every web metric; closed in stop().
        providers=providers_base.ProviderDeps(
            kube=clients,
            http=httpx.AsyncClient(),
            insecure_http=httpx.AsyncClient(verify=False),
            prometheus_address=os.environ.get("ARGO_ROLLOUTS_PROMETHEUS_ADDRESS") or None,
        ),
        applications=reconcile_runtime.ApplicationSettings(
            git=sources_git.Cache(
                cache_dir=pathlib.Path(OPTIONS.git_cache_dir or reconcile_application.default_git_cache_dir())
            ),
            kinds=kube_discovery.Discovery(clients.api),
            poll_interval=datetime.timedelta(seconds=OPTIONS.app_poll_seconds),
        ),
    )
    memo["runtime"] = runtime
    memo["tasks"] = [asyncio.create_task(queue.run_timers()) for queue in runtime.queues.values()]
    for name, queue in runtime.queues.items():
        for index in range(OPTIONS.workers):
            memo["tasks"].append(
                asyncio.create_task(_worker(name, queue, runtime), name=f"{name}-worker-{index}")
            )
    memo["http"] = await _start_http(OPTIONS.http_address, memo)
    memo["started"] = True
    logger.info("rollwave controller started; reconcilers: %s", ", ".join(sorted(_reconcilers)))


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    runtime: reconcile_runtime.Runtime | None = memo.get("runtime")
    if runtime is not None:
        for queue in runtime.queues.values():
            queue.close()
        await asyncio.to_thread(runtime.events.flush)
    for task in memo.get("tasks", []):
        task.cancel()
    await asyncio.gather(*memo.get("tasks", []), return_exceptions=True)
    http: web.AppRunner | None = memo.get("http")
    if http is not None:
        await http.cleanup()
    if runtime is not None:
        for client in (runtime.providers.http, runtime.providers.insecure_http):
            if client is not None:
                await client.aclose()
    logger.info("rollwave controller stopped")


async def _worker(
    name: str, queue: workqueue.WorkQueue[kube_cache.ObjectKey], runtime: reconcile_runtime.Runtime
) -> None:
    reconciler = _reconcilers[name]
    while True:
        key = await queue.get()
        started = time.monotonic()
        try:
            if inspect.iscoroutinefunction(reconciler):
                requeue_after = await reconciler(key, runtime)
            else:
                requeue_after = await asyncio.to_thread(reconciler, key, runtime)
        except Exception:
            # A bug or an unexpected API failure: log it, count it, and try again later rather than lose the key.
            logger.exception("reconcile of %s %s/%s failed", name, *key)
            metrics.rollout_reconcile_error.labels(namespace=key[0], name=key[1]).inc()
            requeue_after = 5.0
        finally:
            queue.done(key)
            metrics.workqueue_depth.labels(queue=name).set(len(queue))
        if name == "rollouts":
            metrics.rollout_reconcile.labels(namespace=key[0], name=key[1]).observe(
                time.monotonic() - started
            )
        if requeue_after is not None:
            queue.add_after(key, requeue_after)


def _runtime(memo: kopf.Memo) -> reconcile_runtime.Runtime | None:
    return memo.get("runtime")  # None only during the first moments of start-up


def _observe(resource: str, queue_name: str | None, event: kopf.RawEvent, memo: kopf.Memo) -> None:
    runtime = _runtime(memo)
    if runtime is None:
        return
    metrics.watch_events_total.labels(resource=resource).inc()
    body: dict[str, Any] = dict(event["object"])
    if event["type"] == "DELETED":
        runtime.cache.delete(resource, body)
    else:
        runtime.cache.put(resource, body)
    if queue_name is not None and queue_name in runtime.queues:
        meta = body["metadata"]
        runtime.queues[queue_name].add((meta.get("namespace") or "", meta["name"]))


def _enqueue_owner(owner_kind: str, queue_name: str, body: dict[str, Any], memo: kopf.Memo) -> None:
    runtime = _runtime(memo)
    if runtime is None or queue_name not in runtime.queues:
        return
    for ref in body["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == owner_kind and ref.get("controller"):
            runtime.queues[queue_name].add((body["metadata"]["namespace"], ref["name"]))


@kopf.on.event(GROUP, VERSION, "rollouts")
def on_rollout_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    _observe("rollouts", "rollouts", event, memo)


@kopf.on.event("apps", "v1", "replicasets", labels={HASH_LABEL: kopf.PRESENT})
def on_replica_set_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    _observe("replicasets", None, event, memo)
    _enqueue_owner("Rollout", "rollouts", dict(event["object"]), memo)


@kopf.on.event("", "v1", "services")
def on_service_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    # Cached so that a reconcile reads the steered Services without two GETs per pass.
    _observe("services", None, event, memo)
    # A Service a Rollout steers was changed (a sync from Git resetting its selector, say): the Rollout looks again.
    body = event["object"]
    rollout = ((body.get("metadata") or {}).get("annotations") or {}).get(
        "argo-rollouts.argoproj.io/managed-by-rollouts"
    )
    runtime = _runtime(memo)
    if rollout and runtime is not None and "rollouts" in runtime.queues and event["type"] != "DELETED":
        runtime.queues["rollouts"].add((body["metadata"].get("namespace") or "", rollout))


@kopf.on.event(GROUP, VERSION, "analysisruns")
def on_analysis_run_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    _observe("analysisruns", "analysisruns", event, memo)
    _enqueue_owner("Rollout", "rollouts", dict(event["object"]), memo)


@kopf.on.event(GROUP, VERSION, "analysistemplates")
def on_analysis_template_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    _observe("analysistemplates", None, event, memo)
    _enqueue_rollouts_in(event["object"]["metadata"].get("namespace"), memo)


@kopf.on.event(GROUP, VERSION, "clusteranalysistemplates")
def on_cluster_analysis_template_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    _observe("clusteranalysistemplates", None, event, memo)
    _enqueue_rollouts_in(None, memo)


def _enqueue_rollouts_in(namespace: str | None, memo: kopf.Memo) -> None:
    """A template appeared or changed: Rollouts waiting for it (InvalidSpec) look again. Templates change
    rarely, so every Rollout in the namespace (all of them, for a cluster template) is simpler than an index."""
    runtime = _runtime(memo)
    if runtime is None or "rollouts" not in runtime.queues:
        return
    for key in runtime.cache.keys("rollouts"):
        if namespace is None or key[0] == namespace:
            runtime.queues["rollouts"].add(key)


@kopf.on.event("rollwave.dev", "v1alpha1", "applications")
def on_application_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    _observe("applications", "applications", event, memo)


register_reconciler("applications", reconcile_application.reconcile)


# ---------------------------------------------------------------------------------------------------------------
# /healthz, /readyz, /metrics


async def _start_http(address: str, memo: kopf.Memo) -> web.AppRunner:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        ready = bool(memo.get("started"))
        return web.Response(text="ready" if ready else "starting", status=200 if ready else 503)

    async def metrics_page(_: web.Request) -> web.Response:
        body, content_type = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = address.rpartition(":")
    await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()
    logger.info("serving /healthz, /readyz and /metrics on %s", address)
    return runner
