"""Argo's `prometheus:` block is read into a config; what rollwave cannot do is refused, naming the field."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollouts.providers import base, prometheus


def test_a_full_config_is_read() -> None:
    config = prometheus.parse_config(
        {
            "address": "https://prometheus.monitoring:9090/",
            "query": "up",
            "timeout": 5,
            "insecure": True,
            "headers": [{"key": "X-Scope-OrgID", "value": "team-a"}],
            "authentication": {"basicAuth": {"username": "u", "password": "p"}},
        },
        default_address=None,
    )
    assert config == prometheus.PrometheusConfig(
        address="https://prometheus.monitoring:9090",
        query="up",
        timeout=datetime.timedelta(seconds=5),
        headers={"X-Scope-OrgID": "team-a"},
        insecure=True,
        basic_auth=("u", "p"),
    )


def test_defaults_are_argos() -> None:
    config = prometheus.parse_config({"address": "http://p:9090", "query": "up"}, default_address=None)
    assert config.timeout == datetime.timedelta(seconds=30)
    assert config.headers == {}
    assert config.insecure is False
    assert config.basic_auth is None


def test_the_controller_address_is_used_when_the_metric_has_none() -> None:
    config = prometheus.parse_config({"query": "up"}, default_address="http://fallback:9090")
    assert config.address == "http://fallback:9090"


def test_the_metric_address_wins_over_the_controller_address() -> None:
    config = prometheus.parse_config(
        {"query": "up", "address": "http://mine:9090"}, default_address="http://fallback:9090"
    )
    assert config.address == "http://mine:9090"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        pytest.param(
            {"query": "up"},
            "provider.prometheus.address",
            "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS",
            id="no-address",
        ),
        pytest.param(
            {"query": "up", "address": "prometheus:9090"},
            "provider.prometheus.address",
            "must be a URL with a scheme and host",
            id="address-without-scheme",
        ),
        pytest.param(
            {"query": "up", "address": "http://"},
            "provider.prometheus.address",
            "must be a URL with a scheme and host",
            id="address-without-host",
        ),
        pytest.param(
            {"address": "http://p"}, "provider.prometheus.query", "query is required", id="no-query"
        ),
        pytest.param(
            {"address": "http://p", "query": "  "},
            "provider.prometheus.query",
            "query is required",
            id="blank-query",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "timeout": -1},
            "provider.prometheus.timeout",
            "non-negative",
            id="negative-timeout",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "timeout": "5m"},
            "provider.prometheus.timeout",
            "number of seconds",
            id="timeout-as-duration",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "rangeQuery": {"start": "now() - duration('5m')"}},
            "provider.prometheus.rangeQuery",
            "rangeQuery is not supported by rollwave yet",
            id="range-query",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "authentication": {"oauth2": {"tokenUrl": "http://t"}}},
            "provider.prometheus.authentication.oauth2",
            "authentication.oauth2 is not supported",
            id="oauth2",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "authentication": {"sigv4": {"region": "eu-west-1"}}},
            "provider.prometheus.authentication.sigv4",
            "authentication.sigv4 is not supported",
            id="sigv4",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "authentication": {"basicAuth": {"password": "p"}}},
            "provider.prometheus.authentication.basicAuth.username",
            "username is required",
            id="basic-auth-without-username",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "headers": [{"value": "v"}]},
            "provider.prometheus.headers[0].key",
            "key is required",
            id="header-without-key",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "headers": {"X": "y"}},
            "provider.prometheus.headers",
            "must be a list",
            id="headers-as-a-map",
        ),
        pytest.param(
            {"address": "http://p", "query": "up", "insecure": "yes"},
            "provider.prometheus.insecure",
            "true or false",
            id="insecure-not-a-bool",
        ),
    ],
)
def test_unusable_config_raises_provider_error_naming_the_field(
    raw: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(base.ProviderError, match=message) as raised:
        prometheus.parse_config(raw, default_address=None)
    assert raised.value.field == field


def test_an_empty_sigv4_block_is_not_a_request_for_sigv4() -> None:
    config = prometheus.parse_config(
        {"address": "http://p", "query": "up", "authentication": {"sigv4": {}}}, default_address=None
    )
    assert config.basic_auth is None


def test_timeout_zero_means_the_default() -> None:
    config = prometheus.parse_config(
        {"address": "http://p", "query": "up", "timeout": 0}, default_address=None
    )
    assert config.timeout == prometheus.DEFAULT_TIMEOUT
