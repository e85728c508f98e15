"""Lead timers (lock expiry, escalation, SLA): set, cancel, lease when due, claim once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, case, delete, func, or_, select, update

from connector.store.engine import dialect_insert
from connector.store.prepared import prepared
from connector.store.rows import TimerRow, db_time, db_time_or_none, utc
from connector.store.tables import timers


def set_timer(
    conn: Connection,
    crm: str,
    lead_id: str,
    kind: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Set (or move) the lead's timer of this kind and clear any lease on it.

    Clearing the lease makes claim_fired_timer refuse a copy a worker leased before.
    """
    values = {
        "crm": crm,
        "lead_id": lead_id,
        "kind": kind,
        "due_at": db_time(due_at),
        "payload": dict(payload or {}),
    }
    conn.execute(prepared(("set_timer", conn.dialect.name), lambda: _upsert(conn)), values)


def _upsert(conn: Connection) -> Any:
    stmt = dialect_insert(conn, timers)
    return stmt.on_conflict_do_update(
        index_elements=["crm", "lead_id", "kind"],
        set_={
            "due_at": stmt.excluded.due_at,
            "payload": stmt.excluded.payload,
            "leased_by": None,
            "lease_until": None,
        },
    )


def cancel_timer(conn: Connection, crm: str, lead_id: str, kind: str) -> None:
    """Remove the lead's timer of this kind, if set."""
    conn.execute(
        delete(timers).where(
            timers.c.crm == crm, timers.c.lead_id == lead_id, timers.c.kind == kind
        )
    )


_CANCEL_LEAD = delete(timers).where(
    timers.c.crm == bindparam("w_crm"), timers.c.lead_id == bindparam("w_lead_id")
)


def cancel_lead_timers(conn: Connection, crm: str, lead_id: str) -> None:
    """Remove every timer of a lead (it converted, or left leadpool's hands)."""
    conn.execute(_CANCEL_LEAD, {"w_crm": crm, "w_lead_id": lead_id})


def lease_due_timers(
    engine: Engine, now: datetime, limit: int, worker_id: str, lease: timedelta
) -> list[TimerRow]:
    """Lease up to `limit` due timers to worker_id, earliest first, in a transaction of its own."""
    if limit <= 0:
        return []
    now = db_time(now)
    free = or_(timers.c.lease_until.is_(None), timers.c.lease_until <= now)
    due = (
        select(timers.c.id)
        .where(timers.c.due_at <= now, free)
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
        # PostgreSQL skips timers another worker is leasing; SQLite ignores FOR UPDATE and
        # relies on BEGIN IMMEDIATE.
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as conn:
        ids = list(conn.execute(due).scalars())
        if not ids:
            return []
        stmt = (
            update(timers)
            .where(timers.c.id.in_(ids), free)
            .values(leased_by=worker_id, lease_until=now + lease)
            .returning(*timers.columns)
        )
        rows = [TimerRow.from_row(r) for r in conn.execute(stmt).mappings()]
    return sorted(rows, key=lambda r: (r.due_at, r.id))


def claim_fired_timer(conn: Connection, timer: TimerRow) -> bool:
    """Delete a fired timer if it is still as leased; False when re-set, cancelled or re-leased.

    Call it inside the transaction that applies the timer, so the timer fires exactly once.
    """
    t = timers.c
    same_lease = (
        and_(t.leased_by == timer.leased_by, t.lease_until == db_time_or_none(timer.lease_until))
        if timer.leased_by is not None
        else t.leased_by.is_(None)
    )
    result = conn.execute(
        delete(timers).where(t.id == timer.id, t.due_at == db_time(timer.due_at), same_lease)
    )
    return result.rowcount == 1


def next_timer_due(conn: Connection) -> datetime | None:
    """When the next timer can be leased (a timer under lease counts from its lease end)."""
    takeable_at = case(
        (timers.c.lease_until > timers.c.due_at, timers.c.lease_until), else_=timers.c.due_at
    )
    return utc(conn.execute(select(func.min(takeable_at))).scalar_one())
