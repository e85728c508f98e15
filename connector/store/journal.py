"""What happened to leads: seen events, audit, assignments, rejections, tasks, rotations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)

from connector.store.engine import ConcurrentUpdate, MissingRow, dialect_insert
from connector.store.prepared import prepared
from connector.store.rows import AssignmentRow, AuditRow, RepLoad, TaskRow, db_time
from connector.store.tables import (
    assignments,
    audit,
    events_seen,
    rejections,
    rotations,
    tasks,
)

_AUDIT_INSERT = audit.insert()
_ASSIGNMENT_INSERT = assignments.insert().returning(assignments.c.id)
_END_ASSIGNMENT = (
    update(assignments)
    .where(
        assignments.c.crm == bindparam("w_crm"),
        assignments.c.lead_id == bindparam("w_lead_id"),
        assignments.c.ended_at.is_(None),
    )
    .values(ended_at=bindparam("v_ended_at"), end_reason=bindparam("v_end_reason"))
    .returning(*assignments.columns)
)


def mark_event_seen(
    conn: Connection, crm: str, event_key: str, lead_id: str | None, at: datetime
) -> bool:
    """Record a delivery's event key; False when it was seen before (a CRM retry)."""
    stmt = prepared(
        ("seen", conn.dialect.name),
        lambda: (
            dialect_insert(conn, events_seen)
            .on_conflict_do_nothing(index_elements=["crm", "event_key"])
            .returning(events_seen.c.event_key)
        ),
    )
    values = {"crm": crm, "event_key": event_key, "lead_id": lead_id, "received_at": db_time(at)}
    # RETURNING, not rowcount: drivers need not report a rowcount for INSERT.
    return conn.execute(stmt, values).first() is not None


