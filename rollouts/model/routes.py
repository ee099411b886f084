"""Header and mirror routes: the bodies of Argo's `setHeaderRoute` and `setMirrorRoute` canary steps.

Parsed here, with the rest of the Rollout; the routers that can set such routes (Istio) take these values.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from rollouts.model import fields

MatchKind = Literal["exact", "prefix", "regex"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StringMatch:
    """`{exact: x}`, `{prefix: x}` or `{regex: x}`."""

    kind: MatchKind
    value: str

    def to_wire(self) -> dict[str, str]:
        return {self.kind: self.value}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HeaderRoute:
    """`setHeaderRoute`: requests whose headers all match go to the canary. No matches: remove the route."""

    name: str
    headers: tuple[tuple[str, StringMatch], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MirrorMatch:
    """One `setMirrorRoute.match[]` entry: all given parts must match."""

    method: StringMatch | None = None
    path: StringMatch | None = None
    headers: tuple[tuple[str, StringMatch], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MirrorRoute:
    """`setMirrorRoute`: matching requests keep their destination and are copied to the canary
    (`percentage` of them, all when None). No matches: remove the route."""

    name: str
    matches: tuple[MirrorMatch, ...] = ()
    percentage: int | None = None


def parse_string_match(reader: fields.FieldReader, raw: object, path: str) -> StringMatch | None:
    """Argo's `{exact|prefix|regex: value}`; exactly one key."""
    mapping = reader.mapping_value(raw, path)
    if mapping is None:
        return None
    reader.check_keys(mapping, path, known=("exact", "prefix", "regex"))
    kinds = [kind for kind in ("exact", "prefix", "regex") if kind in mapping]
    if len(kinds) != 1:
        reader.invalid(path, "must set exactly one of exact, prefix, regex")
        return None
    value = reader.string(mapping, kinds[0], path)
    return StringMatch(kind=kinds[0], value=value) if value is not None else None  # type: ignore[arg-type]


def read_header_route(reader: fields.FieldReader, raw: object, *, path: str) -> HeaderRoute:
    """A `setHeaderRoute` step body: `{name, match: [{headerName, headerValue: {exact|prefix|regex}}]}`.

    >>> read_header_route(fields.FieldReader(), {"name": "h", "match": [{"headerName": "X-Canary",
    ...     "headerValue": {"exact": "yes"}}]}, path="spec.strategy.canary.steps[1].setHeaderRoute").headers
    (('X-Canary', StringMatch(kind='exact', value='yes')),)
    """
    step = reader.mapping_value(raw, path) or {}
    reader.check_keys(step, path, known=("name", "match"))
    name = reader.string(step, "name", path)
    if not name:
        reader.invalid(fields.child(path, "name"), "is required")
    headers: list[tuple[str, StringMatch]] = []
    for index, item in enumerate(reader.sequence(step, "match", path)):
        item_path = fields.item(f"{path}.match", index)
        match = reader.mapping_value(item, item_path) or {}
        reader.check_keys(match, item_path, known=("headerName", "headerValue"))
        header = reader.string(match, "headerName", item_path)
        if not header:
            reader.invalid(fields.child(item_path, "headerName"), "is required")
        value = parse_string_match(reader, match.get("headerValue"), fields.child(item_path, "headerValue"))
        if header and value is not None:
            headers.append((header, value))
    return HeaderRoute(name=name or "", headers=tuple(headers))


def read_mirror_route(reader: fields.FieldReader, raw: object, *, path: str) -> MirrorRoute:
    """A `setMirrorRoute` step body: `{name, match: [{method, path, headers}], percentage}`."""
    step = reader.mapping_value(raw, path) or {}
    reader.check_keys(step, path, known=("name", "match", "percentage"))
    name = reader.string(step, "name", path)
    if not name:
        reader.invalid(fields.child(path, "name"), "is required")
    matches: list[MirrorMatch] = []
    for index, item in enumerate(reader.sequence(step, "match", path)):
        item_path = fields.item(f"{path}.match", index)
        match = reader.mapping_value(item, item_path) or {}
        reader.check_keys(match, item_path, known=("method", "path", "headers"))
        headers = reader.mapping(match, "headers", item_path) or {}
        matches.append(
            MirrorMatch(
                method=parse_string_match(reader, match.get("method"), fields.child(item_path, "method")),
                path=parse_string_match(reader, match.get("path"), fields.child(item_path, "path")),
                headers=tuple(
                    (header, parsed)
                    for header, raw_value in headers.items()
                    if (parsed := parse_string_match(reader, raw_value, f"{item_path}.headers[{header}]"))
                ),
            )
        )
    percentage = reader.integer(step, "percentage", path, minimum=0, maximum=100)
    return MirrorRoute(name=name or "", matches=tuple(matches), percentage=percentage)


def parse_header_route(raw: object, *, path: str) -> fields.Parsed[HeaderRoute]:
    reader = fields.FieldReader()
    route = read_header_route(reader, raw, path=path)
    return fields.Parsed(value=route, issues=reader.issues)


def parse_mirror_route(raw: object, *, path: str) -> fields.Parsed[MirrorRoute]:
    reader = fields.FieldReader()
    route = read_mirror_route(reader, raw, path=path)
    return fields.Parsed(value=route, issues=reader.issues)
