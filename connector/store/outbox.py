"""The outbox: CRM changes committed with the state change, leased to workers to apply.

A lease (leased_by, lease_until) keeps a row with one worker until it expires; bookkeeping
(mark_done, reschedule, park) is refused for rows another worker has leased since.
Changes to one lead are leased in the order they were written and never to two workers at
once, so a retried older change cannot overwrite a newer one in the CRM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)

from connector.store.rows import Backlog, OutboxRow, db_time, utc
from connector.store.tables import outbox

_ENQUEUE = outbox.insert().returning(outbox.c.id)


def enqueue(
    conn: Connection, crm: str, lead_id: str, kind: str, payload: Mapping[str, Any], at: datetime
) -> int:
    """Queue a CRM change, due at once; returns the outbox row id."""
    when = db_time(at)
    values = {
        "crm": crm,
        "lead_id": lead_id,
        "kind": kind,
        "payload": dict(payload),
        "state": "pending",
        "attempts": 0,
        "created_at": when,
        "next_try_at": when,
    }
    return int(conn.execute(_ENQUEUE, values).scalar_one())


def lease_due(
    engine: Engine, crm: str, now: datetime, limit: int, worker_id: str, lease: timedelta
) -> list[OutboxRow]:
    """Lease up to `limit` due rows to worker_id, oldest first, in a transaction of its own."""
    if limit <= 0:
        return []
    now = db_time(now)
    free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now)
    # Per lead, the oldest pending change that is waiting to retry or held by another
    # worker; it and every newer change of that lead wait.
    blocking = (
        select(outbox.c.lead_id, func.min(outbox.c.id).label("first_id"))
        .where(
            outbox.c.crm == crm,
            outbox.c.state == "pending",
            or_(outbox.c.next_try_at > now, outbox.c.lease_until > now),
        )
        .group_by(outbox.c.lead_id)
        # Computed once: left to itself the planner may re-run it for every row.
        .cte("blocking")
        .prefix_with("MATERIALIZED")
    )
    candidates_stmt = (
        select(outbox.c.id, outbox.c.lead_id)
        .select_from(outbox.outerjoin(blocking, blocking.c.lead_id == outbox.c.lead_id))
        .where(
            outbox.c.crm == crm,
            outbox.c.state == "pending",
            outbox.c.next_try_at <= now,
            free,
            or_(blocking.c.first_id.is_(None), outbox.c.id < blocking.c.first_id),
        )
        .order_by(outbox.c.id)
        .limit(limit)
        # PostgreSQL: rows another worker is leasing right now are skipped, not waited for.
        # SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE already serialises lessors.
        .with_for_update(skip_locked=True, of=outbox)
    )
    with engine.begin() as conn:
        candidates = [(int(i), str(lead)) for i, lead in conn.execute(candidates_stmt)]
        ids = _without_skipped_predecessors(conn, crm, candidates)
        if not ids:
            return []
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(ids), outbox.c.state == "pending", free)
            .values(leased_by=worker_id, lease_until=now + lease)
            .returning(*outbox.columns)
        )
        rows = [OutboxRow.from_row(r) for r in conn.execute(stmt).mappings()]
    return sorted(rows, key=lambda r: r.id)


def _without_skipped_predecessors(
    conn: Connection, crm: str, candidates: list[tuple[int, str]]
) -> list[int]:
    """Drop candidates whose lead has an older pending row this lease did not get.

    That happens on PostgreSQL when SKIP LOCKED passed over a row another worker is leasing
    in a transaction not yet committed.
    """
    if not candidates:
        return []
    ids = [row_id for row_id, _ in candidates]
    lead_ids = sorted({lead_id for _, lead_id in candidates})
    older_pending = (
        select(outbox.c.lead_id, func.min(outbox.c.id))
        .where(
            outbox.c.crm == crm,
            outbox.c.lead_id.in_(lead_ids),
            outbox.c.state == "pending",
            outbox.c.id.not_in(ids),
        )
        .group_by(outbox.c.lead_id)
    )
    first_missing = {str(lead_id): int(first) for lead_id, first in conn.execute(older_pending)}
    return [
        row_id
        for row_id, lead_id in candidates
        if lead_id not in first_missing or row_id < first_missing[lead_id]
    ]


def _leased_by(worker_id: str) -> ColumnElement[bool]:
    return and_(outbox.c.state == "pending", outbox.c.leased_by == worker_id)


def mark_done(
    conn: Connection, ids_with_crm_ids: Mapping[int, str | None], at: datetime, *, worker_id: str
) -> frozenset[int]:
    """Mark applied rows done, with the id the CRM gave (if any); returns the ids refused.

    A row is refused (left untouched) when worker_id no longer holds its lease.
    """
    if not ids_with_crm_ids:
        return frozenset()
    when = db_time(at)
    held = set(
        conn.execute(
            select(outbox.c.id)
            .where(outbox.c.id.in_(list(ids_with_crm_ids)), _leased_by(worker_id))
            .with_for_update()
        ).scalars()
    )
    if held:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == bindparam("row_id"), _leased_by(worker_id))
            .values(
                state="done",
                done_at=when,
                crm_id=bindparam("new_crm_id"),
                leased_by=None,
                lease_until=None,
            ),
            [{"row_id": i, "new_crm_id": ids_with_crm_ids[i]} for i in sorted(held)],
        )
    return frozenset(set(ids_with_crm_ids) - held)


def reschedule(
    conn: Connection, row_id: int, next_try_at: datetime, error: str, *, worker_id: str
) -> bool:
    """Count a failed attempt and free the row to retry at next_try_at; False if refused."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id, _leased_by(worker_id))
        .values(
            attempts=outbox.c.attempts + 1,
            next_try_at=db_time(next_try_at),
            last_error=error,
            leased_by=None,
            lease_until=None,
        )
    )
    return result.rowcount == 1


