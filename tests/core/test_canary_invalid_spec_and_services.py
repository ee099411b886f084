"""An invalid spec or a broken Service reference stops the rollout with InvalidSpec; unsupported fields are reported.

Semantics 2.4 InvalidSpec: condition True, reason InvalidSpec, "The Rollout \"x\" is invalid: <field error>";
missing Services count as invalid and are requeued every 20s. 2.3 rule 1: phase Degraded "InvalidSpec: <msg>".
2.6: a Service's selector (except the hash key) must match the template labels; one managed by another
Rollout is invalid. Code style 6.11: an unsupported field becomes a condition plus an Event naming the field.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.model import fields
from rollouts.model import rollout as model
from tests.core import canary_sim as sim

STEPS: list[dict[str, Any]] = [{"setWeight": 20}, {"pause": {}}]
SECOND = datetime.timedelta(seconds=1)
BAD = fields.FieldIssue(
    path="spec.strategy.canary.steps[1].experiment",
    message="not supported by rollwave",
    kind=fields.IssueKind.UNSUPPORTED,
)


def invalid_condition(status: model.RolloutStatus) -> model.Condition:
    condition = status.condition("InvalidSpec")
    assert condition is not None
    assert (condition.status, condition.reason) == (model.ConditionStatus.TRUE, "InvalidSpec")
    return condition


class TestBlockingIssues:
    def test_a_new_rollout_is_degraded_and_nothing_is_created(self) -> None:
        cluster = sim.Cluster(sim.rollout_manifest(replicas=3, steps=STEPS), blocking_issues=[BAD])
        decision = cluster.step()
        assert decision.effects == ()
        condition = invalid_condition(decision.status)
        expected = 'The Rollout "web" is invalid: spec.strategy.canary.steps[1].experiment: not supported by rollwave'
        assert condition.message == expected
        assert (decision.status.phase, decision.status.message) == (
            model.RolloutPhase.DEGRADED,
            f"InvalidSpec: {expected}",
        )
        events = [e for e in decision.events if e.reason == "InvalidSpec"]
        assert len(events) == 1 and events[0].warning and events[0].message == expected
        assert decision.requeue_after is None
        assert cluster.replica_sets == {}

    def test_the_warning_is_sent_once_while_the_problem_stays(self) -> None:
        cluster = sim.Cluster(sim.rollout_manifest(replicas=3, steps=STEPS), blocking_issues=[BAD])
        for _ in range(4):
            decision = cluster.step(cluster.now + SECOND)
            assert decision.effects == ()
        assert len(cluster.events_with("InvalidSpec")) == 1
        assert cluster.status.phase == model.RolloutPhase.DEGRADED

    def test_mid_update_nothing_is_scaled_and_fixing_it_resumes(self) -> None:
        cluster = sim.deployed(sim.rollout_manifest(replicas=10, steps=STEPS))
        v1 = cluster.status.stable_rs
        cluster.set_image("web:v2")
        cluster.settle()
        v2 = cluster.status.current_pod_hash
        split = cluster.split()
        assert split == {v1: 8, v2: 2}
        cluster.blocking_issues = (BAD,)
        cluster.promote()
        for _ in range(3):
            decision = cluster.step(cluster.now + SECOND)
            assert decision.effects == ()
            assert decision.status.phase == model.RolloutPhase.DEGRADED
        assert cluster.split() == split
        cluster.blocking_issues = ()
        cluster.settle()
        assert cluster.status.condition("InvalidSpec") is None
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        assert cluster.split() == {v1: 0, v2: 10}

    def test_a_parse_error_in_the_manifest_names_the_field(self) -> None:
        cluster = sim.Cluster(sim.rollout_manifest(replicas=3, steps=[{"setWeight": 120}]))
        decision = cluster.step()
        assert decision.effects == ()
        message = invalid_condition(decision.status).message
        assert "spec.strategy.canary.steps[0].setWeight" in message
        assert decision.status.phase == model.RolloutPhase.DEGRADED


class TestServiceReferences:
    def test_a_missing_stable_service_is_invalid_and_retried_every_20s(self) -> None:
        manifest = sim.rollout_manifest(replicas=3, steps=STEPS)
        services = {"web-canary": sim.service_manifest("web-canary", selector={"app": "web"})}
        cluster = sim.Cluster(manifest, services=services)
        decision = cluster.step()
        assert decision.effects == ()
        assert decision.requeue_after == datetime.timedelta(seconds=20)
        message = invalid_condition(decision.status).message
        assert "spec.strategy.canary.stableService" in message
        assert "web-stable" in message
        assert decision.status.phase == model.RolloutPhase.DEGRADED
        assert [e.reason for e in decision.events] == ["InvalidSpec"]

        # The Service appears: the condition goes and the rollout deploys.
        cluster.services["web-stable"] = sim.service_manifest("web-stable", selector={"app": "web"})
        cluster.settle()
        assert cluster.status.condition("InvalidSpec") is None
        assert cluster.status.phase == model.RolloutPhase.HEALTHY

    def test_a_missing_canary_service_names_canary_service(self) -> None:
        manifest = sim.rollout_manifest(replicas=3, steps=STEPS)
        services = {"web-stable": sim.service_manifest("web-stable", selector={"app": "web"})}
        decision = sim.Cluster(manifest, services=services).step()
        assert "spec.strategy.canary.canaryService" in invalid_condition(decision.status).message
        assert decision.effects == ()

    @pytest.mark.parametrize(
        "selector",
        [
            pytest.param({"app": "other"}, id="other-value"),
            pytest.param({"app": "web", "tier": "front"}, id="extra-label"),
        ],
    )
    def test_a_service_selecting_other_labels_is_invalid(self, selector: dict[str, str]) -> None:
        manifest = sim.rollout_manifest(replicas=3, steps=STEPS)
        services = {
            "web-canary": sim.service_manifest("web-canary", selector={"app": "web"}),
            "web-stable": sim.service_manifest("web-stable", selector=selector),
        }
        decision = sim.Cluster(manifest, services=services).step()
        assert decision.effects == ()
        assert "spec.strategy.canary.stableService" in invalid_condition(decision.status).message
        assert decision.status.phase == model.RolloutPhase.DEGRADED

    def test_a_hash_key_already_in_the_selector_is_not_a_mismatch(self) -> None:
        manifest = sim.rollout_manifest(replicas=3, steps=STEPS)
        selector = {"app": "web", sim.HASH_LABEL: "old"}
        services = {
            name: sim.service_manifest(name, selector=selector) for name in ("web-canary", "web-stable")
        }
        cluster = sim.Cluster(manifest, services=services)
        cluster.settle()
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        assert cluster.service_hash("web-stable") == cluster.status.stable_rs

    def test_a_service_managed_by_another_rollout_is_invalid(self) -> None:
        manifest = sim.rollout_manifest(replicas=3, steps=STEPS)
        cluster = sim.Cluster(manifest)
        cluster.services["web-canary"]["metadata"]["annotations"] = {
            sim.MANAGED_BY_ANNOTATION: "someone-else"
        }
        decision = cluster.step()
        assert decision.effects == ()
        message = invalid_condition(decision.status).message
        assert "spec.strategy.canary.canaryService" in message and "someone-else" in message

    def test_no_services_configured_is_fine(self) -> None:
        cluster = sim.Cluster(
            sim.rollout_manifest(replicas=3, steps=STEPS, canary_service=None, stable_service=None)
        )
        cluster.settle()
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        assert cluster.services == {}


class TestServiceSwitching:
    def test_an_unmanaged_service_is_adopted_only_once_the_replica_set_is_fully_available(self) -> None:
        """Semantics 2.6: without the managed-by annotation, wait for full availability; then one pod is enough."""
        cluster = sim.Cluster(sim.rollout_manifest(replicas=4, steps=STEPS), lag=sim.NEVER)
        cluster.step()
        (pods,) = cluster.pods.values()
        pods[0].ready_at_pass = cluster.passes + 1  # one pod of four comes up
        decision = cluster.step(cluster.now + SECOND)
        assert cluster.available(cluster.status.stable_rs) == 1
        assert not [e for e in decision.effects if type(e).__name__ == "SetServiceSelector"]
        assert cluster.service_hash("web-stable") is None
        cluster.make_pods_ready()
        cluster.step(cluster.now + SECOND)
        assert cluster.service_hash("web-stable") == cluster.status.stable_rs
        assert cluster.services["web-stable"]["metadata"]["annotations"][sim.MANAGED_BY_ANNOTATION] == "web"


class TestReportedIssues:
    def test_an_unsupported_field_is_reported_and_the_rollout_proceeds(self) -> None:
        manifest = sim.rollout_manifest(replicas=4, steps=STEPS)
        manifest["spec"]["strategy"]["canary"]["antiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {}
        }
        cluster = sim.Cluster(manifest)
        decision = cluster.step()
        condition = decision.status.condition("UnsupportedFields")
        assert condition is not None
        assert (condition.status, condition.reason) == (model.ConditionStatus.TRUE, "UnsupportedFields")
        assert "spec.strategy.canary.antiAffinity" in condition.message
        events = [e for e in decision.events if e.reason == "UnsupportedFields"]
        assert len(events) == 1 and events[0].warning
        assert "spec.strategy.canary.antiAffinity" in events[0].message
        assert decision.effects  # still deploys
        assert decision.status.condition("InvalidSpec") is None

        cluster.settle()
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
        assert len(cluster.events_with("UnsupportedFields")) == 1

    def test_the_condition_goes_when_the_field_goes(self) -> None:
        manifest = sim.rollout_manifest(replicas=4, steps=STEPS)
        manifest["spec"]["strategy"]["canary"]["antiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {}
        }
        cluster = sim.Cluster(manifest)
        cluster.settle()
        cluster.edit_spec(lambda spec: spec["strategy"]["canary"].pop("antiAffinity"))
        cluster.step(cluster.now + SECOND)
        assert cluster.status.condition("UnsupportedFields") is None
        assert cluster.status.phase == model.RolloutPhase.HEALTHY
