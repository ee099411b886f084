"""templating: merging args, `{{args.x}}` substitution with Go-style escaping, resolving metrics, masking secrets."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.core import templating
from rollouts.model import analysis as model
from rollouts.model import fields

Arg = model.AnalysisArg


# ----------------------------------------------------------------------------------------------------
# resolve_args


@pytest.mark.parametrize(
    ("template_args", "rollout_args", "resolved", "expected"),
    [
        pytest.param([Arg(name="a", value="1")], [], {}, {"a": "1"}, id="template-default"),
        pytest.param(
            [Arg(name="a")], [Arg(name="a", value="2")], {}, {"a": "2"}, id="rollout-supplies-required"
        ),
        pytest.param(
            [Arg(name="a", value="1")],
            [Arg(name="a", value="2")],
            {},
            {"a": "2"},
            id="rollout-overrides-template",
        ),
        pytest.param(
            [Arg(name="a", value="1")],
            [Arg(name="other", value="2")],
            {},
            {"a": "1"},
            id="undeclared-rollout-arg-ignored",
        ),
        pytest.param(
            [Arg(name="a", value="1"), Arg(name="b", value="x")],
            [Arg(name="b", value="y")],
            {},
            {"a": "1", "b": "y"},
            id="template-order-kept",
        ),
        pytest.param(
            [
                Arg(
                    name="token",
                    value_from=model.ArgValueFrom(secret_key_ref=model.SecretKeyRef(name="s", key="k")),
                )
            ],
            [],
            {"token": "hunter2"},
            {"token": "hunter2"},
            id="secret-resolved-by-caller",
        ),
        pytest.param(
            [Arg(name="hash")],
            [
                Arg(
                    name="hash",
                    value_from=model.ArgValueFrom(pod_template_hash=model.PodTemplateHashValue.LATEST),
                )
            ],
            {"hash": "5d8f7c9b6"},
            {"hash": "5d8f7c9b6"},
            id="pod-template-hash-resolved-by-caller",
        ),
        pytest.param([Arg(name="a", value="")], [], {}, {"a": ""}, id="empty-value-is-a-value"),
    ],
)
def test_resolve_args(
    template_args: list[model.AnalysisArg],
    rollout_args: list[model.AnalysisArg],
    resolved: dict[str, str],
    expected: dict[str, str],
) -> None:
    assert templating.resolve_args(template_args, rollout_args, resolved=resolved) == expected


@pytest.mark.parametrize(
    ("template_args", "rollout_args", "message"),
    [
        pytest.param([Arg(name="svc")], [], 'argument "svc" was not supplied', id="required-missing"),
        pytest.param(
            [Arg(name="svc")],
            [Arg(name="other", value="x")],
            'argument "svc" was not supplied',
            id="required-missing-other-supplied",
        ),
        pytest.param(
            [
                Arg(
                    name="token",
                    value_from=model.ArgValueFrom(secret_key_ref=model.SecretKeyRef(name="s", key="k")),
                )
            ],
            [],
            'argument "token" was not supplied: its valueFrom was not resolved',
            id="value-from-not-resolved",
        ),
    ],
)
def test_missing_argument(
    template_args: list[model.AnalysisArg], rollout_args: list[model.AnalysisArg], message: str
) -> None:
    with pytest.raises(templating.ArgumentError) as raised:
        templating.resolve_args(template_args, rollout_args)
    assert raised.value.message == message
    assert str(raised.value) == message


# ----------------------------------------------------------------------------------------------------
# substitute and quote


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        pytest.param("{{args.svc}}", {"svc": "web"}, "web", id="whole"),
        pytest.param("rate{svc='{{args.svc}}'}", {"svc": "web"}, "rate{svc='web'}", id="inside-text"),
        pytest.param("{{ args.rev }}", {"rev": "abc"}, "abc", id="spaces-trimmed"),
        pytest.param("{{\targs.rev\n}}", {"rev": "abc"}, "abc", id="any-whitespace-trimmed"),
        pytest.param("{{args.a}}-{{args.b}}-{{args.a}}", {"a": "1", "b": "2"}, "1-2-1", id="several"),
        pytest.param("no placeholders {x} }}", {}, "no placeholders {x} }}", id="untouched"),
        pytest.param("{{args.v}}", {"v": 'say "hi"'}, 'say \\"hi\\"', id="quotes-escaped"),
        pytest.param("{{args.v}}", {"v": "a\nb\tc\r"}, "a\\nb\\tc\\r", id="newline-tab-escaped"),
        pytest.param("{{args.v}}", {"v": "C:\\path"}, "C:\\\\path", id="backslash-escaped"),
        pytest.param(
            "{{args.v}}", {"v": "\x07\x0b\x00\x7f"}, "\\u0007\\u000b\\u0000\\u007f", id="controls-as-json"
        ),
        pytest.param("{{args.v}}", {"v": "héllo → 世界"}, "héllo → 世界", id="printable-unicode-kept"),
        pytest.param("{{args.v}}", {"v": "\u00a0\u2028"}, "\\u00a0\\u2028", id="unicode-spaces-escaped"),
        pytest.param("{{args.v}}", {"v": "{{args.w}}"}, "{{args.w}}", id="values-not-substituted-again"),
    ],
)
def test_substitute(text: str, args: dict[str, str], expected: str) -> None:
    assert templating.substitute(text, args) == expected


def test_substitute_unquoted() -> None:
    assert templating.substitute("{{ args.q }}", {"q": 'a"b\n'}, quoted=False) == 'a"b\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{{args.nope}}", "failed to resolve {{args.nope}}", id="unknown-arg"),
        pytest.param("x {{ args.nope }} y", "failed to resolve {{ args.nope }}", id="named-as-written"),
        pytest.param("{{svc}}", "failed to resolve {{svc}}", id="not-an-arg"),
        pytest.param(
            "{{templates.x.podTemplateHash}}",
            "failed to resolve {{templates.x.podTemplateHash}}",
            id="other-kind",
        ),
        pytest.param("{{}}", "failed to resolve {{}}", id="empty-tag"),
    ],
)
def test_unknown_placeholder_is_an_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(templating.ArgumentError) as raised:
        templating.substitute(text, {"svc": "web"})
    assert raised.value.message == message


def test_unclosed_placeholder_is_an_error() -> None:
    with pytest.raises(templating.ArgumentError, match="closing }}"):
        templating.substitute("up{job='{{args.job'}", {"job": "x"})


@given(st.text())
def test_quoted_values_survive_json(value: str) -> None:
    document = templating.substitute('{"v": "{{args.v}}"}', {"v": value})
    assert json.loads(document) == {"v": value}


# ----------------------------------------------------------------------------------------------------
# resolve_metric


def parsed_metric(raw: dict[str, Any]) -> model.Metric:
    return model.parse_metric(raw).require()


def test_resolve_metric_turns_count_placeholder_into_a_number() -> None:
    metric = parsed_metric(
        {
            "name": "success-rate",
            "count": "{{args.count}}",
            "interval": "{{ args.interval }}",
            "failureLimit": "{{args.failures}}",
            "successCondition": "result[0] >= {{args.threshold}}",
            "provider": {"prometheus": {"address": "http://prom:9090", "query": 'rate{svc="{{args.svc}}"}'}},
        }
    )
    assert metric.has_placeholders
    resolved = templating.resolve_metric(
        metric, {"count": "5", "interval": "30s", "failures": "2", "threshold": "0.95", "svc": 'we"b'}
    )
    assert not resolved.has_placeholders
    assert (resolved.count, resolved.failure_limit, resolved.effective_count) == (5, 2, 5)
    assert resolved.interval is not None and resolved.interval.total_seconds() == 30
    assert resolved.success_condition == "result[0] >= 0.95"
    assert resolved.provider.config["query"] == 'rate{svc="we"b"}'
    assert resolved.raw["count"] == "5"


def test_resolve_metric_multi_line_value() -> None:
    metric = parsed_metric({"name": "m", "provider": {"web": {"url": "http://x", "body": "{{args.body}}"}}})
    body = '{"text": "line one\nline two"}'
    assert templating.resolve_metric(metric, {"body": body}).provider.config["body"] == body


def test_metric_without_placeholders_is_returned_as_is() -> None:
    metric = parsed_metric({"name": "m", "provider": {"web": {"url": "http://x"}}})
    assert templating.resolve_metric(metric, {}) is metric


def test_resolve_metric_unknown_placeholder() -> None:
    metric = parsed_metric({"name": "m", "provider": {"web": {"url": "http://{{args.host}}"}}})
    with pytest.raises(templating.ArgumentError, match=r"^failed to resolve \{\{args.host\}\}$"):
        templating.resolve_metric(metric, {"svc": "x"})


def test_resolve_metric_invalid_value_names_the_field() -> None:
    metric = parsed_metric(
        {"name": "m", "count": "{{args.count}}", "interval": "1m", "provider": {"web": {"url": "http://x"}}}
    )
    with pytest.raises(
        fields.InvalidSpec, match=r"spec\.metrics\[0\]\.count: must be an integer \(got 'three'\)"
    ):
        templating.resolve_metric(metric, {"count": "three"}, path="spec.metrics[0]")


# ----------------------------------------------------------------------------------------------------
# mask_secrets


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        pytest.param("token abc123 rejected", {"abc123"}, "token ***** rejected", id="masked"),
        pytest.param("abc123/abc123", {"abc123"}, "*****/*****", id="every-occurrence"),
        pytest.param("nothing secret", {"abc123"}, "nothing secret", id="untouched"),
        pytest.param("anything", {""}, "anything", id="empty-secret-ignored"),
        pytest.param("key=abcdef", ["abc", "abcdef"], "key=*****", id="longest-first-no-partial-leak"),
        pytest.param("u=admin p=s3cret", {"admin", "s3cret"}, "u=***** p=*****", id="several"),
    ],
)
def test_mask_secrets(text: str, secrets: list[str] | set[str], expected: str) -> None:
    assert templating.mask_secrets(text, secrets) == expected
