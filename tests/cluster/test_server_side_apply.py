"""Server-side apply on the real API server: dry runs change nothing; rollwave is the field manager; unknown kinds
are named (and found once their CRD is established); tracking tells rollwave's objects from look-alikes, so prune
deletes only those; drift is a changed managed field, never a server default or another manager's field."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.kube import apply, client, discovery, errors
from tests.support import kube
from tests.support.rollouts import rollout_manifest

APP: dict[str, Any] = {"app_namespace": "delivery", "app_name": "shop"}


@pytest.fixture(scope="module")
def kinds(dev_cluster: devcluster.DevCluster) -> discovery.Discovery:
    return discovery.Discovery(client.load().api)


def configmap(name: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {"k": "v"}}


def deployment(name: str, *, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": "web", "image": "shop:1.0", "ports": [{"containerPort": 8080}]}]
                },
            },
        },
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def prepared(
    kinds: discovery.Discovery, manifest: dict[str, Any], namespace: str, **app: str
) -> dict[str, Any]:
    return apply.prepare(kinds, manifest=manifest, default_namespace=namespace, **{**APP, **app})


def live(kinds: discovery.Discovery, manifest: dict[str, Any]) -> dict[str, Any] | None:
    metadata = manifest["metadata"]
    return apply.get(
        kinds,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        name=metadata["name"],
        namespace=metadata.get("namespace"),
    )


@pytest.fixture
def extra_namespace(dev_cluster: devcluster.DevCluster, namespace: str) -> Iterator[str]:
    name = f"{namespace}-x"[:63]
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def test_a_dry_run_changes_nothing_and_apply_creates_as_rollwave(
    crds: None, kinds: discovery.Discovery, namespace: str, extra_namespace: str
) -> None:
    manifests = [
        prepared(kinds, m, namespace)
        for m in (
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": extra_namespace, "namespace": "ignored"},
            },
            configmap("settings"),
            deployment("web"),
            rollout_manifest("canary", replicas=1, steps=[{"setWeight": 50}, {"pause": {}}], services=False),
        )
    ]
    assert "namespace" not in manifests[0]["metadata"]  # cluster-scoped: the namespace is dropped
    assert {m["metadata"].get("namespace") for m in manifests[1:]} == {namespace}

    for manifest in manifests:
        answer = apply.apply(kinds, manifest=manifest, dry_run=True)
        assert answer["metadata"]["name"] == manifest["metadata"]["name"]
    assert [live(kinds, m) for m in manifests] == [None, None, None, None]

    for manifest in manifests:
        apply.apply(kinds, manifest=manifest)
    for manifest in manifests:
        stored = live(kinds, manifest)
        assert stored is not None, manifest["metadata"]["name"]
        managers = {(f["manager"], f["operation"]) for f in stored["metadata"]["managedFields"]}
        assert ("rollwave", "Apply") in managers
        assert stored["metadata"]["labels"][apply.APP_LABEL] == "delivery.shop"
        assert apply.is_tracked(stored, **APP)
    rollout = live(kinds, manifests[3])
    assert rollout is not None and rollout["spec"]["strategy"]["canary"]["steps"][0] == {"setWeight": 50}


def test_an_unknown_kind_is_named(kinds: discovery.Discovery, namespace: str) -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": namespace},
    }
    typo = {"apiVersion": "v1", "kind": "ConfigMop", "metadata": {"name": "c", "namespace": namespace}}

    with pytest.raises(discovery.UnknownKind) as unknown:
        apply.apply(kinds, manifest=widget)
    with pytest.raises(discovery.UnknownKind) as misspelt:
        prepared(kinds, typo, namespace)

    assert str(unknown.value) == (
        "the API server has no resource for kind Widget in apiVersion example.com/v1 "
        "(is its CustomResourceDefinition installed and established?)"
    )
    assert (unknown.value.api_version, unknown.value.kind) == ("example.com/v1", "Widget")
    assert str(misspelt.value) == "the API server has no resource for kind ConfigMop in apiVersion v1"


def test_a_crd_applied_in_the_same_sync_is_found_once_established(
    kinds: discovery.Discovery, namespace: str
) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.rollwave.test"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                            },
                        }
                    },
                }
            ],
        },
    }
    gadget = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {"size": 3}}
    # The first lookup happens before the CRD exists, so the kind is not in the discovery cache.
    with pytest.raises(discovery.UnknownKind):
        prepared(kinds, gadget, namespace)
    try:
        apply.apply(kinds, manifest=prepared(kinds, crd, namespace))
        kube.wait_for(
            lambda: apply.is_established(live(kinds, crd) or {}), timeout=30, what="the CRD to be established"
        )

        def resolved() -> bool:
            try:
                kinds.resolve(api_version=f"{group}/v1", kind="Gadget")
            except discovery.UnknownKind:
                return False
            return True

        # A miss re-reads discovery by itself; the API server may take a moment to serve a new group.
        kube.wait_for(resolved, timeout=30, what="discovery to serve the new kind")
        stored = apply.apply(kinds, manifest=prepared(kinds, gadget, namespace))
        assert stored["spec"] == {"size": 3}
        kinds.refresh()  # an explicit re-read finds it too
        assert kinds.resolve(api_version=f"{group}/v1", kind="Gadget").plural == "gadgets"
    finally:
        kube.kubectl("delete", "crd", f"gadgets.{group}", "--wait=false", "--ignore-not-found", check=False)


def test_tracking_tells_rollwaves_objects_from_look_alikes(
    kinds: discovery.Discovery, namespace: str
) -> None:
    # An Application of its own, so other tests' objects (in namespaces still being deleted) do not show up.
    app: dict[str, Any] = {"app_namespace": "delivery", "app_name": f"shop-{uuid.uuid4().hex[:6]}"}
    mine = prepared(kinds, configmap("mine"), namespace, **app)
    apply.apply(kinds, manifest=mine)
    apply.apply(kinds, manifest=prepared(kinds, deployment("web"), namespace, **app))
    # Same name pattern, created by hand: no mark.
    kube.apply(configmap("theirs"), namespace=namespace)
    # A copy of a tracked object under another name keeps the label and annotation, but they name "mine".
    copy = json.loads(json.dumps(mine))
    copy["metadata"]["name"] = "copied"
    kube.apply(copy, namespace=namespace)
    # Another Application's object.
    apply.apply(kinds, manifest=prepared(kinds, configmap("other-app"), namespace, app_name="payments"))

    objects = {
        name: live(kinds, {**configmap(name), "metadata": {"name": name, "namespace": namespace}})
        for name in ("mine", "theirs", "copied", "other-app")
    }
    assert {name: apply.is_tracked(obj or {}, **app) for name, obj in objects.items()} == {
        "mine": True,
        "theirs": False,
        "copied": False,
        "other-app": False,
    }
    assert apply.tracking_owner(objects["mine"] or {}) == ("delivery", app["app_name"])
    assert apply.tracking_owner(objects["other-app"] or {}) == ("delivery", "payments")
    assert apply.tracking_owner(objects["copied"] or {}) is None
    assert apply.tracking_owner(objects["theirs"] or {}) is None

    listed = apply.list_tracked(
        kinds, **app, types=[("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Pod")]
    )
    assert [(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in listed] == [
        ("apps/v1", "Deployment", "web"),
        ("v1", "ConfigMap", "mine"),
    ]
    scanned = apply.list_tracked(kinds, **app, namespace=namespace)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in scanned) == [
        ("ConfigMap", "mine"),
        ("Deployment", "web"),
    ]


def test_prune_deletes_only_what_rollwave_created_for_the_application(
    kinds: discovery.Discovery, namespace: str
) -> None:
    apply.apply(kinds, manifest=prepared(kinds, configmap("mine"), namespace))
    kube.apply(configmap("theirs"), namespace=namespace)
    theirs = kube.get("configmap", "theirs", namespace=namespace)
    mine = kube.get("configmap", "mine", namespace=namespace)
    assert theirs is not None and mine is not None

    with pytest.raises(apply.NotTracked) as refused:
        apply.prune(kinds, live=theirs, **APP)
    with pytest.raises(apply.NotTracked):
        apply.prune(kinds, live=mine, app_namespace="delivery", app_name="payments")

    assert str(refused.value) == (
        f"refusing to prune ConfigMap {namespace}/theirs: it is not marked as created by Application "
        "delivery/shop (rollwave.dev/tracking-id)"
    )
    assert apply.prune(kinds, live=mine, **APP, dry_run=True) is True
    assert kube.get("configmap", "mine", namespace=namespace) is not None
    assert apply.prune(kinds, live=mine, **APP) is True
    kube.wait_for(
        lambda: kube.get("configmap", "mine", namespace=namespace) is None, timeout=30, what="prune"
    )
    assert kube.get("configmap", "theirs", namespace=namespace) is not None
    assert apply.prune(kinds, live=mine, **APP) is False  # already gone


def test_prune_leaves_a_replacement_with_the_same_name(kinds: discovery.Discovery, namespace: str) -> None:
    apply.apply(kinds, manifest=prepared(kinds, configmap("settings"), namespace))
    stale = kube.get("configmap", "settings", namespace=namespace)
    assert stale is not None
    kube.kubectl("delete", "configmap", "settings", "-n", namespace)
    apply.apply(kinds, manifest=prepared(kinds, configmap("settings", {"k": "new"}), namespace))

    assert apply.prune(kinds, live=stale, **APP) is False
    replacement = kube.get("configmap", "settings", namespace=namespace)
    assert replacement is not None and replacement["data"] == {"k": "new"}


def test_drift_is_a_changed_managed_field_not_a_default(
    crds: None, kinds: discovery.Discovery, namespace: str
) -> None:
    manifests = [
        prepared(kinds, m, namespace)
        for m in (
            configmap("settings"),
            deployment("web", replicas=2),
            service("web"),
            rollout_manifest("canary", replicas=1, steps=[{"setWeight": 50}, {"pause": {}}], services=False),
        )
    ]
    for manifest in manifests:
        apply.apply(kinds, manifest=manifest)
    # Defaults (clusterIP, strategy, imagePullPolicy, ...) and controllers' writes (the Deployment's revision
    # annotation, status) are not drift.
    for manifest in manifests:
        comparison = apply.diff(kinds, manifest=manifest)
        assert comparison.in_sync, comparison.diff
    stored_service = live(kinds, manifests[2])
    assert stored_service is not None and stored_service["spec"]["clusterIP"]

    # Another manager's label on a field Git does not set is not drift either.
    kube.kubectl("label", "configmap", "settings", "-n", namespace, "team=payments")
    assert apply.diff(kinds, manifest=manifests[0]).in_sync

    # A manual edit of a field rollwave applied is.
    kube.kubectl(
        "patch", "deployment", "web", "-n", namespace, "--type=merge", "-p", '{"spec":{"replicas":5}}'
    )
    kube.kubectl(
        "patch", "configmap", "settings", "-n", namespace, "--type=merge", "-p", '{"data":{"k":"edited"}}'
    )
    drifted = apply.diff(kinds, manifest=manifests[1])
    assert not drifted.in_sync
    lines = drifted.diff.splitlines()
    assert lines[:2] == [
        f"--- live apps/Deployment {namespace}/web",
        f"+++ desired apps/Deployment {namespace}/web",
    ]
    assert lines.index("-  replicas: 5") + 1 == lines.index("+  replicas: 2")
    assert "-  k: edited" in apply.diff(kinds, manifest=manifests[0]).diff.splitlines()

    # Self-heal: applying again (forcing the conflict with kubectl's manager) removes the drift.
    apply.apply(kinds, manifest=manifests[1])
    apply.apply(kinds, manifest=manifests[0])
    assert apply.diff(kinds, manifest=manifests[1]).in_sync
    healed = live(kinds, manifests[0])
    assert healed is not None and healed["data"] == {"k": "v"}
    assert healed["metadata"]["labels"]["team"] == "payments"


def test_a_field_removed_from_git_is_drift_and_goes_on_apply(
    kinds: discovery.Discovery, namespace: str
) -> None:
    apply.apply(kinds, manifest=prepared(kinds, configmap("settings", {"k": "v", "old": "1"}), namespace))
    newer = prepared(kinds, configmap("settings", {"k": "v"}), namespace)

    comparison = apply.diff(kinds, manifest=newer)
    assert not comparison.in_sync
    assert "-  old: '1'" in comparison.diff.splitlines()

    apply.apply(kinds, manifest=newer)
    stored = live(kinds, newer)
    assert stored is not None and stored["data"] == {"k": "v"}


def test_a_missing_object_or_namespace_is_out_of_sync(kinds: discovery.Discovery, namespace: str) -> None:
    absent = apply.diff(kinds, manifest=prepared(kinds, configmap("not-yet"), namespace))
    nowhere = apply.diff(kinds, manifest=prepared(kinds, configmap("c"), f"{namespace}-none"[:63]))

    assert not absent.in_sync and absent.live is None
    assert absent.diff.splitlines()[:2] == ["--- /dev/null", f"+++ desired ConfigMap {namespace}/not-yet"]
    assert not nowhere.in_sync and nowhere.live is None


def test_conflicts_are_forced_unless_told_otherwise(kinds: discovery.Discovery, namespace: str) -> None:
    manifest = prepared(kinds, configmap("settings", {"k": "v"}), namespace)
    apply.apply(kinds, manifest=manifest)
    kube.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=someone-else",
        "-n",
        namespace,
        "-f",
        "-",
        input_text=json.dumps(configmap("settings", {"k": "theirs"})),
    )

    with pytest.raises(errors.Conflict) as conflict:
        apply.apply(kinds, manifest=manifest, force=False)
    assert 'conflict with "someone-else"' in conflict.value.message and ".data.k" in conflict.value.message

    apply.apply(kinds, manifest=manifest)
    stored = live(kinds, manifest)
    assert stored is not None and stored["data"] == {"k": "v"}


@pytest.mark.parametrize("validate", [True, False], ids=["strict", "validate-false"])
def test_a_field_the_schema_does_not_declare_is_invalid(
    crds: None, kinds: discovery.Discovery, namespace: str, validate: bool
) -> None:
    # Server-side apply needs every field in the schema, so even Validate=false cannot let one through.
    cm = prepared(kinds, {**configmap("settings"), "bogus": {"x": 1}}, namespace)
    rollout = rollout_manifest("canary", replicas=1, steps=[], services=False)
    rollout["spec"]["bogus"] = 1

    with pytest.raises(errors.Invalid) as invalid:
        apply.apply(kinds, manifest=cm, validate=validate)
    with pytest.raises(errors.Invalid) as invalid_custom:
        apply.apply(kinds, manifest=prepared(kinds, rollout, namespace), validate=validate)

    assert ".bogus: field not declared in schema" in invalid.value.message
    assert ".spec.bogus: field not declared in schema" in invalid_custom.value.message
    assert live(kinds, cm) is None


def test_an_object_without_a_name_is_refused(kinds: discovery.Discovery, namespace: str) -> None:
    hook = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"generateName": "hook-", "namespace": namespace},
    }

    with pytest.raises(errors.Invalid) as caught:
        apply.apply(kinds, manifest=hook)

    assert caught.value.message == f"ConfigMap {namespace}/: server-side apply needs metadata.name"


def test_a_namespace_that_does_not_exist_is_a_clear_error(kinds: discovery.Discovery, namespace: str) -> None:
    missing = f"{namespace}-missing"[:63]

    with pytest.raises(errors.NotFound) as caught:
        apply.apply(kinds, manifest=prepared(kinds, configmap("settings"), missing))

    assert caught.value.message == f'namespaces "{missing}" not found'


def test_create_namespace(kinds: discovery.Discovery, extra_namespace: str) -> None:
    assert apply.ensure_namespace(kinds, name=extra_namespace) is True
    assert apply.ensure_namespace(kinds, name=extra_namespace) is False
    assert apply.ensure_namespace(kinds, name=extra_namespace, labels={"env": "prod"}) is False

    stored = kube.get("namespace", extra_namespace)
    assert stored is not None and stored["metadata"]["labels"]["env"] == "prod"
    assert not apply.is_tracked(stored, **APP)  # never pruned


def test_delete_with_foreground_and_background_propagation(
    kinds: discovery.Discovery, namespace: str
) -> None:
    for name in ("front", "back"):
        apply.apply(kinds, manifest=prepared(kinds, deployment(name, replicas=1), namespace))
    kube.wait_for(
        lambda: len(kube.list_objects("replicasets", namespace=namespace)) == 2,
        timeout=60,
        what="ReplicaSets",
    )

    assert apply.delete(kinds, api_version="apps/v1", kind="Deployment", name="front", namespace=namespace)
    assert apply.delete(
        kinds,
        api_version="apps/v1",
        kind="Deployment",
        name="back",
        namespace=namespace,
        propagation="Background",
    )
    kube.wait_for(
        lambda: (
            kube.get("deployment", "front", namespace=namespace) is None
            and kube.get("deployment", "back", namespace=namespace) is None
        ),
        timeout=60,
        what="both Deployments gone",
    )
    kube.wait_for(
        lambda: kube.list_objects("replicasets", namespace=namespace) == [],
        timeout=60,
        what="ReplicaSets gone",
    )
    assert not apply.delete(
        kinds, api_version="apps/v1", kind="Deployment", name="front", namespace=namespace
    )
