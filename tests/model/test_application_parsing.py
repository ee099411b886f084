"""parse_application: Argo CD's Application shape, rollwave's defaults, every unsupported or invalid field by path,
and the status wire form round trip."""

from __future__ import annotations

import copy
import datetime
import pathlib
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rollouts.model import application, fields

INVALID = fields.IssueKind.INVALID
UNSUPPORTED = fields.IssueKind.UNSUPPORTED
UTC = datetime.UTC

# Argo CD's declarative-setup example (docs/operator-manual/declarative-setup.md shape), apiVersion changed.
ARGO_CD_DOCS_APPLICATION: dict[str, Any] = yaml.safe_load(
    """
apiVersion: rollwave.dev/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
  labels:
    name: guestbook
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
      allowEmpty: false
    syncOptions:
      - Validate=false
      - CreateNamespace=true
      - PrunePropagationPolicy=foreground
      - PruneLast=true
    retry:
      limit: 5
      backoff:
        duration: 5s
        factor: 2
        maxDuration: 3m
  revisionHistoryLimit: 10
"""
)


def app(**spec: Any) -> dict[str, Any]:
    """A minimal valid Application; keyword arguments replace (or, when None, remove) spec fields."""
    body: dict[str, Any] = {
        "apiVersion": "rollwave.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": "apps"},
        "spec": {
            "source": {"repoURL": "https://git.example/apps.git", "path": "guestbook"},
            "destination": {"namespace": "guestbook"},
        },
    }
    for key, value in spec.items():
        if value is None:
            body["spec"].pop(key, None)
        else:
            body["spec"][key] = value
    return body


def issues(body: dict[str, Any]) -> set[tuple[str, fields.IssueKind]]:
    return {(issue.path, issue.kind) for issue in application.parse_application(body).issues}


def only_issue(body: dict[str, Any]) -> fields.FieldIssue:
    found = application.parse_application(body).issues
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------------------------------
# Argo CD's shape and rollwave's defaults


def test_an_argo_cd_docs_application_parses_after_changing_its_api_version() -> None:
    parsed = application.parse_application(ARGO_CD_DOCS_APPLICATION)
    assert parsed.issues == ()
    value = parsed.require()
    assert (value.name, value.namespace) == ("guestbook", "argocd")
    assert value.spec.source == application.Source(
        repo_url="https://github.com/argoproj/argocd-example-apps.git",
        target_revision="HEAD",
        path="guestbook",
    )
    assert value.spec.destination == application.Destination(
        server="https://kubernetes.default.svc", namespace="guestbook"
    )
    policy = value.spec.sync_policy
    assert policy.automated == application.Automated(prune=True, self_heal=True, allow_empty=False)
    assert policy.sync_options == application.SyncOptions(
        create_namespace=True, prune_last=True, validate=False
    )
    assert policy.retry == application.RetryPolicy(limit=5)
    assert policy.automated_enabled


def test_the_same_manifest_with_argos_api_version_is_rejected_with_a_hint() -> None:
    body = copy.deepcopy(ARGO_CD_DOCS_APPLICATION)
    body["apiVersion"] = "argoproj.io/v1alpha1"
    issue = only_issue(body)
    assert (issue.path, issue.kind) == ("apiVersion", INVALID)
    assert issue.message == (
        "must be rollwave.dev/v1alpha1 (change argoproj.io/v1alpha1 to it) (got 'argoproj.io/v1alpha1')"
    )


def test_defaults() -> None:
    value = application.parse_application(
        app(source={"repoURL": "file:///srv/git/apps"}, destination=None)
    ).require()
    assert value.spec.source.target_revision == "HEAD"
    assert value.spec.source.path == ""
    assert value.spec.source.directory == application.DirectoryOptions()
    assert value.spec.destination == application.Destination()
    assert value.spec.project == "default"
    assert value.spec.revision_history_limit == 10
    policy = value.spec.sync_policy
    assert (policy.automated, policy.retry, policy.wave_timeout) == (
        None,
        None,
        datetime.timedelta(minutes=10),
    )
    assert policy.sync_options == application.SyncOptions()
    assert value.operation is None and value.status == application.ApplicationStatus()


