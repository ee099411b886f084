"""What the `rollwave` CLI asks of the API server: connect like kubectl, read a Rollout and what it owns, write patches.

Unlike `kube.custom.patch_status`, which diffs an old status against a new one (the controller's single write), the
CLI's status patches SET fields whatever their old value (`{"abort": true}`), exactly as Argo's kubectl plugin
sends them, so Argo CD actions and `rollwave` interoperate. Status patches go to the `status` subresource and fall
back to the main resource when the subresource does not exist (a CRD installed without it), as Argo's plugin does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, cast

import kubernetes
from kubernetes.client import CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from rollouts.kube import client, custom, errors

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
_IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def _kubeconfig_path(kubeconfig: str | None) -> str | None:
    """`--kubeconfig`, else $KUBECONFIG (read now, not at import), else ~/.kube/config when it exists."""
    if kubeconfig:
        return kubeconfig
    from_env = os.environ.get("KUBECONFIG")
    if from_env:
        return from_env
    default = os.path.expanduser("~/.kube/config")
    return default if os.path.exists(default) else None


def connect(*, kubeconfig: str | None = None, context: str | None = None) -> client.Clients:
    """API clients as kubectl would build them: the kubeconfig first, in-cluster config when there is none.

    The kubernetes package reads $KUBECONFIG once, when it is imported; the path is resolved here on each call
    so that a changed environment (tests, `--kubeconfig`) is honoured.
    """
    configuration = kubernetes.client.Configuration()
    path = _kubeconfig_path(kubeconfig)
    try:
        if path is not None:
            kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path, context=context, client_configuration=configuration
            )
        else:
            kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (kubernetes.config.ConfigException, OSError) as err:
        raise errors.KubeError(f"cannot load Kubernetes configuration: {err}") from err
    api = kubernetes.client.ApiClient(configuration)
    return client.Clients(
        api=api,
        core=kubernetes.client.CoreV1Api(api),
        apps=kubernetes.client.AppsV1Api(api),
        batch=kubernetes.client.BatchV1Api(api),
        custom=kubernetes.client.CustomObjectsApi(api),
        events=kubernetes.client.EventsV1Api(api),
    )


def default_namespace(*, kubeconfig: str | None = None, context: str | None = None) -> str:
    """The namespace of the kubeconfig's current (or given) context; the Pod's own in a cluster; else "default"."""
    path = _kubeconfig_path(kubeconfig)
    if path is None:
        try:
            with open(_IN_CLUSTER_NAMESPACE, encoding="utf-8") as handle:
                return handle.read().strip() or "default"
        except OSError:
            return "default"
    try:
        contexts, current = kubernetes.config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    except (kubernetes.config.ConfigException, OSError):
        return "default"
    chosen = current
    if context is not None:
        chosen = next((entry for entry in contexts or () if entry.get("name") == context), None)
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return namespace if isinstance(namespace, str) and namespace else "default"


def get_rollout(custom_api: CustomObjectsApi, *, namespace: str, name: str) -> dict[str, Any] | None:
    return custom.get(
        custom_api, group_version=custom.ARGO, plural="rollouts", namespace=namespace, name=name
    )


@errors.translated
def list_rollouts(custom_api: CustomObjectsApi, *, namespace: str | None) -> list[dict[str, Any]]:
    """Rollouts in one namespace, or in all namespaces when `namespace` is None."""
    if namespace is None:
        listed = custom_api.list_cluster_custom_object(*custom.ARGO, "rollouts")
    else:
        listed = custom_api.list_namespaced_custom_object(*custom.ARGO, namespace, "rollouts")
    return list(cast(dict[str, Any], listed).get("items") or [])


@errors.translated
def list_owned_analysis_runs(
    custom_api: CustomObjectsApi, *, namespace: str, owner_uid: str
) -> list[dict[str, Any]]:
    """AnalysisRuns whose owner reference points at the Rollout (by uid, as the garbage collector reads it)."""
    listed = custom_api.list_namespaced_custom_object(*custom.ARGO, namespace, "analysisruns")
    return [
        run
        for run in cast(dict[str, Any], listed).get("items") or []
        if any(
            ref.get("uid") == owner_uid for ref in (run.get("metadata") or {}).get("ownerReferences") or ()
        )
    ]


@errors.translated
def patch_rollout(
    custom_api: CustomObjectsApi,
    *,
    namespace: str,
    name: str,
    body: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """A merge patch (a mapping) or a JSON patch (a list of operations) on the Rollout itself."""
    if isinstance(body, Mapping):
        content_type, payload = MERGE_PATCH, cast(Any, dict(body))
    else:
        content_type, payload = JSON_PATCH, [dict(operation) for operation in body]
    result = custom_api.patch_namespaced_custom_object(
        *custom.ARGO, namespace, "rollouts", name, payload, _content_type=content_type
    )
    return cast(dict[str, Any], result)


@errors.translated
def patch_rollout_status(
    custom_api: CustomObjectsApi, *, namespace: str, name: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge patch `body` (`{"status": {...}}`) through the status subresource.

    A 404 from /status means either no such Rollout or a CRD without the subresource; the second case is retried
    on the main resource (as Argo's plugin does), and the first then fails with NotFound there too.
    """
    try:
        result = custom_api.patch_namespaced_custom_object_status(
            *custom.ARGO, namespace, "rollouts", name, dict(body), _content_type=MERGE_PATCH
        )
    except ApiException as err:
        if err.status != 404:
            raise
        result = custom_api.patch_namespaced_custom_object(
            *custom.ARGO, namespace, "rollouts", name, dict(body), _content_type=MERGE_PATCH
        )
    return cast(dict[str, Any], result)
