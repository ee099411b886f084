"""Drift detection on plain dicts: server bookkeeping and status are never drift; with the server's dry-run
answer the whole object counts, without it only the fields Git sets; the diff is a readable unified diff that
never shows Secret values."""

from __future__ import annotations

import copy
import doctest
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.core import diffs


def configmap(data: dict[str, str], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop", **metadata},
        "data": data,
    }


BOOKKEEPING = {
    "uid": "0f1e",
    "resourceVersion": "4711",
    "generation": 3,
    "creationTimestamp": "2026-01-01T00:00:00Z",
    "managedFields": [{"manager": "rollwave", "operation": "Apply"}],
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
}


def test_bookkeeping_and_status_are_not_drift() -> None:
    live = {**configmap({"k": "v"}, **BOOKKEEPING), "status": {"anything": True}}

    result = diffs.compare(live=live, desired=configmap({"k": "v"}), predicted=configmap({"k": "v"}))

    assert result.in_sync and result.diff == ""
    assert result.live == configmap({"k": "v"})


@pytest.mark.parametrize(
    ("desired", "live"),
    [
        pytest.param({"labels": {}}, {}, id="empty-labels"),
        pytest.param({"annotations": None}, {}, id="null-annotations"),
        pytest.param({}, {"labels": {}}, id="empty-labels-live"),
    ],
)
def test_empty_or_null_metadata_maps_are_equal_to_none(desired: dict[str, Any], live: dict[str, Any]) -> None:
    assert diffs.compare(live=configmap({}, **live), desired=configmap({}, **desired)).in_sync


def test_with_the_dry_run_answer_a_changed_field_is_drift() -> None:
    desired = configmap({"k": "new"})
    predicted = configmap({"k": "new", "added-by-someone-else": "x"}, **BOOKKEEPING)
    live = configmap({"k": "old", "added-by-someone-else": "x"}, **BOOKKEEPING)

    result = diffs.compare(live=live, desired=desired, predicted=predicted)

    assert not result.in_sync
    assert result.diff.splitlines() == [
        "--- live ConfigMap shop/settings",
        "+++ desired ConfigMap shop/settings",
        "@@ -1,7 +1,7 @@",
        " apiVersion: v1",
        " data:",
        "   added-by-someone-else: x",
        "-  k: old",
        "+  k: new",
        " kind: ConfigMap",
        " metadata:",
        "   name: settings",
    ]


def test_with_the_dry_run_answer_a_field_git_removed_is_drift() -> None:
    # The server drops a field its only manager (rollwave) no longer applies; live still has it.
    live = configmap({"k": "v", "gone": "1"})
    predicted = configmap({"k": "v"})

    result = diffs.compare(live=live, desired=configmap({"k": "v"}), predicted=predicted)

    assert not result.in_sync
    assert "-  gone: '1'" in result.diff.splitlines()


def test_without_a_dry_run_server_defaults_are_not_drift() -> None:
    desired: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "shop:1"}]}}},
    }
    live = copy.deepcopy(desired)
    live["spec"]["revisionHistoryLimit"] = 10
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    live["metadata"].update(BOOKKEEPING)

    assert diffs.compare(live=live, desired=desired).in_sync

    live["spec"]["replicas"] = 5
    drifted = diffs.compare(live=live, desired=desired)
    assert not drifted.in_sync
    lines = drifted.diff.splitlines()
    assert lines.index("-  replicas: 5") + 1 == lines.index("+  replicas: 2")
    assert not any("revisionHistoryLimit" in line or "imagePullPolicy" in line for line in lines)


def test_a_list_of_another_length_is_compared_whole() -> None:
    desired = configmap({})
    desired["spec"] = {"ports": [{"port": 80}]}
    live = copy.deepcopy(desired)
    live["spec"]["ports"].append({"port": 443, "protocol": "TCP"})

    assert not diffs.compare(live=live, desired=desired).in_sync


def test_an_object_on_one_side_only() -> None:
    missing = diffs.compare(live=None, desired=configmap({"k": "v"}))
    extra = diffs.compare(live=configmap({"k": "v"}), desired=None)
    nothing = diffs.compare(live=None, desired=None)

    assert not missing.in_sync and not extra.in_sync and nothing.in_sync
    assert missing.diff.splitlines()[:2] == ["--- /dev/null", "+++ desired ConfigMap shop/settings"]
    assert extra.diff.splitlines()[:2] == ["--- live ConfigMap shop/settings", "+++ /dev/null"]
    assert "-  k: v" in extra.diff.splitlines()


def secret(data: dict[str, str] | None = None, string_data: dict[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "n"},
    }
    if data is not None:
        result["data"] = data
    if string_data is not None:
        result["stringData"] = string_data
    return result


def test_secret_string_data_is_compared_as_the_server_stores_it() -> None:
    live = secret(data={"password": "aHVudGVyMg=="})  # base64("hunter2")

    assert diffs.compare(live=live, desired=secret(string_data={"password": "hunter2"})).in_sync
    assert not diffs.compare(live=live, desired=secret(string_data={"password": "hunter3"})).in_sync


def test_secret_values_never_appear_in_the_diff() -> None:
    live = secret(data={"same": "c2FtZQ==", "changed": "b2xk"})
    predicted = secret(data={"same": "c2FtZQ==", "changed": "bmV3"})

    result = diffs.compare(live=live, desired=predicted, predicted=predicted)

    assert not result.in_sync
    lines = result.diff.splitlines()
    # Masks: the same value shows the same run of "+" on both sides; a changed value a different run.
    assert "   same: ++++++++" in lines
    assert "-  changed: +++++++++" in lines and "+  changed: ++++++++++" in lines
    assert not any(value in result.diff for value in ("c2FtZQ", "b2xk", "bmV3"))


@pytest.mark.parametrize(
    ("obj", "label"),
    [
        pytest.param(configmap({}), "ConfigMap shop/settings", id="core"),
        pytest.param(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "metadata": {"name": "r", "namespace": "n"},
            },
            "argoproj.io/Rollout n/r",
            id="custom-resource",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}, "Namespace x", id="cluster"
        ),
    ],
)
def test_object_labels(obj: dict[str, Any], label: str) -> None:
    assert diffs.object_label(obj) == label


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


@given(spec=st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=4), rv=st.text(max_size=6))
def test_an_object_is_in_sync_with_itself_plus_bookkeeping(spec: dict[str, Any], rv: str) -> None:
    desired = {**configmap({}), "spec": spec}
    live = copy.deepcopy(desired)
    live["metadata"].update(resourceVersion=rv, uid="u", managedFields=[{"manager": "x"}])
    live["status"] = {"observedGeneration": 1}

    assert diffs.compare(live=live, desired=desired, predicted=desired).in_sync
    assert diffs.compare(live=live, desired=desired).in_sync


@given(value=st.text(min_size=1, max_size=8), other=st.text(min_size=1, max_size=8))
def test_the_verdict_and_the_diff_agree(value: str, other: str) -> None:
    result = diffs.compare(live=configmap({"k": value}), desired=configmap({"k": other}))

    assert result.in_sync is (value == other)
    assert (result.diff == "") is result.in_sync


def test_docstring_examples() -> None:
    outcome = doctest.testmod(diffs, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0 and outcome.failed == 0
