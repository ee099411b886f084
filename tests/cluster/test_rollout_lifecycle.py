"""Rollout behaviour that needs real controllers around it: an HPA scaling a Rollout through /scale, a progress
deadline on pods that never become ready (and its abort), and restartAt replacing pods one by one."""

from __future__ import annotations

import datetime

from rollouts.devcluster import stages
from tests.support import kube
from tests.support import rollouts as ro


def test_hpa_scales_the_rollout_through_the_scale_subresource(
    controller: kube.Controller, namespace: str
) -> None:
    ro.create(ro.rollout_manifest("elastic", replicas=2, steps=[{"setWeight": 50}]), namespace=namespace)
    ro.wait_phase("elastic", "Healthy", namespace=namespace)
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "elastic"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "elastic"},
            # Below minReplicas the HPA controller scales up without needing any metric.
            "minReplicas": 4,
            "maxReplicas": 6,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
    }
    kube.apply(hpa, namespace=namespace)
    kube.wait_for(
        lambda: ro.get("elastic", namespace=namespace)["spec"]["replicas"] == 4,
        timeout=90,
        what="HPA scaled spec.replicas to 4",
    )
    healthy = ro.wait_phase("elastic", "Healthy", namespace=namespace)
    assert healthy["status"]["HPAReplicas"] == 4
    ro.wait_split("elastic", namespace=namespace, canary=4, stable=0)
    scale = kube.kubectl(
        "get", "--raw", f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/rollouts/elastic/scale"
    )
    assert '"replicas":4' in scale.replace(" ", "") and "app=elastic" in scale


def test_progress_deadline_exceeded_aborts_when_asked(controller: kube.Controller, namespace: str) -> None:
    manifest = ro.rollout_manifest("stuck", replicas=2, steps=[{"setWeight": 50}, {"pause": {}}])
    manifest["spec"]["progressDeadlineSeconds"] = 8
    manifest["spec"]["progressDeadlineAbort"] = True
    ro.create(manifest, namespace=namespace)
    v1 = ro.wait_phase("stuck", "Healthy", namespace=namespace)["status"]["stableRS"]
    # The new version's pods crash (kwok fails every pod with this label), so it never becomes available.
    patch = {"spec": {"template": {"metadata": {"labels": {stages.FAIL_LABEL: stages.FAIL_VALUE}}}}}
    kube.kubectl(
        "patch", "rollout", "stuck", "-n", namespace, "--type", "merge", "-p", __import__("json").dumps(patch)
    )
    degraded = ro.wait_phase("stuck", "Degraded", namespace=namespace, timeout=60)
    reasons = {c["type"]: c["reason"] for c in degraded["status"]["conditions"]}
    assert reasons["Progressing"] in ("ProgressDeadlineExceeded", "RolloutAborted")
    kube.wait_for(
        lambda: ro.status("stuck", namespace=namespace).get("abort") is True, timeout=30, what="abort"
    )
    ro.wait_split("stuck", namespace=namespace, canary=0, stable=2)
    assert ro.status("stuck", namespace=namespace)["stableRS"] == v1
    assert "RolloutTimedOut" in ro.event_reasons("stuck", namespace=namespace)


def test_restart_at_replaces_every_pod(controller: kube.Controller, namespace: str) -> None:
    manifest = ro.rollout_manifest("fresh", replicas=3, steps=[{"setWeight": 50}], maxUnavailable=1)
    ro.create(manifest, namespace=namespace)
    ro.wait_phase("fresh", "Healthy", namespace=namespace)
    before = {
        p["metadata"]["name"] for p in kube.list_objects("pods", namespace=namespace, selector="app=fresh")
    }
    restart_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(seconds=1)
    stamp = restart_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    kube.kubectl(
        "patch",
        "rollout",
        "fresh",
        "-n",
        namespace,
        "--type",
        "merge",
        "-p",
        f'{{"spec":{{"restartAt":"{stamp}"}}}}',
    )
    done = kube.wait_for(
        lambda: ro.status("fresh", namespace=namespace).get("restartedAt") == stamp,
        timeout=90,
        what="status.restartedAt",
    )
    assert done
    after = {
        p["metadata"]["name"]
        for p in kube.list_objects("pods", namespace=namespace, selector="app=fresh")
        if not p["metadata"].get("deletionTimestamp")
    }
    assert len(after) == 3 and not (after & before)
    assert ro.wait_phase("fresh", "Healthy", namespace=namespace)
