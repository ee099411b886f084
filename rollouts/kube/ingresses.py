"""Ingresses (networking.k8s.io/v1) for the NGINX traffic router: read the stable one, and create, patch and
delete the canary Ingress rollwave owns. Objects go in and out as plain API dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from kubernetes.client import ApiClient, NetworkingV1Api, V1DeleteOptions, V1Preconditions
from kubernetes.client.exceptions import ApiException

from rollouts.kube import errors

# The generated client would pick JSON Patch for a dict body; rollwave sends RFC 7386 merge patches.
MERGE_PATCH = "application/merge-patch+json"


def _networking(api: ApiClient) -> NetworkingV1Api:
    return NetworkingV1Api(api)


def _plain(networking: NetworkingV1Api, ingress: object) -> dict[str, Any]:
    return cast(dict[str, Any], networking.api_client.sanitize_for_serialization(ingress))


@errors.translated
def get(api: ApiClient, *, namespace: str, name: str) -> dict[str, Any] | None:
    networking = _networking(api)
    try:
        found = networking.read_namespaced_ingress(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return _plain(networking, found)


@errors.translated
def create(api: ApiClient, *, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
    networking = _networking(api)
    # The client sends a plain dict as it is; its stubs only name the model class.
    created = networking.create_namespaced_ingress(namespace, dict(body))  # type: ignore[arg-type]
    return _plain(networking, created)


@errors.translated
def patch(api: ApiClient, *, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch; put `metadata.resourceVersion` in `body` to have it refused (409) on a stale read."""
    networking = _networking(api)
    patched = networking.patch_namespaced_ingress(name, namespace, dict(body), _content_type=MERGE_PATCH)
    return _plain(networking, patched)


@errors.translated
def delete(api: ApiClient, *, namespace: str, name: str, uid: str | None = None) -> bool:
    """Deletes the Ingress; with `uid`, only that incarnation of it. False if it was already gone."""
    options = V1DeleteOptions(preconditions=V1Preconditions(uid=uid)) if uid else V1DeleteOptions()
    try:
        _networking(api).delete_namespaced_ingress(name, namespace, body=options)
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True