def test_retry_backoff_defaults_are_argo_cds() -> None:
    retry = application.parse_application(app(syncPolicy={"retry": {}})).require().spec.sync_policy.retry
    assert retry == application.RetryPolicy(
        limit=0,
        backoff=application.Backoff(
            duration=datetime.timedelta(seconds=5), factor=2, max_duration=datetime.timedelta(minutes=3)
        ),
    )
    forever = application.parse_application(
        app(syncPolicy={"retry": {"limit": -1, "backoff": {"duration": "30", "maxDuration": "1h"}}})
    ).require()
    assert forever.spec.sync_policy.retry is not None
    assert (forever.spec.sync_policy.retry.limit, forever.spec.sync_policy.retry.backoff.duration) == (
        -1,
        datetime.timedelta(seconds=30),
    )


@pytest.mark.parametrize(
    ("raw", "timeout"),
    [
        pytest.param("90s", datetime.timedelta(seconds=90), id="seconds"),
        pytest.param("1h", datetime.timedelta(hours=1), id="hour"),
        pytest.param("0", None, id="zero-waits-forever"),
    ],
)
def test_wave_timeout(raw: str, timeout: datetime.timedelta | None) -> None:
    value = application.parse_application(app(syncPolicy={"waveTimeout": raw})).require()
    assert value.spec.sync_policy.wave_timeout == timeout


def test_directory_kustomize_inline_and_manifest_sources() -> None:
    directory = application.parse_application(
        app(
            source={
                "repoURL": "r",
                "path": "./guestbook/",
                "directory": {"recurse": True, "include": "*.yaml", "exclude": "x/*"},
            }
        )
    ).require()
    assert directory.spec.source.path == "guestbook"
    assert directory.spec.source.directory == application.DirectoryOptions(
        recurse=True, include="*.yaml", exclude="x/*"
    )
    kustomize = application.parse_application(
        app(source={"repoURL": "r", "path": "overlays/prod", "kustomize": {}})
    )
    assert kustomize.issues == () and kustomize.require().spec.source.kustomize
    inline = application.parse_application(app(source={"inline": "kind: ConfigMap\n"})).require()
    assert inline.spec.source.inline == "kind: ConfigMap\n"
    manifests = application.parse_application(app(source={"manifests": [{"kind": "ConfigMap"}]})).require()
    assert manifests.spec.source.manifests == ({"kind": "ConfigMap"},)


# --------------------------------------------------------------------------------------------------
# Destination: in-cluster only


@pytest.mark.parametrize(
    "destination",
    [
        pytest.param({"server": "https://kubernetes.default.svc"}, id="server"),
        pytest.param({"server": "https://kubernetes.default.svc/"}, id="trailing-slash"),
        pytest.param({"name": "in-cluster"}, id="name"),
        pytest.param({"namespace": "x"}, id="implied"),
    ],
)
def test_in_cluster_destinations_are_accepted(destination: dict[str, str]) -> None:
    assert application.parse_application(app(destination=destination)).issues == ()


@pytest.mark.parametrize(
    ("destination", "path", "message"),
    [
        pytest.param(
            {"server": "https://10.0.0.1:6443", "namespace": "x"},
            "spec.destination.server",
            "only the cluster rollwave runs in is supported ('https://kubernetes.default.svc' or name 'in-cluster'); "
            "got 'https://10.0.0.1:6443'",
            id="other-server",
        ),
        pytest.param(
            {"name": "production"},
            "spec.destination.name",
            "only the cluster rollwave runs in is supported ('https://kubernetes.default.svc' or name 'in-cluster'); "
            "got 'production'",
            id="other-name",
        ),
    ],
)
def test_other_clusters_are_a_clear_error(destination: dict[str, str], path: str, message: str) -> None:
    issue = only_issue(app(destination=destination))
    assert (issue.path, issue.kind, issue.message) == (path, INVALID, message)


