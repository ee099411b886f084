"""Kubernetes Events for our objects, deduplicated as `kubectl describe` users expect.

The same reason and message on the same object within ten minutes bumps `count` on the existing Event instead of
creating another, so a condition re-checked every 20 s does not flood the namespace.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from kubernetes.client import CoreV1Api

from rollouts.kube import errors

COMPONENT = "rollwave"
_DEDUPE_WINDOW = datetime.timedelta(minutes=10)


class EventRecorder:
    """Sends Events from one background thread, so a reconcile never waits for them (they are a third of its API
    calls); one thread keeps them in the order they were recorded."""

    def __init__(self, core: CoreV1Api) -> None:
        self._core = core
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str, str, str], tuple[str, int, datetime.datetime]] = {}
        self._sender = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="events")

    def record(self, obj: Mapping[str, Any], *, reason: str, message: str, warning: bool = False) -> None:
        """Queues an Event on `obj` (a full API object dict); returns at once."""
        snapshot = {key: obj.get(key) for key in ("apiVersion", "kind")} | {"metadata": dict(obj["metadata"])}
        self._sender.submit(self.send, snapshot, reason=reason, message=message, warning=warning)

    def flush(self, timeout: float = 10) -> None:
        """Waits until every queued Event was sent (for shutdown and tests)."""
        self._sender.submit(lambda: None).result(timeout=timeout)

    def send(self, obj: Mapping[str, Any], *, reason: str, message: str, warning: bool = False) -> None:
        """Records an Event on `obj` now. Never raises: an Event is not worth a failed reconcile."""
        meta = obj.get("metadata", {})
        namespace = meta.get("namespace") or "default"
        now = datetime.datetime.now(datetime.UTC)
        identity = (meta.get("uid", ""), reason, message, "Warning" if warning else "Normal")
        try:
            with self._lock:
                seen = self._recent.get(identity)
            if seen and now - seen[2] < _DEDUPE_WINDOW:
                name, count, _ = seen
                self._patch_count(namespace=namespace, name=name, count=count + 1, now=now)
                with self._lock:
                    self._recent[identity] = (name, count + 1, now)
                return
            name = f"{meta.get('name', 'object')}.{uuid.uuid4().hex[:12]}"
            self._create(
                obj, namespace=namespace, name=name, reason=reason, message=message, warning=warning, now=now
            )
            with self._lock:
                self._recent[identity] = (name, 1, now)
                if len(self._recent) > 10_000:
                    self._recent.clear()
        except errors.KubeError:
            pass

    @errors.translated
    def _create(
        self,
        obj: Mapping[str, Any],
        *,
        namespace: str,
        name: str,
        reason: str,
        message: str,
        warning: bool,
        now: datetime.datetime,
    ) -> None:
        meta = obj["metadata"]
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": COMPONENT,
            "firstTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lastTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "count": 1,
        }
        self._core.create_namespaced_event(namespace, body)  # type: ignore[arg-type]  # dicts serialise as-is

    @errors.translated
    def _patch_count(self, *, namespace: str, name: str, count: int, now: datetime.datetime) -> None:
        self._core.patch_namespaced_event(
            name, namespace, {"count": count, "lastTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        )
