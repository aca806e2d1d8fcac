"""Time stamps in every shape the logs print them, and the zone rules users rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from diagnose.timeutil import (
    TimestampError,
    isoformat_z,
    parse_duration,
    parse_timestamp,
    resolve_tz,
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2025-09-08 16:49:24.508 PDT", utc(2025, 9, 8, 23, 49, 24, 508000)),
        ("2025-01-15 09:00:00.000 PST", utc(2025, 1, 15, 17, 0)),
        # The abbreviation wins over DST rules: a PST stamp in summer is still UTC-8.
        ("2025-09-08 16:49:24 PST", utc(2025, 9, 9, 0, 49, 24)),
        ("2025-09-08T23:16:36.506567891Z", utc(2025, 9, 8, 23, 16, 36, 506567)),
        ("2025-09-08T23:16:36Z", utc(2025, 9, 8, 23, 16, 36)),
        ("2025-09-15T20:03:08.556969+00:00", utc(2025, 9, 15, 20, 3, 8, 556969)),
        ("2025-09-08T16:49:24.508-07:00", utc(2025, 9, 8, 23, 49, 24, 508000)),
        ("Mon, 08 Sep 2025 16:49:24 PDT", utc(2025, 9, 8, 23, 49, 24)),
    ],
)
def test_zoned_text_stamps(stamp, expected):
    assert parse_timestamp(stamp) == (expected, False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1757374164, utc(2025, 9, 8, 23, 29, 24)),  # seconds
        ("1757374164.5", utc(2025, 9, 8, 23, 29, 24, 500000)),
        (1757374164508, utc(2025, 9, 8, 23, 29, 24, 508000)),  # milliseconds
        ("1757374164508123", utc(2025, 9, 8, 23, 29, 24, 508123)),  # microseconds
        (1757374164508123456, utc(2025, 9, 8, 23, 29, 24, 508123)),  # nanoseconds, exact
        ({"seconds": 1757374164, "nanos": 508000000}, utc(2025, 9, 8, 23, 29, 24, 508000)),
    ],
)
def test_epoch_numbers_by_magnitude(value, expected):
    assert parse_timestamp(value) == (expected, False)


def test_naive_stamps_take_the_default_zone_and_say_so():
    pdt = timezone(timedelta(hours=-7))
    assert parse_timestamp("2025-09-08 16:49:24,508") == (utc(2025, 9, 8, 16, 49, 24, 508000), True)
    assert parse_timestamp("2025-09-08 16:49:24.508", pdt) == (
        utc(2025, 9, 8, 23, 49, 24, 508000), True
    )


@pytest.mark.parametrize(
    ("stamp", "message"),
    [
        ("2025-09-08 16:49:24.508 XYZ", "unknown time zone 'XYZ'"),
        ("2025-13-45 99:00:00", "unreadable time stamp"),
        ("", "missing or non-text time stamp"),
        (None, "missing or non-text time stamp"),
        ({"seconds": "soon"}, "bad time stamp object"),
        (10**30, "epoch time stamp out of range"),
    ],
)
def test_unreadable_stamps_raise_a_short_reason(stamp, message):
    with pytest.raises(TimestampError, match=message):
        parse_timestamp(stamp)


def test_resolve_tz_accepts_abbreviations_offsets_and_zone_names():
    moment = datetime(2025, 9, 8, 12, 0)
    assert resolve_tz("PDT").utcoffset(moment) == timedelta(hours=-7)
    assert resolve_tz("+05:30").utcoffset(moment) == timedelta(hours=5, minutes=30)
    assert resolve_tz("America/Los_Angeles").utcoffset(moment) == timedelta(hours=-7)
    with pytest.raises(TimestampError, match="unknown time zone 'Mars/Olympus'"):
        resolve_tz("Mars/Olympus")


def test_durations_and_z_formatting():
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("90s") == timedelta(seconds=90)
    with pytest.raises(TimestampError, match="not a duration"):
        parse_duration("soon")
    assert isoformat_z(utc(2025, 9, 8, 23, 49, 24, 508000)) == "2025-09-08T23:49:24.508000Z"
