r"""Analysis arguments: `{{args.name}}` placeholders, resolved as Argo Rollouts resolves them.

Three steps, each pure:

1. `resolve_args(template_args, rollout_args, resolved=...)` merges the arguments by name. A Rollout
   argument overrides the template argument of the same name; Rollout arguments the template does not
   declare are ignored (Argo's MergeArgs). Values from `valueFrom` (a Secret, the pod-template hash, a
   field of the Rollout) are looked up by the caller and passed in `resolved`, keyed by argument name.
   An argument left with no value is an error::

       resolve_args([AnalysisArg(name="svc")], [AnalysisArg(name="svc", value="web")])  -> {"svc": "web"}
       resolve_args([AnalysisArg(name="svc")], [])
           -> ArgumentError: argument "svc" was not supplied

2. `substitute(text, args)` replaces every `{{...}}` tag. Spaces inside the braces are trimmed, so
   `{{ args.rev }}` works. A tag that names no supplied argument is an error naming the tag as written
   (`failed to resolve {{args.nope}}`). Values are inserted as JSON string content, escaped like Go's
   `strconv.Quote` (quotes, backslashes, newlines), because the metric is substituted as JSON text::

       substitute('{"msg": "{{ args.greeting }}"}', {"greeting": 'say "hi"\n'})  -> '{"msg": "say \"hi\"\n"}'
       substitute('{"count": "{{args.count}}"}', {"count": "3"})              -> '{"count": "3"}'

   Go writes `\a`, `\v`, `\xNN` and `\UNNNNNNNN` for some characters, which JSON cannot read back;
   here those characters become `\uNNNN`, so every value survives the round trip through JSON.

3. `resolve_metric(metric, args)` substitutes in `Metric.raw` (as JSON text) and parses the metric again,
   which is how `count: "{{args.count}}"` becomes the integer 3.

Secret values (`valueFrom.secretKeyRef`) reach the metric like any other value. Messages that may contain
them (a provider's error, a rendered query) go through `mask_secrets(text, secrets)`, which writes
`*****` in their place, as Argo does in measurement messages.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping

from rollouts.model import analysis as model

MASK = "*****"
_OPEN = "{{"
_CLOSE = "}}"
_ARGS_PREFIX = "args."
# The escapes Go's strconv.Quote shares with JSON; other control characters become \uNNNN.
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class ArgumentError(ValueError):
    """An argument is missing, or a placeholder names no argument. `message` is the text for users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def resolve_args(
    template_args: Iterable[model.AnalysisArg],
    rollout_args: Iterable[model.AnalysisArg] = (),
    *,
    resolved: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The value of every template argument, in template order, with Rollout arguments overriding.

    An argument's value is its `value`, else (for `valueFrom`) `resolved[name]`. Raises ArgumentError
    for the first argument without one: `argument "x" was not supplied`.

    >>> from rollouts.model.analysis import AnalysisArg
    >>> resolve_args([AnalysisArg(name="a", value="1"), AnalysisArg(name="b")], [AnalysisArg(name="b", value="2")])
    {'a': '1', 'b': '2'}
    """
    lookups = resolved or {}
    merged: dict[str, model.AnalysisArg] = {arg.name: arg for arg in template_args}
    for arg in rollout_args:
        # Argo ignores Rollout arguments the template does not declare.
        if arg.name in merged and (arg.value is not None or arg.value_from is not None):
            merged[arg.name] = arg
    values: dict[str, str] = {}
    for name, arg in merged.items():
        if arg.value is not None:
            values[name] = arg.value
        elif arg.value_from is not None and name in lookups:
            values[name] = lookups[name]
        elif arg.value_from is not None:
            raise ArgumentError(f'argument "{name}" was not supplied: its valueFrom was not resolved')
        else:
            raise ArgumentError(f'argument "{name}" was not supplied')
    return values


def quote(value: str) -> str:
    r"""`value` escaped as the inside of a JSON string, in the style of Go's `strconv.Quote`.

    Printable characters (Unicode letters, marks, numbers, punctuation, symbols and the ASCII space) stay
    as they are; everything else is escaped.

    >>> print(quote('say "hi"\n'))
    say \"hi\"\n
    >>> print(quote("é\x07"))
    é\u0007
    """
    parts: list[str] = []
    for char in value:
        short = _SHORT_ESCAPES.get(char)
        if short is not None:
            parts.append(short)
        elif char.isprintable():
            parts.append(char)
        else:
            encoded = char.encode("utf-16-be", "surrogatepass")
            for offset in range(0, len(encoded), 2):
                parts.append(f"\\u{int.from_bytes(encoded[offset : offset + 2], 'big'):04x}")
    return "".join(parts)


def substitute(text: str, args: Mapping[str, str], *, quoted: bool = True) -> str:
    """Replace every `{{args.name}}` tag in `text`; `quoted=False` inserts values as they are.

    Raises ArgumentError for a tag naming no argument (any `{{...}}` other than `args.<supplied name>`)
    and for a `{{` without its `}}`.

    >>> substitute("rate{job='{{ args.job }}'}", {"job": "api"})
    "rate{job='api'}"
    """
    parts: list[str] = []
    position = 0
    while True:
        start = text.find(_OPEN, position)
        if start < 0:
            parts.append(text[position:])
            return "".join(parts)
        end = text.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            raise ArgumentError(
                f"cannot find the closing }}}} of the placeholder starting {text[start : start + 40]!r}"
            )
        tag = text[start + len(_OPEN) : end]
        name = tag.strip()
        if not name.startswith(_ARGS_PREFIX) or name[len(_ARGS_PREFIX) :] not in args:
            raise ArgumentError(f"failed to resolve {{{{{tag}}}}}")
        value = args[name[len(_ARGS_PREFIX) :]]
        parts.append(text[position:start])
        parts.append(quote(value) if quoted else value)
        position = end + len(_CLOSE)


def resolve_metric(metric: model.Metric, args: Mapping[str, str], *, path: str = "metric") -> model.Metric:
    """`metric` with its placeholders replaced, parsed again from its substituted `raw`.

    A metric without placeholders is returned as it is. Raises ArgumentError for an unknown placeholder
    and `fields.InvalidSpec` when a substituted value is invalid (`count: "{{args.count}}"` with count
    "three"). Unsupported fields were reported when the template was parsed, so they do not fail here.

    >>> from rollouts.model.analysis import parse_metric
    >>> raw = {"name": "m", "count": "{{args.count}}", "interval": "5s", "provider": {"web": {"url": "u"}}}
    >>> resolve_metric(parse_metric(raw).require(), {"count": "3"}).count
    3
    """
    if not metric.has_placeholders:
        return metric
    text = json.dumps(metric.raw, ensure_ascii=False, default=str)
    substituted = json.loads(substitute(text, args))
    return model.parse_metric(substituted, path=path).require(allow_unsupported=True)


def mask_secrets(text: str, secrets: Collection[str]) -> str:
    """`text` with every non-empty secret value replaced by `*****` (longest first, so none leaks in part).

    >>> mask_secrets("token=abc123 failed", {"abc123"})
    'token=***** failed'
    """
    for secret in sorted((secret for secret in secrets if secret), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