def test_server_and_name_together_are_invalid() -> None:
    assert issues(app(destination={"server": "https://kubernetes.default.svc", "name": "in-cluster"})) == {
        ("spec.destination", INVALID)
    }


# --------------------------------------------------------------------------------------------------
# Sync options


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        pytest.param("CreateNamespace=true", {"create_namespace": True}, id="create-namespace"),
        pytest.param("PruneLast=true", {"prune_last": True}, id="prune-last"),
        pytest.param("ApplyOutOfSyncOnly=true", {"apply_out_of_sync_only": True}, id="out-of-sync-only"),
        pytest.param("ServerSideApply=true", {"server_side_apply": True}, id="server-side"),
        pytest.param("Validate=false", {"validate": False}, id="validate"),
        pytest.param(
            "PrunePropagationPolicy=background",
            {"prune_propagation_policy": application.PropagationPolicy.BACKGROUND},
            id="propagation",
        ),
    ],
)
def test_supported_sync_options_are_typed(option: str, expected: dict[str, Any]) -> None:
    parsed = application.parse_application(app(syncPolicy={"syncOptions": [option]}))
    assert parsed.issues == ()
    assert parsed.require().spec.sync_policy.sync_options == application.SyncOptions(**expected)


@pytest.mark.parametrize(
    ("option", "kind", "message"),
    [
        pytest.param("Replace=true", UNSUPPORTED, "Replace=true is not supported by rollwave", id="replace"),
        pytest.param(
            "RespectIgnoreDifferences=true",
            UNSUPPORTED,
            "RespectIgnoreDifferences=true is not supported by rollwave",
            id="respect-ignore-differences",
        ),
        pytest.param(
            "ServerSideApply=false",
            UNSUPPORTED,
            "ServerSideApply=false: rollwave always applies server-side",
            id="client-side-apply",
        ),
        pytest.param("Foo=bar", UNSUPPORTED, "unknown sync option 'Foo=bar'", id="unknown"),
        pytest.param(
            "CreateNamespace=yes",
            INVALID,
            "CreateNamespace must be CreateNamespace=true or CreateNamespace=false "
            "(got 'CreateNamespace=yes')",
            id="bad-boolean",
        ),
        pytest.param(
            "PrunePropagationPolicy=later",
            INVALID,
            "PrunePropagationPolicy must be foreground, background or orphan (got 'later')",
            id="bad-propagation",
        ),
    ],
)
def test_other_sync_options_are_reported_by_index(option: str, kind: fields.IssueKind, message: str) -> None:
    issue = only_issue(app(syncPolicy={"syncOptions": ["PruneLast=true", option]}))
    assert (issue.path, issue.kind, issue.message) == ("spec.syncPolicy.syncOptions[1]", kind, message)


def test_operation_sync_options_apply_on_top_of_the_applications() -> None:
    value = application.parse_application(
        {
            **app(syncPolicy={"syncOptions": ["PruneLast=true", "CreateNamespace=true"]}),
            "operation": {"sync": {"syncOptions": ["CreateNamespace=false", "ApplyOutOfSyncOnly=true"]}},
        }
    ).require()
    assert value.operation is not None
    options = application.effective_sync_options(value.spec, value.operation)
    assert options == application.SyncOptions(
        prune_last=True, create_namespace=False, apply_out_of_sync_only=True
    )


# --------------------------------------------------------------------------------------------------
# Unknown, unsupported and invalid fields, by path


