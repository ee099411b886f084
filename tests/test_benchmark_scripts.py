"""The benchmark scripts' pure helpers, on plain data: no cluster, and the benchmark itself never runs here."""

from __future__ import annotations

import itertools

import pytest

from benchmarks import step_latency, sync_waves


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        pytest.param([1.0, 2.0, 3.0, 4.0], 0.5, 2.5, id="median-between-two-middle-values"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 0.99, 3.97, id="p99-interpolates-toward-the-max"),
        pytest.param([4.0, 1.0, 3.0, 2.0], 0.5, 2.5, id="order-of-input-does-not-matter"),
        pytest.param([7.0], 0.99, 7.0, id="single-value"),
        pytest.param([1.0, 2.0, 3.0], 0.0, 1.0, id="p0-is-the-min"),
        pytest.param([1.0, 2.0, 3.0], 1.0, 3.0, id="p100-is-the-max"),
    ],
)
def test_percentile_interpolates_linearly_between_ranks(
    values: list[float], fraction: float, expected: float
) -> None:
    assert step_latency.percentile(values, fraction) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "fraction"),
    [
        pytest.param([], 0.5, id="no-values"),
        pytest.param([1.0], 1.5, id="fraction-above-one"),
        pytest.param([1.0], -0.1, id="negative-fraction"),
    ],
)
def test_percentile_rejects_what_has_no_answer(values: list[float], fraction: float) -> None:
    with pytest.raises(ValueError):
        step_latency.percentile(values, fraction)


def test_summarize_gives_count_p50_p99_and_max() -> None:
    summary = step_latency.summarize([0.3, 0.1, 0.2])
    assert summary is not None
    assert (summary.count, summary.max) == (3, 0.3)
    assert summary.p50 == pytest.approx(0.2)
    assert summary.p99 == pytest.approx(0.298)
    assert step_latency.summarize([]) is None


def test_format_table_aligns_columns_and_marks_missing_figures() -> None:
    rows = [
        step_latency.Row(
            scenario="1 rollout",
            trigger="all measured steps",
            latency=step_latency.Summary(count=20, p50=0.1024, p99=0.3141, max=0.317),
            rss_mib=98.06,
            api_requests_per_step=18.44,
            wall_seconds=29.54,
        ),
        step_latency.Row(scenario="1 rollout", trigger="  promote", latency=None, missed=2),
    ]
    lines = step_latency.format_table(rows).splitlines()
    words = [" ".join(line.split()) for line in lines]
    assert words[0] == "scenario trigger steps p50 ms p99 ms max ms RSS MiB API req/step wall s"
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert words[2] == "1 rollout all measured steps 20 102 314 317 98.1 18.4 29.5"
    assert words[3] == "1 rollout promote 0 +2 missed - - - - - -"
    # Numbers are right-aligned: every line has the same width up to the last column.
    assert len({len(line) for line in lines[:3]}) == 1


@pytest.mark.parametrize(
    ("p99", "target", "expected"),
    [
        pytest.param(0.12, 0.25, "target 1 rollout: p99 120 ms <= 250 ms: PASS", id="under"),
        pytest.param(0.25, 0.25, "target 1 rollout: p99 250 ms <= 250 ms: PASS", id="equal-passes"),
        pytest.param(0.314, 0.25, "target 1 rollout: p99 314 ms <= 250 ms: MISS", id="over"),
        pytest.param(None, 0.25, "target 1 rollout: p99 <= 250 ms: MISS (no step measured)", id="nothing"),
    ],
)
def test_target_line_says_pass_or_miss(p99: float | None, target: float, expected: str) -> None:
    assert step_latency.target_line(scenario="1 rollout", p99_seconds=p99, target=target) == expected


def test_targets_and_scenario_names_follow_the_issue() -> None:
    assert (step_latency.target_seconds(1), step_latency.target_seconds(200)) == (0.25, 2.0)
    assert (step_latency.scenario_name(1), step_latency.scenario_name(200)) == ("1 rollout", "200 rollouts")


EXPOSITION = """\
# HELP rollwave_api_requests_total Requests the controller sent to the Kubernetes API server, by verb.
# TYPE rollwave_api_requests_total counter
rollwave_api_requests_total{verb="GET"} 30.0
rollwave_api_requests_total{verb="PATCH"} 12.0
rollwave_api_requests_total_created{verb="GET"} 1.7e+09
rollout_reconcile_count{name="a, b",namespace="x"} 4.0
rollout_reconcile_count{name="c",namespace="x"} 6.0
"""


def test_metric_sum_adds_samples_of_one_name_grouped_by_a_label() -> None:
    assert step_latency.metric_sum(EXPOSITION, "rollwave_api_requests_total") == {"": 42.0}
    assert step_latency.metric_sum(EXPOSITION, "rollwave_api_requests_total", by="verb") == {
        "GET": 30.0,
        "PATCH": 12.0,
    }
    by_name = step_latency.metric_sum(EXPOSITION, "rollout_reconcile_count", by="name")
    assert by_name == {"a, b": 4.0, "c": 6.0}
    assert step_latency.metric_sum(EXPOSITION, "missing") == {}


