"""Our custom resources (argoproj.io and rollwave.dev): read, patch spec, and write status in one merge patch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from kubernetes.client import CustomObjectsApi, V1DeleteOptions, V1Preconditions
from kubernetes.client.exceptions import ApiException

from rollouts.kube import errors

ARGO = ("argoproj.io", "v1alpha1")
ROLLWAVE = ("rollwave.dev", "v1alpha1")


def merge_patch(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 merge patch turning `old` into `new` (None deletes a key). Lists are replaced whole.

    >>> merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": 1, "b": {"c": 4}})
    {'b': {'c': 4, 'd': None}}
    """
    old = old or {}
    patch: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif value != before:
            patch[key] = value
    return patch


@errors.translated
def get(
    custom: CustomObjectsApi, *, group_version: tuple[str, str], plural: str, namespace: str, name: str
) -> dict[str, Any] | None:
    try:
        found = custom.get_namespaced_custom_object(*group_version, namespace, plural, name)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return cast(dict[str, Any], found)


@errors.translated
def patch_status(
    custom: CustomObjectsApi,
    *,
    group_version: tuple[str, str],
    plural: str,
    namespace: str,
    name: str,
    old_status: Mapping[str, Any] | None,
    new_status: Mapping[str, Any],
    subresource: bool = True,
    resource_version: str | None = None,
) -> dict[str, Any] | None:
    """Writes the difference as one merge patch and returns the stored object; None (nothing sent) when there is
    no difference.

    With `resource_version`, the server applies the patch only to that version of the object and answers 409
    (`errors.Conflict`) otherwise: a patch computed from a stale read must not undo what happened since (a promote
    clearing a pause, say). The caller reads again and decides again.
    """
    patch = merge_patch(old_status, new_status)
    if not patch:
        return None
    body: dict[str, Any] = {"status": patch}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    if subresource:
        result = custom.patch_namespaced_custom_object_status(*group_version, namespace, plural, name, body)
    else:
        result = custom.patch_namespaced_custom_object(*group_version, namespace, plural, name, body)
    return cast(dict[str, Any], result)


@errors.translated
def patch(
    custom: CustomObjectsApi,
    *,
    group_version: tuple[str, str],
    plural: str,
    namespace: str,
    name: str,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    result = custom.patch_namespaced_custom_object(*group_version, namespace, plural, name, dict(body))
    return cast(dict[str, Any], result)


@errors.translated
def get_cluster_scoped(
    custom: CustomObjectsApi, *, group_version: tuple[str, str], plural: str, name: str
) -> dict[str, Any] | None:
    try:
        found = custom.get_cluster_custom_object(*group_version, plural, name)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return cast(dict[str, Any], found)


def create_if_missing(
    custom: CustomObjectsApi,
    *,
    group_version: tuple[str, str],
    plural: str,
    namespace: str,
    body: Mapping[str, Any],
) -> dict[str, Any] | None:
    """Create-if-missing: None when an object of that name exists already (the caller named it deterministically)."""
    try:
        return create(custom, group_version=group_version, plural=plural, namespace=namespace, body=body)
    except errors.Conflict:
        return None


@errors.translated
def create(
    custom: CustomObjectsApi,
    *,
    group_version: tuple[str, str],
    plural: str,
    namespace: str,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    result = custom.create_namespaced_custom_object(*group_version, namespace, plural, dict(body))
    return cast(dict[str, Any], result)


@errors.translated
def delete(
    custom: CustomObjectsApi,
    *,
    group_version: tuple[str, str],
    plural: str,
    namespace: str,
    name: str,
    uid: str | None = None,
) -> bool:
    """Deletes the object; with `uid`, only that incarnation of it (409 otherwise). False if it was gone."""
    options = V1DeleteOptions(preconditions=V1Preconditions(uid=uid)) if uid else V1DeleteOptions()
    try:
        custom.delete_namespaced_custom_object(*group_version, namespace, plural, name, body=options)
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True
