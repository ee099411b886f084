"""What every metric provider shares: the `MetricProvider` seam, its result (`Sample`) and its error.

A provider asks one question once and reports the answer as data. It never applies a metric's
success/failure conditions (`core.analysis` does). Two kinds of trouble are kept apart:

- `ProviderError`: the metric's config is wrong or asks for something rollwave does not do. The caller
  records a measurement Error whose message names the field (`provider.prometheus.address`).
- Everything that goes wrong while asking (unreachable server, a 503, a Job the API refused) comes back as a
  `Sample` with `error` set, so `consecutiveErrorLimit` can count it.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx

from rollouts.model import analysis

if TYPE_CHECKING:
    from rollouts.kube import client as kube_client


class ProviderError(Exception):
    """A metric's provider config cannot be used. `field` is relative to the metric (`provider.web.url`).

    >>> str(ProviderError("prometheus.query is required", field="provider.prometheus.query"))
    'prometheus.query is required'
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One answer from a provider.

    - `value`: what conditions see as `result`: a float (Prometheus scalar), a list of floats (vector,
      matrix), parsed JSON (web), or None when there is nothing.
    - `text`: Argo's measurement `value` string: `"[0.99,0.97]"`, `"NaN"`, a raw body.
    - `error`: why the question could not be answered; the measurement is then an Error.
    - `verdict`: an Argo AnalysisPhase string, for providers that decide themselves (a Job's outcome).
      `"Running"` together with `resume_at` means: not finished, ask again then.
    - `metadata`: Argo's measurement metadata (`ResolvedPrometheusQuery`, `warnings`, `job-name`, ...).

    >>> Sample(value=[0.99, 0.97], text="[0.99,0.97]").pending
    False
    """

    value: object = None
    text: str = ""
    error: str | None = None
    verdict: str | None = None
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)
    resume_at: datetime.datetime | None = None

    @property
    def pending(self) -> bool:
        """Whether a long-running provider has not finished yet (`resume_at` says when to look again)."""
        return self.resume_at is not None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MeasureContext:
    """Where and when a measurement happens. The run's identity also makes it the owner of a Job."""

    namespace: str
    run_name: str
    run_uid: str
    measurement_index: int
    now: datetime.datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProviderDeps:
    """What providers may need, built once at start-up (the operator owns and closes the clients).

    - `kube`: API clients, for the Job provider.
    - `http` / `insecure_http`: clients for the web provider; `insecure_http` skips TLS verification
      (`insecure: true`). When absent, the web provider opens its own.
    - `prometheus_address`: the fallback address when a metric has none (Argo's
      `ARGO_ROLLOUTS_PROMETHEUS_ADDRESS`, read once by whoever builds the deps).
    """

    kube: kube_client.Clients | None = None
    http: httpx.AsyncClient | None = None
    insecure_http: httpx.AsyncClient | None = None
    prometheus_address: str | None = None


class MetricProvider(Protocol):
    """Queries one metric once. Knows how to ask; never judges the answer."""

    async def measure(self, metric: analysis.Metric, *, context: MeasureContext) -> Sample: ...


@runtime_checkable
class LongRunningProvider(MetricProvider, Protocol):
    """A provider whose measurement outlives one call (a Job): `measure` starts it, `resume` polls it."""

    async def resume(
        self, metric: analysis.Metric, pending: Sample, *, context: MeasureContext
    ) -> Sample: ...

    async def terminate(
        self, metric: analysis.Metric, pending: Sample, *, context: MeasureContext
    ) -> None: ...


def config_mapping(value: object, *, field: str) -> Mapping[str, object]:
    """A config block that must be an object (or absent: then empty).

    >>> config_mapping(None, field="provider.web.headers")
    {}
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProviderError(f"{field} must be an object, got {type(value).__name__}", field=field)
    return value


def header_pairs(value: object, *, field: str) -> dict[str, str]:
    """Argo's `headers: [{key, value}]` as a dict.

    >>> header_pairs([{"key": "X-Scope-OrgID", "value": "team-a"}], field="provider.web.headers")
    {'X-Scope-OrgID': 'team-a'}
    """
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ProviderError(f"{field} must be a list of {{key, value}}", field=field)
    headers: dict[str, str] = {}
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str) or not item["key"]:
            raise ProviderError(f"{field}[{index}].key is required", field=f"{field}[{index}].key")
        headers[item["key"]] = str(item.get("value", ""))
    return headers
