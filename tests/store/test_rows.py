"""UTC handling of the values the store writes and reads (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connector.store.rows import db_time, utc

BERLIN_WINTER = timezone(timedelta(hours=1))


def test_aware_times_are_written_as_utc() -> None:
    local = datetime(2026, 1, 5, 15, 30, tzinfo=BERLIN_WINTER)
    written = db_time(local)
    assert written == local
    assert written.utcoffset() == timedelta(0)
    assert (written.hour, written.minute) == (14, 30)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-01-05T14:00:00"):
        db_time(datetime(2026, 1, 5, 14, 0))


def test_non_datetimes_are_refused() -> None:
    with pytest.raises(TypeError, match="expected a datetime, got str"):
        db_time("2026-01-05T14:00:00Z")  # type: ignore[arg-type]


def test_reads_come_back_aware_utc() -> None:
    assert utc(datetime(2026, 1, 5, 14, 0)) == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    read = utc(datetime(2026, 1, 5, 15, 0, tzinfo=BERLIN_WINTER))
    assert read is not None
    assert read.tzinfo is UTC
    assert read.hour == 14
    assert utc(None) is None
