"""Prometheus: one instant PromQL query per measurement, answered as a `Sample`.

Config is Argo's `prometheus:` block: `address` (else the `ARGO_ROLLOUTS_PROMETHEUS_ADDRESS` fallback in the
deps), `query`, `timeout` (seconds, default 30), `headers[{key, value}]`, `insecure`,
`authentication.basicAuth{username, password}`. `rangeQuery`, `authentication.oauth2` and
`authentication.sigv4` are refused with a `ProviderError` rather than ignored.

Result mapping (Argo's): scalar → float; vector → one float per sample; matrix → every value of every
series, flattened; any other type → an Error sample. The text is Argo's measurement value:

>>> sample_from_payload(
...     {"status": "success", "data": {"resultType": "vector", "result": [
...         {"metric": {}, "value": [1700000000, "0.99"]},
...         {"metric": {}, "value": [1700000000, "0.97"]}]}},
...     query="up",
... ).text
'[0.99,0.97]'

`prometheus-api-client` is synchronous, so each query runs in a worker thread (`asyncio.to_thread`) and the
event loop never waits on the network. Its own urllib3 `Retry` is switched off (`retry=Retry(0)`); the one
retry policy lives here: connection errors and 5xx answers are tried `RetryPolicy.attempts` times with
exponential backoff. A server still unreachable after that is an Error sample, not an exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import decimal
import json
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import requests
import tenacity
import urllib3.util
from prometheus_api_client import exceptions as prometheus_exceptions
from prometheus_api_client import prometheus_connect

from rollouts.model import analysis
from rollouts.providers import base

ADDRESS_ENV = "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"
RESOLVED_QUERY_KEY = "ResolvedPrometheusQuery"
WARNINGS_KEY = "warnings"
DEFAULT_TIMEOUT = datetime.timedelta(seconds=30)
_FIELD = "provider.prometheus"
_UNSUPPORTED_AUTHENTICATION = ("oauth2", "sigv4")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often a transient failure (connection error, 5xx) is tried again before it becomes an Error sample.

    The defaults wait 0.5 s then 1 s: three attempts within about 1.5 s plus the requests themselves, and no
    further attempt is started once `give_up_after` has passed since the first one.
    """

    attempts: int = 3
    first_wait: datetime.timedelta = datetime.timedelta(seconds=0.5)
    max_wait: datetime.timedelta = datetime.timedelta(seconds=2)
    give_up_after: datetime.timedelta = datetime.timedelta(seconds=3)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PrometheusConfig:
    address: str
    query: str
    timeout: datetime.timedelta = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    insecure: bool = False
    basic_auth: tuple[str, str] | None = None


def parse_config(raw: Mapping[str, Any], *, default_address: str | None) -> PrometheusConfig:
    """Reads Argo's `prometheus:` block; anything unusable raises `ProviderError` naming the field.

    >>> parse_config({"query": "up"}, default_address="http://prometheus:9090/").address
    'http://prometheus:9090'
    >>> parse_config({"query": "up", "address": "prometheus:9090"}, default_address=None)
    Traceback (most recent call last):
    ...
    rollouts.providers.base.ProviderError: provider.prometheus.address "prometheus:9090" must be a URL with a scheme and host, e.g. http://prometheus.monitoring:9090
    """
    if raw.get("rangeQuery") is not None:
        raise base.ProviderError(
            f"{_FIELD}.rangeQuery is not supported by rollwave yet; use an instant query with a range vector "
            "instead, e.g. sum(rate(x[5m]))",
            field=f"{_FIELD}.rangeQuery",
        )
    address = raw.get("address") or default_address
    if not address:
        raise base.ProviderError(
            f"{_FIELD}.address is required (or set {ADDRESS_ENV} for the controller)",
            field=f"{_FIELD}.address",
        )
    parsed = urllib.parse.urlsplit(str(address))
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise base.ProviderError(
            f'{_FIELD}.address "{address}" must be a URL with a scheme and host, '
            "e.g. http://prometheus.monitoring:9090",
            field=f"{_FIELD}.address",
        )
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise base.ProviderError(f"{_FIELD}.query is required", field=f"{_FIELD}.query")
    return PrometheusConfig(
        address=str(address).rstrip("/"),
        query=query,
        timeout=_timeout(raw.get("timeout")),
        headers=base.header_pairs(raw.get("headers"), field=f"{_FIELD}.headers"),
        insecure=_flag(raw.get("insecure"), field=f"{_FIELD}.insecure"),
        basic_auth=_basic_auth(raw.get("authentication")),
    )