def test_unsupported_and_unknown_fields_are_reported_by_path() -> None:
    body = app(
        sources=[{"repoURL": "r"}],
        source={
            "repoURL": "r",
            "helm": {"valueFiles": ["v.yaml"]},
            "kustomize": {"namePrefix": "p-"},
            "directory": {"jsonnet": {}},
        },
        syncPolicy={"automated": {"prune": True, "bogus": 1}},
        ignoreDifferences=[{"kind": "Deployment", "jqPathExpressions": [".spec.replicas"]}],
        project="payments",
        spekk=1,
    )
    body["operation"] = {"sync": {"revisions": ["a"], "syncStrategy": {"apply": {"force": True}}}, "extra": 1}
    assert issues(body) == {
        ("spec.sources", UNSUPPORTED),
        ("spec.spekk", UNSUPPORTED),
        ("spec.project", UNSUPPORTED),
        ("spec.source.helm", UNSUPPORTED),
        ("spec.source.kustomize.namePrefix", UNSUPPORTED),
        ("spec.source.directory.jsonnet", UNSUPPORTED),
        ("spec.source", INVALID),  # directory and kustomize together
        ("spec.syncPolicy.automated.bogus", UNSUPPORTED),
        ("spec.ignoreDifferences[0].jqPathExpressions", UNSUPPORTED),
        ("operation.extra", UNSUPPORTED),
        ("operation.sync.revisions", UNSUPPORTED),
        ("operation.sync.syncStrategy.apply.force", UNSUPPORTED),
    }


@pytest.mark.parametrize(
    ("source", "path", "message"),
    [
        pytest.param(
            {"repoURL": "r", "inline": "x"},
            "spec.source",
            "set only one of repoURL, inline or manifests (got repoURL, inline)",
            id="two-sources",
        ),
        pytest.param({"path": "x"}, "spec.source", "set one of repoURL, inline or manifests", id="no-source"),
        pytest.param(
            {"repoURL": "r", "path": "../etc"},
            "spec.source.path",
            "must be a relative path inside the repository (got '../etc')",
            id="escaping-path",
        ),
        pytest.param(
            {"repoURL": "r", "path": "/etc"},
            "spec.source.path",
            "must be a relative path inside the repository (got '/etc')",
            id="absolute-path",
        ),
        pytest.param({"repoURL": " "}, "spec.source.repoURL", "must not be empty", id="empty-url"),
    ],
)
def test_invalid_sources(source: dict[str, Any], path: str, message: str) -> None:
    issue = only_issue(app(source=source))
    assert (issue.path, issue.kind, issue.message) == (path, INVALID, message)


@pytest.mark.parametrize(
    ("policy", "path"),
    [
        pytest.param({"waveTimeout": "soon"}, "spec.syncPolicy.waveTimeout", id="wave-timeout"),
        pytest.param({"retry": {"limit": -2}}, "spec.syncPolicy.retry.limit", id="retry-limit"),
        pytest.param(
            {"retry": {"backoff": {"factor": 0}}}, "spec.syncPolicy.retry.backoff.factor", id="factor"
        ),
        pytest.param(
            {"retry": {"backoff": {"duration": "fast"}}},
            "spec.syncPolicy.retry.backoff.duration",
            id="duration",
        ),
        pytest.param({"automated": {"prune": "yes"}}, "spec.syncPolicy.automated.prune", id="boolean"),
        pytest.param(
            {"syncOptions": "CreateNamespace=true"}, "spec.syncPolicy.syncOptions", id="options-not-a-list"
        ),
    ],
)
def test_invalid_sync_policy_values(policy: dict[str, Any], path: str) -> None:
    issue = only_issue(app(syncPolicy=policy))
    assert (issue.path, issue.kind) == (path, INVALID)


def test_missing_spec_or_source() -> None:
    assert issues({"metadata": {"name": "x"}}) == {("spec", INVALID)}
    assert issues(app(source=None)) == {("spec.source", INVALID)}


def test_operation_is_parsed() -> None:
    value = application.parse_application(
        {
            **app(),
            "operation": {
                "sync": {
                    "revision": "v2",
                    "prune": True,
                    "resources": [{"kind": "Deployment", "group": "apps", "name": "web"}],
                    "syncStrategy": {"apply": {}},
                },
                "initiatedBy": {"username": "alice"},
                "retry": {"limit": 2},
            },
        }
    ).require()
    assert value.operation == application.Operation(
        sync=application.SyncOperation(
            revision="v2",
            prune=True,
            resources=(application.ResourceRef(kind="Deployment", group="apps", name="web"),),
            strategy=application.SyncStrategy.APPLY,
        ),
        initiated_by=application.InitiatedBy(username="alice"),
        retry=application.RetryPolicy(limit=2),
    )
    assert value.operation.sync.skip_hooks


