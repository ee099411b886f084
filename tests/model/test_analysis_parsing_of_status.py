"""AnalysisRunStatus speaks Argo's wire form and survives a round trip through it."""

import datetime
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.model import analysis

UTC = datetime.UTC

timestamps = st.datetimes(
    min_value=datetime.datetime(1970, 1, 1),
    max_value=datetime.datetime(9999, 12, 31),
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=0))
texts = st.text(max_size=12)
counts = st.integers(min_value=0, max_value=2**31 - 1)
phases = st.sampled_from(analysis.AnalysisPhase)
string_maps = st.dictionaries(texts, texts, max_size=3)

measurements = st.builds(
    analysis.Measurement,
    phase=phases,
    message=st.none() | texts,
    started_at=st.none() | timestamps,
    finished_at=st.none() | timestamps,
    value=st.none() | texts,
    metadata=string_maps,
    resume_at=st.none() | timestamps,
)
metric_results = st.builds(
    analysis.MetricResult,
    name=texts,
    phase=phases,
    measurements=st.lists(measurements, max_size=3).map(tuple),
    message=st.none() | texts,
    count=counts,
    successful=counts,
    failed=counts,
    inconclusive=counts,
    error=counts,
    consecutive_error=counts,
    consecutive_success=counts,
    dry_run=st.booleans(),
    metadata=string_maps,
)
summaries = st.builds(
    analysis.RunSummary, count=counts, successful=counts, failed=counts, inconclusive=counts, error=counts
)
statuses = st.builds(
    analysis.AnalysisRunStatus,
    phase=st.none() | phases,
    message=st.none() | texts,
    metric_results=st.lists(metric_results, max_size=3).map(tuple),
    started_at=st.none() | timestamps,
    completed_at=st.none() | timestamps,
    run_summary=summaries,
    dry_run_summary=st.none() | summaries,
)


@given(statuses)
def test_status_round_trips_through_the_wire_form(status: analysis.AnalysisRunStatus) -> None:
    wire = status.to_dict()
    assert json.loads(json.dumps(wire)) == wire
    assert analysis.AnalysisRunStatus.from_dict(wire) == status


ARGO_STATUS: dict[str, Any] = {
    "phase": "Failed",
    "message": 'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
    "startedAt": "2026-11-22T10:00:00Z",
    "completedAt": "2026-11-22T10:10:00Z",
    "runSummary": {"count": 1, "successful": 0, "failed": 1, "inconclusive": 0, "error": 0},
    "metricResults": [
        {
            "name": "success-rate",
            "phase": "Failed",
            "count": 2,
            "successful": 0,
            "failed": 2,
            "inconclusive": 0,
            "error": 0,
            "consecutiveError": 0,
            "consecutiveSuccess": 0,
            "metadata": {"ResolvedPrometheusQuery": "sum(up)"},
            "measurements": [
                {
                    "phase": "Failed",
                    "startedAt": "2026-11-22T10:05:00Z",
                    "finishedAt": "2026-11-22T10:05:01Z",
                    "value": "[0.42]",
                },
                {
                    "phase": "Failed",
                    "startedAt": "2026-11-22T10:10:00Z",
                    "finishedAt": "2026-11-22T10:10:01Z",
                    "value": "[0.40]",
                },
            ],
        }
    ],
}


def test_an_argo_written_status_parses_and_is_written_back_the_same() -> None:
    status = analysis.AnalysisRunStatus.from_dict(ARGO_STATUS)
    assert status.phase is analysis.AnalysisPhase.FAILED
    assert status.completed_at == datetime.datetime(2026, 11, 22, 10, 10, tzinfo=UTC)
    (result,) = status.metric_results
    assert (result.name, result.failed, result.metadata) == (
        "success-rate",
        2,
        {"ResolvedPrometheusQuery": "sum(up)"},
    )
    assert [measurement.value for measurement in result.measurements] == ["[0.42]", "[0.40]"]
    assert status.to_dict() == ARGO_STATUS


def test_a_fresh_run_has_no_phase() -> None:
    assert analysis.AnalysisRunStatus.from_dict(None) == analysis.AnalysisRunStatus()
    assert analysis.AnalysisRunStatus.from_dict({"phase": ""}).phase is None
    assert analysis.AnalysisRunStatus().to_dict() == {
        "runSummary": {"count": 0, "successful": 0, "failed": 0, "inconclusive": 0, "error": 0}
    }


def test_resume_at_and_dry_run_flags_are_written() -> None:
    result = analysis.MetricResult(
        name="job",
        phase=analysis.AnalysisPhase.RUNNING,
        dry_run=True,
        measurements=(
            analysis.Measurement(
                phase=analysis.AnalysisPhase.RUNNING,
                resume_at=datetime.datetime(2026, 11, 22, 10, 0, 30, 999, tzinfo=UTC),
                metadata={"job-name": "abc.job.1"},
            ),
        ),
    )
    wire = result.to_dict()
    assert wire["dryRun"] is True
    assert wire["measurements"] == [
        {"phase": "Running", "metadata": {"job-name": "abc.job.1"}, "resumeAt": "2026-11-22T10:00:30Z"}
    ]


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        pytest.param({"phase": "Done"}, "status.phase must be one of", id="unknown-phase"),
        pytest.param({"metricResults": [{"phase": "Running"}]}, "name is required", id="result-without-name"),
        pytest.param({"metricResults": [{"name": "m"}]}, "phase is required", id="result-without-phase"),
        pytest.param(
            {"metricResults": [{"name": "m", "phase": "Running", "count": "1"}]},
            "count must be an integer",
            id="count-text",
        ),
        pytest.param(
            {
                "metricResults": [
                    {
                        "name": "m",
                        "phase": "Running",
                        "measurements": [{"phase": "Running", "startedAt": "x"}],
                    }
                ]
            },
            "startedAt",
            id="bad-measurement-time",
        ),
        pytest.param({"runSummary": {"count": "1"}}, "runSummary.count", id="summary-text"),
        pytest.param({"metricResults": {}}, "must be a list", id="results-not-a-list"),
    ],
)
def test_malformed_statuses_name_the_field(wire: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analysis.AnalysisRunStatus.from_dict(wire)
