"""waves.plan_sync builds Argo CD's task list: phases, hooks, waves, kind order, names, dependencies, prune."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollouts.core import waves
from rollouts.model import application as model
from tests.core.sync_sim import T0, desired, namespaced, obj, spec, start

PRE, SYNC, POST, FAIL = (
    model.SyncPhase.PRE_SYNC,
    model.SyncPhase.SYNC,
    model.SyncPhase.POST_SYNC,
    model.SyncPhase.SYNC_FAIL,
)


def plan(
    *manifests: dict[str, Any],
    live: list[dict[str, Any]] | None = None,
    app: model.ApplicationSpec | None = None,
    state: model.OperationState | None = None,
) -> waves.SyncPlan:
    return waves.plan_sync(
        desired=desired(*manifests),
        live=live or [],
        spec=app or spec(),
        state=state or start(),
        namespaced=namespaced,
    )


def order(result: waves.SyncPlan) -> list[tuple[str, str, int, str]]:
    return [(task.phase.value, task.key.kind, task.wave, task.key.name) for task in result.tasks]


# --------------------------------------------------------------------------------------------------
# Sort order: phase, wave, kind, name


def test_phase_then_wave_then_kind_then_name() -> None:
    result = plan(
        obj("Job", "smoke", hook="PostSync"),
        obj("Deployment", "web", wave=1),
        obj("ConfigMap", "b"),
        obj("ConfigMap", "a"),
        obj("Service", "web"),
        obj("Job", "migrate", hook="PreSync", wave=5),
        obj("Job", "cleanup", hook="SyncFail"),
        obj("Secret", "creds", wave=-2),
    )
    assert order(result) == [
        ("PreSync", "Job", 5, "migrate"),
        ("Sync", "Secret", -2, "creds"),
        ("Sync", "ConfigMap", 0, "a"),
        ("Sync", "ConfigMap", 0, "b"),
        ("Sync", "Service", 0, "web"),
        ("Sync", "Deployment", 1, "web"),
        ("PostSync", "Job", 0, "smoke"),
        ("SyncFail", "Job", 0, "cleanup"),
    ]


def test_kind_order_is_argos_list_and_unknown_kinds_go_last() -> None:
    kinds = [
        "Ingress",
        "Rollout",
        "Job",
        "Deployment",
        "Service",
        "ClusterRole",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "PersistentVolumeClaim",
        "Widget",
    ]
    manifests = []
    for kind in kinds:
        version = {
            "Rollout": "argoproj.io/v1alpha1",
            "Widget": "example.com/v1",
            "ClusterRole": "rbac.authorization.k8s.io/v1",
            "Ingress": "networking.k8s.io/v1",
        }.get(kind)
        manifests.append(obj(kind, "x", api_version=version))
    assert [task.key.kind for task in plan(*manifests).tasks] == [
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "PersistentVolumeClaim",
        "ClusterRole",
        "Service",
        "Deployment",
        "Job",
        "Ingress",
        "Rollout",
        "Widget",
    ]


def test_kind_rank_matches_argo_index_minus_length() -> None:
    assert waves.kind_rank("Namespace") == -len(waves.KIND_ORDER)
    assert waves.kind_rank("APIService") == -1
    assert waves.kind_rank("Rollout") == 0


# --------------------------------------------------------------------------------------------------
# Hooks


def test_a_hook_gets_one_task_per_type_and_skip_alone_is_not_synced() -> None:
    result = plan(
        obj("Job", "both", hook="PreSync,PostSync"),
        obj("Job", "admission", hook="Skip"),
        obj("ConfigMap", "skip-and-sync", hook="Skip,Sync"),
    )
    assert [(task.phase, task.key.name) for task in result.tasks] == [
        (PRE, "both"),
        (SYNC, "skip-and-sync"),
        (POST, "both"),
    ]
    assert [key.name for key in result.skipped] == ["admission"]


@pytest.mark.parametrize(
    ("annotations", "phases"),
    [
        pytest.param({"helm.sh/hook": "pre-install"}, [PRE], id="pre-install"),
        pytest.param({"helm.sh/hook": "pre-upgrade,post-upgrade"}, [PRE, POST], id="pre-and-post-upgrade"),
        pytest.param({"helm.sh/hook": "post-install"}, [POST], id="post-install"),
        pytest.param({"helm.sh/hook": "test"}, [], id="test-hook-ignored"),
        pytest.param({"helm.sh/hook": "pre-install", waves.ANNOTATION_HOOK: "Sync"}, [SYNC], id="argo-wins"),
    ],
)
def test_helm_hooks_map_to_argo_phases(annotations: dict[str, str], phases: list[model.SyncPhase]) -> None:
    result = plan(obj("Job", "hook", annotations=annotations))
    assert [task.phase for task in result.tasks] == phases


def test_a_helm_hook_of_no_supported_type_is_reported_and_never_pruned() -> None:
    result = plan(
        obj("Pod", "helm-test", annotations={"helm.sh/hook": "test"}),
        live=[obj("Pod", "helm-test", namespace="shop")],
    )
    assert result.tasks == ()
    assert result.warnings and "Pod/helm-test (app.yaml (document 1))" in result.warnings[0]


def test_unsupported_argo_hook_types_are_warned_about() -> None:
    result = plan(obj("Job", "pre-delete", hook="PreDelete"), obj("Job", "mixed", hook="PreDelete,PostSync"))
    assert [(task.phase, task.key.name) for task in result.tasks] == [(POST, "mixed")]
    assert len(result.warnings) == 2 and all("PreDelete is not supported" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("annotations", "policies"),
    [
        pytest.param({}, {"BeforeHookCreation"}, id="default"),
        pytest.param({waves.ANNOTATION_HOOK_DELETE_POLICY: "HookSucceeded"}, {"HookSucceeded"}, id="argo"),
        pytest.param(
            {waves.ANNOTATION_HOOK_DELETE_POLICY: "HookSucceeded,HookFailed"},
            {"HookSucceeded", "HookFailed"},
            id="two",
        ),
        pytest.param(
            {"helm.sh/hook-delete-policy": "hook-succeeded,before-hook-creation"},
            {"HookSucceeded", "BeforeHookCreation"},
            id="helm",
        ),
        pytest.param(
            {
                waves.ANNOTATION_HOOK_DELETE_POLICY: "HookFailed",
                "helm.sh/hook-delete-policy": "hook-succeeded",
            },
            {"HookSucceeded", "HookFailed"},
            id="argo-and-helm-together",
        ),
    ],
)
def test_hook_delete_policies(annotations: dict[str, str], policies: set[str]) -> None:
    [task] = plan(obj("Job", "hook", hook="PreSync", annotations=annotations)).tasks
    assert {policy.value for policy in task.delete_policies} == policies


def test_generate_name_hooks_get_a_name_stable_per_operation_and_phase() -> None:
    state = start(revision="5baed560abcdef")
    hook = obj("Job", "", generate_name="schema-migrate-", hook="PreSync,PostSync")
    first = plan(hook, state=state)
    again = plan(hook, state=model.OperationState.from_dict(state.to_dict()))
    names = [task.key.name for task in first.tasks]
    unix = int(T0.timestamp())
    assert names == [f"schema-migrate-5baed56-presync-{unix}", f"schema-migrate-5baed56-postsync-{unix}"]
    assert [task.key.name for task in again.tasks] == names
    later = plan(
        hook,
        state=start(revision="5baed560abcdef").__class__.from_dict(
            {**state.to_dict(), "startedAt": "2026-01-01T13:00:00Z"}
        ),
    )
    assert [task.key.name for task in later.tasks] != names


def test_generated_hook_names_fit_in_63_characters() -> None:
    name = waves.hook_name(generate_name="a" * 80 + "-", revision="0123456789", phase=PRE, started_at=T0)
    assert len(name) == 63 and name.endswith(f"a0123456-presync-{int(T0.timestamp())}")


def test_hooks_are_stamped_with_the_attempt_and_phase_and_held_by_a_finalizer() -> None:
    state = start()
    [task] = plan(obj("Job", "migrate", hook="PreSync"), state=state).tasks
    assert task.manifest is not None
    metadata = task.manifest["metadata"]
    assert metadata["annotations"][waves.ANNOTATION_SYNC_ID] == f"{int(T0.timestamp())}-0/PreSync"
    assert metadata["finalizers"] == [waves.HOOK_FINALIZER]
    assert metadata["namespace"] == "shop"


def test_hooks_are_left_out_of_apply_strategy_and_selective_syncs() -> None:
    manifests = (obj("Job", "migrate", hook="PreSync"), obj("ConfigMap", "a"), obj("ConfigMap", "b"))
    apply_only = plan(*manifests, state=start(strategy=model.SyncStrategy.APPLY))
    assert [task.key.name for task in apply_only.tasks] == ["a", "b"]
    selective = plan(*manifests, state=start(resources=(model.ResourceRef(kind="ConfigMap", name="b"),)))
    assert [task.key.name for task in selective.tasks] == ["b"]


# --------------------------------------------------------------------------------------------------
# Waves and per-object options


@pytest.mark.parametrize(
    ("annotations", "wave"),
    [
        pytest.param({}, 0, id="default"),
        pytest.param({waves.ANNOTATION_SYNC_WAVE: "-3"}, -3, id="negative"),
        pytest.param({"helm.sh/hook-weight": "7"}, 7, id="helm-weight"),
        pytest.param({"helm.sh/hook-weight": "7", waves.ANNOTATION_SYNC_WAVE: "2"}, 2, id="sync-wave-wins"),
    ],
)
def test_wave_annotation_with_helm_weight_fallback(annotations: dict[str, str], wave: int) -> None:
    [task] = plan(obj("ConfigMap", "a", annotations=annotations)).tasks
    assert task.wave == wave and task.error is None


def test_a_wave_that_is_not_an_integer_is_an_error_naming_file_and_object() -> None:
    [task] = plan(obj("ConfigMap", "a", annotations={waves.ANNOTATION_SYNC_WAVE: "first"})).tasks
    assert task.error == "annotation argocd.argoproj.io/sync-wave='first' must be an integer"
    assert task.label == "ConfigMap/a (app.yaml (document 1))"


def test_validate_false_per_object_and_per_application() -> None:
    result = plan(
        obj("ConfigMap", "a", annotations={waves.ANNOTATION_SYNC_OPTIONS: "Validate=false"}),
        obj("ConfigMap", "b"),
    )
    assert [task.validate for task in result.tasks] == [False, True]
    result = plan(obj("ConfigMap", "b"), app=spec(options=["Validate=false"]))
    assert [task.validate for task in result.tasks] == [False]


# --------------------------------------------------------------------------------------------------
# Namespaces, kinds, names


def test_namespaced_objects_get_the_destination_namespace_and_cluster_scoped_ones_none() -> None:
    result = plan(
        obj("ConfigMap", "mine"),
        obj("ConfigMap", "theirs", namespace="other"),
        obj("Namespace", "other", namespace="ignored"),
    )
    keys = {task.key.name: task.key.namespace for task in result.tasks}
    assert keys == {"mine": "shop", "theirs": "other", "other": ""}
    manifests = {task.key.name: task.manifest for task in result.tasks}
    assert manifests["mine"] is not None and manifests["mine"]["metadata"]["namespace"] == "shop"
    assert manifests["other"] is not None and "namespace" not in manifests["other"]["metadata"]


def test_without_any_namespace_the_object_fails() -> None:
    [task] = plan(obj("ConfigMap", "a"), app=spec(namespace="")).tasks
    assert task.error == "has no namespace and spec.destination.namespace is not set"


def test_an_unknown_kind_fails_unless_its_crd_comes_with_the_sync_or_dry_run_is_skipped() -> None:
    crd = obj(
        "CustomResourceDefinition",
        "gadgets.example.com",
        api_version="apiextensions.k8s.io/v1",
        spec={"group": "example.com", "names": {"kind": "Gadget"}, "scope": "Cluster"},
    )
    unknown = plan(obj("Gadget", "g", api_version="example.com/v1"))
    assert unknown.tasks[0].error == (
        "the API server does not know kind Gadget in example.com/v1 (is its CRD installed?)"
    )
    with_crd = plan(crd, obj("Gadget", "g", api_version="example.com/v1"))
    gadget = next(task for task in with_crd.tasks if task.key.kind == "Gadget")
    assert (gadget.error, gadget.kind_pending, gadget.key.namespace) == (None, True, "")
    skipped = plan(
        obj(
            "Gadget",
            "g",
            api_version="example.com/v1",
            annotations={waves.ANNOTATION_SYNC_OPTIONS: "SkipDryRunOnMissingResource=true"},
        )
    )
    assert (skipped.tasks[0].error, skipped.tasks[0].skip_dry_run) == (None, True)


def test_an_object_defined_twice_fails_naming_both_places() -> None:
    result = waves.plan_sync(
        desired=[
            *desired(obj("ConfigMap", "a"), file="one.yaml"),
            *desired(obj("ConfigMap", "x"), obj("ConfigMap", "a"), file="two.yaml"),
        ],
        live=[],
        spec=spec(),
        state=start(),
        namespaced=namespaced,
    )
    [first] = [task for task in result.tasks if task.key.name == "a"]
    assert first.error == "defined twice: in one.yaml (document 1) and in two.yaml (document 2)"


def test_objects_without_kind_are_plan_errors_and_generate_name_is_for_hooks_only() -> None:
    result = plan({"apiVersion": "v1", "metadata": {"name": "x"}}, obj("ConfigMap", "", generate_name="cm-"))
    assert result.errors == ("app.yaml (document 1): apiVersion and kind are required",)
    assert result.tasks[0].error == "metadata.name is required (generateName is only supported for hooks)"


# --------------------------------------------------------------------------------------------------
# Namespace and CRD adjustment


def test_a_namespace_moves_before_the_first_object_in_it_taking_its_phase_and_wave() -> None:
    result = plan(
        obj("Namespace", "payments", wave=5),
        obj("ConfigMap", "cfg", namespace="payments", wave=-1),
        obj("Job", "migrate", namespace="payments", hook="PreSync"),
    )
    assert order(result) == [
        ("PreSync", "Namespace", 0, "payments"),
        ("PreSync", "Job", 0, "migrate"),
        ("Sync", "ConfigMap", -1, "cfg"),
    ]
    assert result.tasks[0].moved


def test_a_crd_moves_before_the_first_object_of_its_kind() -> None:
    result = plan(
        obj(
            "CustomResourceDefinition",
            "widgets.example.com",
            api_version="apiextensions.k8s.io/v1",
            wave=3,
            spec={"group": "example.com", "names": {"kind": "Widget"}, "scope": "Namespaced"},
        ),
        obj("Widget", "w", api_version="example.com/v1", wave=1),
        obj("ConfigMap", "later", wave=2),
    )
    assert order(result) == [
        ("Sync", "CustomResourceDefinition", 1, "widgets.example.com"),
        ("Sync", "Widget", 1, "w"),
        ("Sync", "ConfigMap", 2, "later"),
    ]


def test_create_namespace_adds_an_untracked_presync_namespace_with_managed_metadata() -> None:
    app = spec(options=["CreateNamespace=true"])
    app = model.ApplicationSpec(
        source=app.source,
        destination=app.destination,
        sync_policy=model.SyncPolicy(
            sync_options=app.sync_policy.sync_options,
            managed_namespace_metadata=model.ManagedNamespaceMetadata(labels={"team": "shop"}),
        ),
    )
    [namespace, config] = plan(obj("ConfigMap", "a"), app=app).tasks
    assert (namespace.auto_namespace, namespace.phase, namespace.key.name) == (True, PRE, "shop")
    assert namespace.manifest == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"team": "shop"}},
    }
    assert config.key.name == "a"
    # A Namespace from Git is used as is.
    assert [task.auto_namespace for task in plan(obj("Namespace", "shop"), app=app).tasks] == [False]


# --------------------------------------------------------------------------------------------------
# Prune tasks


def tracked(kind: str, name: str, **kwargs: Any) -> dict[str, Any]:
    return obj(kind, name, namespace=kwargs.pop("namespace", "shop"), **kwargs)


def test_live_objects_that_left_git_become_prune_tasks_but_hooks_and_the_destination_namespace_do_not() -> (
    None
):
    result = plan(
        obj("ConfigMap", "kept"),
        live=[
            tracked("ConfigMap", "kept"),
            tracked("ConfigMap", "gone"),
            tracked("Job", "old-hook", hook="PreSync"),
            obj("Namespace", "shop"),
            tracked("Secret", "keep-me", annotations={waves.ANNOTATION_SYNC_OPTIONS: "Prune=false"}),
        ],
    )
    prunes = {task.key.name: task.prune_disabled for task in result.tasks if task.prune}
    assert prunes == {"gone": False, "keep-me": True}


def test_prune_waves_are_mirrored_so_the_highest_wave_is_pruned_first() -> None:
    result = plan(
        obj("ConfigMap", "desired", wave=1),
        live=[
            tracked("ConfigMap", "w0", wave=0),
            tracked("ConfigMap", "w1", wave=1),
            tracked("ConfigMap", "w5", wave=5),
        ],
    )
    prunes = {task.key.name: (task.wave, task.original_wave) for task in result.tasks if task.prune}
    assert prunes == {"w0": (5, 0), "w1": (1, 1), "w5": (0, 5)}
    assert [task.key.name for task in result.tasks] == ["w5", "desired", "w1", "w0"]


def test_prune_last_moves_prune_tasks_after_the_last_sync_wave() -> None:
    live = [
        tracked("ConfigMap", "old"),
        tracked("ConfigMap", "own", annotations={waves.ANNOTATION_SYNC_OPTIONS: "PruneLast=true"}),
    ]
    result = plan(obj("Deployment", "web", wave=3), obj("Job", "smoke", hook="PostSync"), live=live)
    assert {task.key.name: task.wave for task in result.tasks if task.prune} == {"old": 0, "own": 4}
    everything = plan(obj("Deployment", "web", wave=3), live=live, app=spec(options=["PruneLast=true"]))
    assert {task.key.name: task.wave for task in everything.tasks if task.prune} == {"old": 4, "own": 4}
    assert everything.tasks[-1].prune


def test_replanning_after_some_prunes_keeps_the_mirrored_waves() -> None:
    state = start(prune=True)
    live = [tracked("ConfigMap", "w0", wave=0), tracked("ConfigMap", "w5", wave=5)]
    before = {task.key.name: task.wave for task in plan(live=live, state=state).tasks}
    pruned = model.ResourceResult(
        kind="ConfigMap",
        name="w5",
        version="v1",
        namespace="shop",
        status=model.ResultCode.PRUNED,
        hook_phase=model.OperationPhase.SUCCEEDED,
        sync_phase=SYNC,
        sync_wave=0,
        original_wave=5,
    )
    after_state = model.OperationState.from_dict(
        {**state.to_dict(), "syncResult": {"revision": "r", "resources": [pruned.to_dict()]}}
    )
    after = {task.key.name: task.wave for task in plan(live=live[:1], state=after_state).tasks}
    assert before == after == {"w0": 5, "w5": 0}


# --------------------------------------------------------------------------------------------------
# Property: a total order that respects phase < wave < kind < name and the dependencies

KINDS = ["ConfigMap", "Secret", "Service", "Deployment", "Job", "Widget", "Namespace", "ServiceAccount"]
NAMESPACES = ["shop", "pay", "ops"]


@st.composite
def manifest_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=18))
    manifests = []
    for index in range(count):
        kind = draw(st.sampled_from(KINDS))
        name = f"{draw(st.sampled_from(['a', 'b', 'c']))}{index}"
        hook = draw(
            st.sampled_from(
                [None, None, None, "PreSync", "PostSync", "Sync", "PreSync,PostSync", "Skip", "SyncFail"]
            )
        )
        wave = draw(st.integers(min_value=-2, max_value=2))
        version = "example.com/v1" if kind == "Widget" else None
        if kind == "Namespace":
            manifests.append(
                obj(
                    "Namespace",
                    draw(st.sampled_from(NAMESPACES)) + str(index % 2),
                    wave=wave,
                    hook=hook if hook != "Skip" else None,
                )
            )
        else:
            manifests.append(
                obj(
                    kind,
                    name,
                    api_version=version,
                    namespace=draw(st.sampled_from(NAMESPACES)) + str(index % 2),
                    wave=wave,
                    hook=hook,
                )
            )
    if draw(st.booleans()):
        manifests.append(
            obj(
                "CustomResourceDefinition",
                "widgets.example.com",
                api_version="apiextensions.k8s.io/v1",
                wave=draw(st.integers(-2, 2)),
                spec={"group": "example.com", "names": {"kind": "Widget"}, "scope": "Namespaced"},
            )
        )
    return manifests


def _namespaces_unique(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for manifest in manifests:
        key = (manifest["kind"], manifest["metadata"].get("name", ""))
        if manifest["kind"] == "Namespace" and key in seen:
            continue
        seen.add(key)
        unique.append(manifest)
    return unique


@settings(max_examples=300, deadline=None)
@given(manifest_sets(), st.randoms(use_true_random=False))
def test_order_is_total_and_respects_phase_wave_kind_name_and_dependencies(
    manifests: list[dict[str, Any]], rng: random.Random
) -> None:
    manifests = _namespaces_unique(manifests)
    result = plan(*manifests)
    tasks = result.tasks
    # Phase and wave never go backwards, moved dependencies included.
    steps = [task.step for task in tasks]
    assert steps == sorted(steps)
    # Everything not moved by the dependency rules is in (phase, wave, kind, name) order.
    unmoved = [task.sort_key for task in tasks if not task.moved]
    assert unmoved == sorted(unmoved)
    # Every Namespace precedes the objects in it; every CRD the objects of its kind.
    position = {task.id: index for index, task in enumerate(tasks)}
    for task in tasks:
        if task.key.kind == "Namespace":
            inside = [other for other in tasks if other.key.namespace == task.key.name]
            assert all(position[task.id] < position[other.id] for other in inside)
        if task.key.kind == "CustomResourceDefinition":
            widgets = [other for other in tasks if other.key.kind == "Widget"]
            assert all(position[task.id] < position[other.id] for other in widgets)
    # Total: the input order does not matter.
    shuffled = list(manifests)
    rng.shuffle(shuffled)
    assert [task.id for task in plan(*shuffled).tasks] == [task.id for task in tasks]


@settings(max_examples=100, deadline=None)
@given(manifest_sets())
def test_planning_is_deterministic_across_a_status_round_trip(manifests: list[dict[str, Any]]) -> None:
    manifests = _namespaces_unique(manifests)
    state = start()
    restored = model.OperationState.from_dict(state.to_dict())
    assert plan(*manifests, state=state) == plan(*manifests, state=restored)


def test_started_at_is_second_precision_for_stable_names() -> None:
    state = start()
    assert state.started_at == T0 and state.started_at.microsecond == 0
    assert isinstance(state.started_at, datetime.datetime)
