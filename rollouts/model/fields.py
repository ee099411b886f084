"""Field-level building blocks shared by the parsers: issues, int-or-percent, durations, timestamps.

A parser never drops a field silently. Every key of a manifest is either parsed, known to be ignorable
(most of `metadata`), or reported as a `FieldIssue` naming its path::

    FieldIssue(path="spec.strategy.canary.steps[2].experiment", message="not supported by rollwave",
               kind=IssueKind.UNSUPPORTED)
    FieldIssue(path="spec.strategy.canary.steps[0].setWeight", message="must be between 0 and 100 (got 120)",
               kind=IssueKind.INVALID)

Parsers return `Parsed(value, issues)`. `value` is built whenever the manifest's shape allows it (bad
fields fall back to their defaults), so callers can still read names and services of an invalid object; it
is None only when there is nothing to build (e.g. `spec` is not a mapping). `Parsed.require()` is the
strict door: the value, or `InvalidSpec` listing every issue.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import fractions
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")

NOT_SUPPORTED = "not supported by rollwave"
UNKNOWN_FIELD = "unknown field: not part of the Argo Rollouts API known to rollwave"


class IssueKind(enum.StrEnum):
    """Why a field is reported: rollwave cannot act on it, or the value itself is wrong."""

    UNSUPPORTED = "Unsupported"
    INVALID = "Invalid"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldIssue:
    """One problem with one field, addressed by its path (`spec.metrics[0].provider.datadog`)."""

    path: str
    message: str
    kind: IssueKind

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidSpec(Exception):
    """A manifest rollwave cannot act on. `issues` names every offending field.

    >>> issue = FieldIssue(path="spec.replicas", message="must be >= 0 (got -1)", kind=IssueKind.INVALID)
    >>> str(InvalidSpec([issue]))
    'spec.replicas: must be >= 0 (got -1)'
    """

    issues: tuple[FieldIssue, ...]

    def __init__(self, issues: Iterable[FieldIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


# Not slots: a slotted Generic dataclass breaks `Parsed[X](...)` on Python 3.11 (`__orig_class__` assignment).
@dataclasses.dataclass(frozen=True, kw_only=True)
class Parsed(Generic[T]):
    """The result of parsing one manifest: the typed value (None if it could not be built) and every issue."""

    value: T | None
    issues: tuple[FieldIssue, ...] = ()

    @property
    def invalid(self) -> tuple[FieldIssue, ...]:
        return tuple(issue for issue in self.issues if issue.kind is IssueKind.INVALID)

    @property
    def unsupported(self) -> tuple[FieldIssue, ...]:
        return tuple(issue for issue in self.issues if issue.kind is IssueKind.UNSUPPORTED)

    @property
    def ok(self) -> bool:
        """True when the value exists and nothing at all was reported."""
        return self.value is not None and not self.issues

    def require(self, *, allow_unsupported: bool = False) -> T:
        """The value, or `InvalidSpec` with every issue (unsupported ones too unless allowed)."""
        blocking = self.invalid if allow_unsupported else self.issues
        if self.value is None or blocking:
            raise InvalidSpec(
                blocking or (FieldIssue(path="", message="cannot be parsed", kind=IssueKind.INVALID),)
            )
        return self.value


# ----------------------------------------------------------------------------------------------------
# Int-or-percent


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IntOrPercent:
    """An absolute count or a percentage of a total, as in `maxSurge: 1` or `maxSurge: "25%"`.

    >>> IntOrPercent(value=25, is_percent=True).resolve(5, round_up=True)
    2
    >>> IntOrPercent(value=25, is_percent=True).resolve(5, round_up=False)
    1
    >>> IntOrPercent(value=3, is_percent=False).resolve(5, round_up=False)
    3
    """

    value: int
    is_percent: bool

    def resolve(self, total: int, *, round_up: bool) -> int:
        """The count this stands for out of `total`; percentages round up (surge) or down (unavailable)."""
        if not self.is_percent:
            return self.value
        if round_up:
            return -(-self.value * total // 100)
        return self.value * total // 100

    def to_wire(self) -> int | str:
        """The API form: an int, or a string ending in `%`."""
        return f"{self.value}%" if self.is_percent else self.value

    def __str__(self) -> str:
        return str(self.to_wire())


_PERCENT = re.compile(r"^(\d+)%?$")


def parse_int_or_percent(raw: object) -> IntOrPercent:
    """Parse an int-or-string the way Argo resolves maxSurge/maxUnavailable.

    Integers are absolute. EVERY string is a percentage, with or without the `%` sign (Argo resolves
    strings through the legacy `intstr.GetValueFromIntOrPercent`, which strips an optional `%`; so `"5"`
    means 5%, not 5 pods):

    >>> parse_int_or_percent(1)
    IntOrPercent(value=1, is_percent=False)
    >>> parse_int_or_percent("25%")
    IntOrPercent(value=25, is_percent=True)
    >>> parse_int_or_percent("5")
    IntOrPercent(value=5, is_percent=True)

    Raises ValueError for anything else (negative numbers, `"1.5"`, `"abc"`, booleans).
    """
    if isinstance(raw, bool):
        raise ValueError(f"must be an integer or a percentage such as '25%' (got {raw!r})")
    if isinstance(raw, int):
        if raw < 0:
            raise ValueError(f"must not be negative (got {raw})")
        return IntOrPercent(value=raw, is_percent=False)
    if isinstance(raw, str):
        match = _PERCENT.match(raw)
        if match is None:
            raise ValueError(f"must be an integer or a percentage such as '25%' (got {raw!r})")
        return IntOrPercent(value=int(match.group(1)), is_percent=True)
    raise ValueError(f"must be an integer or a percentage such as '25%' (got {raw!r})")


# ----------------------------------------------------------------------------------------------------
# Durations

# Go's time.ParseDuration units, in nanoseconds.
_GO_UNITS: Mapping[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_GO_COMPONENT = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(raw: object) -> datetime.timedelta:
    """Parse Go duration syntax, as used by analysis `interval` and `initialDelay`.

    >>> parse_go_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_go_duration("1.5h") == parse_go_duration("90m")
    True
    >>> parse_go_duration("300ms")
    datetime.timedelta(microseconds=300000)

    A bare `"0"` is allowed (Go allows it); other unitless numbers are not. Negative durations are
    rejected: no field of ours means anything by them. Sub-microsecond parts are truncated. Raises
    ValueError with a clear message.
    """
    if not isinstance(raw, str):
        raise ValueError(f"must be a duration string such as '30s', '5m' or '1h' (got {raw!r})")
    text = raw.strip()
    if text.startswith("-"):
        raise ValueError(f"must not be negative (got {raw!r})")
    text = text.removeprefix("+")
    if text == "0":
        return datetime.timedelta(0)
    if not text:
        raise ValueError("must be a duration such as '30s', '5m' or '1h' (got an empty string)")
    total = fractions.Fraction(0)
    position = 0
    while position < len(text):
        match = _GO_COMPONENT.match(text, position)
        if match is None or (not match.group(1) and not match.group(2)):
            raise ValueError(f"must be a duration such as '30s', '5m', '1h30m' or '300ms' (got {raw!r})")
        whole, fraction, unit = match.group(1) or "0", match.group(2) or "", match.group(3)
        number = fractions.Fraction(int(whole)) + (
            fractions.Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0
        )
        total += number * _GO_UNITS[unit]
        position = match.end()
    return _nanoseconds_to_timedelta(total, raw)


def parse_duration(raw: object) -> datetime.timedelta:
    """Parse a pause duration: an int or digits-only string is seconds, anything else is Go syntax.

    >>> parse_duration(10)
    datetime.timedelta(seconds=10)
    >>> parse_duration("10")
    datetime.timedelta(seconds=10)
    >>> parse_duration("1m")
    datetime.timedelta(seconds=60)

    Raises ValueError for booleans, floats, negative values and unparseable strings.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"must be whole seconds or a duration string such as '30s' (got {raw!r})")
    if isinstance(raw, int):
        if raw < 0:
            raise ValueError(f"must not be negative (got {raw})")
        return _nanoseconds_to_timedelta(fractions.Fraction(raw) * _GO_UNITS["s"], raw)
    if raw.strip().isdigit():
        return _nanoseconds_to_timedelta(fractions.Fraction(int(raw.strip())) * _GO_UNITS["s"], raw)
    return parse_go_duration(raw)


