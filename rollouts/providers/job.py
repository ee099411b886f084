"""Job: a Kubernetes Job per measurement; its outcome is the verdict (no conditions needed).

Config is Argo's `job:` block: `metadata{labels, annotations}` (optional) and `spec` (a batch/v1 JobSpec).

- `measure` creates Job `<run uid>.<metric>.<index>` (cut to 63 characters, Argo's name) in the run's
  namespace, owned by the AnalysisRun, and returns a pending sample (`verdict="Running"`, `resume_at`).
- `resume` reads the Job: condition Complete → `Successful`, Failed → `Failed`, otherwise still pending,
  polled again after sqrt(2 · elapsed) seconds, kept between 1 s and 30 s.
- `terminate` deletes the Job (background propagation: its pods go too).

The pending sample carries the Job's name and namespace in `metadata` (`job-name`, `job-namespace`, as
Argo's), which is all `resume` and `terminate` need, also after a controller restart.
"""

from __future__ import annotations

import asyncio
import datetime
import math
from collections.abc import Mapping
from typing import Any

from rollouts.kube import client as kube_client
from rollouts.kube import errors as kube_errors
from rollouts.kube import jobs as kube_jobs
from rollouts.model import analysis
from rollouts.providers import base

RUN_UID_LABEL = "analysisrun.argoproj.io/uid"
RUN_NAME_ANNOTATION = "analysisrun.argoproj.io/name"
RUN_NAMESPACE_ANNOTATION = "analysisrun.argoproj.io/namespace"
METRIC_NAME_ANNOTATION = "analysisrun.argoproj.io/metric-name"
JOB_NAME_KEY = "job-name"
JOB_NAMESPACE_KEY = "job-namespace"
MIN_POLL = datetime.timedelta(seconds=1)
MAX_POLL = datetime.timedelta(seconds=30)
# When the API server cannot be asked, look again later rather than fail a measurement that may be fine.
UNAVAILABLE_RETRY = datetime.timedelta(seconds=10)
_MAX_NAME = 63
_FIELD = "provider.job"


def job_name(*, run_uid: str, metric_name: str, measurement_index: int) -> str:
    """Argo's Job name, cut to 63 characters (the `job-name` label on the pods must fit).

    A cut that would end in `.` or `-` drops those too, or the API server would refuse the name.

    >>> job_name(run_uid="1b2f", metric_name="smoke", measurement_index=0)
    '1b2f.smoke.0'
    >>> len(job_name(run_uid="0f3a1c52-2f0b-4a6f-9d1e-6a8a1b7c9d0e", metric_name="x" * 40, measurement_index=3))
    63
    """
    return f"{run_uid}.{metric_name}.{measurement_index}"[:_MAX_NAME].rstrip(".-")


def poll_delay(elapsed: datetime.timedelta) -> datetime.timedelta:
    """How long to wait before looking at a running Job again: sqrt(2 · elapsed seconds), within [1 s, 30 s].

    >>> [poll_delay(datetime.timedelta(seconds=s)).total_seconds() for s in (0, 8, 50, 10_000)]
    [1.0, 4.0, 10.0, 30.0]
    """
    seconds = math.sqrt(2 * max(elapsed.total_seconds(), 0.0))
    return min(max(datetime.timedelta(seconds=seconds), MIN_POLL), MAX_POLL)


