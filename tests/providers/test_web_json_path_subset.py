"""The subset of Kubernetes JSONPath rollwave evaluates itself (no eval): keys, indexes, quoted keys,
wildcards; the first match wins and a missing key is an error, as in Argo."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.providers import base, web

DOCUMENT: dict[str, Any] = {
    "status": "up",
    "data": {"ok": True, "rate": 0.99, "items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]},
    "labels": {"app.kubernetes.io/name": "shop"},
    "empty": [],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("{$}", DOCUMENT, id="root-dollar"),
        pytest.param("{.}", DOCUMENT, id="root-dot"),
        pytest.param("{.status}", "up", id="leading-dot"),
        pytest.param("{$.data.ok}", True, id="nested"),
        pytest.param("{ $.data.rate }", 0.99, id="spaces-in-braces"),
        pytest.param("{$.data.items[0].name}", "a", id="index"),
        pytest.param("{$.data.items[-1].v}", 2, id="negative-index"),
        pytest.param("{$.data.items[*].v}", 1, id="wildcard-first-match"),
        pytest.param("{$.data.items.*.name}", "a", id="dot-star"),
        pytest.param("{$.labels['app.kubernetes.io/name']}", "shop", id="single-quoted-key"),
        pytest.param('{$["labels"]["app.kubernetes.io/name"]}', "shop", id="double-quoted-key"),
        pytest.param("{@.status}", "up", id="at-current"),
    ],
)
def test_a_path_finds_its_first_match(path: str, expected: object) -> None:
    assert web.json_path_first(DOCUMENT, path) == expected


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("{$.nope}", "nope is not found", id="missing-key"),
        pytest.param("{$.data.items[5]}", r"\[5\] is not found", id="index-out-of-range"),
        pytest.param("{$.status.x}", "x is not found", id="key-of-a-string"),
        pytest.param("{$.empty[*]}", r"\[\*\] is not found", id="wildcard-over-nothing"),
    ],
)
def test_a_path_without_a_match_is_not_found(path: str, message: str) -> None:
    with pytest.raises(web.PathNotFound, match=message):
        web.json_path_first(DOCUMENT, path)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("{$..name}", id="recursive-descent"),
        pytest.param("{$.items[0:2]}", id="slice"),
        pytest.param("{$.items[?(@.v > 1)]}", id="filter"),
        pytest.param("{range .items[*]}{.name}{end}", id="range"),
        pytest.param("{$.a}{$.b}", id="two-expressions"),
        pytest.param("$.a", id="no-braces"),
        pytest.param("{__import__('os')}", id="code"),
    ],
)
def test_anything_outside_the_subset_is_refused(path: str) -> None:
    with pytest.raises(base.ProviderError) as raised:
        web.parse_json_path(path)
    assert raised.value.field == "provider.web.jsonPath"