# --------------------------------------------------------------------------------------------------
# Status: Argo CD's field names, a lossless round trip

CANONICAL_STATUS: dict[str, Any] = {
    "sync": {"status": "OutOfSync", "revision": "5baed56", "comparedTo": {"source": {"repoURL": "r"}}},
    "health": {
        "status": "Progressing",
        "message": "Deployment/web: waiting",
        "lastTransitionTime": "2026-01-01T12:00:00Z",
    },
    "operationState": {
        "operation": {
            "sync": {"revision": "main", "prune": True},
            "initiatedBy": {"automated": True},
            "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
        },
        "phase": "Running",
        "message": "waiting for healthy state of apps/Deployment/web",
        "startedAt": "2026-01-01T12:00:00Z",
        "retryCount": 1,
        "syncResult": {
            "revision": "5baed56",
            "source": {"repoURL": "r", "path": "guestbook"},
            "resources": [
                {
                    "group": "batch",
                    "version": "v1",
                    "kind": "Job",
                    "namespace": "shop",
                    "name": "migrate",
                    "status": "Synced",
                    "message": "Job/migrate completed",
                    "hookType": "PreSync",
                    "hookPhase": "Succeeded",
                    "syncPhase": "PreSync",
                    "syncWave": 0,
                    "startedAt": "2026-01-01T12:00:00Z",
                    "finishedAt": "2026-01-01T12:00:30Z",
                },
                {
                    "group": "",
                    "version": "v1",
                    "kind": "ConfigMap",
                    "namespace": "shop",
                    "name": "old",
                    "status": "Pruned",
                    "message": "pruned",
                    "hookPhase": "Succeeded",
                    "syncPhase": "Sync",
                    "syncWave": -1,
                    "originalWave": 1,
                    "startedAt": "2026-01-01T12:00:31Z",
                    "finishedAt": "2026-01-01T12:00:31Z",
                },
            ],
        },
    },
    "resources": [
        {
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "web",
            "status": "Synced",
            "health": {"status": "Progressing", "message": "waiting"},
            "syncWave": 0,
        },
        {
            "version": "v1",
            "kind": "ConfigMap",
            "namespace": "shop",
            "name": "old",
            "status": "OutOfSync",
            "health": {"status": "Healthy"},
            "requiresPruning": True,
        },
        {
            "group": "batch",
            "version": "v1",
            "kind": "Job",
            "namespace": "shop",
            "name": "migrate",
            "hook": True,
        },
    ],
    "history": [
        {
            "id": 0,
            "revision": "abc",
            "deployStartedAt": "2025-12-31T12:00:00Z",
            "deployedAt": "2025-12-31T12:01:00Z",
            "source": {"repoURL": "r"},
            "initiatedBy": {"username": "alice"},
        }
    ],
    "conditions": [{"type": "UnsupportedFields", "message": "spec.source.helm"}],
    "reconciledAt": "2026-01-01T12:00:05Z",
    "observedAt": "2026-01-01T12:00:05Z",
    "sourceType": "Directory",
    "summary": {"images": ["web:1"]},
    "someFutureField": {"kept": True},
}


