"""Skip reasons: inactive, out of office, outside hours, caps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.routing.availability import why_unavailable
from connector.routing.state import RepLoad
from tests.routing.builders import MONDAY_10AM_NY, config, rep

HOURS = "Mon-Fri 08:00-17:00 America/New_York"


@pytest.mark.parametrize(
    ("extra", "now", "load", "why"),
    [
        ({}, MONDAY_10AM_NY, RepLoad(), None),
        ({"active": False}, MONDAY_10AM_NY, RepLoad(), "inactive"),
        (
            {"out_of_office": ["2026-01-05..2026-01-09"]},
            MONDAY_10AM_NY,
            RepLoad(),
            "out of office until 2026-01-09",
        ),
        ({"out_of_office": ["2026-01-06"]}, MONDAY_10AM_NY, RepLoad(), None),
        ({"hours": HOURS}, MONDAY_10AM_NY, RepLoad(), None),
        (
            {"hours": HOURS},
            datetime(2026, 1, 5, 22, 0, tzinfo=UTC),
            RepLoad(),
            f"outside hours ({HOURS})",
        ),
        (
            {"hours": HOURS},
            datetime(2026, 1, 10, 15, 0, tzinfo=UTC),
            RepLoad(),
            f"outside hours ({HOURS})",
        ),
        ({"hours": HOURS}, datetime(2026, 1, 5, 13, 0, tzinfo=UTC), RepLoad(), None),
        (
            {"hours": HOURS},
            datetime(2026, 1, 5, 12, 59, tzinfo=UTC),
            RepLoad(),
            f"outside hours ({HOURS})",
        ),
        ({"daily_cap": 40}, MONDAY_10AM_NY, RepLoad(assigned_today=39), None),
        ({"daily_cap": 40}, MONDAY_10AM_NY, RepLoad(assigned_today=40), "at daily cap 40/40"),
        ({"weekly_cap": 60}, MONDAY_10AM_NY, RepLoad(assigned_week=61), "at weekly cap 61/60"),
        ({"daily_cap": 0}, MONDAY_10AM_NY, RepLoad(), "at daily cap 0/0"),
    ],
)
def test_why_unavailable(
    extra: dict[str, object], now: datetime, load: RepLoad, why: str | None
) -> None:
    cfg = config([rep("ana", teams=["smb"], **extra)])
    assert why_unavailable(cfg, cfg.reps[0], now, load) == why


def test_out_of_office_uses_the_reps_local_date() -> None:
    # 03:00 UTC on Jan 6 is still Jan 5 in New York, so an OOO day of Jan 6 has not begun.
    cfg = config(
        [rep("ana", hours="Mon-Sun 00:00-23:59 America/New_York", out_of_office=["2026-01-06"])]
    )
    late = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
    assert why_unavailable(cfg, cfg.reps[0], late, RepLoad()) is None
    next_morning = datetime(2026, 1, 6, 14, 0, tzinfo=UTC)
    assert why_unavailable(cfg, cfg.reps[0], next_morning, RepLoad()) == (
        "out of office until 2026-01-06"
    )


def test_without_hours_the_config_timezone_sets_the_date() -> None:
    cfg = config([rep("ana", out_of_office=["2026-01-06"])], timezone="Asia/Tokyo")
    # 16:00 UTC on Jan 5 is already Jan 6 in Tokyo.
    at = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
    assert why_unavailable(cfg, cfg.reps[0], at, RepLoad()) == "out of office until 2026-01-06"