def add_audit(
    conn: Connection,
    crm: str,
    lead_id: str,
    at: datetime,
    actor: str,
    action: str,
    reason: str,
    event_key: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one line to a lead's timeline."""
    conn.execute(
        _AUDIT_INSERT,
        {
            "crm": crm,
            "lead_id": lead_id,
            "at": db_time(at),
            "actor": actor,
            "action": action,
            "reason": reason,
            "event_key": event_key,
            "details": dict(details or {}),
        },
    )


def lead_timeline(conn: Connection, crm: str, lead_id: str) -> list[AuditRow]:
    """A lead's audit rows, oldest first."""
    stmt = (
        select(audit)
        .where(audit.c.crm == crm, audit.c.lead_id == lead_id)
        .order_by(audit.c.at, audit.c.id)
    )
    return [AuditRow.from_row(r) for r in conn.execute(stmt).mappings()]


def add_rejection(
    conn: Connection, crm: str, lead_id: str, rep: str, rule: str, reason: str, at: datetime
) -> None:
    """Record a claim that a rule undid (for the fairness report's rejections by rule)."""
    conn.execute(
        rejections.insert().values(
            crm=crm, lead_id=lead_id, rep=rep, rule=rule, reason=reason, at=db_time(at)
        )
    )


def add_task(
    conn: Connection,
    key: str,
    crm: str,
    lead_id: str,
    owner: str,
    kind: str,
    subject: str,
    due_at: datetime,
) -> None:
    """Record a CRM task to create; ConcurrentUpdate when the key is already taken."""
    stmt = (
        dialect_insert(conn, tasks)
        .values(
            key=key,
            crm=crm,
            lead_id=lead_id,
            owner=owner,
            kind=kind,
            subject=subject,
            due_at=db_time(due_at),
            state="open",
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(tasks.c.key)
    )
    if conn.execute(stmt).first() is None:
        raise ConcurrentUpdate(f"task {key!r} already exists")


def get_task(conn: Connection, key: str) -> TaskRow | None:
    """Load one task by its key."""
    row = conn.execute(select(tasks).where(tasks.c.key == key)).mappings().first()
    return None if row is None else TaskRow.from_row(row)


def open_tasks(conn: Connection, crm: str, lead_id: str, kind: str | None = None) -> list[TaskRow]:
    """A lead's open tasks (optionally of one kind), earliest due first."""
    stmt = select(tasks).where(
        tasks.c.crm == crm, tasks.c.lead_id == lead_id, tasks.c.state == "open"
    )
    if kind is not None:
        stmt = stmt.where(tasks.c.kind == kind)
    stmt = stmt.order_by(tasks.c.due_at, tasks.c.key)
    return [TaskRow.from_row(r) for r in conn.execute(stmt).mappings()]


def set_task_crm_id(conn: Connection, key: str, crm_task_id: str) -> None:
    """Remember the id the CRM gave a task once the outbox created it."""
    result = conn.execute(update(tasks).where(tasks.c.key == key).values(crm_task_id=crm_task_id))
    if result.rowcount != 1:
        raise MissingRow(f"no task with key {key!r}")


def close_task(conn: Connection, key: str) -> None:
    """Mark a task completed (closing a completed task again is a no-op)."""
    result = conn.execute(update(tasks).where(tasks.c.key == key).values(state="completed"))
    if result.rowcount != 1:
        raise MissingRow(f"no task with key {key!r}")


def get_rotation(conn: Connection, key: str) -> tuple[dict[str, Any], int] | None:
    """A rotation's saved state and version, or None before its first use."""
    row = conn.execute(
        select(rotations.c.state, rotations.c.version).where(rotations.c.key == key)
    ).first()
    return None if row is None else (dict(row.state), int(row.version))


def put_rotation(
    conn: Connection, key: str, state: Mapping[str, Any], expected_version: int | None
) -> None:
    """Save a rotation's state: insert when expected_version is None, else compare-and-set.

    Raises ConcurrentUpdate when another transaction inserted or advanced it first.
    """
    if expected_version is None:
        stmt = (
            dialect_insert(conn, rotations)
            .values(key=key, state=dict(state), version=1)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(rotations.c.key)
        )
        if conn.execute(stmt).first() is None:
            raise ConcurrentUpdate(f"rotation {key!r} was created by another transaction")
        return
    result = conn.execute(
        update(rotations)
        .where(rotations.c.key == key, rotations.c.version == expected_version)
        .values(state=dict(state), version=rotations.c.version + 1)
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate(f"rotation {key!r} is no longer at version {expected_version}")


def add_assignment(
    conn: Connection,
    crm: str,
    lead_id: str,
    rep: str,
    source: str,
    at: datetime,
    route: str | None = None,
    pool: str | None = None,
    score: float | None = None,
    pool_mean_score: float | None = None,
) -> int:
    """Record that a rep now holds a lead (push, claim, escalation, manual); returns its id."""
    values = {
        "crm": crm,
        "lead_id": lead_id,
        "rep": rep,
        "source": source,
        "at": db_time(at),
        "route": route,
        "pool": pool,
        "score": score,
        "pool_mean_score": pool_mean_score,
    }
    return int(conn.execute(_ASSIGNMENT_INSERT, values).scalar_one())


def end_open_assignment(
    conn: Connection, crm: str, lead_id: str, at: datetime, reason: str
) -> AssignmentRow | None:
    """End the lead's open assignment (released, rejected, reassigned, ...); None if none."""
    params = {"w_crm": crm, "w_lead_id": lead_id, "v_ended_at": db_time(at), "v_end_reason": reason}
    ended = [AssignmentRow.from_row(r) for r in conn.execute(_END_ASSIGNMENT, params).mappings()]
    # Only one is ever open; should history hold more, all end and the newest is reported.
    return max(ended, key=lambda r: r.id) if ended else None


def mark_assignment_contacted(conn: Connection, crm: str, lead_id: str, at: datetime) -> None:
    """Note the first contact on the lead's open assignment (later contacts change nothing)."""
    a = assignments
    conn.execute(
        update(a)
        .where(
            a.c.crm == crm,
            a.c.lead_id == lead_id,
            a.c.ended_at.is_(None),
            a.c.contacted_at.is_(None),
        )
        .values(contacted_at=db_time(at))
    )


def rep_loads(
    conn: Connection,
    reps: Sequence[str],
    day_start: datetime,
    week_start: datetime,
    diversity_window: int,
) -> dict[str, RepLoad]:
    """Each rep's current load, in two grouped queries for all reps together.

    Assigned and claim counts leave out claims a rule rejected; recent_claim_scores holds
    the scores of the rep's last `diversity_window` kept claims, newest first.
    """
    wanted = sorted(set(reps))
    if not wanted:
        return {}
    day, week = db_time(day_start), db_time(week_start)
    params = {"reps": wanted, "day": day, "week": week, "since": min(day, week)}
    totals = {
        row[0]: tuple(int(n) for n in row[1:])
        for row in conn.execute(prepared("rep_load_counts", _load_counts), params)
    }
    scores: dict[str, list[float | None]] = {rep: [] for rep in wanted}
    if diversity_window > 0:
        recent = prepared("rep_recent_scores", _recent_scores)
        for rep, score in conn.execute(recent, {"reps": wanted, "window": diversity_window}):
            scores[rep].append(score)
    loads: dict[str, RepLoad] = {}
    for rep in reps:
        open_leads, today, week_n, open_claims, claims_today, released = totals.get(
            rep, (0, 0, 0, 0, 0, 0)
        )
        loads[rep] = RepLoad(
            open_leads=open_leads,
            assigned_today=today,
            assigned_week=week_n,
            open_claims=open_claims,
            claims_today=claims_today,
            releases_today=released,
            recent_claim_scores=tuple(scores[rep]),
        )
    return loads


def _tally(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _load_counts() -> Any:
    a = assignments
    day: BindParameter[datetime] = bindparam("day")
    week: BindParameter[datetime] = bindparam("week")
    kept = or_(a.c.end_reason.is_(None), a.c.end_reason != "rejected")
    is_open = a.c.ended_at.is_(None)
    is_pull = a.c.source == "pull"
    released_today = and_(a.c.end_reason == "released", a.c.ended_at >= day)
    return (
        select(
            a.c.rep,
            _tally(is_open),
            _tally(and_(kept, a.c.at >= day)),
            _tally(and_(kept, a.c.at >= week)),
            _tally(and_(is_pull, is_open, a.c.contacted_at.is_(None))),
            _tally(and_(is_pull, kept, a.c.at >= day)),
            _tally(released_today),
        )
        .where(
            a.c.rep.in_(bindparam("reps", expanding=True)),
            or_(is_open, a.c.at >= bindparam("since"), a.c.ended_at >= day),
        )
        .group_by(a.c.rep)
    )


def _recent_scores() -> Any:
    a = assignments
    kept = or_(a.c.end_reason.is_(None), a.c.end_reason != "rejected")
    ranked = (
        select(
            a.c.rep,
            a.c.score,
            func.row_number()
            .over(partition_by=a.c.rep, order_by=(a.c.at.desc(), a.c.id.desc()))
            .label("n"),
        )
        .where(a.c.rep.in_(bindparam("reps", expanding=True)), a.c.source == "pull", kept)
        .subquery()
    )
    return (
        select(ranked.c.rep, ranked.c.score)
        .where(ranked.c.n <= bindparam("window"))
        .order_by(ranked.c.rep, ranked.c.n)
    )