def test_status_round_trips_in_argo_cds_field_names() -> None:
    status = application.ApplicationStatus.from_dict(CANONICAL_STATUS)
    assert status.to_dict() == CANONICAL_STATUS
    state = status.operation_state
    assert state is not None and state.retry_count == 1 and state.revision == "5baed56"
    assert [result.key for result in state.results] == [
        ("batch", "Job", "shop", "migrate", "PreSync"),
        ("", "ConfigMap", "shop", "old", "Sync"),
    ]


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        pytest.param({"sync": {"status": "Sideways"}}, "status.sync.status", id="sync-status"),
        pytest.param(
            {"operationState": {"phase": "Running"}}, "status.operationState.startedAt", id="no-started-at"
        ),
        pytest.param(
            {"resources": [{"kind": "Pod", "name": "p", "health": {"status": "Fine"}}]},
            "status.resources[0].health.status",
            id="health-status",
        ),
    ],
)
def test_malformed_status_is_reported_as_invalid(patch: dict[str, Any], where: str) -> None:
    issue = only_issue({**app(), "status": patch})
    assert issue.path == "status" and issue.kind is INVALID and where in issue.message


timestamps = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
texts = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8)
small = st.integers(min_value=-5, max_value=5)
results = st.builds(
    application.ResourceResult,
    kind=texts,
    name=texts,
    group=st.sampled_from(["", "apps", "batch"]),
    version=st.sampled_from(["", "v1"]),
    namespace=st.sampled_from(["", "shop"]),
    status=st.none() | st.sampled_from(application.ResultCode),
    message=st.none() | texts,
    hook_type=st.none() | st.sampled_from(application.HookType),
    hook_phase=st.none() | st.sampled_from(application.OperationPhase),
    sync_phase=st.none() | st.sampled_from(application.SyncPhase),
    sync_wave=st.none() | small,
    original_wave=st.none() | small,
    started_at=st.none() | timestamps,
    finished_at=st.none() | timestamps,
    images=st.lists(texts, max_size=2).map(tuple),
)
retry_policies = st.builds(
    application.RetryPolicy,
    limit=st.integers(min_value=-1, max_value=10),
    backoff=st.builds(
        application.Backoff,
        duration=st.integers(min_value=1, max_value=600).map(lambda s: datetime.timedelta(seconds=s)),
        factor=st.integers(min_value=1, max_value=5),
        max_duration=st.integers(min_value=1, max_value=3600).map(lambda s: datetime.timedelta(seconds=s)),
    ),
    refresh=st.booleans(),
)
operations = st.builds(
    application.Operation,
    sync=st.builds(
        application.SyncOperation,
        revision=st.none() | texts,
        prune=st.booleans(),
        dry_run=st.booleans(),
        sync_options=st.lists(st.sampled_from(["PruneLast=true", "CreateNamespace=true"]), max_size=2).map(
            tuple
        ),
        resources=st.lists(
            st.builds(
                application.ResourceRef,
                kind=texts,
                name=texts,
                group=st.sampled_from(["", "apps"]),
                namespace=st.sampled_from(["", "shop"]),
            ),
            max_size=2,
        ).map(tuple),
        strategy=st.sampled_from(application.SyncStrategy),
    ),
    initiated_by=st.builds(application.InitiatedBy, username=st.none() | texts, automated=st.booleans()),
    info=st.lists(st.builds(application.InfoEntry, name=texts, value=texts), max_size=2).map(tuple),
    retry=st.none() | retry_policies,
)
operation_states = st.builds(
    application.OperationState,
    operation=operations,
    phase=st.sampled_from(application.OperationPhase),
    started_at=timestamps,
    message=st.none() | texts,
    finished_at=st.none() | timestamps,
    retry_count=st.integers(min_value=0, max_value=9),
    sync_result=st.none()
    | st.builds(
        application.SyncOperationResult, revision=texts, resources=st.lists(results, max_size=3).map(tuple)
    ),
)
healths = st.builds(
    application.HealthStatus,
    status=st.sampled_from(application.HealthStatusCode),
    message=st.none() | texts,
    last_transition_time=st.none() | timestamps,
)
statuses = st.builds(
    application.ApplicationStatus,
    sync=st.builds(
        application.SyncStatus, status=st.sampled_from(application.SyncStatusCode), revision=st.none() | texts
    ),
    health=healths,
    operation_state=st.none() | operation_states,
    resources=st.lists(
        st.builds(
            application.ResourceStatus,
            kind=texts,
            name=texts,
            group=st.sampled_from(["", "apps"]),
            version=st.sampled_from(["", "v1"]),
            namespace=st.sampled_from(["", "shop"]),
            status=st.none() | st.sampled_from(application.SyncStatusCode),
            health=st.none()
            | st.builds(
                application.HealthStatus,
                status=st.sampled_from(application.HealthStatusCode),
                message=st.none() | texts,
            ),
            hook=st.booleans(),
            requires_pruning=st.booleans(),
            sync_wave=st.none() | small,
        ),
        max_size=3,
    ).map(tuple),
    history=st.lists(
        st.builds(
            application.RevisionHistory,
            id=st.integers(min_value=0, max_value=99),
            revision=texts,
            deploy_started_at=st.none() | timestamps,
            deployed_at=st.none() | timestamps,
            initiated_by=st.none()
            | st.builds(application.InitiatedBy, username=st.none() | texts, automated=st.booleans()),
        ),
        max_size=3,
    ).map(tuple),
    reconciled_at=st.none() | timestamps,
    observed_at=st.none() | timestamps,
)


