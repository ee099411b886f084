"""The web provider: what it sends, how it maps answers (non-2xx, non-JSON, jsonPath), and the config it refuses.
Requests go to an `httpx.MockTransport`, so nothing leaves the process."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rollouts.model import analysis
from rollouts.providers import base, web

NOW = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)


def _metric(**config: Any) -> analysis.Metric:
    return analysis.Metric(name="health", provider=analysis.MetricProviderSpec(kind="web", config=config))


def _measure(
    handler: Callable[[httpx.Request], httpx.Response], metric: analysis.Metric
) -> tuple[base.Sample, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)

    async def scenario() -> base.Sample:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as client:
            provider = web.WebProvider(client=client, insecure_client=client)
            context = base.MeasureContext(
                namespace="ns", run_name="r", run_uid="u", measurement_index=0, now=NOW
            )
            return await provider.measure(metric, context=context)

    return asyncio.run(scenario()), seen


def _json(status: int, payload: object) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=payload)


def test_a_get_returns_the_whole_document_by_default() -> None:
    sample, [request] = _measure(_json(200, {"ok": True, "rate": 0.99}), _metric(url="http://svc/health"))
    assert sample.value == {"ok": True, "rate": 0.99}
    assert sample.text == '{"ok":true,"rate":0.99}'
    assert sample.error is None
    assert (request.method, str(request.url)) == ("GET", "http://svc/health")


def test_json_path_picks_the_first_match() -> None:
    document = {"data": {"items": [{"successPercent": 0.97}, {"successPercent": 0.5}]}}
    sample, _ = _measure(
        _json(200, document), _metric(url="http://svc", jsonPath="{$.data.items[*].successPercent}")
    )
    assert (sample.value, sample.text) == (0.97, "0.97")


def test_a_string_match_is_its_own_text() -> None:
    sample, _ = _measure(
        _json(200, {"message": "It worked!"}), _metric(url="http://svc", jsonPath="{.message}")
    )
    assert (sample.value, sample.text) == ("It worked!", "It worked!")


def test_a_missing_json_path_is_an_error_sample() -> None:
    sample, _ = _measure(_json(200, {"data": {}}), _metric(url="http://svc", jsonPath="{$.data.ok}"))
    assert sample.error == "jsonPath {$.data.ok}: ok is not found"


def test_a_body_that_is_not_json_is_the_result_as_text() -> None:
    sample, _ = _measure(
        lambda r: httpx.Response(200, text="pong"), _metric(url="http://svc", jsonPath="{$.x}")
    )
    assert (sample.value, sample.text, sample.error) == ("pong", "pong", None)


@pytest.mark.parametrize(
    "status", [pytest.param(503, id="503"), pytest.param(404, id="404"), pytest.param(400, id="400")]
)
def test_a_status_outside_2xx_is_an_error_sample(status: int) -> None:
    sample, _ = _measure(_json(status, {"ok": True}), _metric(url="http://svc"))
    assert sample.error == f"received non 2xx response code: {status}"
    assert sample.value is None


def test_redirects_are_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "http://svc/new"})
        return httpx.Response(200, json={"moved": True})

    sample, seen = _measure(handler, _metric(url="http://svc/old"))
    assert sample.value == {"moved": True}
    assert [request.url.path for request in seen] == ["/old", "/new"]


def test_headers_and_a_json_body_are_sent_with_post() -> None:
    metric = _metric(
        url="http://svc/check",
        method="POST",
        headers=[{"key": "Authorization", "value": "Bearer t0ken"}],
        jsonBody={"service": "shop", "window": "5m"},
    )
    _, [request] = _measure(_json(200, {}), metric)
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"service": "shop", "window": "5m"}


def test_a_text_body_is_sent_as_is_with_put() -> None:
    _, [request] = _measure(_json(200, {}), _metric(url="http://svc", method="put", body="a=1"))
    assert (request.method, request.content) == ("PUT", b"a=1")


def test_the_timeout_is_applied_per_request() -> None:
    _, [request] = _measure(_json(200, {}), _metric(url="http://svc", timeoutSeconds=3))
    assert request.extensions["timeout"] == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


def test_the_default_timeout_is_ten_seconds() -> None:
    _, [request] = _measure(_json(200, {}), _metric(url="http://svc"))
    assert request.extensions["timeout"]["read"] == 10.0


def test_a_connection_failure_is_an_error_sample() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    sample, _ = _measure(refuse, _metric(url="http://svc/health"))
    assert sample.error == "GET http://svc/health failed: [Errno 111] Connection refused"


def test_a_timeout_is_an_error_sample() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    sample, _ = _measure(hang, _metric(url="http://svc/health", timeoutSeconds=2))
    assert sample.error == "GET http://svc/health did not answer within 2s"


def test_insecure_uses_the_client_that_skips_tls_verification() -> None:
    calls: list[str] = []

    def answering(which: str) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(which)
            return httpx.Response(200)

        return httpx.MockTransport(handler)

    async def scenario() -> None:
        secure = httpx.AsyncClient(transport=answering("secure"))
        insecure = httpx.AsyncClient(transport=answering("insecure"))
        provider = web.WebProvider(client=secure, insecure_client=insecure)
        context = base.MeasureContext(namespace="ns", run_name="r", run_uid="u", measurement_index=0, now=NOW)
        await provider.measure(_metric(url="https://svc", insecure=True), context=context)
        await provider.measure(_metric(url="https://svc"), context=context)
        await secure.aclose()
        await insecure.aclose()

    asyncio.run(scenario())
    assert calls == ["insecure", "secure"]


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        pytest.param({}, "provider.web.url", "url is required", id="no-url"),
        pytest.param(
            {"url": "http://x", "method": "DELETE"}, "provider.web.method", "not supported", id="method"
        ),
        pytest.param(
            {"url": "http://x", "method": "POST", "body": "a", "jsonBody": {}},
            "provider.web.jsonBody",
            "either body or jsonBody",
            id="both-bodies",
        ),
        pytest.param(
            {"url": "http://x", "body": "a"}, "provider.web.body", "POST or PUT", id="body-with-get"
        ),
        pytest.param(
            {"url": "http://x", "timeoutSeconds": "10s"},
            "provider.web.timeoutSeconds",
            "seconds",
            id="timeout",
        ),
        pytest.param(
            {"url": "http://x", "authentication": {"oauth2": {"tokenUrl": "http://t"}}},
            "provider.web.authentication",
            "not supported",
            id="authentication",
        ),
        pytest.param(
            {"url": "http://x", "jsonPath": "$.a"}, "provider.web.jsonPath", "in braces", id="no-braces"
        ),
        pytest.param(
            {"url": "http://x", "jsonPath": "{.items[?(@.a==1)]}"},
            "provider.web.jsonPath",
            "not supported",
            id="filter",
        ),
    ],
)
def test_unusable_config_raises_provider_error_naming_the_field(
    raw: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(base.ProviderError, match=message) as raised:
        web.parse_config(raw)
    assert raised.value.field == field


def test_an_explicit_content_type_is_kept() -> None:
    config = web.parse_config(
        {
            "url": "http://x",
            "method": "POST",
            "jsonBody": {},
            "headers": [{"key": "content-type", "value": "application/vnd.api+json"}],
        }
    )
    assert config.headers == {"content-type": "application/vnd.api+json"}
