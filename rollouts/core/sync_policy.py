"""When automated sync starts an operation (Argo CD's `autoSync` rules), and what that operation is.

automated sync off (or `enabled: false`)          -> nothing, "automated sync is disabled"
an operation is requested or running               -> nothing
every resource Synced                              -> nothing, "already in sync"
only extra objects, automated.prune off            -> nothing ("need to prune extra resources only ...")
prune on, allowEmpty off, nothing left in Git      -> nothing ("auto-sync will wipe out all resources")
this revision was synced last and that failed      -> nothing (a failed revision is not auto-synced again;
                                                      `retry` is what retries it)
this revision was synced last and that succeeded   -> selfHeal off: nothing; on: a selective sync of the
                                                      out-of-sync objects only (so no hooks run)
otherwise                                          -> sync the revision: prune = automated.prune, the
                                                      Application's sync options, retry (default limit 5)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rollouts.core import sync
from rollouts.model import application as model


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AutoSync:
    """The operation to start (None: do nothing), and why, for logs and Events."""

    operation: model.Operation | None
    reason: str


def auto_sync(
    app: model.Application, *, revision: str, resources: Sequence[model.ResourceStatus]
) -> AutoSync:
    """Decide an automated sync of `revision` (a resolved commit) given the comparison in `resources`."""
    policy = app.spec.sync_policy
    if policy.automated is None or not policy.automated_enabled:
        return AutoSync(operation=None, reason="automated sync is disabled")
    state = app.status.operation_state
    if app.operation is not None or (state is not None and not state.phase.completed):
        return AutoSync(operation=None, reason="an operation is already in progress")
    managed = [resource for resource in resources if not resource.hook]
    out_of_sync = [resource for resource in managed if resource.status is not model.SyncStatusCode.SYNCED]
    if not out_of_sync:
        return AutoSync(operation=None, reason="already in sync")
    automated = policy.automated
    if not automated.prune and all(resource.requires_pruning for resource in out_of_sync):
        return AutoSync(
            operation=None,
            reason="Skipping auto-sync: need to prune extra resources only but automated prune is disabled",
        )
    if (
        automated.prune
        and not automated.allow_empty
        and all(resource.requires_pruning for resource in managed)
    ):
        return AutoSync(
            operation=None,
            reason=f"Skipping sync attempt to {revision}: auto-sync will wipe out all resources",
        )
    selected: tuple[model.ResourceRef, ...] = ()
    if state is not None and state.revision == revision:
        if not state.phase.successful:
            return AutoSync(
                operation=None, reason=f"Skipping auto-sync: failed previous sync attempt to {revision}"
            )
        if not automated.self_heal:
            return AutoSync(
                operation=None, reason=f"Skipping auto-sync: most recent sync already to {revision}"
            )
        selected = tuple(
            model.ResourceRef(group=r.group, kind=r.kind, namespace=r.namespace, name=r.name)
            for r in out_of_sync
        )
    operation = model.Operation(
        sync=model.SyncOperation(
            revision=revision,
            prune=automated.prune,
            sync_options=policy.sync_options_raw,
            resources=selected,
        ),
        initiated_by=model.InitiatedBy(automated=True),
        retry=sync.automated_retry(app.spec),
    )
    reason = f"self-healing {len(selected)} drifted resources" if selected else f"syncing to {revision}"
    return AutoSync(operation=operation, reason=reason)
