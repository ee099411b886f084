"""Bare AnalysisRuns with web metrics, run by the real controller process against a local HTTP server: counts,
failure limits, termination, arguments from Secrets, and a controller killed in the middle of a run."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.support import kube, webserver

RATE_OK = {"ok": True, "rate": 0.99}
RATE_LOW = {"ok": True, "rate": 0.5}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/ok":
            answer: dict[str, Any] = RATE_OK
        elif url.path == "/low":
            answer = RATE_LOW
        elif url.path == "/echo":
            answer = {"rate": 0.99, "token": urllib.parse.parse_qs(url.query).get("token", [""])[0]}
        else:
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    with webserver.serving(_Handler) as url:
        yield url


def _create_run(namespace: str, metric: dict[str, Any], **spec: Any) -> str:
    name = f"run-{uuid.uuid4().hex[:6]}"
    kube.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": name},
            "spec": {"metrics": [metric], **spec},
        },
        namespace=namespace,
    )
    return name


def _status(namespace: str, name: str) -> dict[str, Any]:
    run = kube.get("analysisrun", name, namespace=namespace)
    assert run is not None
    status: dict[str, Any] = run.get("status") or {}
    return status


def _completed(namespace: str, name: str, *, timeout: float = 40) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status = _status(namespace, name)
        return status if status.get("phase") in ("Successful", "Failed", "Error", "Inconclusive") else None

    found = kube.wait_for(done, timeout=timeout, what=f"analysis run {name} to complete")
    assert found is not None
    return found


def _events_once(namespace: str, name: str, reason: str) -> dict[str, dict[str, Any]]:
    """The run's Events by reason, once one with `reason` was recorded."""

    def recorded() -> dict[str, dict[str, Any]] | None:
        found = {event["reason"]: event for event in kube.events_for(namespace, name)}
        return found if reason in found else None

    events = kube.wait_for(recorded, timeout=10, what=f"a {reason} event")
    assert events is not None
    return events


def test_a_passing_web_metric_succeeds_after_its_count(
    controller: kube.Controller, namespace: str, server: str
) -> None:
    metric = {
        "name": "rate",
        "interval": "1s",
        "count": 3,
        "successCondition": "result.rate >= 0.95",
        "provider": {"web": {"url": f"{server}/ok"}},
    }
    name = _create_run(namespace, metric)
    status = _completed(namespace, name)
    assert status["phase"] == "Successful", status
    [result] = status["metricResults"]
    assert (result["name"], result["phase"]) == ("rate", "Successful")
    assert (result["count"], result["successful"], result["failed"], result["error"]) == (3, 3, 0, 0)
    assert result["consecutiveSuccess"] == 3
    assert [m["phase"] for m in result["measurements"]] == ["Successful"] * 3
    assert {m["value"] for m in result["measurements"]} == {'{"ok":true,"rate":0.99}'}
    finished = [m["finishedAt"] for m in result["measurements"]]
    assert finished == sorted(finished) and len(set(finished)) == 3, "at least an interval apart"
    assert status["runSummary"] == {"count": 1, "successful": 1, "failed": 0, "inconclusive": 0, "error": 0}
    assert status["startedAt"] <= finished[0]
    assert "completedAt" in status

    events = _events_once(namespace, name, "AnalysisRunSuccessful")
    assert events["AnalysisRunSuccessful"]["message"] == "Analysis Completed. Result: Successful"
    assert events["AnalysisRunSuccessful"]["type"] == "Normal"
    assert events["MetricSuccessful"]["message"] == "Metric 'rate' Completed. Result: Successful"
    assert events["AnalysisRunRunning"]["message"] == "Analysis Started"


def test_a_failing_metric_fails_once_past_its_failure_limit(
    controller: kube.Controller, namespace: str, server: str
) -> None:
    metric = {
        "name": "rate",
        "interval": "1s",
        "count": 5,
        "failureLimit": 1,
        "successCondition": "result.rate >= 0.95",
        "provider": {"web": {"url": f"{server}/low"}},
    }
    name = _create_run(namespace, metric)
    status = _completed(namespace, name)
    assert status["phase"] == "Failed", status
    assert status["message"] == 'Metric "rate" assessed Failed due to failed (2) > failureLimit (1)'
    [result] = status["metricResults"]
    assert (result["phase"], result["count"], result["failed"], result["successful"]) == ("Failed", 2, 2, 0)
    assert [m["phase"] for m in result["measurements"]] == ["Failed", "Failed"]
    assert status["runSummary"]["failed"] == 1

    events = _events_once(namespace, name, "AnalysisRunFailed")
    failed = events["AnalysisRunFailed"]
    assert failed["type"] == "Warning"
    assert failed["message"] == (
        'Analysis Completed. Result: Failed. Metric "rate" assessed Failed due to failed (2) > '
        'failureLimit (1); last value: {"ok":true,"rate":0.5}'
    )
    assert events["MetricFailed"]["type"] == "Warning"


