"""The Prometheus provider against a tiny local HTTP server serving canned `/api/v1/query` answers: what it
sends (query, time, headers, basic auth), how it retries (here only, never inside the client library), and
that the blocking client runs off the event loop."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rollouts.model import analysis
from rollouts.providers import base, prometheus

NOW = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)
NO_WAIT = prometheus.RetryPolicy(first_wait=datetime.timedelta(0), max_wait=datetime.timedelta(0))
VECTOR = {
    "status": "success",
    "data": {"resultType": "vector", "result": [{"metric": {}, "value": [NOW.timestamp(), "0.99"]}]},
}


@dataclasses.dataclass
class Seen:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class FakePrometheus:
    """Answers each request with the next scripted (status, body); the last one repeats."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = [(200, VECTOR)]
        self.delay = 0.0
        self.seen: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                fake.seen.append(
                    Seen(
                        path=parsed.path,
                        params=dict(urllib.parse.parse_qsl(parsed.query)),
                        headers=dict(self.headers.items()),
                    )
                )
                status, body = fake.answers.pop(0) if len(fake.answers) > 1 else fake.answers[0]
                time.sleep(fake.delay)
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    thread = threading.Thread(target=server.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _metric(**config: Any) -> analysis.Metric:
    return analysis.Metric(
        name="success-rate", provider=analysis.MetricProviderSpec(kind="prometheus", config=config)
    )


def _context() -> base.MeasureContext:
    return base.MeasureContext(namespace="shop", run_name="run", run_uid="uid", measurement_index=0, now=NOW)


def _measure(provider: prometheus.PrometheusProvider, metric: analysis.Metric) -> base.Sample:
    return asyncio.run(provider.measure(metric, context=_context()))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_instant_query_at_now_returns_the_vector(fake: FakePrometheus) -> None:
    sample = _measure(
        prometheus.PrometheusProvider(retry=NO_WAIT), _metric(address=fake.url, query="up == 1")
    )
    assert (sample.value, sample.text, sample.error) == ([0.99], "[0.99]", None)
    assert sample.metadata == {"ResolvedPrometheusQuery": "up == 1"}
    [request] = fake.seen
    assert request.path == "/api/v1/query"
    assert request.params["query"] == "up == 1"
    assert float(request.params["time"]) == NOW.timestamp()
    assert request.params["timeout"] == "30s"


def test_headers_and_basic_auth_are_sent(fake: FakePrometheus) -> None:
    metric = _metric(
        address=fake.url,
        query="up",
        timeout=7,
        headers=[{"key": "X-Scope-OrgID", "value": "team-a"}],
        authentication={"basicAuth": {"username": "reader", "password": "s3cret"}},
    )
    _measure(prometheus.PrometheusProvider(retry=NO_WAIT), metric)
    [request] = fake.seen
    assert request.headers["X-Scope-OrgID"] == "team-a"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"reader:s3cret").decode()
    assert request.params["timeout"] == "7s"


def test_the_controller_wide_address_is_used_when_the_metric_has_none(fake: FakePrometheus) -> None:
    sample = _measure(
        prometheus.PrometheusProvider(default_address=fake.url, retry=NO_WAIT), _metric(query="up")
    )
    assert sample.value == [0.99]
    assert len(fake.seen) == 1


def test_a_5xx_is_retried_here_and_not_inside_the_client_library(fake: FakePrometheus) -> None:
    fake.answers = [(503, {"status": "error", "errorType": "unavailable", "error": "overloaded"})] * 2 + [
        (200, VECTOR)
    ]
    sample = _measure(prometheus.PrometheusProvider(retry=NO_WAIT), _metric(address=fake.url, query="up"))
    assert sample.value == [0.99]
    # Exactly three requests: PrometheusConnect's own urllib3 Retry (3 more per call) is switched off.
    assert len(fake.seen) == 3


def test_a_5xx_that_persists_is_an_error_sample_after_three_attempts(fake: FakePrometheus) -> None:
    fake.answers = [(503, {"status": "error", "errorType": "unavailable", "error": "overloaded"})]
    sample = _measure(prometheus.PrometheusProvider(retry=NO_WAIT), _metric(address=fake.url, query="up"))
    assert sample.error == f"Prometheus at {fake.url} answered 503: unavailable: overloaded"
    assert sample.value is None
    assert sample.metadata == {"ResolvedPrometheusQuery": "up"}
    assert len(fake.seen) == 3


def test_a_bad_query_is_an_error_sample_without_retries(fake: FakePrometheus) -> None:
    fake.answers = [
        (400, {"status": "error", "errorType": "bad_data", "error": '1:4: parse error: unexpected "("'})
    ]
    sample = _measure(prometheus.PrometheusProvider(retry=NO_WAIT), _metric(address=fake.url, query="up(("))
    assert (
        sample.error == f'Prometheus at {fake.url} answered 400: bad_data: 1:4: parse error: unexpected "("'
    )
    assert len(fake.seen) == 1


def test_a_body_that_is_not_json_is_an_error_sample(fake: FakePrometheus) -> None:
    fake.answers = [(200, "<html>proxy login</html>")]
    sample = _measure(prometheus.PrometheusProvider(retry=NO_WAIT), _metric(address=fake.url, query="up"))
    assert (
        sample.error
        == f"Prometheus at {fake.url} answered with a body that is not JSON: <html>proxy login</html>"
    )


def test_an_unreachable_server_is_an_error_sample_after_the_default_retries() -> None:
    address = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    sample = _measure(prometheus.PrometheusProvider(), _metric(address=address, query="up"))
    elapsed = time.monotonic() - started
    assert sample.error == f"Prometheus at {address} unreachable: [Errno 111] Connection refused"
    # Waits of 0.5 s and 1 s between the three attempts, nothing more.
    assert 1.4 <= elapsed < 3.5


def test_a_slow_server_times_out_into_an_error_sample(fake: FakePrometheus) -> None:
    fake.delay = 1.5
    sample = _measure(
        prometheus.PrometheusProvider(retry=NO_WAIT), _metric(address=fake.url, query="up", timeout=1)
    )
    assert sample.error == f"Prometheus at {fake.url} did not answer within 1s"
    assert len(fake.seen) == 1


def test_the_query_runs_off_the_event_loop(fake: FakePrometheus) -> None:
    fake.delay = 0.5
    provider = prometheus.PrometheusProvider(retry=NO_WAIT)

    async def scenario() -> tuple[base.Sample, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        sample = await provider.measure(_metric(address=fake.url, query="up"), context=_context())
        ticking.cancel()
        return sample, ticks

    sample, ticks = asyncio.run(scenario())
    assert sample.value == [0.99]
    # A blocking call would have frozen the loop for the whole 0.5 s (ticks near 0).
    assert ticks >= 20


def test_config_errors_are_raised_not_sampled() -> None:
    with pytest.raises(base.ProviderError) as raised:
        _measure(prometheus.PrometheusProvider(), _metric(query="up"))
    assert raised.value.field == "provider.prometheus.address"