def _nanoseconds_to_timedelta(nanoseconds: fractions.Fraction, raw: object) -> datetime.timedelta:
    try:
        return datetime.timedelta(microseconds=math.floor(nanoseconds / 1000))
    except OverflowError:
        raise ValueError(f"is too long a duration (got {raw!r})") from None


def format_duration(duration: datetime.timedelta) -> str:
    """A Go duration string that `parse_go_duration` reads back to the same value.

    >>> format_duration(datetime.timedelta(minutes=90))
    '1h30m'
    >>> format_duration(datetime.timedelta(milliseconds=300))
    '300ms'
    """
    if duration < datetime.timedelta(0):
        raise ValueError(f"must not be negative (got {duration})")
    microseconds = duration // datetime.timedelta(microseconds=1)
    if microseconds == 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000), ("us", 1)):
        count, microseconds = divmod(microseconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


# ----------------------------------------------------------------------------------------------------
# Timestamps


def parse_timestamp(raw: object) -> datetime.datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime at second precision (as Kubernetes stores them).

    >>> parse_timestamp("2026-11-22T10:00:00Z")
    datetime.datetime(2026, 11, 22, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_timestamp("2026-11-22T12:00:00.75+02:00")
    datetime.datetime(2026, 11, 22, 10, 0, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(raw, str) or "T" not in raw.upper():
        raise ValueError(f"must be an RFC 3339 timestamp such as '2026-11-22T10:00:00Z' (got {raw!r})")
    try:
        parsed = datetime.datetime.fromisoformat(raw.upper())
    except ValueError:
        raise ValueError(
            f"must be an RFC 3339 timestamp such as '2026-11-22T10:00:00Z' (got {raw!r})"
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(f"must carry a time zone, e.g. a trailing 'Z' (got {raw!r})")
    return parsed.astimezone(datetime.UTC).replace(microsecond=0)


def format_timestamp(moment: datetime.datetime) -> str:
    """The Kubernetes wire form: UTC, second precision, trailing `Z`.

    >>> format_timestamp(datetime.datetime(2026, 11, 22, 10, 0, 0, 999, tzinfo=datetime.UTC))
    '2026-11-22T10:00:00Z'
    """
    if moment.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware (got naive {moment!r})")
    utc = moment.astimezone(datetime.UTC)
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


# ----------------------------------------------------------------------------------------------------
# Paths and the issue-collecting reader


def child(path: str, key: str) -> str:
    """`spec` + `replicas` -> `spec.replicas`; keys that are not identifiers go in brackets."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) is None:
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    """`spec.metrics` + 2 -> `spec.metrics[2]`."""
    return f"{path}[{index}]"


def _describe(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


class FieldReader:
    """Reads typed fields out of raw API dicts while collecting every issue for one manifest.

    Each accessor takes the containing mapping, the key and the container's path; it returns the typed
    value, or None when the key is absent or its value has the wrong type (which is then reported as
    INVALID). Parsers supply defaults with `or`/`if ... is None`, so a bad field never stops the rest of
    the manifest from being read.
    """

    def __init__(self) -> None:
        self._issues: list[FieldIssue] = []

    @property
    def issues(self) -> tuple[FieldIssue, ...]:
        return tuple(self._issues)

    def invalid(self, path: str, message: str) -> None:
        self._issues.append(FieldIssue(path=path, message=message, kind=IssueKind.INVALID))

    def unsupported(self, path: str, message: str = NOT_SUPPORTED) -> None:
        self._issues.append(FieldIssue(path=path, message=message, kind=IssueKind.UNSUPPORTED))

    def check_keys(
        self,
        raw: Mapping[str, Any],
        path: str,
        *,
        known: Collection[str],
        unsupported: Collection[str] = (),
    ) -> None:
        """Report keys rollwave does not support (named Argo fields) and unknown keys (typos, newer APIs)."""
        for key in raw:
            if key in known:
                continue
            if key in unsupported:
                self.unsupported(child(path, key))
            else:
                self.unsupported(child(path, key), UNKNOWN_FIELD)

    def mapping_value(self, raw: object, path: str) -> Mapping[str, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping) or not all(isinstance(key, str) for key in raw):
            self.invalid(path, f"must be an object (got {_describe(raw)})")
            return None
        return raw

    def mapping(self, container: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
        return self.mapping_value(container.get(key), child(path, key))

    def sequence(self, container: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
        raw = container.get(key)
        if raw is None:
            return ()
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            self.invalid(child(path, key), f"must be a list (got {_describe(raw)})")
            return ()
        return raw

    def string_value(self, raw: object, path: str) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            self.invalid(path, f"must be a string (got {_describe(raw)})")
            return None
        return raw

    def string(self, container: Mapping[str, Any], key: str, path: str) -> str | None:
        return self.string_value(container.get(key), child(path, key))

    def integer_value(
        self, raw: object, path: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        if raw is None:
            return None
        # JSON decoders may hand over 5.0 for 5; bools are ints to Python but never to the API.
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.invalid(path, f"must be an integer (got {_describe(raw)})")
            return None
        if minimum is not None and maximum is not None and not minimum <= raw <= maximum:
            self.invalid(path, f"must be between {minimum} and {maximum} (got {raw})")
            return None
        if minimum is not None and raw < minimum:
            self.invalid(path, f"must be >= {minimum} (got {raw})")
            return None
        if maximum is not None and raw > maximum:
            self.invalid(path, f"must be <= {maximum} (got {raw})")
            return None
        return raw

    def integer(
        self,
        container: Mapping[str, Any],
        key: str,
        path: str,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        return self.integer_value(container.get(key), child(path, key), minimum=minimum, maximum=maximum)

    def boolean(self, container: Mapping[str, Any], key: str, path: str) -> bool | None:
        raw = container.get(key)
        if raw is None:
            return None
        if not isinstance(raw, bool):
            self.invalid(child(path, key), f"must be true or false (got {_describe(raw)})")
            return None
        return raw

    def string_map(self, container: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        """A `map[string]string` such as labels; non-string values are reported and left out."""
        raw = self.mapping(container, key, path)
        if raw is None:
            return {}
        result: dict[str, str] = {}
        for name, value in raw.items():
            if isinstance(value, str):
                result[name] = value
            else:
                self.invalid(child(child(path, key), name), f"must be a string (got {_describe(value)})")
        return result

    def timestamp(self, container: Mapping[str, Any], key: str, path: str) -> datetime.datetime | None:
        raw = container.get(key)
        if raw is None:
            return None
        try:
            return parse_timestamp(raw)
        except ValueError as err:
            self.invalid(child(path, key), str(err))
            return None

    def int_or_percent(
        self, container: Mapping[str, Any], key: str, path: str, *, default: IntOrPercent
    ) -> IntOrPercent:
        raw = container.get(key)
        if raw is None:
            return default
        try:
            return parse_int_or_percent(raw)
        except ValueError as err:
            self.invalid(child(path, key), str(err))
            return default


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ObjectMeta:
    """The parts of `metadata` rollwave reads.

    The rest (resourceVersion, ownerReferences, managedFields, ...) belongs to Kubernetes and is ignorable,
    so it is never reported.
    """

    name: str
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)


def read_metadata(
    reader: FieldReader, obj: Mapping[str, Any], *, allow_generate_name: bool = False
) -> ObjectMeta:
    """Read `metadata`; `name` is required unless allowed to be "" for a manifest with `generateName`."""
    metadata = reader.mapping(obj, "metadata", "") or {}
    name = reader.string(metadata, "name", "metadata") or ""
    generate_name = reader.string(metadata, "generateName", "metadata") or None
    if not name and not (allow_generate_name and generate_name):
        reader.invalid("metadata.name", "is required")
    return ObjectMeta(
        name=name,
        generate_name=generate_name,
        namespace=reader.string(metadata, "namespace", "metadata") or None,
        uid=reader.string(metadata, "uid", "metadata") or None,
        generation=reader.integer(metadata, "generation", "metadata", minimum=0),
        labels=reader.string_map(metadata, "labels", "metadata"),
        annotations=reader.string_map(metadata, "annotations", "metadata"),
    )
