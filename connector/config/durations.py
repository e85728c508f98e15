"""Parsing of the human-friendly values in config: durations, working hours, date ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: object) -> timedelta:
    """Parse `15m`, `2h`, `1h30m`, `90s`, `1d` (or a timedelta) into a positive timedelta."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like 15m, 2h or 1d, got {value!r}")
    match = _DURATION.match(value)
    if not value.strip() or match is None or not any(match.groups()):
        raise ValueError(f"bad duration {value!r}: use a number with d, h, m or s (15m, 2h, 1h30m)")
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    result = timedelta(days=d, hours=h, minutes=m, seconds=s)
    if result <= timedelta(0):
        raise ValueError(f"bad duration {value!r}: must be longer than zero")
    return result


def format_duration(delta: timedelta) -> str:
    """Render a timedelta the way config writes it (`1h30m`)."""
    total = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or "0s"


def parse_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone, or raise ValueError naming the bad zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from exc


@dataclass(frozen=True)
class WorkingHours:
    """Weekly working hours in a time zone: `Mon-Fri 08:00-17:00 America/New_York`."""

    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo
    text: str

    def covers(self, when: datetime) -> bool:
        """Tell whether the aware datetime falls inside these hours."""
        local = when.astimezone(self.zone)
        if local.weekday() not in self.days:
            return False
        return self.start <= local.time() < self.end


def _parse_days(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.lower().split(","):
        ends = part.split("-")
        try:
            idx = [_DAYS.index(e.strip()[:3]) for e in ends]
        except ValueError:
            raise ValueError(f"bad days {spec!r}: use Mon-Fri or Mon,Wed,Fri") from None
        if len(idx) == 1:
            days.add(idx[0])
        elif len(idx) == 2:
            lo, hi = idx
            days.update(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)])
        else:
            raise ValueError(f"bad days {spec!r}: use Mon-Fri or Mon,Wed,Fri")
    return frozenset(days)


def parse_hours(value: object) -> WorkingHours:
    """Parse `Mon-Fri 08:00-17:00 America/New_York`."""
    if isinstance(value, WorkingHours):
        return value
    if not isinstance(value, str):
        raise ValueError("hours must be a string like 'Mon-Fri 08:00-17:00 America/New_York'")
    parts = value.split()
    if len(parts) != 3:
        raise ValueError(f"bad hours {value!r}: expected 'Mon-Fri 08:00-17:00 America/New_York'")
    days_spec, span, zone_name = parts
    try:
        start_s, end_s = span.split("-")
        start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    except ValueError:
        raise ValueError(f"bad hours {value!r}: time span must look like 08:00-17:00") from None
    if end <= start:
        raise ValueError(f"bad hours {value!r}: the end must come after the start")
    return WorkingHours(_parse_days(days_spec), start, end, parse_zone(zone_name), value)


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of calendar days (`2026-12-24..2026-12-31`, or one day)."""

    first: date
    last: date

    def covers(self, day: date) -> bool:
        """Tell whether the day falls inside the range."""
        return self.first <= day <= self.last


def parse_date_range(value: object) -> DateRange:
    """Parse `2026-12-24..2026-12-31` or `2026-12-24`."""
    if isinstance(value, DateRange):
        return value
    if isinstance(value, date):
        return DateRange(value, value)
    if not isinstance(value, str):
        raise ValueError("out_of_office entries look like 2026-12-24..2026-12-31")
    try:
        first_s, _, last_s = value.partition("..")
        first = date.fromisoformat(first_s.strip())
        last = date.fromisoformat(last_s.strip()) if last_s else first
    except ValueError:
        raise ValueError(f"bad date range {value!r}: use 2026-12-24..2026-12-31") from None
    if last < first:
        raise ValueError(f"bad date range {value!r}: the last day comes before the first")
    return DateRange(first, last)