def park(conn: Connection, row_id: int, error: str, at: datetime, *, worker_id: str) -> bool:
    """Stop retrying a row the CRM refused for good, keeping its error; False if refused."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id, _leased_by(worker_id))
        .values(
            state="parked",
            attempts=outbox.c.attempts + 1,
            parked_at=db_time(at),
            last_error=error,
            leased_by=None,
            lease_until=None,
        )
    )
    return result.rowcount == 1


def retry_parked(conn: Connection, ids: Iterable[int] | None = None) -> int:
    """Put parked rows (all, or the given ids) back to pending, due at once; returns how many.

    next_try_at is left as it was: it lies before the row was parked, so the row is due.
    """
    stmt = (
        update(outbox)
        .where(outbox.c.state == "parked")
        .values(state="pending", attempts=0, parked_at=None, leased_by=None, lease_until=None)
    )
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return 0
        stmt = stmt.where(outbox.c.id.in_(wanted))
    return int(conn.execute(stmt).rowcount)


def backlog(conn: Connection, crm: str | None = None) -> Backlog:
    """Pending and parked counts and the creation time of the oldest pending row."""
    by_crm = [] if crm is None else [outbox.c.crm == crm]
    by_state = (
        select(outbox.c.state, func.count())
        .where(outbox.c.state.in_(["pending", "parked"]), *by_crm)
        .group_by(outbox.c.state)
    )
    counts = {str(state): int(n) for state, n in conn.execute(by_state)}
    oldest = conn.execute(
        select(func.min(outbox.c.created_at)).where(outbox.c.state == "pending", *by_crm)
    ).scalar_one()
    return Backlog(
        pending=counts.get("pending", 0),
        parked=counts.get("parked", 0),
        oldest_pending_at=utc(oldest),
    )


def parked_rows(conn: Connection, limit: int) -> list[OutboxRow]:
    """Parked rows for the dashboard, most recently parked first."""
    stmt = (
        select(outbox)
        .where(outbox.c.state == "parked")
        .order_by(outbox.c.parked_at.desc(), outbox.c.id.desc())
        .limit(limit)
    )
    return [OutboxRow.from_row(r) for r in conn.execute(stmt).mappings()]
