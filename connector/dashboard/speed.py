"""Speed figures (minutes to assignment, claim and contact) as p50/p90 worked out in SQL.

Each measure is ranked inside the database with window functions; only the rows at the ranks a
percentile needs reach Python, which interpolates them exactly as `statistics.quantiles(...,
method="inclusive")` does, so the figures equal `connector.reporting.percentile` over the same
minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Float, Subquery, and_, cast, func, or_, select

from connector.store.rows import db_time
from connector.store.tables import assignments, leads

QUANTILES = (50, 90)


@dataclass
class DaySpeed:
    """Median and 90th percentile minutes of one speed measure on one day."""

    day: str
    p50: float | None
    p90: float | None
    n: int


@dataclass(frozen=True)
class Spread:
    """How many values a group has and its p50 and p90."""

    n: int
    p50: float | None
    p90: float | None


def minutes_between(conn: Connection, start: Any, end: Any) -> ColumnElement[float]:
    """SQL for (end - start) in minutes on the connection's engine."""
    if conn.dialect.name == "sqlite":
        # julianday() is a float of days: round away its sub-millisecond noise.
        return func.round((func.julianday(end) - func.julianday(start)) * 1440.0, 4)
    # date_part() is double precision; extract() is numeric since PostgreSQL 14 and several
    # times slower: https://www.postgresql.org/docs/current/functions-datetime.html
    return cast(func.date_part("epoch", end - start) / 60.0, Float)


def day_of(conn: Connection, column: Any) -> ColumnElement[str]:
    """SQL for the UTC calendar day (YYYY-MM-DD) of a timestamp column."""
    if conn.dialect.name == "sqlite":
        return func.date(column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def ranks_needed(n: int) -> set[int]:
    """The 0-based ranks among n sorted values that the p50 and p90 interpolate between."""
    return {rank for q in QUANTILES for rank in ((n - 1) * q // 100, (n - 1) * q // 100 + 1)}


def interpolate(n: int, ranked: dict[int, float], q: int) -> float | None:
    """The q-th percentile of n values from the values at the ranks_needed(n)."""
    if n == 0:
        return None
    if n == 1:
        return ranked[0]
    # Same arithmetic, in the same order, as statistics.quantiles(method="inclusive").
    j, delta = divmod(q * (n - 1), 100)
    return (ranked[j] * (100 - delta) + ranked[j + 1] * delta) / 100


def _is_needed(rank: Any, n: Any) -> ColumnElement[bool]:
    """SQL twin of ranks_needed: is the 0-based rank one a percentile reads?"""
    return or_(
        *[rank == (n - 1) * q // 100 for q in QUANTILES],
        *[rank == (n - 1) * q // 100 + 1 for q in QUANTILES],
    )


def spreads(
    conn: Connection, rows: Subquery, keys: tuple[str, ...]
) -> dict[str, dict[str, Spread]]:
    """p50/p90 of rows.c.minutes (negative ones left out) for each value of each key column.

    One scan ranks the minutes within every key; the result is {key: {value: Spread}}.
    """
    minutes = rows.c.minutes
    ranked_cols: list[Any] = [minutes]
    for key in keys:
        group = rows.c[key]
        ranked_cols += [
            group.label(f"{key}_value"),
            (func.row_number().over(partition_by=group, order_by=minutes) - 1).label(f"{key}_rank"),
            func.count().over(partition_by=group).label(f"{key}_n"),
        ]
    ranked = select(*ranked_cols).where(minutes >= 0).subquery()
    needed = [_is_needed(ranked.c[f"{key}_rank"], ranked.c[f"{key}_n"]) for key in keys]
    found: dict[str, dict[str, tuple[int, dict[int, float]]]] = {key: {} for key in keys}
    for row in conn.execute(select(ranked).where(or_(*needed))).mappings():
        for key in keys:
            value, n = str(row[f"{key}_value"]), int(row[f"{key}_n"])
            found[key].setdefault(value, (n, {}))[1][int(row[f"{key}_rank"])] = float(
                row["minutes"]
            )
    return {
        key: {
            value: Spread(n, interpolate(n, at_rank, 50), interpolate(n, at_rank, 90))
            for value, (n, at_rank) in by_value.items()
        }
        for key, by_value in found.items()
    }


def _days(by_day: dict[str, Spread]) -> list[DaySpeed]:
    return [DaySpeed(day, s.p50, s.p90, s.n) for day, s in sorted(by_day.items())]


def _on_lead(table: Any) -> ColumnElement[bool]:
    return and_(leads.c.crm == table.c.crm, leads.c.lead_id == table.c.lead_id)


def speed_and_contact_by_source(
    conn: Connection, since: datetime
) -> tuple[dict[str, list[DaySpeed]], dict[str, Spread]]:
    """Minutes to assignment, claim and contact per day, and minutes to contact per source."""
    start = db_time(since)
    a = assignments.c
    first = (
        select(a.crm, a.lead_id, func.min(a.at).label("first_at"))
        .where(a.at >= start)
        .group_by(a.crm, a.lead_id)
        .subquery()
    )
    to_assign = (
        select(
            day_of(conn, first.c.first_at).label("day"),
            minutes_between(conn, leads.c.created_at, first.c.first_at).label("minutes"),
        )
        .join_from(first, leads, _on_lead(first))
        .subquery()
    )
    to_claim = (
        select(
            day_of(conn, a.at).label("day"),
            minutes_between(conn, leads.c.pooled_at, a.at).label("minutes"),
        )
        .join_from(assignments, leads, _on_lead(assignments))
        .where(a.at >= start, a.source == "pull")
        .subquery()
    )
    to_contact = (
        select(
            day_of(conn, a.at).label("day"),
            a.source,
            minutes_between(conn, a.at, a.contacted_at).label("minutes"),
        )
        .where(a.at >= start, a.contacted_at.is_not(None))
        .subquery()
    )
    contact = spreads(conn, to_contact, ("day", "source"))
    speed = {
        "assignment": _days(spreads(conn, to_assign, ("day",))["day"]),
        "claim": _days(spreads(conn, to_claim, ("day",))["day"]),
        "contact": _days(contact["day"]),
    }
    return speed, contact["source"]
