"""Web: one HTTP request per measurement; the JSON answer (or a part of it) is the result.

Config is Argo's `web:` block: `url`, `method` (GET, POST or PUT; default GET), `headers[{key, value}]`,
`body` or `jsonBody` (POST/PUT only), `timeoutSeconds` (default 10), `insecure`, `jsonPath` (default `{$}`).
`authentication` is refused with a `ProviderError`.

- Any status outside 2xx → Error sample "received non 2xx response code: 503".
- A body that is not JSON → the result is the body text, whatever `jsonPath` says.
- Otherwise `jsonPath` picks the first match; `text` is a string match as-is, anything else as compact JSON.

`jsonPath` is the common subset of Kubernetes JSONPath, evaluated here without `eval`:

>>> json_path_first({"data": {"items": [{"ok": True}]}}, "{$.data.items[0].ok}")
True
>>> json_path_first({"status": "up"}, "{.status}")
'up'
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from rollouts.model import analysis
from rollouts.providers import base

DEFAULT_TIMEOUT = datetime.timedelta(seconds=10)
DEFAULT_JSON_PATH = "{$}"
_FIELD = "provider.web"
_METHODS = ("GET", "POST", "PUT")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: str | None = None
    timeout: datetime.timedelta = DEFAULT_TIMEOUT
    insecure: bool = False
    json_path: tuple[Step, ...] = ()
    json_path_text: str = DEFAULT_JSON_PATH


def parse_config(raw: Mapping[str, Any]) -> WebConfig:
    """Reads Argo's `web:` block; anything unusable raises `ProviderError` naming the field.

    >>> parse_config({"url": "http://svc/health", "jsonBody": {"a": 1}, "method": "POST"}).headers
    {'Content-Type': 'application/json'}
    """
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        raise base.ProviderError(f"{_FIELD}.url is required", field=f"{_FIELD}.url")
    if raw.get("authentication"):
        raise base.ProviderError(
            f"{_FIELD}.authentication is not supported by rollwave; pass a token in headers instead",
            field=f"{_FIELD}.authentication",
        )
    method = str(raw.get("method") or "GET").upper()
    if method not in _METHODS:
        raise base.ProviderError(
            f"{_FIELD}.method {method!r} is not supported; use one of {', '.join(_METHODS)}",
            field=f"{_FIELD}.method",
        )
    headers = base.header_pairs(raw.get("headers"), field=f"{_FIELD}.headers")
    body = raw.get("body")
    json_body = raw.get("jsonBody")
    if body is not None and json_body is not None:
        raise base.ProviderError(
            f"{_FIELD}: use either body or jsonBody, not both", field=f"{_FIELD}.jsonBody"
        )
    if json_body is not None:
        body = json.dumps(json_body, separators=(",", ":"))
        if not any(key.lower() == "content-type" for key in headers):
            headers["Content-Type"] = "application/json"
    if body is not None and method == "GET":
        field = f"{_FIELD}.{'jsonBody' if json_body is not None else 'body'}"
        raise base.ProviderError(f"{field} can only be sent with method POST or PUT", field=field)
    json_path_text = str(raw.get("jsonPath") or DEFAULT_JSON_PATH)
    return WebConfig(
        url=url,
        method=method,
        headers=headers,
        body=None if body is None else str(body),
        timeout=_timeout(raw.get("timeoutSeconds")),
        insecure=_flag(raw.get("insecure")),
        json_path=parse_json_path(json_path_text),
        json_path_text=json_path_text,
    )


def _timeout(value: object) -> datetime.timedelta:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise base.ProviderError(
            f"{_FIELD}.timeoutSeconds must be a non-negative number of seconds, got {value!r}",
            field=f"{_FIELD}.timeoutSeconds",
        )
    return datetime.timedelta(seconds=value) if value else DEFAULT_TIMEOUT


def _flag(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if value in ("true", "false"):
        return value == "true"
    raise base.ProviderError(f"{_FIELD}.insecure must be true or false", field=f"{_FIELD}.insecure")


# ----------------------------------------------------------------------------------------------------
# JSONPath, the common subset: {$}, {$.a.b}, {.a.b}, {.items[0].x}, {.items[-1]}, {.a['b.c']}, {.items[*].x}


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: a key, a list index, or `*` (every element or value)."""

    key: str | None = None
    index: int | None = None

    @property
    def wildcard(self) -> bool:
        return self.key is None and self.index is None

    def __str__(self) -> str:
        if self.wildcard:
            return "[*]"
        return f"[{self.index}]" if self.index is not None else self.key or ""


_STEP = re.compile(
    r"""
    \.(?P<name>[A-Za-z0-9_\-]+)            # .name
    | \.\*                                  # .*
    | \[\s*(?P<index>-?\d+)\s*\]            # [0], [-1]
    | \[\s*'(?P<single>[^']*)'\s*\]         # ['a.b']
    | \[\s*"(?P<double>[^"]*)"\s*\]         # ["a.b"]
    | \[\s*\*\s*\]                          # [*]
    """,
    re.VERBOSE,
)


