"""API discovery for any kind: `apiVersion` + `kind` -> the REST resource to call, cached in memory.

Built on the kubernetes client's `DynamicClient` and its lazy discoverer, but with the cache kept in this process
(the client's default is a JSON file in the temp directory shared by every process on the host, written without
locking). A kind the cache does not know makes the discoverer re-read the server's groups once, so a CRD created by
the same sync is found as soon as the API server serves it; `refresh()` forces a full re-read. Lookups take a lock:
the discoverer mutates its cache and reconciles run in worker threads.

`preferred_version(api, group=...)` is the one-call answer for code that only needs a group's preferred version
(the SMI router).
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
import threading
import uuid
from typing import Any

from kubernetes.client import ApiClient, ApisApi
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.discovery import LazyDiscoverer
from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

from rollouts.kube import errors


class UnknownKind(errors.KubeError):
    """The API server serves no resource for this apiVersion and kind (a CRD not installed, a typo)."""

    def __init__(self, message: str, *, api_version: str, kind: str) -> None:
        super().__init__(message, status=404)
        self.api_version = api_version
        self.kind = kind


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class _InMemoryDiscoverer(LazyDiscoverer):
    """The lazy discoverer without its shared cache file: it starts empty and never writes one."""

    def _write_cache(self) -> None:
        pass


class Discovery:
    """A DynamicClient plus a thread-safe, in-memory discovery cache."""

    def __init__(self, api: ApiClient) -> None:
        # A path that never exists: the discoverer then reads no stale cache written by another process.
        never = pathlib.Path(tempfile.gettempdir(), f"rollwave-discovery-{uuid.uuid4().hex}", "none.json")
        self._lock = threading.RLock()
        self.dynamic = _new_client(api, str(never))

    def resolve(self, *, api_version: str, kind: str) -> ResourceType:
        """The resource for `apiVersion`/`kind`; UnknownKind when the server serves none."""
        return _type_of(self.resource(api_version=api_version, kind=kind))

    def resource(self, *, api_version: str, kind: str) -> Any:
        """The client's `Resource` object (for `self.dynamic` calls)."""
        group, _, version = api_version.rpartition("/")
        if not version or not kind:
            raise UnknownKind(
                f"'{api_version}' '{kind}' is not a valid apiVersion and kind",
                api_version=api_version,
                kind=kind,
            )
        search: dict[str, str] = (
            {"prefix": "apis", "group": group, "api_version": version}
            if group
            else {"prefix": "api", "api_version": version}
        )
        with self._lock:
            try:
                return _search(self.dynamic, kind=kind, **search)
            except (ResourceNotFoundError, ResourceNotUniqueError):
                pass
        raise UnknownKind(
            f"the API server has no resource for kind {kind} in apiVersion {api_version}"
            f"{' (is its CustomResourceDefinition installed and established?)' if group else ''}",
            api_version=api_version,
            kind=kind,
        )

    def refresh(self) -> None:
        """Forgets everything discovered (e.g. after CRDs were installed or removed)."""
        with self._lock:
            _invalidate(self.dynamic)

    def listable(self) -> list[ResourceType]:
        """Every resource type in its group's preferred version that can be listed (for a full prune scan)."""
        found: dict[tuple[str, str], ResourceType] = {}
        with self._lock:
            for resource in _all_resources(self.dynamic):
                verbs = tuple(getattr(resource, "verbs", None) or ())
                if not getattr(resource, "preferred", False) or "list" not in verbs or "/" in resource.name:
                    continue
                kind = str(resource.kind)
                found[(str(resource.group or ""), kind)] = _type_of(resource)
        return sorted(found.values(), key=lambda t: (t.group, t.kind))


@errors.translated
def preferred_version(api: ApiClient, *, group: str) -> str | None:
    """The version the API server prefers for `group` (e.g. "v1alpha2"), or None when it does not serve it."""
    for served in ApisApi(api).get_api_versions().groups or ():
        if served.name == group:
            preferred = served.preferred_version or next(iter(served.versions or ()), None)
            return str(preferred.version) if preferred is not None else None
    return None


@errors.translated
def _new_client(api: ApiClient, cache_file: str) -> Any:
    return DynamicClient(api, cache_file=cache_file, discoverer=_InMemoryDiscoverer)  # type: ignore[no-untyped-call]


@errors.translated
def _search(dynamic: Any, *, kind: str, **search: str) -> Any:
    return dynamic.resources.get(kind=kind, **search)


@errors.translated
def _invalidate(dynamic: Any) -> None:
    dynamic.resources.invalidate_cache()


@errors.translated
def _all_resources(dynamic: Any) -> list[Any]:
    from kubernetes.dynamic.resource import ResourceList

    # The discoverer yields, per kind, the list of resources serving it.
    return [
        resource
        for resources in dynamic.resources
        for resource in (resources if isinstance(resources, list) else [resources])
        if not isinstance(resource, ResourceList)
    ]


def _type_of(resource: Any) -> ResourceType:
    return ResourceType(
        group=str(resource.group or ""),
        version=str(resource.api_version),
        kind=str(resource.kind),
        plural=str(resource.name),
        namespaced=bool(resource.namespaced),
        verbs=tuple(getattr(resource, "verbs", None) or ()),
    )
