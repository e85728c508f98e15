"""Applying one CRM lead event: new leads are routed, known leads have their changes interpreted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.adapters.base import LeadRecord
from connector.events import CHANGED_BY_FIELD, EventKind, LeadEvent
from connector.lifecycle import END_CONVERTED, LeadState, TaskKind
from connector.routing import rules
from connector.service.actions import UNSAVED, apply_decision, close_tasks, update
from connector.service.claims import owner_changed
from connector.service.context import FIELD_TIMES, Tx, public_fields, same_crm_id
from connector.store import journal, timers
from connector.store.rows import LeadRow

# Owner field names the CRMs report (Salesforce Lead.OwnerId, HubSpot hubspot_owner_id).
OWNER_FIELDS = ("OwnerId", "hubspot_owner_id")
# Who made the change, when the CRM tells (Salesforce LastModifiedById; webhook parsers
# put HubSpot's sourceId user here).
CHANGED_BY_FIELDS = ("LastModifiedById", CHANGED_BY_FIELD)
ACTIVE = (LeadState.ASSIGNED, LeadState.CLAIMED)


def new_lead(tx: Tx, event: LeadEvent, record: LeadRecord | None) -> LeadRow:
    """Store a lead seen for the first time and route it."""
    fields: dict[str, Any] = dict(record.fields) if record else {}
    fields.update(event.fields)
    fields[FIELD_TIMES] = {k: event.occurred_at.isoformat() for k in event.fields}
    created = (record.created_at if record and record.created_at else None) or tx.now
    row = LeadRow(
        crm=tx.crm,
        lead_id=event.lead_id,
        state=LeadState.NEW,
        created_at=created,
        updated_at=tx.now,
        owner_crm=event.owner or (record.owner if record else None),
        score=tx.score_of(fields),
        fields=fields,
        owner_at=event.occurred_at,
        version=UNSAVED,  # inserted by the first update, with its decision applied
    )
    tx.audit(event.lead_id, "crm", "received", f"new lead from {tx.crm}", kind=event.kind)
    if _is_converted(tx, fields, event):
        return convert(tx, row, "arrived already converted")
    decision = rules.route_lead(tx.cfg, tx.facts(row), tx.routing_state())
    return apply_decision(tx, row, decision)


def known_lead(tx: Tx, lead: LeadRow, event: LeadEvent) -> LeadRow:
    """Interpret an event about a lead leadpool already holds."""
    merged, changed = _merge_fields(lead.fields, event)
    old_fields = public_fields(lead.fields)
    if changed:
        lead = update(tx, lead, fields=merged, score=tx.score_of(merged))
    if lead.state == LeadState.CONVERTED:
        return lead
    if _is_converted(tx, merged, event):
        return convert(tx, lead, "converted in the CRM")
    reported = _reported_owner(event)
    if reported is not _NOTHING and not same_crm_id(reported, lead.owner_crm):
        stale = lead.owner_at is not None and event.occurred_at < lead.owner_at
        changed_by = next((event.fields[f] for f in CHANGED_BY_FIELDS if event.fields.get(f)), None)
        lead = owner_changed(tx, lead, reported, changed_by, stale)
    if lead.state in ACTIVE and _is_contacted(tx, old_fields, merged, event):
        return contacted(tx, lead)
    return lead


_NOTHING: Any = object()


def _reported_owner(event: LeadEvent) -> Any:
    if event.kind == EventKind.OWNER_CHANGED:
        return event.owner or None
    if event.owner is not None:
        return event.owner or None
    for name in OWNER_FIELDS:
        if name in event.fields:
            return event.fields[name] or None
    return _NOTHING


def _merge_fields(stored: Any, event: LeadEvent) -> tuple[dict[str, Any], bool]:
    """Apply the event's field values unless the lead already has newer ones for a field."""
    merged = dict(stored)
    times = dict(merged.get(FIELD_TIMES) or {})
    changed = False
    for name, value in event.fields.items():
        seen = times.get(name)
        if seen is not None and datetime.fromisoformat(seen) > event.occurred_at:
            continue
        if merged.get(name) != value:
            merged[name] = value
            changed = True
        times[name] = event.occurred_at.isoformat()
    merged[FIELD_TIMES] = times
    return merged, changed


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def _is_converted(tx: Tx, fields: dict[str, Any], event: LeadEvent) -> bool:
    rule, names = tx.cfg.converted_when, tx.cfg.fields
    if event.kind == EventKind.CONVERTED:
        return True
    if rule.status and fields.get(names.status) in rule.status:
        return True
    return bool(rule.flag and names.converted and _truthy(fields.get(names.converted)))


def _is_contacted(tx: Tx, old: dict[str, Any], new: dict[str, Any], event: LeadEvent) -> bool:
    rule, names = tx.cfg.contacted_when, tx.cfg.fields
    if event.kind == EventKind.CONTACTED:
        return True
    if rule.status and names.status in event.fields and new.get(names.status) in rule.status:
        return True  # the event itself reports a contacted status
    field = names.last_contacted
    return bool(rule.activity and field and new.get(field) and new.get(field) != old.get(field))


def contacted(tx: Tx, lead: LeadRow) -> LeadRow:
    """The rep made contact: the lock and SLA stop, their tasks are completed, lead WORKING."""
    timers.cancel_lead_timers(tx.conn, lead.crm, lead.lead_id)
    close_tasks(tx, lead, TaskKind.SLA, TaskKind.CLAIM)
    journal.mark_assignment_contacted(tx.conn, lead.crm, lead.lead_id, tx.now)
    reason = f"contacted by {lead.owner}"
    if lead.state == LeadState.CLAIMED and lead.claimed_at:
        reason += f" {int((tx.now - lead.claimed_at).total_seconds() // 60)} min after claiming"
    tx.mark(lead.lead_id, LeadState.WORKING, reason, source=lead.source)
    tx.audit(lead.lead_id, lead.owner or "crm", "contacted", reason)
    return update(
        tx,
        lead,
        state=LeadState.WORKING,
        contacted_at=tx.now,
        lock_expires_at=None,
        sla_due_at=None,
    )


def convert(tx: Tx, lead: LeadRow, reason: str) -> LeadRow:
    """Record a conversion (no CRM write: Salesforce refuses updates to converted leads)."""
    timers.cancel_lead_timers(tx.conn, lead.crm, lead.lead_id)
    ended = journal.end_open_assignment(tx.conn, lead.crm, lead.lead_id, tx.now, END_CONVERTED)
    source = ended.source if ended else lead.source
    tx.audit(lead.lead_id, "crm", "converted", reason, source=source, rep=lead.owner)
    return update(
        tx,
        lead,
        state=LeadState.CONVERTED,
        converted_at=tx.now,
        source=source,
        lock_expires_at=None,
        sla_due_at=None,
    )