def parse_json_path(text: str) -> tuple[Step, ...]:
    """Parses a `{...}` JSONPath of the supported subset; anything else is a `ProviderError`.

    >>> parse_json_path("{$.items[0]['app.kubernetes.io/name']}")
    (Step(key='items', index=None), Step(key=None, index=0), Step(key='app.kubernetes.io/name', index=None))
    >>> parse_json_path("{$..name}")
    Traceback (most recent call last):
    ...
    rollouts.providers.base.ProviderError: provider.web.jsonPath "{$..name}": ".." is not supported; rollwave supports .key, ['key'], [0], [-1] and [*]
    """
    field = f"{_FIELD}.jsonPath"
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        raise base.ProviderError(
            f'{field} "{text}" must be one expression in braces, e.g. {{$.data.ok}}', field=field
        )
    expression = stripped[1:-1].strip()
    if expression.startswith(("$", "@")):
        expression = expression[1:]
    if expression == ".":  # `{.}` is the whole document, like `{$}`
        return ()
    steps: list[Step] = []
    position = 0
    while position < len(expression):
        match = _STEP.match(expression, position)
        if match is None or expression.startswith("..", position):
            rest = expression[position:]
            fragment = ".." if rest.startswith("..") else rest
            raise base.ProviderError(
                f'{field} "{text}": "{fragment}" is not supported; '
                "rollwave supports .key, ['key'], [0], [-1] and [*]",
                field=field,
            )
        if match.group("index") is not None:
            steps.append(Step(index=int(match.group("index"))))
        else:
            key = next(
                (match.group(g) for g in ("name", "single", "double") if match.group(g) is not None), None
            )
            steps.append(Step(key=key))
        position = match.end()
    return tuple(steps)


class PathNotFound(Exception):
    pass


def json_path_first(document: object, path: str | tuple[Step, ...]) -> object:
    """The first match of `path` in `document`, like Argo (k8s JSONPath, missing keys are errors).

    >>> json_path_first({"items": [{"a": 1}, {"b": 2}]}, "{$.items[*].b}")
    2
    >>> json_path_first({"a": {}}, "{$.a.b}")
    Traceback (most recent call last):
    ...
    rollouts.providers.web.PathNotFound: b is not found
    """
    steps = parse_json_path(path) if isinstance(path, str) else path
    nodes: list[object] = [document]
    for step in steps:
        nodes = [found for node in nodes for found in _step(node, step)]
        if not nodes:
            raise PathNotFound(f"{step} is not found")
    return nodes[0]


def _step(node: object, step: Step) -> Iterator[object]:
    if step.wildcard:
        if isinstance(node, list):
            yield from node
        elif isinstance(node, Mapping):
            yield from node.values()
    elif step.index is not None:
        if isinstance(node, list) and -len(node) <= step.index < len(node):
            yield node[step.index]
    elif isinstance(node, Mapping) and step.key in node:
        yield node[step.key]


def value_text(value: object) -> str:
    """Measurement text of a match: strings as they are, everything else as compact JSON.

    >>> value_text("It worked!"), value_text({"ok": True}), value_text(0.5)
    ('It worked!', '{"ok":true}', '0.5')
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sample_from_response(*, status: int, body: str, config: WebConfig) -> base.Sample:
    """Maps an HTTP answer to a Sample (pure).

    >>> config = parse_config({"url": "http://x", "jsonPath": "{$.ok}"})
    >>> sample_from_response(status=503, body="", config=config).error
    'received non 2xx response code: 503'
    >>> sample_from_response(status=200, body='{"ok": true}', config=config).value
    True
    >>> sample_from_response(status=200, body="pong", config=config).value
    'pong'
    """
    if not 200 <= status < 300:
        return base.Sample(error=f"received non 2xx response code: {status}", text=body[:1000])
    try:
        document = json.loads(body)
    except ValueError:
        return base.Sample(value=body, text=body)
    try:
        value = json_path_first(document, config.json_path)
    except PathNotFound as err:
        return base.Sample(error=f"jsonPath {config.json_path_text}: {err}", text=body[:1000])
    return base.Sample(value=value, text=value_text(value))


# ----------------------------------------------------------------------------------------------------


class WebProvider:
    """Sends the request with the injected clients: `client` verifies TLS, `insecure_client` does not."""

    def __init__(
        self, *, client: httpx.AsyncClient, insecure_client: httpx.AsyncClient | None = None
    ) -> None:
        self.client = client
        self.insecure_client = insecure_client
        self._owned: list[httpx.AsyncClient] = []

    async def aclose(self) -> None:
        """Closes the clients this provider opened itself (never the injected ones)."""
        for client in self._owned:
            await client.aclose()
        self._owned.clear()

    async def measure(self, metric: analysis.Metric, *, context: base.MeasureContext) -> base.Sample:
        config = parse_config(metric.provider.config)
        client = self.client
        if config.insecure:
            if self.insecure_client is None:
                self.insecure_client = httpx.AsyncClient(verify=False)
                self._owned.append(self.insecure_client)
            client = self.insecure_client
        try:
            response = await client.request(
                config.method,
                config.url,
                headers=dict(config.headers),
                content=None if config.body is None else config.body.encode(),
                timeout=config.timeout.total_seconds(),
                follow_redirects=True,  # as Go's http.Client, which Argo uses, does
            )
        except httpx.TimeoutException:
            return base.Sample(
                error=f"{config.method} {config.url} did not answer within {int(config.timeout.total_seconds())}s"
            )
        except httpx.HTTPError as err:
            return base.Sample(error=f"{config.method} {config.url} failed: {err or type(err).__name__}")
        return sample_from_response(status=response.status_code, body=response.text, config=config)


def create(deps: base.ProviderDeps) -> WebProvider:
    if deps.http is not None:
        return WebProvider(client=deps.http, insecure_client=deps.insecure_http)
    provider = WebProvider(client=httpx.AsyncClient(), insecure_client=deps.insecure_http)
    provider._owned.append(provider.client)
    return provider
