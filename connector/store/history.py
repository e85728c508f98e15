"""Read-side queries over assignment history and rotations that the service needs per decision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from connector.store.rows import db_time
from connector.store.tables import assignments, rotations


def releases_since(conn: Connection, reps: Sequence[str], since: datetime) -> dict[str, int]:
    """How many claimed leads each rep let go back to a pool since a time."""
    a = assignments
    query = (
        select(a.c.rep, func.count())
        .where(
            a.c.rep.in_(list(reps)), a.c.end_reason == "released", a.c.ended_at >= db_time(since)
        )
        .group_by(a.c.rep)
    )
    return {rep: int(n) for rep, n in conn.execute(query)}


def claims_between(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Kept claims per rep made in [start, end)."""
    a = assignments
    query = (
        select(a.c.rep, func.count())
        .where(
            a.c.source == "pull",
            a.c.at >= db_time(start),
            a.c.at < db_time(end),
            (a.c.end_reason.is_(None)) | (a.c.end_reason != "rejected"),
        )
        .group_by(a.c.rep)
    )
    return {rep: int(n) for rep, n in conn.execute(query)}


def all_rotations(conn: Connection) -> dict[str, tuple[dict[str, Any], int]]:
    """Every rotation's persisted state and version."""
    rows = conn.execute(select(rotations.c.key, rotations.c.state, rotations.c.version))
    return {key: (dict(state), int(version)) for key, state, version in rows}
