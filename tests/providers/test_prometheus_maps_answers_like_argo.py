"""Prometheus answers become Samples the way Argo maps them: scalar → float, vector → every sample,
matrix → flattened, anything else → Error; the text is Argo's measurement value."""

from __future__ import annotations

import json
import math
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from rollouts.providers import prometheus

# Recorded from Prometheus 2.x /api/v1/query (trimmed to the fields Prometheus sends).
SCALAR = """{"status":"success","data":{"resultType":"scalar","result":[1717171717.123,"0.5"]}}"""
SCALAR_NAN = """{"status":"success","data":{"resultType":"scalar","result":[1717171717.123,"NaN"]}}"""
VECTOR = """{"status":"success","data":{"resultType":"vector","result":[
  {"metric":{"version":"v1"},"value":[1717171717.123,"0.99"]},
  {"metric":{"version":"v2"},"value":[1717171717.123,"0.97"]}]}}"""
VECTOR_INF = """{"status":"success","data":{"resultType":"vector","result":[
  {"metric":{},"value":[1717171717.123,"+Inf"]},{"metric":{},"value":[1717171717.123,"-Inf"]}]}}"""
EMPTY_VECTOR = """{"status":"success","data":{"resultType":"vector","result":[]}}"""
MATRIX = """{"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"pod":"a"},"values":[[1717171700,"1"],[1717171710,"2"]]},
  {"metric":{"pod":"b"},"values":[[1717171700,"3"]]}]}}"""
STRING = """{"status":"success","data":{"resultType":"string","result":[1717171717.123,"hello"]}}"""
WITH_WARNINGS = """{"status":"success","warnings":["PromQL info: metric might not be a counter"],
  "data":{"resultType":"vector","result":[{"metric":{},"value":[1717171717.123,"1"]}]}}"""


def _sample(recorded: str, query: str = "q") -> Any:
    return prometheus.sample_from_payload(json.loads(recorded), query=query)


@pytest.mark.parametrize(
    ("recorded", "value", "text"),
    [
        pytest.param(SCALAR, 0.5, "0.5", id="scalar-is-a-float"),
        pytest.param(VECTOR, [0.99, 0.97], "[0.99,0.97]", id="vector-is-every-sample"),
        pytest.param(EMPTY_VECTOR, [], "[]", id="empty-vector-is-an-empty-list"),
        pytest.param(MATRIX, [1.0, 2.0, 3.0], "[1,2,3]", id="matrix-is-flattened"),
        pytest.param(VECTOR_INF, [math.inf, -math.inf], "[+Inf,-Inf]", id="infinities-as-go-writes-them"),
    ],
)
def test_result_types_map_to_values_and_text(recorded: str, value: object, text: str) -> None:
    sample = _sample(recorded)
    assert sample.error is None
    assert sample.value == value
    assert sample.text == text
    assert sample.verdict is None
    assert not sample.pending


def test_a_nan_scalar_is_nan_with_text_nan() -> None:
    sample = _sample(SCALAR_NAN)
    assert isinstance(sample.value, float) and math.isnan(sample.value)
    assert sample.text == "NaN"


def test_a_string_result_is_an_error() -> None:
    sample = _sample(STRING)
    assert sample.error == "Prometheus metric type not supported"
    assert sample.value is None


def test_the_resolved_query_is_kept_in_metadata() -> None:
    query = 'sum(rate(http_requests_total{version="v2"}[1m]))'
    assert _sample(VECTOR, query).metadata == {"ResolvedPrometheusQuery": query}


def test_warnings_go_to_metadata() -> None:
    sample = _sample(WITH_WARNINGS)
    assert sample.metadata["warnings"] == '"PromQL info: metric might not be a counter"'
    assert sample.value == [1.0]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"status": "success"}, id="no-data"),
        pytest.param(
            {"status": "success", "data": {"resultType": "vector", "result": "x"}}, id="result-not-a-list"
        ),
        pytest.param(
            {"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, 2]}]}},
            id="value-not-a-string",
        ),
        pytest.param(
            {"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "abc"]}]}},
            id="value-not-a-number",
        ),
        pytest.param(
            {"status": "success", "data": {"resultType": "vector", "result": [{"histogram": [1, {}]}]}},
            id="native-histogram",
        ),
    ],
)
def test_malformed_answers_are_errors_not_exceptions(payload: dict[str, Any]) -> None:
    sample = prometheus.sample_from_payload(payload, query="q")
    assert sample.error is not None and sample.error.startswith("unexpected Prometheus response")
    assert sample.value is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(0.5, "0.5", id="fraction"),
        pytest.param(1.0, "1", id="integral-without-point"),
        pytest.param(0.0, "0", id="zero"),
        pytest.param(1e-7, "0.0000001", id="small-without-exponent"),
        pytest.param(1e21, "1000000000000000000000", id="large-without-exponent"),
        pytest.param(0.1 + 0.2, "0.30000000000000004", id="shortest-round-trip"),
        pytest.param(math.nan, "NaN", id="nan"),
        pytest.param(math.inf, "+Inf", id="plus-inf"),
        pytest.param(-math.inf, "-Inf", id="minus-inf"),
    ],
)
def test_float_text_matches_go_format_float(value: float, text: str) -> None:
    assert prometheus.float_text(value) == text


@hypothesis.given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_round_trips_without_an_exponent(value: float) -> None:
    text = prometheus.float_text(value)
    assert "e" not in text.lower()
    assert float(text) == value
