"""Which provider measures which `metric.provider` kind. Adding a provider: its module plus one line here.

An unknown kind is an error that names it; there is no default provider to fall back to.

>>> create("datadog", deps=base.ProviderDeps())
Traceback (most recent call last):
...
rollouts.providers.base.ProviderError: metric provider "datadog" is not supported by rollwave
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rollouts.providers import base, job, prometheus, web

FACTORIES: Mapping[str, Callable[[base.ProviderDeps], base.MetricProvider]] = {
    "prometheus": prometheus.create,
    "web": web.create,
    "job": job.create,
}


def create(kind: str, *, deps: base.ProviderDeps) -> base.MetricProvider:
    """The provider for `kind` (Argo's key under `metric.provider`), built from `deps`."""
    factory = FACTORIES.get(kind)
    if factory is None:
        raise base.ProviderError(
            f'metric provider "{kind}" is not supported by rollwave', field=f"provider.{kind}"
        )
    return factory(deps)
