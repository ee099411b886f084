"""The controller's Prometheus metrics, named as Argo Rollouts names them so existing dashboards keep working."""

from __future__ import annotations

import prometheus_client

REGISTRY = prometheus_client.CollectorRegistry(auto_describe=True)

rollout_info = prometheus_client.Gauge(
    "rollout_info",
    "Information about a Rollout; the value is 1.",
    ["namespace", "name", "strategy", "traffic_router", "phase"],
    registry=REGISTRY,
)
rollout_replicas = prometheus_client.Gauge(
    "rollout_info_replicas",
    "Replica counts of a Rollout by kind (available, unavailable, desired, updated).",
    ["namespace", "name", "kind"],
    registry=REGISTRY,
)
rollout_reconcile = prometheus_client.Histogram(
    "rollout_reconcile",
    "Time to reconcile a Rollout, in seconds.",
    ["namespace", "name"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
rollout_reconcile_error = prometheus_client.Counter(
    "rollout_reconcile_error",
    "Reconciles of a Rollout that ended in an error.",
    ["namespace", "name"],
    registry=REGISTRY,
)
rollout_events_total = prometheus_client.Counter(
    "rollout_events_total",
    "Events emitted for Rollouts, by type and reason.",
    ["type", "reason"],
    registry=REGISTRY,
)
analysis_run_info = prometheus_client.Gauge(
    "analysis_run_info",
    "Information about an AnalysisRun; the value is 1.",
    ["namespace", "name", "phase"],
    registry=REGISTRY,
)
application_info = prometheus_client.Gauge(
    "application_info",
    "Information about an Application; the value is 1.",
    ["namespace", "name", "sync_status", "health_status"],
    registry=REGISTRY,
)
watch_events_total = prometheus_client.Counter(
    "rollwave_watch_events_total",
    "Watch events received, by resource.",
    ["resource"],
    registry=REGISTRY,
)
workqueue_depth = prometheus_client.Gauge(
    "rollwave_workqueue_depth",
    "Keys queued or being processed.",
    ["queue"],
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    return prometheus_client.generate_latest(REGISTRY), prometheus_client.CONTENT_TYPE_LATEST


api_requests_total = prometheus_client.Counter(
    "rollwave_api_requests_total",
    "Requests the controller sent to the Kubernetes API server, by verb.",
    ["verb"],
    registry=REGISTRY,
)
