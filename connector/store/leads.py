"""The leads table: load, insert and compare-and-set a lead's state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, func, select, update

from connector.store.engine import ConcurrentUpdate, dialect_insert
from connector.store.prepared import prepared
from connector.store.rows import LeadRow, db_time, db_time_or_none
from connector.store.tables import leads

_TIME_COLUMNS = frozenset(c.name for c in leads.columns if isinstance(c.type, DateTime))
# Columns a compare-and-set may change; identity and version are the store's business.
_UPDATABLE = frozenset(c.name for c in leads.columns) - {"id", "crm", "lead_id", "version"}


_GET = select(leads).where(
    leads.c.crm == bindparam("w_crm"), leads.c.lead_id == bindparam("w_lead_id")
)
_ROW_FIELDS = tuple(f.name for f in fields(LeadRow))


def get_lead(conn: Connection, crm: str, lead_id: str) -> LeadRow | None:
    """Load one lead, or None when leadpool has never seen it."""
    row = conn.execute(_GET, {"w_crm": crm, "w_lead_id": lead_id}).mappings().first()
    return None if row is None else LeadRow.from_row(row)


def insert_lead(conn: Connection, row: LeadRow) -> None:
    """Store a new lead; ConcurrentUpdate when another transaction stored it first."""
    values = _to_db({name: getattr(row, name) for name in _ROW_FIELDS})
    values["fields"] = dict(row.fields)
    stmt = prepared(
        ("insert_lead", conn.dialect.name),
        lambda: (
            dialect_insert(conn, leads)
            .on_conflict_do_nothing(index_elements=["crm", "lead_id"])
            .returning(leads.c.id)
        ),
    )
    # RETURNING, not rowcount: drivers need not report a rowcount for INSERT.
    if conn.execute(stmt, values).first() is None:
        raise ConcurrentUpdate(f"lead {row.crm}/{row.lead_id} already exists")


def cas_update_lead(
    conn: Connection, crm: str, lead_id: str, expected_version: int, **values: Any
) -> LeadRow:
    """Change a lead only if it is still at expected_version; returns the row as written.

    The version goes up by one and updated_at is set (to values["updated_at"] or now).
    Raises ConcurrentUpdate when another transaction changed (or never created) the lead.
    """
    unknown = sorted(set(values) - _UPDATABLE)
    if unknown:
        raise ValueError(
            f"cas_update_lead: not updatable lead column(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_UPDATABLE))}"
        )
    changes = _to_db(values)
    changes["updated_at"] = db_time(values.get("updated_at") or datetime.now(UTC))
    if "fields" in changes:
        changes["fields"] = dict(changes["fields"])
    keys = tuple(sorted(changes))
    stmt = prepared(("cas_lead", keys), lambda: _cas_statement(keys))
    params = {f"v_{k}": v for k, v in changes.items()}
    params.update(w_crm=crm, w_lead_id=lead_id, w_version=expected_version)
    row = conn.execute(stmt, params).mappings().first()
    if row is None:
        raise ConcurrentUpdate(
            f"lead {crm}/{lead_id} is no longer at version {expected_version} (or is unknown)"
        )
    return LeadRow.from_row(row)


def _cas_statement(keys: tuple[str, ...]) -> Any:
    return (
        update(leads)
        .where(
            leads.c.crm == bindparam("w_crm"),
            leads.c.lead_id == bindparam("w_lead_id"),
            leads.c.version == bindparam("w_version"),
        )
        .values({**{k: bindparam(f"v_{k}") for k in keys}, "version": leads.c.version + 1})
        .returning(*leads.columns)
    )


def known_ids(conn: Connection, crm: str, lead_ids: Iterable[str]) -> set[str]:
    """The ids among lead_ids that leadpool already holds."""
    wanted = list(dict.fromkeys(lead_ids))
    if not wanted:
        return set()
    query = select(leads.c.lead_id).where(leads.c.crm == crm, leads.c.lead_id.in_(wanted))
    return set(conn.execute(query).scalars())


def pool_waiting(conn: Connection, crm: str, pool: str, limit: int | None = None) -> list[LeadRow]:
    """Leads waiting in a pool (state POOLED), the longest-waiting first."""
    stmt = (
        select(leads)
        .where(leads.c.crm == crm, leads.c.pool == pool, leads.c.state == "POOLED")
        .order_by(leads.c.pooled_at, leads.c.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [LeadRow.from_row(r) for r in conn.execute(stmt).mappings()]


def count_by_state(conn: Connection, crm: str | None = None) -> dict[str, int]:
    """How many leads are in each state (states with no lead are absent)."""
    stmt = select(leads.c.state, func.count()).group_by(leads.c.state)
    if crm is not None:
        stmt = stmt.where(leads.c.crm == crm)
    return {state: count for state, count in conn.execute(stmt)}


def leads_owned(conn: Connection, rep: str, states: Iterable[str]) -> int:
    """How many leads a rep owns in any of the given states."""
    wanted = list(states)
    if not wanted:
        return 0
    stmt = select(func.count()).where(leads.c.owner == rep, leads.c.state.in_(wanted))
    return int(conn.execute(stmt).scalar_one())


def _to_db(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for name in _TIME_COLUMNS.intersection(out):
        out[name] = db_time_or_none(out[name])
    return out
