"""Strict readers and writers for the wire form of status objects (the part the controller itself writes).

Status is read strictly: a malformed field raises ValueError naming it, and the caller reports the object as
invalid rather than guess. Spec fields are read leniently by `fields.FieldReader`, which collects issues instead.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from rollouts.model import fields

E = TypeVar("E", bound=enum.Enum)


def mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be an object (got {raw!r})")
    return raw


def optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}.{key} must be a string (got {value!r})")
    return value


def required_str(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = optional_str(raw, key, where)
    if value is None:
        raise ValueError(f"{where}.{key} is required")
    return value


def optional_int(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{where}.{key} must be an integer (got {value!r})")
    return value


def count(raw: Mapping[str, Any], key: str, where: str) -> int:
    """A counter: absent means 0."""
    value = optional_int(raw, key, where)
    return 0 if value is None else value


def boolean(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"{where}.{key} must be true or false (got {value!r})")
    return value


def timestamp(raw: Mapping[str, Any], key: str, where: str) -> datetime.datetime | None:
    value = raw.get(key)
    if value is None:
        return None
    try:
        return fields.parse_timestamp(value)
    except ValueError as err:
        raise ValueError(f"{where}.{key} {err}") from None


def required_timestamp(raw: Mapping[str, Any], key: str, where: str) -> datetime.datetime:
    value = timestamp(raw, key, where)
    if value is None:
        raise ValueError(f"{where}.{key} is required")
    return value


def enum_value(cls: type[E], value: object, where: str) -> E:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in cls)
        raise ValueError(f"{where} must be one of {allowed} (got {value!r})") from None


def list_of(raw: Mapping[str, Any], key: str, where: str) -> Sequence[Any]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where}.{key} must be a list (got {value!r})")
    return value


def string_map(raw: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{where}.{key} must map strings to strings (got {value!r})")
    return dict(value)


def put(out: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def put_time(out: dict[str, Any], key: str, value: datetime.datetime | None) -> None:
    if value is not None:
        out[key] = fields.format_timestamp(value)
