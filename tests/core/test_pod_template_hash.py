"""Pod-template hashes: FNV-32a of the canonical template (+ collisionCount), in the Kubernetes safe alphabet.

Semantics 2.1: the hash names the ReplicaSet (`<rollout>-<hash>`) and is its `rollouts-pod-template-hash` label,
so it must be stable (same template, same hash, whatever the key order) and change with any template change or
collision count. Semantics 2.2: `currentStepHash` is a hash of the steps.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.core import hashing

SAFE = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]+")
TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web", "tier": "front"}, "annotations": {"a": "1"}},
    "spec": {
        "containers": [
            {
                "name": "web",
                "image": "web:v1",
                "ports": [{"containerPort": 8080}],
                "env": [{"name": "X", "value": "1"}],
            },
            {"name": "sidecar", "image": "proxy:1"},
        ]
    },
}


def reordered(value: Any) -> Any:
    """The same JSON value with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"", 0x811C9DC5, id="empty"),
        pytest.param(b"a", 0xE40C292C, id="a"),
        pytest.param(b"foobar", 0xBF9CF968, id="foobar"),
    ],
)
def test_fnv32a_matches_the_reference_vectors(data: bytes, expected: int) -> None:
    assert hashing.fnv32a(data) == expected


def test_the_same_template_in_any_key_order_has_the_same_hash() -> None:
    assert reordered(TEMPLATE) == TEMPLATE
    assert list(reordered(TEMPLATE)) != list(TEMPLATE)
    assert hashing.pod_template_hash(reordered(TEMPLATE)) == hashing.pod_template_hash(TEMPLATE)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t["spec"]["containers"][0].__setitem__("image", "web:v2"), id="image"),
        pytest.param(lambda t: t["metadata"]["labels"].__setitem__("tier", "back"), id="label-value"),
        pytest.param(lambda t: t["metadata"]["annotations"].__setitem__("b", "2"), id="new-annotation"),
        pytest.param(lambda t: t["spec"]["containers"].reverse(), id="container-order"),
        pytest.param(
            lambda t: t["spec"]["containers"][0]["env"][0].__setitem__("value", 1), id="string-to-int"
        ),
        pytest.param(lambda t: t["spec"]["containers"].pop(), id="container-removed"),
        pytest.param(lambda t: t["spec"].__setitem__("restartPolicy", "Always"), id="new-field"),
    ],
)
def test_any_template_change_changes_the_hash(change: Any) -> None:
    changed = copy.deepcopy(TEMPLATE)
    change(changed)
    assert hashing.pod_template_hash(changed) != hashing.pod_template_hash(TEMPLATE)


def test_the_collision_count_changes_the_hash() -> None:
    hashes = {hashing.pod_template_hash(TEMPLATE, collision_count=count) for count in (None, 1, 2, 3, 10)}
    assert len(hashes) == 5


def test_hashes_use_only_the_safe_alphabet_and_a_label_friendly_length() -> None:
    value = hashing.pod_template_hash(TEMPLATE)
    assert SAFE.fullmatch(value)
    assert 1 <= len(value) <= 10  # the decimal digits of a 32-bit value


def test_the_hash_of_a_template_does_not_change_between_releases() -> None:
    # A different hash for the same template would roll every Rollout on upgrade: pin one value.
    # FNV-32a of '{"metadata":{"labels":{"app":"web"}}}' is 2190097830; its digits in the safe alphabet:
    assert hashing.pod_template_hash({"metadata": {"labels": {"app": "web"}}}) == "65f44fcd74"
    assert hashing.safe_encode("2190097830") == "65f44fcd74"


def test_the_template_is_not_modified() -> None:
    before = copy.deepcopy(TEMPLATE)
    hashing.pod_template_hash(TEMPLATE, collision_count=2)
    assert before == TEMPLATE


def test_steps_hash_ignores_key_order_and_sees_any_change() -> None:
    steps = [
        {"setWeight": 20},
        {"pause": {"duration": "30s"}},
        {"analysis": {"templates": [{"templateName": "t", "clusterScope": False}]}},
    ]
    assert hashing.steps_hash(reordered(steps)) == hashing.steps_hash(steps)
    assert hashing.steps_hash(steps[:2]) != hashing.steps_hash(steps)
    assert hashing.steps_hash([{"setWeight": 21}, *steps[1:]]) != hashing.steps_hash(steps)
    assert hashing.steps_hash([]) != hashing.steps_hash(steps)
    assert SAFE.fullmatch(hashing.steps_hash(steps))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**31), max_value=2**31) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
templates = st.dictionaries(st.sampled_from(["metadata", "spec"]), json_values, min_size=1)


@given(template=templates)
def test_hash_is_a_function_of_the_content(template: dict[str, Any]) -> None:
    value = hashing.pod_template_hash(template)
    assert value == hashing.pod_template_hash(reordered(copy.deepcopy(template)))
    assert SAFE.fullmatch(value) and len(value) <= 10


@given(template=templates, extra=st.text(min_size=1, max_size=8))
def test_adding_a_label_changes_the_hash(template: dict[str, Any], extra: str) -> None:
    changed = copy.deepcopy(template)
    metadata = changed.get("metadata")
    if not isinstance(metadata, dict):
        metadata = changed["metadata"] = {}
    labels = metadata.get("labels")
    if not isinstance(labels, dict):
        labels = metadata["labels"] = {}
    labels[f"rollwave-test-{extra}"] = extra
    # 32-bit hashes can collide in principle; the canonical texts differ, and for these inputs so do the hashes.
    assert hashing.pod_template_hash(changed) != hashing.pod_template_hash(template)


@given(template=templates)
def test_safe_encoding_is_one_to_one_on_hash_values(template: dict[str, Any]) -> None:
    value = hashing.fnv32a(repr(template).encode())
    other = (value + 1) % 2**32
    assert hashing.safe_encode(str(value)) != hashing.safe_encode(str(other))
