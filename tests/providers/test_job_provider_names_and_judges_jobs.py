"""The Job provider's pure parts: the Job it creates (Argo's name, labels, annotations, owner), how a Job's
conditions become a verdict, and how often a running Job is polled."""

from __future__ import annotations

import datetime
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from rollouts.model import analysis
from rollouts.providers import base, job

NOW = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)
RUN_UID = "0f3a1c52-2f0b-4a6f-9d1e-6a8a1b7c9d0e"
SPEC = {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "t"}]}}}


def _metric(name: str = "smoke", **config: Any) -> analysis.Metric:
    return analysis.Metric(name=name, provider=analysis.MetricProviderSpec(kind="job", config=config))


def _context(index: int = 2) -> base.MeasureContext:
    return base.MeasureContext(
        namespace="shop", run_name="shop-7c9-2", run_uid=RUN_UID, measurement_index=index, now=NOW
    )


def test_the_job_is_named_labelled_annotated_and_owned_like_argos() -> None:
    manifest = job.job_manifest(
        _metric(spec=SPEC, metadata={"labels": {"team": "a"}, "annotations": {"note": "n"}}),
        context=_context(),
    )
    assert manifest == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{RUN_UID}.smoke.2",
            "namespace": "shop",
            "labels": {"team": "a", "analysisrun.argoproj.io/uid": RUN_UID},
            "annotations": {
                "note": "n",
                "analysisrun.argoproj.io/name": "shop-7c9-2",
                "analysisrun.argoproj.io/namespace": "shop",
                "analysisrun.argoproj.io/metric-name": "smoke",
            },
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "AnalysisRun",
                    "name": "shop-7c9-2",
                    "uid": RUN_UID,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": SPEC,
    }


def test_our_label_wins_over_a_user_label_of_the_same_key() -> None:
    manifest = job.job_manifest(
        _metric(spec=SPEC, metadata={"labels": {"analysisrun.argoproj.io/uid": "forged"}}), context=_context()
    )
    assert manifest["metadata"]["labels"]["analysisrun.argoproj.io/uid"] == RUN_UID


@pytest.mark.parametrize(
    ("metric_name", "index", "expected"),
    [
        pytest.param("smoke", 0, "1b2f.smoke.0", id="short"),
        pytest.param("m" * 70, 0, "1b2f." + "m" * 58, id="cut-to-63"),
        pytest.param("m" * 57 + ".x", 1, "1b2f." + "m" * 57, id="no-trailing-dot-after-the-cut"),
    ],
)
def test_job_names(metric_name: str, index: int, expected: str) -> None:
    assert job.job_name(run_uid="1b2f", metric_name=metric_name, measurement_index=index) == expected


@hypothesis.given(
    metric_name=st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,80}[a-z0-9])?", fullmatch=True),
    index=st.integers(min_value=0, max_value=10_000),
)
def test_job_names_fit_and_end_alphanumeric(metric_name: str, index: int) -> None:
    name = job.job_name(run_uid=RUN_UID, metric_name=metric_name, measurement_index=index)
    assert len(name) <= 63
    assert name[-1].isalnum()
    assert f"{RUN_UID}.{metric_name}.{index}".startswith(name)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({}, id="no-spec"),
        pytest.param({"spec": {}}, id="empty-spec"),
        pytest.param({"spec": "x"}, id="str"),
    ],
)
def test_a_metric_without_a_job_spec_is_a_provider_error(config: dict[str, Any]) -> None:
    with pytest.raises(base.ProviderError) as raised:
        job.job_manifest(_metric(**config), context=_context())
    assert raised.value.field == "provider.job.spec"


def _condition(kind: str, status: str = "True") -> dict[str, str]:
    return {"type": kind, "status": status}


@pytest.mark.parametrize(
    ("conditions", "verdict"),
    [
        pytest.param([_condition("Complete")], analysis.AnalysisPhase.SUCCESSFUL, id="complete"),
        pytest.param([_condition("Failed")], analysis.AnalysisPhase.FAILED, id="failed"),
        pytest.param(
            [_condition("SuccessCriteriaMet"), _condition("Complete")],
            analysis.AnalysisPhase.SUCCESSFUL,
            id="complete-after-success-criteria",
        ),
        pytest.param([_condition("FailureTarget")], None, id="failure-target-is-not-final-yet"),
        pytest.param([_condition("Complete", "False")], None, id="condition-not-true"),
        pytest.param([_condition("Suspended")], None, id="suspended"),
        pytest.param([], None, id="no-conditions"),
    ],
)
def test_a_jobs_conditions_give_its_verdict(
    conditions: list[dict[str, str]], verdict: analysis.AnalysisPhase | None
) -> None:
    assert job.job_outcome({"status": {"conditions": conditions}}) == verdict


def test_a_job_without_status_is_running() -> None:
    assert job.job_outcome({"metadata": {}}) is None


@pytest.mark.parametrize(
    ("elapsed_seconds", "delay_seconds"),
    [
        pytest.param(0, 1.0, id="at-least-one-second"),
        pytest.param(0.2, 1.0, id="floor"),
        pytest.param(8, 4.0, id="sqrt-of-twice-elapsed"),
        pytest.param(50, 10.0, id="fifty-seconds"),
        pytest.param(450, 30.0, id="cap-reached"),
        pytest.param(10_000, 30.0, id="at-most-thirty-seconds"),
        pytest.param(-5, 1.0, id="clock-skew"),
    ],
)
def test_poll_delay_grows_with_the_square_root_of_elapsed_time(
    elapsed_seconds: float, delay_seconds: float
) -> None:
    assert job.poll_delay(datetime.timedelta(seconds=elapsed_seconds)).total_seconds() == delay_seconds


@hypothesis.given(st.floats(min_value=0, max_value=1e7), st.floats(min_value=0, max_value=1e7))
def test_poll_delay_never_shrinks_as_time_passes(first: float, second: float) -> None:
    earlier, later = sorted((first, second))
    assert job.poll_delay(datetime.timedelta(seconds=earlier)) <= job.poll_delay(
        datetime.timedelta(seconds=later)
    )
