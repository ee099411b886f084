"""sync_policy.auto_sync follows Argo CD's automated-sync rules, self-heal included."""

from __future__ import annotations

import dataclasses

import pytest

from rollouts.core import sync, sync_policy
from rollouts.model import application as model
from tests.core.sync_sim import T0, spec

S = model.SyncStatusCode
Phase = model.OperationPhase


AUTOMATED = model.Automated()


def app(
    *,
    automated: model.Automated | None = AUTOMATED,
    last: tuple[str, model.OperationPhase] | None = None,
    operation: model.Operation | None = None,
) -> model.Application:
    base = spec(options=["CreateNamespace=true"])
    policy = dataclasses.replace(base.sync_policy, automated=automated)
    state = None
    if last is not None:
        state = dataclasses.replace(
            sync.new_operation(model.Operation(), revision=last[0], now=T0), phase=last[1], finished_at=T0
        )
    return model.Application(
        name="guestbook",
        namespace="apps",
        uid=None,
        generation=1,
        labels={},
        annotations={},
        spec=dataclasses.replace(base, sync_policy=policy),
        operation=operation,
        status=model.ApplicationStatus(operation_state=state),
    )


def resource(
    name: str, status: model.SyncStatusCode, *, prune: bool = False, hook: bool = False
) -> model.ResourceStatus:
    return model.ResourceStatus(
        kind="ConfigMap", name=name, namespace="shop", status=status, requires_pruning=prune, hook=hook
    )


DRIFTED = [resource("a", S.SYNCED), resource("b", S.OUT_OF_SYNC)]


@pytest.mark.parametrize(
    ("application", "resources", "reason"),
    [
        pytest.param(app(automated=None), DRIFTED, "automated sync is disabled", id="manual"),
        pytest.param(
            app(automated=model.Automated(enabled=False)),
            DRIFTED,
            "automated sync is disabled",
            id="disabled",
        ),
        pytest.param(
            app(operation=model.Operation()), DRIFTED, "an operation is already in progress", id="requested"
        ),
        pytest.param(
            app(last=("old", Phase.RUNNING)), DRIFTED, "an operation is already in progress", id="running"
        ),
        pytest.param(
            app(),
            [resource("a", S.SYNCED), resource("h", S.OUT_OF_SYNC, hook=True)],
            "already in sync",
            id="synced",
        ),
        pytest.param(
            app(),
            [resource("a", S.SYNCED), resource("extra", S.OUT_OF_SYNC, prune=True)],
            "Skipping auto-sync: need to prune extra resources only but automated prune is disabled",
            id="prune-only-without-prune",
        ),
        pytest.param(
            app(automated=model.Automated(prune=True)),
            [resource("x", S.OUT_OF_SYNC, prune=True)],
            "Skipping sync attempt to rev2: auto-sync will wipe out all resources",
            id="would-empty",
        ),
        pytest.param(
            app(last=("rev2", Phase.FAILED)),
            DRIFTED,
            "Skipping auto-sync: failed previous sync attempt to rev2",
            id="failed-revision",
        ),
        pytest.param(
            app(last=("rev2", Phase.SUCCEEDED)),
            DRIFTED,
            "Skipping auto-sync: most recent sync already to rev2",
            id="drift-without-self-heal",
        ),
    ],
)
def test_no_sync(application: model.Application, resources: list[model.ResourceStatus], reason: str) -> None:
    decision = sync_policy.auto_sync(application, revision="rev2", resources=resources)
    assert (decision.operation, decision.reason) == (None, reason)


def test_a_new_revision_is_synced_with_the_applications_options_and_default_retry() -> None:
    decision = sync_policy.auto_sync(app(last=("rev1", Phase.SUCCEEDED)), revision="rev2", resources=DRIFTED)
    assert decision.operation == model.Operation(
        sync=model.SyncOperation(revision="rev2", sync_options=("CreateNamespace=true",)),
        initiated_by=model.InitiatedBy(automated=True),
        retry=model.RetryPolicy(limit=5),
    )
    assert not decision.operation.sync.skip_hooks


def test_self_heal_syncs_only_the_drifted_objects_without_hooks() -> None:
    application = app(automated=model.Automated(self_heal=True, prune=True), last=("rev2", Phase.SUCCEEDED))
    resources = [*DRIFTED, resource("extra", S.OUT_OF_SYNC, prune=True)]
    decision = sync_policy.auto_sync(application, revision="rev2", resources=resources)
    assert decision.operation is not None and decision.operation.sync.prune
    assert [ref.name for ref in decision.operation.sync.resources] == ["b", "extra"]
    assert decision.operation.sync.skip_hooks
    assert decision.reason == "self-healing 2 drifted resources"
