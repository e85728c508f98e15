"""One lead's story: every event, decision and CRM write, oldest first, with the reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from connector.store import journal
from connector.store.leads import get_lead
from connector.store.rows import LeadRow, OutboxRow
from connector.store.tables import outbox


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a lead's timeline."""

    at: datetime
    kind: str  # audit | crm_write
    actor: str
    action: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadTimeline:
    """A lead as stored now, and what happened to it."""

    lead: LeadRow
    entries: list[TimelineEntry]


def _write_entries(row: OutboxRow) -> list[TimelineEntry]:
    details = {"outbox_id": row.id, "payload": dict(row.payload), "attempts": row.attempts}
    entries = [
        TimelineEntry(row.created_at, "crm_write", "leadpool", f"queued {row.kind}", "", details)
    ]
    if row.done_at is not None:
        written = f"written to the CRM (id {row.crm_id})" if row.crm_id else "written to the CRM"
        entries.append(
            TimelineEntry(row.done_at, "crm_write", "crm", f"{row.kind} done", written, details)
        )
    if row.parked_at is not None:
        entries.append(
            TimelineEntry(
                row.parked_at,
                "crm_write",
                "crm",
                f"{row.kind} parked",
                row.last_error or "parked",
                details,
            )
        )
    elif row.state == "pending" and row.last_error:
        entries.append(
            TimelineEntry(
                row.next_try_at, "crm_write", "crm", f"{row.kind} retrying", row.last_error, details
            )
        )
    return entries


def lead_timeline(conn: Connection, crm: str, lead_id: str) -> LeadTimeline | None:
    """The lead and its audit rows and CRM writes merged in time order; None if unknown."""
    lead = get_lead(conn, crm, lead_id)
    if lead is None:
        return None
    entries = [
        TimelineEntry(a.at, "audit", a.actor, a.action, a.reason, dict(a.details))
        for a in journal.lead_timeline(conn, crm, lead_id)
    ]
    writes = select(outbox).where(outbox.c.crm == crm, outbox.c.lead_id == lead_id)
    for row in conn.execute(writes.order_by(outbox.c.id)).mappings():
        entries.extend(_write_entries(OutboxRow.from_row(row)))
    entries.sort(key=lambda e: e.at)
    return LeadTimeline(lead, entries)
