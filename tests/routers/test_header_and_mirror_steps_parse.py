"""The bodies of setHeaderRoute and setMirrorRoute steps (Argo's shapes) parse into the routers' capability inputs,
and every bad field is reported with its path."""

from __future__ import annotations

from rollouts.routers import base

P = "spec.strategy.canary.steps[2].setHeaderRoute"


def test_a_header_route() -> None:
    parsed = base.parse_header_route(
        {
            "name": "h",
            "match": [
                {"headerName": "A", "headerValue": {"exact": "1"}},
                {"headerName": "B", "headerValue": {"regex": "x.*"}},
            ],
        },
        path=P,
    )
    assert parsed.ok
    assert parsed.value == base.HeaderRoute(
        name="h",
        headers=(
            ("A", base.StringMatch(kind="exact", value="1")),
            ("B", base.StringMatch(kind="regex", value="x.*")),
        ),
    )


def test_a_header_route_without_match_removes() -> None:
    assert base.parse_header_route({"name": "h"}, path=P).value == base.HeaderRoute(name="h")


def test_bad_header_routes_name_the_field() -> None:
    parsed = base.parse_header_route(
        {"match": [{"headerValue": {"exact": "1", "prefix": "2"}}], "extra": 1}, path=P
    )
    assert [str(issue) for issue in parsed.issues] == [
        f"{P}.extra: unknown field: not part of the Argo Rollouts API known to rollwave",
        f"{P}.name: is required",
        f"{P}.match[0].headerName: is required",
        f"{P}.match[0].headerValue: must set exactly one of exact, prefix, regex",
    ]


def test_a_mirror_route() -> None:
    parsed = base.parse_mirror_route(
        {
            "name": "m",
            "percentage": 40,
            "match": [
                {"method": {"exact": "GET"}, "path": {"prefix": "/"}, "headers": {"X": {"exact": "y"}}}
            ],
        },
        path="s",
    )
    assert parsed.ok
    assert parsed.value == base.MirrorRoute(
        name="m",
        matches=(
            base.MirrorMatch(
                method=base.StringMatch(kind="exact", value="GET"),
                path=base.StringMatch(kind="prefix", value="/"),
                headers=(("X", base.StringMatch(kind="exact", value="y")),),
            ),
        ),
        percentage=40,
    )
    assert [str(i) for i in base.parse_mirror_route({"name": "m", "percentage": 120}, path="s").issues] == [
        "s.percentage: must be between 0 and 100 (got 120)"
    ]


def test_the_weights_record_is_per_rollout_and_survives_garbage() -> None:
    annotations = base.record_weight({base.WEIGHTS_ANNOTATION: "not json"}, rollout="web", weight=5)
    assert annotations == {base.WEIGHTS_ANNOTATION: '{"web": 5}'}
    both = base.record_weight(annotations, rollout="api", weight=7)
    assert base.recorded_weight({"metadata": {"annotations": both}}, rollout="web") == 5
    assert base.recorded_weight({"metadata": {"annotations": both}}, rollout="api") == 7
    assert base.recorded_weight({"metadata": {}}, rollout="web") is None
