"""Read-side queries over assignment history and rotations that the service needs per decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from connector.store.rows import db_time
from connector.store.tables import assignments, rotations


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
