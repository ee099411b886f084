"""Every provider module is registered under Argo's key, and an unknown kind is an error, never a fallback."""

from __future__ import annotations

import asyncio
import pkgutil

import httpx
import pytest

import rollouts.providers
from rollouts.model import analysis
from rollouts.providers import base, job, prometheus, registry, web

_NOT_PROVIDERS = {"base", "registry"}


def test_every_provider_module_is_registered() -> None:
    modules = {info.name for info in pkgutil.iter_modules(rollouts.providers.__path__)} - _NOT_PROVIDERS
    registered = {factory.__module__.rsplit(".", 1)[-1] for factory in registry.FACTORIES.values()}
    assert registered == modules


def test_the_registry_covers_exactly_the_providers_the_model_accepts() -> None:
    assert set(registry.FACTORIES) == set(analysis.SUPPORTED_PROVIDERS)


@pytest.mark.parametrize("kind", [*sorted(analysis.UNSUPPORTED_PROVIDERS), "Prometheus", ""])
def test_an_unknown_kind_is_an_error_naming_it(kind: str) -> None:
    with pytest.raises(base.ProviderError) as raised:
        registry.create(kind, deps=base.ProviderDeps())
    assert str(raised.value) == f'metric provider "{kind}" is not supported by rollwave'
    assert raised.value.field == f"provider.{kind}"


def test_each_kind_builds_its_provider() -> None:
    client = httpx.AsyncClient()
    deps = base.ProviderDeps(http=client, prometheus_address="http://prometheus:9090", kube=object())  # type: ignore[arg-type]
    built = {kind: registry.create(kind, deps=deps) for kind in registry.FACTORIES}
    assert isinstance(built["prometheus"], prometheus.PrometheusProvider)
    assert built["prometheus"].default_address == "http://prometheus:9090"
    assert isinstance(built["web"], web.WebProvider)
    assert built["web"].client is client
    assert isinstance(built["job"], job.JobProvider)
    assert isinstance(built["job"], base.LongRunningProvider)
    assert not isinstance(built["web"], base.LongRunningProvider)
    asyncio.run(client.aclose())


def test_the_job_provider_needs_kubernetes_clients() -> None:
    with pytest.raises(base.ProviderError, match="needs Kubernetes API clients"):
        registry.create("job", deps=base.ProviderDeps())