def test_terminating_an_indefinite_metric_ends_the_run_successfully(
    controller: kube.Controller, namespace: str, server: str
) -> None:
    metric = {
        "name": "rate",
        "interval": "1s",
        "successCondition": "result.rate >= 0.95",
        "provider": {"web": {"url": f"{server}/ok"}},
    }
    name = _create_run(namespace, metric)
    kube.wait_for(
        lambda: any(r.get("count", 0) >= 2 for r in _status(namespace, name).get("metricResults") or []),
        timeout=20,
        what="two measurements",
    )
    assert _status(namespace, name)["phase"] == "Running"
    kube.kubectl(
        "patch", "analysisrun", name, "-n", namespace, "--type", "merge", "-p", '{"spec":{"terminate":true}}'
    )
    status = _completed(namespace, name)
    assert (status["phase"], status["message"]) == ("Successful", "Run Terminated")
    [result] = status["metricResults"]
    assert result["phase"] == "Successful"
    assert result["count"] >= 2


def test_a_missing_argument_ends_the_run_in_error(
    controller: kube.Controller, namespace: str, server: str
) -> None:
    metric = {"name": "rate", "provider": {"web": {"url": f"{server}/{{{{args.path}}}}"}}}
    name = _create_run(namespace, metric, args=[{"name": "path"}])
    status = _completed(namespace, name)
    assert status["phase"] == "Error"
    assert status["message"] == 'Unable to resolve metric arguments: argument "path" was not supplied'
    assert "metricResults" not in status


def test_an_unsupported_provider_counts_as_measurement_errors(
    controller: kube.Controller, namespace: str
) -> None:
    metric = {
        "name": "dd",
        "consecutiveErrorLimit": 0,
        "provider": {"datadog": {"query": "avg:requests{*}"}},
    }
    name = _create_run(namespace, metric)
    status = _completed(namespace, name)
    assert status["phase"] == "Error"
    [result] = status["metricResults"]
    assert (result["error"], result["consecutiveError"], result["count"]) == (1, 1, 0)
    assert result["measurements"][0]["message"] == 'metric provider "datadog" is not supported by rollwave'
    assert status["message"] == (
        'Metric "dd" assessed Error due to consecutiveErrors (1) > consecutiveErrorLimit (0): '
        '"Error Message: metric provider "datadog" is not supported by rollwave"'
    )


def test_a_secret_argument_is_used_and_never_shown(
    controller: kube.Controller, namespace: str, server: str
) -> None:
    secret_value = f"s3cr3t-{uuid.uuid4().hex[:8]}"
    kube.kubectl(
        "create", "secret", "generic", "api-token", "-n", namespace, f"--from-literal=token={secret_value}"
    )
    metric = {
        "name": "rate",
        "successCondition": "result.rate >= 0.95 && result.token != ''",
        "provider": {"web": {"url": f"{server}/echo?token={{{{args.token}}}}"}},
    }
    args = [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "api-token", "key": "token"}}}]
    name = _create_run(namespace, metric, args=args)
    status = _completed(namespace, name)
    assert status["phase"] == "Successful", status
    [measurement] = status["metricResults"][0]["measurements"]
    assert measurement["value"] == '{"rate":0.99,"token":"*****"}'
    run = kube.get("analysisrun", name, namespace=namespace)
    assert secret_value not in json.dumps(run)
    assert all(secret_value not in e.get("message", "") for e in kube.events_for(namespace, name))


def test_a_missing_secret_ends_the_run_in_error(
    controller: kube.Controller, namespace: str, server: str
) -> None:
    metric = {"name": "rate", "provider": {"web": {"url": f"{server}/echo?token={{{{args.token}}}}"}}}
    args = [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "nowhere", "key": "token"}}}]
    name = _create_run(namespace, metric, args=args)
    status = _completed(namespace, name)
    assert status["phase"] == "Error"
    assert status["message"] == (
        'Unable to resolve metric arguments: argument "token": secrets "nowhere" not found'
    )


def test_a_killed_controller_continues_the_run_where_it_stopped(
    controller: kube.Controller, namespace: str, server: str
) -> None:
    metric = {
        "name": "rate",
        "interval": "1s",
        "count": 6,
        "successCondition": "result.rate >= 0.95",
        "provider": {"web": {"url": f"{server}/ok"}},
    }
    name = _create_run(namespace, metric)
    kube.wait_for(
        lambda: any(r.get("count", 0) >= 2 for r in _status(namespace, name).get("metricResults") or []),
        timeout=20,
        what="two measurements",
    )
    controller.kill()
    before = _status(namespace, name)
    assert before["phase"] == "Running"
    controller.start()
    status = _completed(namespace, name)
    assert status["phase"] == "Successful", status
    assert status["startedAt"] == before["startedAt"]
    [result] = status["metricResults"]
    assert (result["count"], result["successful"], result["error"]) == (6, 6, 0)
    measurements = result["measurements"]
    assert len(measurements) == 6
    # The measurements recorded before the crash are kept as they were, and none is taken twice.
    assert (
        measurements[: len(before["metricResults"][0]["measurements"])]
        == before["metricResults"][0]["measurements"]
    )
    finished = [m["finishedAt"] for m in measurements]
    assert finished == sorted(finished) and len(set(finished)) == 6
