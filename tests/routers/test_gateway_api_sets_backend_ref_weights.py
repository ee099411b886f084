"""Gateway API, pure half: which rules and backendRefs are rollwave's, the patch for a weight (exact weights, only
managed fields, idempotent, drift reported only against rollwave's own record), the share read back, and config
validation with field paths."""

from __future__ import annotations

import copy
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from rollouts.kube import custom
from rollouts.model import fields
from rollouts.routers import base, gateway_api

PATH = "spec.strategy.canary.trafficRouting.plugins[argoproj-labs/gatewayAPI].httpRoute"
ROLLOUT = base.RolloutRef(
    namespace="shop", name="web", uid="u1", stable_service="stable", canary_service="canary"
)


def _route(*rules: list[dict[str, Any]], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "resourceVersion": "7",
            "annotations": annotations or {},
        },
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": refs} for refs in rules]},
    }


def _apply(route: dict[str, Any], plan: base.Plan) -> dict[str, Any]:
    """What the API server stores after the merge patch (RFC 7386)."""
    assert plan.patch is not None
    stored: dict[str, Any] = _merge(route, plan.patch)
    return stored


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _pairs(route: dict[str, Any]) -> list[dict[str, int | None]]:
    return [
        {ref["name"]: ref.get("weight") for ref in rule["backendRefs"]} for rule in route["spec"]["rules"]
    ]


TWO_RULES = _route(
    [{"name": "stable", "weight": 100}, {"name": "canary", "weight": 0}],
    [{"name": "other", "weight": 3}],
)


@pytest.mark.parametrize(
    ("weight", "max_weight", "stable"), [(0, 100, 100), (20, 100, 80), (100, 100, 0), (5, 1000, 995)]
)
def test_the_pair_gets_weight_and_the_rest(weight: int, max_weight: int, stable: int) -> None:
    rollout = base.RolloutRef(**{**_fields(ROLLOUT), "max_weight": max_weight})
    plan = gateway_api.plan_weight(TWO_RULES, weight=weight, rollout=rollout, path=PATH)
    stored = _apply(TWO_RULES, plan)
    assert _pairs(stored) == [{"stable": stable, "canary": weight}, {"other": 3}]
    assert base.recorded_weight(stored, rollout="web") == weight
    assert plan.patch is not None and plan.patch["metadata"]["resourceVersion"] == "7"
    assert stored["spec"]["parentRefs"] == [{"name": "gw"}]
    assert gateway_api.plan_weight(stored, weight=weight, rollout=rollout, path=PATH).noop, "idempotent"


def _fields(ref: base.RolloutRef) -> dict[str, Any]:
    return {name: getattr(ref, name) for name in ref.__dataclass_fields__}


def test_only_the_record_is_written_when_the_weights_already_match() -> None:
    plan = gateway_api.plan_weight(TWO_RULES, weight=0, rollout=ROLLOUT, path=PATH)
    assert plan.patch is not None and "spec" not in plan.patch
    assert not plan.restored, "no record yet: adopting the route is not a conflict"


def test_weightless_backend_refs_count_as_one() -> None:
    route = _route([{"name": "stable"}, {"name": "canary"}])
    assert gateway_api.canary_share(route, rollout=ROLLOUT, path=PATH) == 50
    assert _pairs(_apply(route, gateway_api.plan_weight(route, weight=30, rollout=ROLLOUT, path=PATH))) == [
        {"stable": 70, "canary": 30}
    ]


def test_a_change_by_someone_else_is_reported_against_the_record() -> None:
    recorded = {base.WEIGHTS_ANNOTATION: '{"web": 20}'}
    drifted = _route(
        [{"name": "stable", "weight": 100}, {"name": "canary", "weight": 0}], annotations=recorded
    )
    plan = gateway_api.plan_weight(drifted, weight=20, rollout=ROLLOUT, path=PATH)
    assert plan.restored == ("HTTPRoute web rules[0]: canary 0/stable 100 (rollwave had set 20/80)",)
    # A planned move from the recorded weight is not a conflict.
    as_written = _route(
        [{"name": "stable", "weight": 80}, {"name": "canary", "weight": 20}], annotations=recorded
    )
    assert gateway_api.plan_weight(as_written, weight=50, rollout=ROLLOUT, path=PATH).restored == ()


def test_records_of_other_rollouts_are_kept() -> None:
    shared = _route(
        [{"name": "stable", "weight": 100}, {"name": "canary", "weight": 0}],
        annotations={base.WEIGHTS_ANNOTATION: '{"api": 40}'},
    )
    stored = _apply(shared, gateway_api.plan_weight(shared, weight=10, rollout=ROLLOUT, path=PATH))
    assert base.recorded_weight(stored, rollout="api") == 40
    assert base.recorded_weight(stored, rollout="web") == 10


