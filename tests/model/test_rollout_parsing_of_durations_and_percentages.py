"""Durations (pause, interval), int-or-percent (maxSurge/maxUnavailable) and timestamps, read as Argo does."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.model import fields

SECOND = datetime.timedelta(seconds=1)
UTC = datetime.UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(10, 10 * SECOND, id="int-is-seconds"),
        pytest.param(0, datetime.timedelta(0), id="zero-int"),
        pytest.param("10", 10 * SECOND, id="digits-string-is-seconds"),
        pytest.param("0", datetime.timedelta(0), id="zero-string"),
        pytest.param("30s", 30 * SECOND, id="seconds"),
        pytest.param("5m", 300 * SECOND, id="minutes"),
        pytest.param("1h", 3600 * SECOND, id="hours"),
        pytest.param("1h30m", 5400 * SECOND, id="compound"),
        pytest.param("1h30m15s", 5415 * SECOND, id="three-units"),
        pytest.param("1.5h", 5400 * SECOND, id="fractional-hours"),
        pytest.param(".5m", 30 * SECOND, id="leading-dot"),
        pytest.param("300ms", datetime.timedelta(milliseconds=300), id="milliseconds"),
        pytest.param("1500us", datetime.timedelta(microseconds=1500), id="microseconds"),
        pytest.param("2µs", datetime.timedelta(microseconds=2), id="micro-sign"),
        pytest.param("1500ns", datetime.timedelta(microseconds=1), id="nanoseconds-truncated"),
        pytest.param("+5s", 5 * SECOND, id="explicit-plus"),
    ],
)
def test_pause_durations_parse(raw: object, expected: datetime.timedelta) -> None:
    assert fields.parse_duration(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("abc", "duration", id="garbage"),
        pytest.param("", "empty", id="empty"),
        pytest.param("10x", "duration", id="unknown-unit"),
        pytest.param("5 m", "duration", id="inner-space"),
        pytest.param("m", "duration", id="unit-without-number"),
        pytest.param(".s", "duration", id="dot-without-digits"),
        pytest.param("-5s", "negative", id="negative-string"),
        pytest.param(-5, "negative", id="negative-int"),
        pytest.param(1.5, "seconds", id="float"),
        pytest.param(True, "seconds", id="bool"),
        pytest.param(None, "seconds", id="null"),
        pytest.param("9" * 30, "too long", id="overflow"),
    ],
)
def test_invalid_pause_durations_raise_clear_errors(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fields.parse_duration(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("30", id="unitless-number"),
        pytest.param(30, id="int"),
        pytest.param("5d", id="days-are-not-go"),
    ],
)
def test_go_durations_need_a_unit(raw: object) -> None:
    """Analysis `interval`/`initialDelay` are Go durations: Argo rejects "30" there, unlike in a pause."""
    with pytest.raises(ValueError, match="duration"):
        fields.parse_go_duration(raw)


def test_go_durations_allow_bare_zero() -> None:
    assert fields.parse_go_duration("0") == datetime.timedelta(0)


@given(st.timedeltas(min_value=datetime.timedelta(0), max_value=datetime.timedelta(days=3650)))
def test_formatted_durations_parse_back(duration: datetime.timedelta) -> None:
    assert fields.parse_go_duration(fields.format_duration(duration)) == duration


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(1, fields.IntOrPercent(value=1, is_percent=False), id="int-is-absolute"),
        pytest.param(25, fields.IntOrPercent(value=25, is_percent=False), id="25-is-absolute"),
        pytest.param(0, fields.IntOrPercent(value=0, is_percent=False), id="zero"),
        pytest.param("25%", fields.IntOrPercent(value=25, is_percent=True), id="percent"),
        pytest.param("5", fields.IntOrPercent(value=5, is_percent=True), id="string-without-sign-is-percent"),
        pytest.param("0%", fields.IntOrPercent(value=0, is_percent=True), id="zero-percent"),
        pytest.param("150%", fields.IntOrPercent(value=150, is_percent=True), id="over-100-percent"),
    ],
)
def test_int_or_percent_follows_argo(raw: object, expected: fields.IntOrPercent) -> None:
    assert fields.parse_int_or_percent(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("abc", id="garbage"),
        pytest.param("1.5", id="decimal"),
        pytest.param("25 %", id="space"),
        pytest.param("%", id="sign-only"),
        pytest.param(-1, id="negative"),
        pytest.param("-1%", id="negative-percent"),
        pytest.param(True, id="bool"),
        pytest.param(1.5, id="float"),
        pytest.param(None, id="null"),
    ],
)
def test_invalid_int_or_percent_raises(raw: object) -> None:
    with pytest.raises(ValueError, match="must"):
        fields.parse_int_or_percent(raw)


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        # The docstring examples: 25% of 5 is 1.25 -> surge 2 (up), unavailable 1 (down).
        pytest.param(fields.IntOrPercent(value=25, is_percent=True), 5, True, 2, id="surge-rounds-up"),
        pytest.param(
            fields.IntOrPercent(value=25, is_percent=True), 5, False, 1, id="unavailable-rounds-down"
        ),
        pytest.param(fields.IntOrPercent(value=25, is_percent=True), 4, True, 1, id="exact-up"),
        pytest.param(fields.IntOrPercent(value=25, is_percent=True), 4, False, 1, id="exact-down"),
        pytest.param(fields.IntOrPercent(value=10, is_percent=True), 1, True, 1, id="tiny-up"),
        pytest.param(fields.IntOrPercent(value=10, is_percent=True), 1, False, 0, id="tiny-down"),
        pytest.param(fields.IntOrPercent(value=3, is_percent=False), 5, False, 3, id="absolute-unchanged"),
        pytest.param(fields.IntOrPercent(value=7, is_percent=False), 5, True, 7, id="absolute-not-clamped"),
        pytest.param(fields.IntOrPercent(value=50, is_percent=True), 0, True, 0, id="zero-total"),
    ],
)
def test_int_or_percent_resolves_against_a_total(
    value: fields.IntOrPercent, total: int, round_up: bool, expected: int
) -> None:
    assert value.resolve(total, round_up=round_up) == expected


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        pytest.param(fields.IntOrPercent(value=25, is_percent=True), "25%", id="percent"),
        pytest.param(fields.IntOrPercent(value=1, is_percent=False), 1, id="absolute"),
    ],
)
def test_int_or_percent_writes_the_api_form(value: fields.IntOrPercent, wire: int | str) -> None:
    assert value.to_wire() == wire
    assert fields.parse_int_or_percent(wire) == value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("2026-11-22T10:00:00Z", datetime.datetime(2026, 11, 22, 10, tzinfo=UTC), id="utc"),
        pytest.param("2026-11-22t10:00:00z", datetime.datetime(2026, 11, 22, 10, tzinfo=UTC), id="lowercase"),
        pytest.param(
            "2026-11-22T12:00:00+02:00", datetime.datetime(2026, 11, 22, 10, tzinfo=UTC), id="offset-to-utc"
        ),
        pytest.param(
            "2026-11-22T10:00:00.999999Z",
            datetime.datetime(2026, 11, 22, 10, tzinfo=UTC),
            id="fraction-dropped",
        ),
    ],
)
def test_timestamps_parse_to_utc_seconds(raw: str, expected: datetime.datetime) -> None:
    parsed = fields.parse_timestamp(raw)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("2026-11-22", id="date-only"),
        pytest.param("2026-11-22T10:00:00", id="no-zone"),
        pytest.param("yesterday", id="garbage"),
        pytest.param(1700000000, id="epoch-number"),
    ],
)
def test_invalid_timestamps_raise(raw: object) -> None:
    with pytest.raises(ValueError, match=r"timestamp|zone"):
        fields.parse_timestamp(raw)


def test_timestamps_format_as_rfc3339_utc_seconds() -> None:
    moment = datetime.datetime(
        2026, 11, 22, 11, 0, 0, 500, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    assert fields.format_timestamp(moment) == "2026-11-22T10:00:00Z"


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        fields.format_timestamp(datetime.datetime(2026, 11, 22, 10))


def test_invalid_spec_joins_its_issues() -> None:
    issues = [
        fields.FieldIssue(
            path="spec.replicas", message="must be >= 0 (got -1)", kind=fields.IssueKind.INVALID
        ),
        fields.FieldIssue(
            path="spec.workloadRef", message="not supported", kind=fields.IssueKind.UNSUPPORTED
        ),
    ]
    error = fields.InvalidSpec(issues)
    assert error.issues == tuple(issues)
    assert str(error) == "spec.replicas: must be >= 0 (got -1); spec.workloadRef: not supported"


def test_parsed_require_separates_unsupported_from_invalid() -> None:
    unsupported = fields.FieldIssue(path="spec.x", message="not supported", kind=fields.IssueKind.UNSUPPORTED)
    parsed = fields.Parsed(value=1, issues=(unsupported,))
    assert parsed.unsupported == (unsupported,)
    assert parsed.invalid == ()
    assert not parsed.ok
    assert parsed.require(allow_unsupported=True) == 1
    with pytest.raises(fields.InvalidSpec) as raised:
        parsed.require()
    assert raised.value.issues == (unsupported,)


def test_parsed_require_fails_without_a_value() -> None:
    with pytest.raises(fields.InvalidSpec):
        fields.Parsed[int](value=None).require(allow_unsupported=True)
