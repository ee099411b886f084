"""The Job provider on the real control plane: Jobs are created owned by their AnalysisRun, a completed Job
is Successful, a Job whose pod fails (kwok fails pods labelled rollwave.dev/fake-outcome=fail) is Failed,
and terminate deletes the Job."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import kubernetes
import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.devcluster import stages
from rollouts.kube import client as kube_client
from rollouts.model import analysis
from rollouts.providers import base, job
from tests.support import kube


def _job_config(*, fail: bool = False, backoff_limit: int = 0) -> dict[str, Any]:
    pod_labels = {stages.FAIL_LABEL: stages.FAIL_VALUE} if fail else {}
    return {
        "metadata": {"labels": {"team": "checkout"}},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "smoke", "image": "busybox"}]},
            },
        },
    }


def _metric(config: dict[str, Any], name: str = "smoke") -> analysis.Metric:
    return analysis.Metric(name=name, provider=analysis.MetricProviderSpec(kind="job", config=config))


@pytest.fixture
def analysis_run(crds: None, namespace: str) -> dict[str, Any]:
    """A real AnalysisRun to own the Jobs (no controller runs here, so nothing else acts on it)."""
    name = f"run-{uuid.uuid4().hex[:6]}"
    kube.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": name},
            "spec": {"metrics": [{"name": "smoke", "provider": {"job": _job_config()}}]},
        },
        namespace=namespace,
    )
    found = kube.get("analysisrun", name, namespace=namespace)
    assert found is not None
    return found


@pytest.fixture
def provider(dev_cluster: devcluster.DevCluster) -> job.JobProvider:
    # kube_client.load() reads KUBECONFIG as it was when `kubernetes` was imported; name the file instead.
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(dev_cluster.kubeconfig), client_configuration=configuration
    )
    api = kubernetes.client.ApiClient(configuration)
    clients = kube_client.Clients(
        api=api,
        core=kubernetes.client.CoreV1Api(api),
        apps=kubernetes.client.AppsV1Api(api),
        batch=kubernetes.client.BatchV1Api(api),
        custom=kubernetes.client.CustomObjectsApi(api),
        events=kubernetes.client.EventsV1Api(api),
    )
    return job.JobProvider(kube=clients)


def _context(run: dict[str, Any], index: int = 0) -> base.MeasureContext:
    return base.MeasureContext(
        namespace=run["metadata"]["namespace"],
        run_name=run["metadata"]["name"],
        run_uid=run["metadata"]["uid"],
        measurement_index=index,
        now=datetime.datetime.now(datetime.UTC),
    )


def _run_to_the_end(
    provider: job.JobProvider, metric: analysis.Metric, run: dict[str, Any], *, timeout: float = 90
) -> tuple[base.Sample, list[base.Sample]]:
    """measure, then resume when each sample asks to, until a verdict; returns it and the pending samples."""

    async def scenario() -> tuple[base.Sample, list[base.Sample]]:
        sample = await provider.measure(metric, context=_context(run))
        pending: list[base.Sample] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while sample.pending:
            pending.append(sample)
            assert sample.resume_at is not None
            assert asyncio.get_running_loop().time() < deadline, f"job still running: {sample}"
            wait = (sample.resume_at - datetime.datetime.now(datetime.UTC)).total_seconds()
            await asyncio.sleep(min(max(wait, 0.0), 2.0))
            sample = await provider.resume(metric, sample, context=_context(run))
        return sample, pending

    return asyncio.run(scenario())


def test_a_job_that_completes_is_successful(provider: job.JobProvider, analysis_run: dict[str, Any]) -> None:
    verdict, pending = _run_to_the_end(provider, _metric(_job_config()), analysis_run)
    assert verdict.verdict == "Successful"
    assert verdict.error is None
    assert pending, "the first sample is always pending"
    first = pending[0]
    assert first.verdict == "Running"
    uid = analysis_run["metadata"]["uid"]
    namespace = analysis_run["metadata"]["namespace"]
    assert first.metadata == {"job-name": f"{uid}.smoke.0", "job-namespace": namespace}
    assert verdict.metadata == first.metadata

    created = kube.get("job", f"{uid}.smoke.0", namespace=namespace)
    assert created is not None
    assert created["metadata"]["labels"]["analysisrun.argoproj.io/uid"] == uid
    assert created["metadata"]["labels"]["team"] == "checkout"
    assert (
        created["metadata"]["annotations"]["analysisrun.argoproj.io/name"] == analysis_run["metadata"]["name"]
    )
    assert created["metadata"]["annotations"]["analysisrun.argoproj.io/namespace"] == namespace
    assert created["metadata"]["annotations"]["analysisrun.argoproj.io/metric-name"] == "smoke"
    [owner] = created["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "AnalysisRun",
        analysis_run["metadata"]["name"],
        uid,
        True,
    )


def test_a_job_whose_pod_fails_is_failed(provider: job.JobProvider, analysis_run: dict[str, Any]) -> None:
    verdict, _ = _run_to_the_end(provider, _metric(_job_config(fail=True)), analysis_run)
    assert verdict.verdict == "Failed"
    assert verdict.error is None


def test_terminate_deletes_the_job(provider: job.JobProvider, analysis_run: dict[str, Any]) -> None:
    metric = _metric(_job_config())
    context = _context(analysis_run, index=3)
    pending = asyncio.run(provider.measure(metric, context=context))
    name = pending.metadata["job-name"]
    assert kube.get("job", name, namespace=context.namespace) is not None
    asyncio.run(provider.terminate(metric, pending, context=context))
    kube.wait_for(
        lambda: kube.get("job", name, namespace=context.namespace) is None, timeout=30, what="job deleted"
    )
    # Terminating twice, or resuming a deleted Job, is not an exception.
    asyncio.run(provider.terminate(metric, pending, context=context))
    gone = asyncio.run(provider.resume(metric, pending, context=context))
    assert gone.error == f"job {context.namespace}/{name} no longer exists"


def test_measuring_again_finds_its_own_job(provider: job.JobProvider, analysis_run: dict[str, Any]) -> None:
    metric = _metric(_job_config())
    context = _context(analysis_run, index=5)
    first = asyncio.run(provider.measure(metric, context=context))
    again = asyncio.run(provider.measure(metric, context=context))
    assert again.pending and again.error is None
    assert again.metadata == first.metadata


def test_a_job_of_the_same_name_from_elsewhere_is_an_error(
    provider: job.JobProvider, analysis_run: dict[str, Any], namespace: str
) -> None:
    context = _context(analysis_run, index=7)
    name = job.job_name(run_uid=context.run_uid, metric_name="smoke", measurement_index=7)
    foreign = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": _job_config()["spec"],
    }
    kube.apply(foreign, namespace=namespace)
    sample = asyncio.run(provider.measure(_metric(_job_config()), context=context))
    assert sample.error == f"job {namespace}/{name} already exists and does not belong to this run"


def test_a_job_the_api_server_refuses_is_an_error_sample(
    provider: job.JobProvider, analysis_run: dict[str, Any], namespace: str
) -> None:
    config = _job_config()
    del config["spec"]["template"]["spec"]["restartPolicy"]  # Jobs need Never or OnFailure
    sample = asyncio.run(provider.measure(_metric(config), context=_context(analysis_run)))
    assert sample.error is not None
    assert sample.error.startswith(f"could not create job {namespace}/")
    assert "restartPolicy" in sample.error
    assert not sample.pending


def test_deleting_the_analysis_run_deletes_its_jobs(
    provider: job.JobProvider, analysis_run: dict[str, Any], namespace: str
) -> None:
    pending = asyncio.run(provider.measure(_metric(_job_config()), context=_context(analysis_run)))
    name = pending.metadata["job-name"]
    kube.kubectl("delete", "analysisrun", analysis_run["metadata"]["name"], "-n", namespace)
    kube.wait_for(
        lambda: kube.get("job", name, namespace=namespace) is None, timeout=60, what="job collected"
    )