@settings(max_examples=200, deadline=None)
@given(statuses)
def test_any_status_survives_the_wire(status: application.ApplicationStatus) -> None:
    assert application.ApplicationStatus.from_dict(status.to_dict()) == status


@given(
    st.lists(st.integers(min_value=0, max_value=1000), max_size=30), st.integers(min_value=0, max_value=12)
)
def test_history_is_bounded_and_keeps_the_newest(ids: list[int], limit: int) -> None:
    status = application.ApplicationStatus()
    for entry_id in ids:
        status = status.with_history(application.RevisionHistory(id=entry_id), limit=limit)
    assert [entry.id for entry in status.history] == (ids[-limit:] if limit else [])


# --------------------------------------------------------------------------------------------------
# The parser accepts exactly what crds/application.yaml declares

CRD = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "crds" / "application.yaml").read_text())
SCHEMA = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
UNSUPPORTED_NOTE = "rollwave reports this field as unsupported"


def _sample(node: dict[str, Any]) -> Any:
    """A value of the node's type with every declared field set (recursively)."""
    kind = node.get("type")
    if kind == "object":
        return {key: _sample(child) for key, child in node.get("properties", {}).items()}
    if kind == "array":
        return [_sample(node["items"])]
    return {"string": "x", "boolean": True, "integer": 1}.get(str(kind), "x")


def _declared(node: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every declared field as (path, schema node); list items are addressed as `[0]`."""
    found = [(path, node)] if path else []
    for key, child in node.get("properties", {}).items():
        child_path = f"{path}.{key}" if path else key
        if child.get("type") == "array":
            found.append((child_path, child))
            found.extend(_declared(child.get("items", {}), child_path + "[0]")[1:])
        else:
            found.extend(_declared(child, child_path))
    return found


def test_every_field_the_crd_declares_is_known_to_the_parser() -> None:
    manifest = {key: _sample(SCHEMA["properties"][key]) for key in ("spec", "operation")}
    manifest.update(apiVersion="rollwave.dev/v1alpha1", kind="Application", metadata={"name": "everything"})
    reported = application.parse_application(manifest).issues
    assert [str(issue) for issue in reported if issue.message == fields.UNKNOWN_FIELD] == []
    unsupported_paths = {issue.path for issue in reported if issue.kind is UNSUPPORTED}
    documented = {
        path.replace("[0]", "")
        for path, node in _declared(SCHEMA, "")
        if UNSUPPORTED_NOTE in node.get("description", "") and path.startswith(("spec.", "operation."))
    }
    assert documented == {
        "spec.sources",
        "spec.source.helm",
        "spec.source.chart",
        "spec.source.plugin",
        "spec.source.ref",
        "spec.source.directory.jsonnet",
        "spec.ignoreDifferences.jqPathExpressions",
    }
    assert documented <= {path.replace("[0]", "") for path in unsupported_paths}
