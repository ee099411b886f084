"""Server-side apply of an Application's manifests, with tracking so prune removes only what rollwave created.

Contract:
- `apply` sends the manifest as a server-side apply patch (`application/apply-patch+yaml`) under the field manager
  `rollwave`, forcing conflicts by default (as Argo CD's `ServerSideApply=true`), with strict field validation
  (`validate=False` sends `fieldValidation=Ignore`, Argo CD's `Validate=false`; server-side apply still refuses a
  field the schema does not declare, with `errors.Invalid`), and `dry_run=True` sends `dryRun=All`.
  The server's answer is returned as a plain dict. Errors are `kube.errors` (Invalid, NotFound for a namespace that
  does not exist, Conflict when not forcing) and `discovery.UnknownKind`.
- Tracking: `tracked(manifest, ...)` marks an object for an Application with the label `rollwave.dev/app`
  (`<app-namespace>.<app-name>`, hashed when longer than a label value may be; it is for listing) and the
  annotation `rollwave.dev/tracking-id: <app-ns>/<app-name>:<group>/<kind>:<namespace>/<name>` (it is the proof).
  `is_tracked` is true only when the annotation names this Application *and* this very object, so an object
  without the mark, or a copy of a tracked object under another name or namespace, is never the Application's.
- `prune` deletes a live object only when `is_tracked`, and with a uid precondition, so an object replaced since it
  was read is not deleted either. `delete` is the untracked primitive (for hooks); `remove_finalizer` releases the
  hook finalizer rollwave holds on hooks.
- `diff` is drift detection: a dry-run apply of the desired object, compared with the live one by
  `core.diffs.compare`.
- `prepare` puts a manifest in the form `apply` expects: the destination namespace set on namespaced kinds that
  have none, the namespace removed from cluster-scoped kinds, and the tracking marks added.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from rollouts.core import diffs
from rollouts.kube import discovery, errors

FIELD_MANAGER = "rollwave"
APP_LABEL = "rollwave.dev/app"
TRACKING_ANNOTATION = "rollwave.dev/tracking-id"

Propagation = Literal["Foreground", "Background", "Orphan"]

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class NotTracked(errors.KubeError):
    """Refused: the live object is not marked as created by this Application."""


# -- tracking (pure) ---------------------------------------------------------------------------------------------


def app_label_value(*, app_namespace: str, app_name: str) -> str:
    """The `rollwave.dev/app` label value of an Application: `<namespace>.<name>`, or a hashed form when that is
    not a valid label value (longer than 63 characters).

    >>> app_label_value(app_namespace="team-a", app_name="shop")
    'team-a.shop'
    >>> len(app_label_value(app_namespace="n" * 60, app_name="shop"))
    63
    """
    value = f"{app_namespace}.{app_name}"
    if len(value) <= 63 and _LABEL_VALUE.match(value):
        return value
    digest = hashlib.sha256(f"{app_namespace}/{app_name}".encode()).hexdigest()[:10]
    prefix = re.sub(r"[^-A-Za-z0-9_.]", "-", value)[:52].rstrip("-_.")
    return f"{prefix}-{digest}"


def tracking_id(*, app_namespace: str, app_name: str, obj: Mapping[str, Any]) -> str:
    """`<app-ns>/<app-name>:<group>/<kind>:<namespace>/<name>` for `obj` (group and namespace may be empty).

    >>> tracking_id(app_namespace="team-a", app_name="shop",
    ...             obj={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}})
    'team-a/shop:apps/Deployment:prod/web'
    """
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    metadata = obj.get("metadata") or {}
    return (
        f"{app_namespace}/{app_name}:{group}/{obj.get('kind', '')}:"
        f"{metadata.get('namespace') or ''}/{metadata.get('name') or ''}"
    )


def tracked(manifest: Mapping[str, Any], *, app_namespace: str, app_name: str) -> dict[str, Any]:
    """A copy of `manifest` with the tracking label and annotation of the Application (namespace and name must be
    final: the annotation names them)."""
    result = copy.deepcopy(dict(manifest))
    metadata = result.setdefault("metadata", {})
    metadata.setdefault("labels", {})[APP_LABEL] = app_label_value(
        app_namespace=app_namespace, app_name=app_name
    )
    metadata.setdefault("annotations", {})[TRACKING_ANNOTATION] = tracking_id(
        app_namespace=app_namespace, app_name=app_name, obj=result
    )
    return result


def is_tracked(live: Mapping[str, Any], *, app_namespace: str, app_name: str) -> bool:
    """Whether rollwave created `live` for this Application: the tracking annotation names both."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return annotations.get(TRACKING_ANNOTATION) == tracking_id(
        app_namespace=app_namespace, app_name=app_name, obj=live
    )


