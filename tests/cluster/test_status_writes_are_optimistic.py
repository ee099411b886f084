"""Status is written with optimistic concurrency: a merge patch carrying a stale resourceVersion is refused by the
API server (409), so a decision made from an old copy can never undo a change made since (a promote, say)."""

from __future__ import annotations

import pytest

from rollouts.kube import client, custom, errors
from tests.support import kube
from tests.support import rollouts as ro


def test_a_status_patch_from_a_stale_read_is_refused(crds: None, namespace: str) -> None:
    kube.apply(
        ro.rollout_manifest("occ", replicas=1, steps=[{"setWeight": 50}], services=False), namespace=namespace
    )
    clients = client.load()
    stale = custom.get(
        clients.custom, group_version=custom.ARGO, plural="rollouts", namespace=namespace, name="occ"
    )
    assert stale is not None
    # Someone else writes in between (a user's promote, another pass).
    custom.patch_status(
        clients.custom,
        group_version=custom.ARGO,
        plural="rollouts",
        namespace=namespace,
        name="occ",
        old_status={},
        new_status={"message": "written in between"},
    )

    with pytest.raises(errors.Conflict):
        custom.patch_status(
            clients.custom,
            group_version=custom.ARGO,
            plural="rollouts",
            namespace=namespace,
            name="occ",
            old_status={},
            new_status={"message": "from the stale read"},
            resource_version=stale["metadata"]["resourceVersion"],
        )
    assert ro.status("occ", namespace=namespace)["message"] == "written in between"

    fresh = ro.get("occ", namespace=namespace)
    stored = custom.patch_status(
        clients.custom,
        group_version=custom.ARGO,
        plural="rollouts",
        namespace=namespace,
        name="occ",
        old_status=fresh.get("status"),
        new_status={"message": "from a fresh read"},
        resource_version=fresh["metadata"]["resourceVersion"],
    )
    assert stored is not None and stored["status"]["message"] == "from a fresh read"
    assert int(stored["metadata"]["resourceVersion"]) > int(fresh["metadata"]["resourceVersion"])