def test_metric_delta_counts_new_series_from_zero() -> None:
    before = 'rollwave_api_requests_total{verb="GET"} 10.0\n'
    delta = step_latency.metric_delta(before, EXPOSITION, "rollwave_api_requests_total", by="verb")
    assert delta == {"GET": 20.0, "PATCH": 12.0}


def test_first_response_skips_earlier_changes_deletions_and_other_revisions() -> None:
    changes = [
        step_latency.Change(at=5.0, what="stable scaled", pod_hash="old"),
        step_latency.Change(at=1.0, what="before the trigger", pod_hash="new"),
        step_latency.Change(at=2.0, what="older revision", pod_hash="older"),
        step_latency.Change(at=3.0, what="deleted", pod_hash="new", deleted=True),
        step_latency.Change(at=4.0, what="canary scaled", pod_hash="new"),
    ]
    found = step_latency.first_response(changes, after=1.5, hashes=["new", "old"])
    assert found is not None and found.what == "canary scaled"
    service = step_latency.Change(at=1.8, what="switch", pod_hash="new", service=True)
    found = step_latency.first_response([*changes, service], after=1.5, hashes=["new", None])
    assert found is not None and found.what == "switch"
    assert step_latency.first_response(changes, after=5.0, hashes=["new", "old"]) is None


def test_cpu_line_lists_processes_by_cpu_and_the_machine_share() -> None:
    line = step_latency.cpu_line(
        {"machine busy": 90.0, "machine total": 100.0, "etcd": 5.0, "controller": 30.0}
    )
    assert line == "machine 90% busy; controller 30.0 s, etcd 5.0 s"


def test_canary_steps_measure_four_pauses_each_followed_by_a_change() -> None:
    steps = step_latency.canary_steps(3)
    pauses = [index for index, step in enumerate(steps) if "pause" in step]
    assert pauses == [1, 3, 5, 7]
    assert [steps[index]["pause"] for index in pauses] == [{}, {"duration": "3s"}, {"duration": "3s"}, {}]
    weights = [step["setWeight"] for step in steps if "setWeight" in step]
    # Consecutive weights differ, so every pause is followed by a scale.
    assert all(a != b for a, b in itertools.pairwise(weights))


# ---------------------------------------------------------------------------------------------------------------
# sync_waves.py


def test_waves_are_centred_on_zero_and_hold_the_manifests_evenly() -> None:
    assert sync_waves.wave_numbers(5) == [-2, -1, 0, 1, 2]
    by_wave = sync_waves.manifests(300, 5)
    assert list(by_wave) == [-2, -1, 0, 1, 2]
    assert [len(objects) for objects in by_wave.values()] == [60] * 5
    assert [len(objects) for objects in sync_waves.manifests(7, 3).values()] == [3, 2, 2]
    names = [obj["metadata"]["name"] for objects in by_wave.values() for obj in objects]
    assert len(set(names)) == 300
    for wave, objects in by_wave.items():
        assert {obj["metadata"]["annotations"][sync_waves.WAVE_ANNOTATION] for obj in objects} == {str(wave)}
    kinds = {obj["kind"] for objects in by_wave.values() for obj in objects}
    assert kinds == {"ConfigMap", "Secret", "ServiceAccount", "Service"}
    # Services are headless: the dev cluster's Service IP range could not hold hundreds of ClusterIPs.
    services = [obj for objects in by_wave.values() for obj in objects if obj["kind"] == "Service"]
    assert {service["spec"]["clusterIP"] for service in services} == {"None"}
    with pytest.raises(ValueError):
        sync_waves.wave_numbers(0)


def test_sync_waves_table_has_each_run_and_the_medians() -> None:
    runs = [
        sync_waves.Run(what="first sync", repetition=0, kubectl_seconds=2.0, rollwave_seconds=3.0),
        sync_waves.Run(what="first sync", repetition=1, kubectl_seconds=4.0, rollwave_seconds=4.0),
        sync_waves.Run(what="re-apply", repetition=0, kubectl_seconds=1.0, rollwave_seconds=2.5),
    ]
    lines = [" ".join(line.split()) for line in sync_waves.format_table(runs).splitlines()]
    assert lines[0] == "run kubectl apply s rollwave sync s ratio"
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2:] == [
        "first sync #0 2.00 3.00 1.50",
        "first sync #1 4.00 4.00 1.00",
        "re-apply #0 1.00 2.50 2.50",
        "first sync, median 3.00 3.50 1.17",
        "re-apply, median 1.00 2.50 2.50",
    ]
    assert sync_waves.median([5.0, 1.0, 3.0, 2.0]) == 2.5


@pytest.mark.parametrize(
    ("kubectl", "rollwave", "expected"),
    [
        pytest.param(
            2.0, 2.4, "target: rollwave 2.40 s / kubectl 2.00 s = 1.20 <= 1.2: PASS", id="equal-passes"
        ),
        pytest.param(2.0, 3.0, "target: rollwave 3.00 s / kubectl 2.00 s = 1.50 <= 1.2: MISS", id="over"),
    ],
)
def test_sync_waves_target_line(kubectl: float, rollwave: float, expected: str) -> None:
    assert sync_waves.target_line(kubectl_seconds=kubectl, rollwave_seconds=rollwave) == expected


def test_sync_waves_reads_api_requests_by_verb() -> None:
    assert sync_waves.api_requests(EXPOSITION) == {"GET": 30.0, "PATCH": 12.0}