def test_releasing_drops_the_record() -> None:
    recorded = _route(
        [{"name": "stable", "weight": 80}, {"name": "canary", "weight": 20}],
        annotations={base.WEIGHTS_ANNOTATION: '{"web": 20}', "team": "a"},
    )
    stored = _apply(
        recorded, gateway_api.plan_weight(recorded, weight=0, rollout=ROLLOUT, path=PATH, record=False)
    )
    assert stored["metadata"]["annotations"] == {"team": "a"}
    assert _pairs(stored) == [{"stable": 100, "canary": 0}]


@pytest.mark.parametrize(
    ("refs", "message"),
    [
        pytest.param(
            [[{"name": "stable"}]],
            "rules[0] sends traffic to the stable Service stable but not to the canary",
            id="stable-only",
        ),
        pytest.param(
            [[{"name": "x"}], [{"name": "canary"}]],
            "rules[1] sends traffic to the canary Service canary but not to the stable",
            id="canary-only",
        ),
        pytest.param([[{"name": "x"}]], "has no rule with backendRefs to both", id="neither"),
        pytest.param(
            [[{"name": "stable", "kind": "ServiceImport"}, {"name": "canary"}]],
            "but not to the stable",
            id="other-kind",
        ),
        pytest.param(
            [[{"name": "stable", "namespace": "elsewhere"}, {"name": "canary"}]],
            "but not to the stable",
            id="other-namespace",
        ),
    ],
)
def test_routes_not_naming_both_services_are_errors(refs: list[list[dict[str, Any]]], message: str) -> None:
    with pytest.raises(base.RouterError) as raised:
        gateway_api.plan_weight(_route(*refs), weight=10, rollout=ROLLOUT, path=PATH)
    assert raised.value.path == PATH
    assert message in raised.value.message
    assert not raised.value.retryable


def test_a_route_in_another_namespace_matches_backend_refs_by_namespace() -> None:
    route = _route([{"name": "stable", "namespace": "shop"}, {"name": "canary", "namespace": "shop"}])
    route["metadata"]["namespace"] = "gateways"
    assert gateway_api.canary_share(route, rollout=ROLLOUT, path=PATH) == 50


def test_canary_share_is_none_when_rules_disagree() -> None:
    route = _route(
        [{"name": "stable", "weight": 80}, {"name": "canary", "weight": 20}],
        [{"name": "stable", "weight": 50}, {"name": "canary", "weight": 50}],
    )
    assert gateway_api.canary_share(route, rollout=ROLLOUT, path=PATH) is None


@hypothesis.given(
    start=st.tuples(st.integers(0, 500), st.integers(0, 500)),
    weights=st.lists(st.integers(0, 100), min_size=1, max_size=6),
)
def test_any_walk_ends_exactly_with_no_false_conflicts(start: tuple[int, int], weights: list[int]) -> None:
    route = _route([{"name": "stable", "weight": start[0]}, {"name": "canary", "weight": start[1]}])
    for weight in weights:
        plan = gateway_api.plan_weight(route, weight=weight, rollout=ROLLOUT, path=PATH)
        assert plan.restored == (), "only rollwave wrote: never a conflict"
        if not plan.noop:
            route = _apply(route, plan)
        assert _pairs(route) == [{"stable": 100 - weight, "canary": weight}]
        assert gateway_api.canary_share(route, rollout=ROLLOUT, path=PATH) == weight


def test_the_patch_is_the_difference_the_shared_helper_would_send() -> None:
    plan = gateway_api.plan_weight(TWO_RULES, weight=20, rollout=ROLLOUT, path=PATH)
    stored = _apply(TWO_RULES, plan)
    diff = custom.merge_patch(TWO_RULES, stored)
    assert set(diff) == {"metadata", "spec"}
    assert set(diff["spec"]) == {"rules"}


@pytest.mark.parametrize(
    ("config", "issues"),
    [
        pytest.param({"httpRoute": "web"}, [], id="single"),
        pytest.param(
            {"httpRoutes": [{"name": "a", "useHeaderRoutes": True}, {"name": "b"}], "namespace": "gw"},
            [],
            id="list",
        ),
        pytest.param({}, ["p: must name an HTTPRoute (httpRoute or httpRoutes)"], id="none"),
        pytest.param({"httpRoutes": [{}]}, ["p.httpRoutes[0].name: is required"], id="nameless"),
        pytest.param(
            {"httpRoute": "web", "grpcRoutes": [{"name": "g"}]},
            ["p.grpcRoutes: not supported by rollwave"],
            id="grpc",
        ),
        pytest.param({"httpRoute": 3}, ["p.httpRoute: must be a string (got 3)"], id="type"),
    ],
)
def test_config_validation(config: dict[str, Any], issues: list[str]) -> None:
    found = gateway_api.validate(config, path="p", stable_service="s", canary_service="c")
    assert [str(issue) for issue in found] == issues


def test_both_services_are_required() -> None:
    found = gateway_api.validate({"httpRoute": "web"}, path="p", stable_service=None, canary_service="c")
    assert found == (
        fields.FieldIssue(
            path="spec.strategy.canary.stableService",
            message="is required with the Gateway API traffic router",
            kind=fields.IssueKind.INVALID,
        ),
    )
