"""Durations, working hours and date ranges as admins write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connector.config.durations import (
    format_duration,
    parse_date_range,
    parse_duration,
    parse_hours,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        ("1d", timedelta(days=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["", "15", "15x", "m", "-5m", "0m", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


def test_working_hours_in_their_zone() -> None:
    hours = parse_hours("Mon-Fri 08:00-17:00 America/New_York")
    monday_9_ny = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert hours.covers(monday_9_ny)
    assert not hours.covers(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))  # 07:00 EST
    assert not hours.covers(datetime(2026, 1, 5, 22, 0, tzinfo=UTC))  # 17:00 EST: end excluded
    assert not hours.covers(datetime(2026, 1, 10, 15, 0, tzinfo=UTC))  # Saturday


def test_wrapping_day_ranges() -> None:
    hours = parse_hours("Sat-Mon 10:00-12:00 UTC")
    assert hours.days == frozenset({5, 6, 0})


@pytest.mark.parametrize(
    "text",
    [
        "Mon-Fri 08:00-17:00",
        "Mon-Fri 17:00-08:00 UTC",
        "Funday 08:00-17:00 UTC",
        "Mon-Fri 8am-5pm UTC",
        "Mon-Fri 08:00-17:00 Mars/Base",
    ],
)
def test_bad_hours(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hours(text)


def test_date_ranges() -> None:
    span = parse_date_range("2026-12-24..2026-12-31")
    assert span.covers(date(2026, 12, 24)) and span.covers(date(2026, 12, 31))
    assert not span.covers(date(2027, 1, 1))
    assert parse_date_range("2026-07-04").covers(date(2026, 7, 4))
    with pytest.raises(ValueError, match="before the first"):
        parse_date_range("2026-12-31..2026-12-24")
