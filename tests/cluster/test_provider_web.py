"""The web provider over real sockets: a local http.server (JSON, text, errors, a POST echo), and the
Prometheus HTTP API of the local control plane read with a jsonPath, as Argo users do."""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from rollouts.devcluster import cluster as devcluster
from rollouts.model import analysis
from rollouts.providers import base, web
from tests.support import webserver


class _Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200, json.dumps({"status": "ok", "data": {"successPercent": 0.98}}).encode())
        elif self.path == "/text":
            self._answer(200, b"It worked!", "text/plain")
        elif self.path == "/auth":
            ok = self.headers.get("Authorization") == "Bearer t0ken"
            self._answer(200 if ok else 401, json.dumps({"ok": ok}).encode())
        else:
            self._answer(503, b"down")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = json.loads(self.rfile.read(length))
        self._answer(200, json.dumps({"echo": received, "type": self.headers.get("Content-Type")}).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(dev_cluster: devcluster.DevCluster) -> Iterator[str]:
    with webserver.serving(_Handler) as url:
        yield url


def _measure(**config: Any) -> base.Sample:
    metric = analysis.Metric(name="web", provider=analysis.MetricProviderSpec(kind="web", config=config))
    context = base.MeasureContext(
        namespace="ns",
        run_name="run",
        run_uid="uid",
        measurement_index=0,
        now=datetime.datetime.now(datetime.UTC),
    )

    async def scenario() -> base.Sample:
        async with httpx.AsyncClient() as client:
            return await web.WebProvider(client=client).measure(metric, context=context)

    return asyncio.run(scenario())


def test_a_json_path_into_a_real_answer(server: str) -> None:
    sample = _measure(url=f"{server}/health", jsonPath="{$.data.successPercent}")
    assert (sample.value, sample.text, sample.error) == (0.98, "0.98", None)


def test_a_text_answer_is_the_result(server: str) -> None:
    sample = _measure(url=f"{server}/text")
    assert (sample.value, sample.text) == ("It worked!", "It worked!")


def test_a_503_is_an_error_sample(server: str) -> None:
    assert _measure(url=f"{server}/missing").error == "received non 2xx response code: 503"


def test_headers_reach_the_server(server: str) -> None:
    assert _measure(
        url=f"{server}/auth", headers=[{"key": "Authorization", "value": "Bearer t0ken"}]
    ).value == {"ok": True}
    assert _measure(url=f"{server}/auth").error == "received non 2xx response code: 401"


def test_a_json_body_is_posted(server: str) -> None:
    sample = _measure(url=f"{server}/echo", method="POST", jsonBody={"window": "5m"})
    assert sample.value == {"echo": {"window": "5m"}, "type": "application/json"}


def test_a_closed_port_is_an_error_sample(dev_cluster: devcluster.DevCluster) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sample = _measure(url=f"http://127.0.0.1:{port}/health")
    assert sample.error is not None
    assert sample.error.startswith(f"GET http://127.0.0.1:{port}/health failed: ")


def test_prometheus_read_through_the_web_provider(dev_cluster: devcluster.DevCluster) -> None:
    sample = _measure(
        url=f'{dev_cluster.prometheus_url}/api/v1/query?query=up{{job="prometheus"}}',
        jsonPath="{$.data.result[0].value[1]}",
    )
    assert (sample.value, sample.text) == ("1", "1")