def tracking_owner(live: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (namespace, name) of the Application whose valid tracking annotation `live` carries, else None."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    value = str(annotations.get(TRACKING_ANNOTATION) or "")
    app, _, _ = value.partition(":")
    app_namespace, _, app_name = app.partition("/")
    if app_namespace and app_name and is_tracked(live, app_namespace=app_namespace, app_name=app_name):
        return app_namespace, app_name
    return None


def is_established(crd: Mapping[str, Any]) -> bool:
    """Whether a CustomResourceDefinition's `Established` condition is True (its kind can be served)."""
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


# -- API calls -------------------------------------------------------------------------------------------------


def prepare(
    kinds: discovery.Discovery,
    *,
    manifest: Mapping[str, Any],
    default_namespace: str,
    app_namespace: str,
    app_name: str,
) -> dict[str, Any]:
    """The manifest as it will be applied: namespace defaulted or removed by the kind's scope, tracking added.
    Raises `discovery.UnknownKind` for a kind the server does not serve."""
    resource_type = kinds.resolve(
        api_version=str(manifest.get("apiVersion", "")), kind=str(manifest.get("kind", ""))
    )
    result = copy.deepcopy(dict(manifest))
    metadata = result.setdefault("metadata", {})
    if resource_type.namespaced:
        metadata["namespace"] = metadata.get("namespace") or default_namespace
    else:
        metadata.pop("namespace", None)
    return tracked(result, app_namespace=app_namespace, app_name=app_name)


def apply(
    kinds: discovery.Discovery,
    *,
    manifest: Mapping[str, Any],
    dry_run: bool = False,
    force: bool = True,
    validate: bool = True,
    field_manager: str = FIELD_MANAGER,
) -> dict[str, Any]:
    """Server-side applies `manifest` (already `prepare`d) and returns the object the server stored (or would)."""
    resource = _resource(kinds, manifest)
    metadata = manifest.get("metadata") or {}
    namespace = metadata.get("namespace") if resource.namespaced else None
    if not metadata.get("name"):
        # generateName cannot be applied; a hook gets its deterministic name before it is applied.
        raise errors.Invalid(f"{diffs.object_label(manifest)}: server-side apply needs metadata.name")
    if resource.namespaced and not namespace:
        raise errors.Invalid(f"{diffs.object_label(manifest)}: a namespaced object needs metadata.namespace")
    try:
        return _call(
            kinds.dynamic.server_side_apply,
            resource,
            body=dict(manifest),
            name=metadata.get("name"),
            namespace=namespace,
            field_manager=field_manager,
            force_conflicts=True if force else None,
            dry_run="All" if dry_run else None,
            query_params=[("fieldValidation", "Strict" if validate else "Ignore")],
        )
    except errors.Unavailable as err:
        # A field the schema does not declare is answered with a 500, but retrying will not help.
        if err.status == 500 and "failed to create typed patch object" in err.message:
            raise errors.Invalid(err.message, status=err.status) from err
        raise


def get(
    kinds: discovery.Discovery, *, api_version: str, kind: str, name: str, namespace: str | None = None
) -> dict[str, Any] | None:
    """The live object, or None when it does not exist."""
    resource = kinds.resource(api_version=api_version, kind=kind)
    try:
        return _call(
            kinds.dynamic.get, resource, name=name, namespace=namespace if resource.namespaced else None
        )
    except errors.NotFound:
        return None


def delete(
    kinds: discovery.Discovery,
    *,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    propagation: Propagation = "Foreground",
    uid: str | None = None,
    dry_run: bool = False,
) -> bool:
    """Asks for deletion; False when the object was already gone. With `uid`, only that incarnation of the object
    is deleted (`errors.Conflict` otherwise). The object may live on until its finalizers and, with Foreground
    propagation, its dependents are gone."""
    resource = kinds.resource(api_version=api_version, kind=kind)
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
    if uid:
        body["preconditions"] = {"uid": uid}
    if dry_run:
        body["dryRun"] = ["All"]
    try:
        _call(
            kinds.dynamic.delete,
            resource,
            name=name,
            namespace=namespace if resource.namespaced else None,
            body=body,
        )
    except errors.NotFound:
        return False
    return True


def remove_finalizer(
    kinds: discovery.Discovery,
    *,
    api_version: str,
    kind: str,
    name: str,
    finalizer: str,
    namespace: str | None = None,
    attempts: int = 3,
) -> bool:
    """Takes `finalizer` off the live object (a hook rollwave holds until its result is recorded). The JSON patch
    first tests that the entry is still at the index read, so a concurrent change to the list is never overwritten;
    a lost race reads again. False when the object is gone or does not hold the finalizer."""
    resource = kinds.resource(api_version=api_version, kind=kind)
    scope = namespace if resource.namespaced else None
    for _ in range(max(attempts, 1)):
        live = get(kinds, api_version=api_version, kind=kind, name=name, namespace=scope)
        finalizers = list((live or {}).get("metadata", {}).get("finalizers") or [])
        if finalizer not in finalizers:
            return False
        path = f"/metadata/finalizers/{finalizers.index(finalizer)}"
        patch = [{"op": "test", "path": path, "value": finalizer}, {"op": "remove", "path": path}]
        try:
            _call(
                kinds.dynamic.patch,
                resource,
                body=patch,
                name=name,
                namespace=scope,
                content_type="application/json-patch+json",
            )
        except errors.NotFound:
            return False
        except errors.Invalid:
            continue  # the test failed: the list changed since it was read
        return True
    return False


def prune(
    kinds: discovery.Discovery,
    *,
    live: Mapping[str, Any],
    app_namespace: str,
    app_name: str,
    propagation: Propagation = "Foreground",
    dry_run: bool = False,
) -> bool:
    """Deletes `live` if, and only if, rollwave created it for this Application (`NotTracked` otherwise). False when
    it was already gone or has been replaced by another object of the same name since it was read."""
    if not is_tracked(live, app_namespace=app_namespace, app_name=app_name):
        raise NotTracked(
            f"refusing to prune {diffs.object_label(live)}: it is not marked as created by Application "
            f"{app_namespace}/{app_name} ({TRACKING_ANNOTATION})"
        )
    metadata = live.get("metadata") or {}
    try:
        return delete(
            kinds,
            api_version=str(live.get("apiVersion")),
            kind=str(live.get("kind")),
            name=str(metadata.get("name")),
            namespace=metadata.get("namespace"),
            propagation=propagation,
            uid=metadata.get("uid"),
            dry_run=dry_run,
        )
    except errors.Conflict:
        return False  # the uid precondition failed: a new object with that name, not the one we tracked


def list_tracked(
    kinds: discovery.Discovery,
    *,
    app_namespace: str,
    app_name: str,
    types: Iterable[tuple[str, str]] | None = None,
    namespace: str | None = None,
) -> list[dict[str, Any]]:
    """The live objects rollwave created for this Application (`is_tracked`), found by the tracking label.

    `types` is (apiVersion, kind) pairs to look at (e.g. the kinds in Git plus those in the Application's status);
    None scans every listable kind, skipping those the server refuses to list. `namespace` limits namespaced kinds
    to one namespace (None: all namespaces).
    """
    selector = f"{APP_LABEL}={app_label_value(app_namespace=app_namespace, app_name=app_name)}"
    if types is None:
        candidates = [(t.api_version, t.kind) for t in kinds.listable()]
        tolerate: tuple[type[errors.KubeError], ...] = (
            errors.NotFound,
            errors.Forbidden,
            discovery.UnknownKind,
        )
    else:
        candidates = sorted(set(types))
        tolerate = (discovery.UnknownKind,)  # a kind no longer served has no objects
    found: list[dict[str, Any]] = []
    for api_version, kind in candidates:
        try:
            resource = kinds.resource(api_version=api_version, kind=kind)
            answer = _call(
                kinds.dynamic.get,
                resource,
                namespace=namespace if resource.namespaced else None,
                label_selector=selector,
            )
        except tolerate:
            continue
        except errors.KubeError as err:
            if types is None and err.status == 405:
                continue
            raise
        for item in answer.get("items") or []:
            # Items of a list answer do not repeat apiVersion and kind.
            item = {"apiVersion": resource.group_version, "kind": resource.kind, **item}
            if is_tracked(item, app_namespace=app_namespace, app_name=app_name):
                found.append(item)
    return found


def ensure_namespace(
    kinds: discovery.Discovery,
    *,
    name: str,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> bool:
    """CreateNamespace: makes sure the namespace exists (labels and annotations applied by `rollwave` when given).
    Returns True when it was created. The namespace is not tracked, so prune never deletes it."""
    existing = get(kinds, api_version="v1", kind="Namespace", name=name)
    if existing is not None and not labels and not annotations:
        return False
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    apply(kinds, manifest={"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
    return existing is None


def diff(kinds: discovery.Discovery, *, manifest: Mapping[str, Any], attempts: int = 3) -> diffs.Comparison:
    """Drift of one `prepare`d manifest: a dry-run apply (forcing, as a sync would) compared with the live object.

    The two reads must see the same version of the object: a controller writing in between (the Deployment
    controller's revision annotation, say) would otherwise look like drift. A dry run does not change the
    resourceVersion, so a mismatch means "read again". When the dry run is impossible because the namespace does not
    exist yet, the object is missing: out of sync.
    """
    metadata = manifest.get("metadata") or {}
    predicted: dict[str, Any] | None = None
    live: dict[str, Any] | None = None
    for _ in range(max(attempts, 1)):
        live = get(
            kinds,
            api_version=str(manifest.get("apiVersion", "")),
            kind=str(manifest.get("kind", "")),
            name=str(metadata.get("name", "")),
            namespace=metadata.get("namespace"),
        )
        try:
            predicted = apply(kinds, manifest=diffs.with_rollout_selector(manifest, live), dry_run=True)
        except errors.NotFound:
            if live is not None:
                raise
            return diffs.compare(live=None, desired=manifest)
        if live is None or resource_version(live) == resource_version(predicted):
            break
    return diffs.compare(live=live, desired=diffs.with_rollout_selector(manifest, live), predicted=predicted)


def resource_version(obj: Mapping[str, Any]) -> str | None:
    version = (obj.get("metadata") or {}).get("resourceVersion")
    return str(version) if version is not None else None


# -- plumbing --------------------------------------------------------------------------------------------------


def _resource(kinds: discovery.Discovery, manifest: Mapping[str, Any]) -> Any:
    return kinds.resource(api_version=str(manifest.get("apiVersion", "")), kind=str(manifest.get("kind", "")))


def _plain(_client: Any, data: Any) -> Any:
    return data


@errors.translated
def _call(method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    answer = method(*args, serializer=_plain, **kwargs)
    return dict(answer) if isinstance(answer, Mapping) else {}
