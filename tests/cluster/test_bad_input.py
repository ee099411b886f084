"""Bad input is reported, never acted on half-way: an invalid spec or a missing Service gives an InvalidSpec
condition and a Warning Event naming the field, leaves ReplicaSets and Services as they were, and a fixed
reference is picked up on the next retry. Fields rollwave does not act on are named too."""

from __future__ import annotations

from tests.support import kube
from tests.support import rollouts as ro


def _condition(name: str, kind: str, *, namespace: str) -> dict[str, str] | None:
    for condition in ro.status(name, namespace=namespace).get("conditions") or []:
        if condition["type"] == kind:
            return dict(condition)
    return None


def _warnings(name: str, *, namespace: str) -> list[str]:
    return [
        f"{e['reason']}: {e['message']}"
        for e in kube.events_for(namespace, name)
        if e.get("type") == "Warning"
    ]


def test_invalid_step_is_reported_and_nothing_is_created(controller: kube.Controller, namespace: str) -> None:
    # setCanaryScale needs a traffic router (Argo's rule); the schema cannot express that, so the controller must.
    manifest = ro.rollout_manifest("bad", replicas=2, steps=[{"setCanaryScale": {"replicas": 1}}])
    ro.create(manifest, namespace=namespace)
    degraded = ro.wait_phase("bad", "Degraded", namespace=namespace)
    assert degraded["status"]["message"].startswith("InvalidSpec:")
    condition = _condition("bad", "InvalidSpec", namespace=namespace)
    assert condition is not None and "spec.strategy.canary.steps[0].setCanaryScale" in condition["message"]
    warnings = kube.wait_for(lambda: _warnings("bad", namespace=namespace), timeout=10, what="warning event")
    assert any("spec.strategy.canary.steps[0].setCanaryScale" in w for w in warnings)
    assert ro.replica_sets("bad", namespace=namespace) == {}
    assert ro.service_hash("bad-stable", namespace=namespace) is None


def test_missing_service_is_reported_then_picked_up(controller: kube.Controller, namespace: str) -> None:
    manifest = ro.rollout_manifest("lonely", replicas=2, steps=[{"setWeight": 50}])
    kube.apply(ro.service_manifest("lonely-canary", app="lonely"), namespace=namespace)
    kube.apply(manifest, namespace=namespace)  # no lonely-stable Service yet
    ro.wait_phase("lonely", "Degraded", namespace=namespace)
    condition = _condition("lonely", "InvalidSpec", namespace=namespace)
    assert condition is not None
    assert 'spec.strategy.canary.stableService: service "lonely-stable" not found' in condition["message"]
    assert ro.replica_sets("lonely", namespace=namespace) == {}
    assert ro.service_hash("lonely-canary", namespace=namespace) is None

    kube.apply(ro.service_manifest("lonely-stable", app="lonely"), namespace=namespace)
    healthy = ro.wait_phase("lonely", "Healthy", namespace=namespace, timeout=45)
    assert _condition("lonely", "InvalidSpec", namespace=namespace) is None
    assert ro.service_hash("lonely-stable", namespace=namespace) == healthy["status"]["stableRS"]


def test_deleted_service_mid_rollout_stops_it_until_restored(
    controller: kube.Controller, namespace: str
) -> None:
    ro.create(
        ro.rollout_manifest("gone", replicas=2, steps=[{"setWeight": 50}, {"pause": {}}]), namespace=namespace
    )
    ro.wait_phase("gone", "Healthy", namespace=namespace)
    ro.set_image("gone", "nginx:2.0", namespace=namespace)
    ro.wait_phase("gone", "Paused", namespace=namespace)
    kube.kubectl("delete", "service", "gone-canary", "-n", namespace)
    ro.promote("gone", namespace=namespace)
    # Clients show "waiting for rollout to unpause" (the promote is not acted on); the stored phase says why.
    kube.wait_for(
        lambda: ro.status("gone", namespace=namespace).get("phase") == "Degraded",
        timeout=45,
        what="stored phase Degraded",
    )
    condition = _condition("gone", "InvalidSpec", namespace=namespace)
    assert condition is not None and 'service "gone-canary" not found' in condition["message"]
    before = {h: rs["spec"]["replicas"] for h, rs in ro.replica_sets("gone", namespace=namespace).items()}
    kube.apply(ro.service_manifest("gone-canary", app="gone"), namespace=namespace)
    assert ro.wait_phase("gone", "Healthy", namespace=namespace, timeout=45)
    assert sum(before.values()) >= 2  # nothing was scaled away while the Service was missing


def test_unsupported_fields_are_named_but_the_rollout_proceeds(
    controller: kube.Controller, namespace: str
) -> None:
    manifest = ro.rollout_manifest("extra", replicas=2, steps=[{"setWeight": 50}])
    manifest["spec"]["strategy"]["canary"]["antiAffinity"] = {
        "requiredDuringSchedulingIgnoredDuringExecution": {}
    }
    ro.create(manifest, namespace=namespace)
    ro.wait_phase("extra", "Healthy", namespace=namespace)
    condition = kube.wait_for(
        lambda: _condition("extra", "UnsupportedFields", namespace=namespace),
        timeout=10,
        what="UnsupportedFields condition",
    )
    assert "spec.strategy.canary.antiAffinity" in condition["message"]
    assert any("spec.strategy.canary.antiAffinity" in w for w in _warnings("extra", namespace=namespace))