def _timeout(value: object) -> datetime.timedelta:
    # Argo: whole seconds, default 30, negative refused. 0 (the Go zero value) also means the default.
    if value is None:
        return DEFAULT_TIMEOUT
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        seconds = int(value)
    if seconds is None or seconds < 0:
        raise base.ProviderError(
            f"{_FIELD}.timeout must be a non-negative number of seconds, got {value!r}",
            field=f"{_FIELD}.timeout",
        )
    return datetime.timedelta(seconds=seconds) if seconds else DEFAULT_TIMEOUT


def _flag(value: object, *, field: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    raise base.ProviderError(f"{field} must be true or false, got {value!r}", field=field)


def _basic_auth(value: object) -> tuple[str, str] | None:
    authentication = base.config_mapping(value, field=f"{_FIELD}.authentication")
    for kind in _UNSUPPORTED_AUTHENTICATION:
        if authentication.get(kind):
            raise base.ProviderError(
                f"{_FIELD}.authentication.{kind} is not supported by rollwave; use basicAuth or headers",
                field=f"{_FIELD}.authentication.{kind}",
            )
    basic = base.config_mapping(authentication.get("basicAuth"), field=f"{_FIELD}.authentication.basicAuth")
    if not basic:
        return None
    username = basic.get("username")
    if not isinstance(username, str) or not username:
        raise base.ProviderError(
            f"{_FIELD}.authentication.basicAuth.username is required",
            field=f"{_FIELD}.authentication.basicAuth.username",
        )
    return username, str(basic.get("password") or "")


# ----------------------------------------------------------------------------------------------------
# Response mapping (pure)


def float_text(value: float) -> str:
    """A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it, which is how Argo shows values.

    >>> [float_text(v) for v in (0.5, 1.0, 1e-7, 1e21, float("nan"), float("inf"), -float("inf"))]
    ['0.5', '1', '0.0000001', '1000000000000000000000', 'NaN', '+Inf', '-Inf']
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(decimal.Decimal(repr(value)).normalize(), "f")


def list_text(values: Sequence[float]) -> str:
    """Argo's text for a list of values.

    >>> list_text([0.99, 0.97])
    '[0.99,0.97]'
    """
    return "[" + ",".join(float_text(v) for v in values) + "]"


def sample_from_payload(payload: Mapping[str, Any], *, query: str) -> base.Sample:
    """Maps a successful `/api/v1/query` answer to a Sample (Argo's result types, value text and metadata).

    >>> sample_from_payload({"status": "success", "data": {"resultType": "scalar", "result": [1, "NaN"]}},
    ...                     query="x").text
    'NaN'
    >>> sample_from_payload({"status": "success", "data": {"resultType": "string", "result": [1, "a"]}},
    ...                     query="x").error
    'Prometheus metric type not supported'
    """
    metadata: dict[str, str] = {RESOLVED_QUERY_KEY: query}
    warnings = payload.get("warnings") or []
    if warnings:
        metadata[WARNINGS_KEY] = ", ".join(f'"{w}"' for w in warnings)
    data = payload.get("data")
    try:
        if not isinstance(data, Mapping):
            raise ValueError("no data")
        result_type = data.get("resultType")
        result = data.get("result")
        if result_type == "scalar":
            value = _sample_value(result)
            return base.Sample(value=value, text=float_text(value), metadata=metadata)
        if result_type == "vector":
            values = [_sample_value(series.get("value")) for series in _series(result)]
            return base.Sample(value=values, text=list_text(values), metadata=metadata)
        if result_type == "matrix":
            values = [
                _sample_value(pair) for series in _series(result) for pair in series.get("values") or []
            ]
            return base.Sample(value=values, text=list_text(values), metadata=metadata)
    except (ValueError, TypeError, AttributeError) as err:
        return base.Sample(
            error=f"unexpected Prometheus response ({err}): {json.dumps(payload)[:300]}", metadata=metadata
        )
    return base.Sample(error="Prometheus metric type not supported", metadata=metadata)


def _series(result: object) -> list[Mapping[str, Any]]:
    if not isinstance(result, list) or not all(isinstance(series, Mapping) for series in result):
        raise ValueError("result is not a list of series")
    for series in result:
        if "histogram" in series or "histograms" in series:
            raise ValueError("native histogram samples are not supported")
    return result


def _sample_value(pair: object) -> float:
    # Prometheus sends [unix_time, "value"], the value as a string so NaN and ±Inf survive JSON.
    if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], str):
        raise ValueError(f"sample {pair!r} is not [time, value]")
    return float(pair[1])


# ----------------------------------------------------------------------------------------------------
# The query itself


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Answer:
    status: int
    body: str


class _Transient(Exception):
    """A failure worth another attempt: nothing answered, or the server said 5xx."""


class PrometheusProvider:
    """Runs instant queries. `default_address` is the controller-wide fallback address."""

    def __init__(self, *, default_address: str | None = None, retry: RetryPolicy | None = None) -> None:
        self.default_address = default_address
        self.retry = retry or RetryPolicy()

    async def measure(self, metric: analysis.Metric, *, context: base.MeasureContext) -> base.Sample:
        config = parse_config(metric.provider.config, default_address=self.default_address)
        metadata = {RESOLVED_QUERY_KEY: config.query}
        try:
            answer = await self._ask_with_retries(config, at=context.now)
        except _Transient as err:
            return base.Sample(error=str(err), metadata=metadata)
        except requests.exceptions.Timeout:
            seconds = int(config.timeout.total_seconds())
            return base.Sample(
                error=f"Prometheus at {config.address} did not answer within {seconds}s", metadata=metadata
            )
        except requests.exceptions.RequestException as err:
            return base.Sample(error=f"Prometheus at {config.address}: {err}", metadata=metadata)
        return _sample_from_answer(answer, config=config)

    async def _ask_with_retries(self, config: PrometheusConfig, *, at: datetime.datetime) -> _Answer:
        policy = self.retry
        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            stop=(
                tenacity.stop_after_attempt(policy.attempts)
                | tenacity.stop_after_delay(policy.give_up_after.total_seconds())
            ),
            wait=tenacity.wait_exponential(
                multiplier=policy.first_wait.total_seconds(), max=policy.max_wait.total_seconds()
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await asyncio.to_thread(_ask_once, config, at=at)
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover


def _ask_once(config: PrometheusConfig, *, at: datetime.datetime) -> _Answer:
    """One blocking request through PrometheusConnect; runs in a worker thread."""
    answers: list[requests.Response] = []
    session = requests.Session()
    session.verify = not config.insecure
    # PrometheusConnect passes auth=None with each request, so the session's credentials apply.
    session.auth = config.basic_auth
    # PrometheusConnect hands back only `data.result`; the hook keeps the whole answer (resultType, warnings,
    # errorType), which Argo's mapping needs.
    session.hooks["response"].append(lambda response, *args, **kwargs: answers.append(response))
    seconds = int(config.timeout.total_seconds())
    client = prometheus_connect.PrometheusConnect(
        url=config.address,
        headers=dict(config.headers),
        # Retries happen once, in PrometheusProvider; 0 is also what requests' own adapter defaults to.
        retry=urllib3.util.Retry(total=0, read=False),
        session=session,
        timeout=seconds,
    )
    try:
        client.custom_query(config.query, params={"time": f"{at.timestamp():.3f}", "timeout": f"{seconds}s"})
    except requests.exceptions.ConnectionError as err:  # also a connect timeout; a read timeout is not
        raise _Transient(f"Prometheus at {config.address} unreachable: {_connection_failure(err)}") from err
    except (prometheus_exceptions.PrometheusApiClientException, ValueError, KeyError, TypeError):
        # A non-200 answer, or a 200 whose body is not what the library expects: judged below from the answer.
        if not answers:
            raise
    finally:
        client.close()
    response = answers[-1]
    answer = _Answer(status=response.status_code, body=response.text)
    if answer.status >= 500:
        raise _Transient(f"Prometheus at {config.address} answered {answer.status}: {_error_text(answer)}")
    return answer


def _sample_from_answer(answer: _Answer, *, config: PrometheusConfig) -> base.Sample:
    metadata = {RESOLVED_QUERY_KEY: config.query}
    if answer.status != 200:
        return base.Sample(
            error=f"Prometheus at {config.address} answered {answer.status}: {_error_text(answer)}",
            metadata=metadata,
        )
    try:
        payload = json.loads(answer.body)
    except ValueError:
        return base.Sample(
            error=f"Prometheus at {config.address} answered with a body that is not JSON: {answer.body[:200]}",
            metadata=metadata,
        )
    if not isinstance(payload, Mapping) or payload.get("status") != "success":
        return base.Sample(
            error=f"Prometheus at {config.address} answered: {_error_text(answer)}", metadata=metadata
        )
    return sample_from_payload(payload, query=config.query)


def _error_text(answer: _Answer) -> str:
    # Prometheus errors look like {"status": "error", "errorType": "bad_data", "error": "1:5: parse error ..."}.
    try:
        payload = json.loads(answer.body)
    except ValueError:
        return answer.body[:300] or "(empty body)"
    if isinstance(payload, Mapping) and "error" in payload:
        return f"{payload.get('errorType', 'error')}: {payload['error']}"
    return answer.body[:300]


_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")


def _connection_failure(err: Exception) -> str:
    """The useful part of requests' nested connection error: `[Errno 111] Connection refused`."""
    text = str(err)
    found = _ERRNO.search(text)
    return found.group(0).strip() if found else text


def create(deps: base.ProviderDeps) -> PrometheusProvider:
    return PrometheusProvider(default_address=deps.prometheus_address)