def job_manifest(metric: analysis.Metric, *, context: base.MeasureContext) -> dict[str, Any]:
    """The Job to create for one measurement (pure).

    >>> metric = analysis.Metric(
    ...     name="smoke", provider=analysis.MetricProviderSpec(kind="job", config={"spec": {"backoffLimit": 0}}))
    >>> context = base.MeasureContext(namespace="shop", run_name="shop-7c9-2", run_uid="1b2f",
    ...                               measurement_index=0, now=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
    >>> manifest = job_manifest(metric, context=context)
    >>> manifest["metadata"]["name"], manifest["metadata"]["labels"]
    ('1b2f.smoke.0', {'analysisrun.argoproj.io/uid': '1b2f'})
    """
    config = metric.provider.config
    spec = config.get("spec")
    if not isinstance(spec, Mapping) or not spec:
        raise base.ProviderError(f"{_FIELD}.spec is required (a batch/v1 JobSpec)", field=f"{_FIELD}.spec")
    metadata = base.config_mapping(config.get("metadata"), field=f"{_FIELD}.metadata")
    labels = base.config_mapping(metadata.get("labels"), field=f"{_FIELD}.metadata.labels")
    annotations = base.config_mapping(metadata.get("annotations"), field=f"{_FIELD}.metadata.annotations")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(
                run_uid=context.run_uid, metric_name=metric.name, measurement_index=context.measurement_index
            ),
            "namespace": context.namespace,
            "labels": {**{str(k): str(v) for k, v in labels.items()}, RUN_UID_LABEL: context.run_uid},
            "annotations": {
                **{str(k): str(v) for k, v in annotations.items()},
                RUN_NAME_ANNOTATION: context.run_name,
                RUN_NAMESPACE_ANNOTATION: context.namespace,
                METRIC_NAME_ANNOTATION: metric.name,
            },
            "ownerReferences": [
                {
                    "apiVersion": analysis.API_VERSION,
                    "kind": "AnalysisRun",
                    "name": context.run_name,
                    "uid": context.run_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": dict(spec),
    }


def job_outcome(job: Mapping[str, Any]) -> analysis.AnalysisPhase | None:
    """The verdict a finished Job gives, or None while it runs.

    >>> job_outcome({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})
    <AnalysisPhase.SUCCESSFUL: 'Successful'>
    >>> job_outcome({"status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}}) is None
    True
    """
    # Only the final conditions count; FailureTarget/SuccessCriteriaMet come first while pods still stop.
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return analysis.AnalysisPhase.SUCCESSFUL
        if condition.get("type") == "Failed":
            return analysis.AnalysisPhase.FAILED
    return None


def _created_at(job: Mapping[str, Any]) -> datetime.datetime | None:
    text = (job.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(text, str):
        return None
    return datetime.datetime.fromisoformat(text)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


class JobProvider:
    """Runs Jobs through `kube.jobs`; the blocking client calls go to a worker thread."""

    def __init__(self, *, kube: kube_client.Clients) -> None:
        self.kube = kube

    async def measure(self, metric: analysis.Metric, *, context: base.MeasureContext) -> base.Sample:
        manifest = job_manifest(metric, context=context)
        name = manifest["metadata"]["name"]
        metadata = {JOB_NAME_KEY: name, JOB_NAMESPACE_KEY: context.namespace}
        try:
            await asyncio.to_thread(
                kube_jobs.create, self.kube.batch, namespace=context.namespace, body=manifest
            )
        except kube_errors.Conflict:
            # A retried measurement after a crash finds its own Job; anybody else's is an error.
            try:
                existing = await asyncio.to_thread(
                    kube_jobs.read, self.kube.batch, namespace=context.namespace, name=name
                )
            except kube_errors.KubeError as err:
                return base.Sample(error=f"job {context.namespace}/{name}: {err.message}", metadata=metadata)
            owner_uid = ((existing.get("metadata") or {}).get("labels") or {}).get(RUN_UID_LABEL)
            if owner_uid != context.run_uid:
                return base.Sample(
                    error=f"job {context.namespace}/{name} already exists and does not belong to this run",
                    metadata=metadata,
                )
        except kube_errors.KubeError as err:
            return base.Sample(
                error=f"could not create job {context.namespace}/{name}: {err.message}", metadata=metadata
            )
        return base.Sample(
            verdict=analysis.AnalysisPhase.RUNNING,
            metadata=metadata,
            resume_at=_aware(context.now) + poll_delay(datetime.timedelta(0)),
        )

    async def resume(
        self, metric: analysis.Metric, pending: base.Sample, *, context: base.MeasureContext
    ) -> base.Sample:
        name = pending.metadata.get(JOB_NAME_KEY)
        namespace = pending.metadata.get(JOB_NAMESPACE_KEY) or context.namespace
        if not name:
            return base.Sample(error=f"the pending measurement of {metric.name!r} does not name its job")
        metadata = {JOB_NAME_KEY: name, JOB_NAMESPACE_KEY: namespace}
        now = _aware(context.now)
        try:
            job = await asyncio.to_thread(kube_jobs.read, self.kube.batch, namespace=namespace, name=name)
        except kube_errors.NotFound:
            return base.Sample(error=f"job {namespace}/{name} no longer exists", metadata=metadata)
        except kube_errors.Unavailable as err:
            return base.Sample(
                verdict=analysis.AnalysisPhase.RUNNING,
                metadata={**metadata, "warnings": f"could not read job: {err.message}"},
                resume_at=now + UNAVAILABLE_RETRY,
            )
        except kube_errors.KubeError as err:
            return base.Sample(
                error=f"could not read job {namespace}/{name}: {err.message}", metadata=metadata
            )
        outcome = job_outcome(job)
        if outcome is not None:
            return base.Sample(verdict=outcome, metadata=metadata)
        created_at = _created_at(job)
        elapsed = now - created_at if created_at is not None else datetime.timedelta(0)
        return base.Sample(
            verdict=analysis.AnalysisPhase.RUNNING, metadata=metadata, resume_at=now + poll_delay(elapsed)
        )

    async def terminate(
        self, metric: analysis.Metric, pending: base.Sample, *, context: base.MeasureContext
    ) -> None:
        """Deletes the measurement's Job. Raises `kube.errors.KubeError` if the API server refuses."""
        name = pending.metadata.get(JOB_NAME_KEY)
        if not name:
            return
        namespace = pending.metadata.get(JOB_NAMESPACE_KEY) or context.namespace
        await asyncio.to_thread(kube_jobs.delete, self.kube.batch, namespace=namespace, name=name)


def create(deps: base.ProviderDeps) -> JobProvider:
    if deps.kube is None:
        raise base.ProviderError("the job provider needs Kubernetes API clients, and none were configured")
    return JobProvider(kube=deps.kube)
