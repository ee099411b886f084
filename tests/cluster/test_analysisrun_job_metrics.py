"""Bare AnalysisRuns with Job metrics, run by the controller process: a Job that completes, a Job whose pod fails
(kwok fails pods labelled rollwave.dev/fake-outcome=fail), and a pending Job that survives a controller crash and
is resumed, not created again, then deleted when the run is terminated."""

from __future__ import annotations

import uuid
from typing import Any

from rollouts.devcluster import stages
from tests.support import kube


def _job_metric(
    *, pod_labels: dict[str, str] | None = None, node_selector: dict[str, str] | None = None
) -> Any:
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "smoke", "image": "busybox", "command": ["true"]}],
    }
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    return {
        "name": "smoke",
        "provider": {
            "job": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {"metadata": {"labels": pod_labels or {}}, "spec": pod_spec},
                }
            }
        },
    }


def _create_run(namespace: str, metric: dict[str, Any]) -> tuple[str, str]:
    name = f"run-{uuid.uuid4().hex[:6]}"
    kube.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": name},
            "spec": {"metrics": [metric]},
        },
        namespace=namespace,
    )
    run = kube.get("analysisrun", name, namespace=namespace)
    assert run is not None
    return name, run["metadata"]["uid"]


def _status(namespace: str, name: str) -> dict[str, Any]:
    run = kube.get("analysisrun", name, namespace=namespace)
    assert run is not None
    status: dict[str, Any] = run.get("status") or {}
    return status


def _completed(namespace: str, name: str, *, timeout: float = 45) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status = _status(namespace, name)
        return status if status.get("phase") in ("Successful", "Failed", "Error", "Inconclusive") else None

    found = kube.wait_for(done, timeout=timeout, what=f"analysis run {name} to complete")
    assert found is not None
    return found


def _jobs_of(namespace: str, uid: str) -> list[str]:
    return [
        job["metadata"]["name"]
        for job in kube.list_objects(
            "jobs", namespace=namespace, selector=f"analysisrun.argoproj.io/uid={uid}"
        )
    ]


def test_a_job_that_completes_makes_the_run_successful(controller: kube.Controller, namespace: str) -> None:
    name, uid = _create_run(namespace, _job_metric())
    status = _completed(namespace, name)
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["count"], result["successful"]) == (1, 1)
    [measurement] = result["measurements"]
    assert measurement["phase"] == "Successful"
    assert measurement["metadata"] == {"job-name": f"{uid}.smoke.1", "job-namespace": namespace}
    assert "resumeAt" not in measurement
    assert _jobs_of(namespace, uid) == [f"{uid}.smoke.1"]


def test_a_job_whose_pod_fails_makes_the_run_fail(controller: kube.Controller, namespace: str) -> None:
    name, uid = _create_run(namespace, _job_metric(pod_labels={stages.FAIL_LABEL: stages.FAIL_VALUE}))
    status = _completed(namespace, name)
    assert status["phase"] == "Failed", status
    assert status["message"] == 'Metric "smoke" assessed Failed due to failed (1) > failureLimit (0)'
    [result] = status["metricResults"]
    assert (result["count"], result["failed"]) == (1, 1)
    assert _jobs_of(namespace, uid) == [f"{uid}.smoke.1"]


def test_a_pending_job_is_resumed_after_a_crash_and_deleted_on_terminate(
    controller: kube.Controller, namespace: str
) -> None:
    # No node carries this label: the pod stays Pending, so the Job runs until it is deleted.
    metric = _job_metric(node_selector={"rollwave.dev/no-such-node": "true"})
    name, uid = _create_run(namespace, metric)

    def pending_measurement() -> dict[str, Any] | None:
        results = _status(namespace, name).get("metricResults") or []
        measurements = results[0].get("measurements") or [] if results else []
        return measurements[-1] if measurements and measurements[-1]["phase"] == "Running" else None

    before = kube.wait_for(pending_measurement, timeout=20, what="a pending job measurement")
    assert before is not None
    job_name = before["metadata"]["job-name"]
    assert job_name == f"{uid}.smoke.1"
    controller.kill()
    controller.start()

    # The restarted controller polls the Job it finds in the status: resumeAt moves on, the measurement stays.
    def resumed() -> dict[str, Any] | None:
        found = pending_measurement()
        return found if found is not None and found["resumeAt"] != before["resumeAt"] else None

    after = kube.wait_for(resumed, timeout=20, what="the pending measurement to be resumed")
    assert after is not None
    assert (after["startedAt"], after["metadata"]) == (before["startedAt"], before["metadata"])
    assert _jobs_of(namespace, uid) == [job_name]

    kube.kubectl(
        "patch", "analysisrun", name, "-n", namespace, "--type", "merge", "-p", '{"spec":{"terminate":true}}'
    )
    status = _completed(namespace, name)
    assert (status["phase"], status["message"]) == ("Successful", "Run Terminated")
    [result] = status["metricResults"]
    [measurement] = result["measurements"]
    assert (measurement["phase"], measurement["message"]) == ("Successful", "Metric Terminated")
    assert measurement["metadata"]["job-name"] == job_name
    kube.wait_for(lambda: not _jobs_of(namespace, uid), timeout=20, what="the job to be deleted")
