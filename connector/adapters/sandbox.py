"""The built-in sandbox CRM: leads, users, tasks kept in leadpool's own database.

It plays both sides: the adapter leadpool writes through, and the CRM a person (or a test, or
`leadpool simulate`) acts in — creating leads, taking ownership, logging contact — each action
returning the LeadEvent a real CRM would send as a webhook.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, insert, select, update

from connector.adapters.base import (
    BatchLimits,
    Change,
    ChangeResult,
    CreateTask,
    CRMUser,
    LeadRecord,
    UpdateLead,
)
from connector.clock import Clock
from connector.errors import Permanent
from connector.events import Crm, EventKind, LeadEvent
from connector.store.rows import db_time, utc
from connector.store.tables import sandbox_leads, sandbox_tasks, sandbox_users

LEADPOOL_FIELDS = {
    "status": "Leadpool_Status__c",
    "reason": "Leadpool_Reason__c",
    "source": "Leadpool_Source__c",
    "lock_expires": "Leadpool_Lock_Expires__c",
}


class SandboxCRM:
    """An in-database CRM with Salesforce-like field names (OwnerId, Leadpool_*__c)."""

    crm = Crm.SANDBOX
    limits = BatchLimits(lead_updates=500, task_creates=500, task_completes=500)

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.api_calls = 0

    # -- the adapter side -------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply changes in one transaction; an unknown lead or task fails only its change."""
        self.api_calls += 1
        results: list[ChangeResult] = []
        with self.engine.begin() as conn:
            for change in changes:
                results.append(self._apply_one(conn, change))
        return results

    def _apply_one(self, conn: Any, change: Change) -> ChangeResult:
        now = db_time(self.clock.now())
        if isinstance(change, UpdateLead):
            row = conn.execute(
                select(sandbox_leads).where(sandbox_leads.c.id == change.lead_id)
            ).first()
            if row is None:
                return _failed(change, f"no lead {change.lead_id}")
            fields = dict(row.fields)
            owner = change.pool or change.owner or row.owner
            if change.leadpool is not None:
                lp = change.leadpool
                fields[LEADPOOL_FIELDS["status"]] = lp.status
                fields[LEADPOOL_FIELDS["reason"]] = lp.reason[:255]
                fields[LEADPOOL_FIELDS["source"]] = lp.source
                expires = lp.lock_expires.isoformat() if lp.lock_expires else None
                fields[LEADPOOL_FIELDS["lock_expires"]] = expires
            conn.execute(
                update(sandbox_leads)
                .where(sandbox_leads.c.id == change.lead_id)
                .values(owner=owner, fields=fields, updated_at=now)
            )
            return ChangeResult(change, True)
        if isinstance(change, CreateTask):
            known = conn.execute(
                select(sandbox_leads.c.id).where(sandbox_leads.c.id == change.lead_id)
            )
            if known.first() is None:
                return _failed(change, f"no lead {change.lead_id}")
            new_id = conn.execute(
                insert(sandbox_tasks).values(
                    lead_id=change.lead_id,
                    owner=change.owner,
                    subject=change.subject,
                    description=change.description,
                    due_at=db_time(change.due),
                    status="Open",
                    created_at=now,
                )
            ).inserted_primary_key
            return ChangeResult(change, True, crm_id=str(new_id[0]) if new_id else None)
        done = conn.execute(
            update(sandbox_tasks)
            .where(sandbox_tasks.c.id == _int(change.crm_task_id))
            .values(status="Completed")
        )
        if done.rowcount == 0:
            return _failed(change, f"no task {change.crm_task_id}")
        return ChangeResult(change, True)

    def fetch_lead(self, lead_id: str) -> LeadRecord | None:
        """Return the sandbox lead, or None."""
        self.api_calls += 1
        with self.engine.connect() as conn:
            row = conn.execute(select(sandbox_leads).where(sandbox_leads.c.id == lead_id)).first()
        if row is None:
            return None
        return LeadRecord(row.id, row.owner, dict(row.fields), utc(row.created_at))

    def fetch_leads(self, lead_ids: Sequence[str]) -> dict[str, LeadRecord]:
        """Return the sandbox leads among lead_ids."""
        found = {i: self.fetch_lead(i) for i in dict.fromkeys(lead_ids)}
        return {i: record for i, record in found.items() if record is not None}

    def owner_of_user(self, user_id: str) -> str | None:
        """Sandbox users own records under their own id."""
        return user_id

    def list_users(self) -> list[CRMUser]:
        """Return the sandbox users."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(sandbox_users)).all()
        return [CRMUser(r.id, r.email, r.name, bool(r.active)) for r in rows]

    # -- the CRM side: what a person does in the CRM, returned as the webhook it would send ---

    def create_lead(self, fields: Mapping[str, Any], lead_id: str | None = None) -> LeadEvent:
        """Create a lead in the sandbox CRM."""
        lead_id = lead_id or "00Q" + uuid.uuid4().hex[:15]
        now = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                insert(sandbox_leads).values(
                    id=lead_id,
                    owner=None,
                    fields=dict(fields),
                    created_at=db_time(now),
                    updated_at=db_time(now),
                )
            )
        return self._event(lead_id, EventKind.CREATED, dict(fields), None)

    def set_owner(self, lead_id: str, owner: str, changed_by: str | None = None) -> LeadEvent:
        """A user takes (or gives) ownership of a lead."""
        fields = self._write(lead_id, {}, owner)
        fields["LastModifiedById"] = changed_by or owner
        return self._event(lead_id, EventKind.OWNER_CHANGED, fields, owner)

    def update_fields(self, lead_id: str, changes: Mapping[str, Any]) -> LeadEvent:
        """A user edits lead fields (status, activity, conversion)."""
        fields = self._write(lead_id, changes, None)
        return self._event(lead_id, EventKind.UPDATED, fields, None)

    def lead(self, lead_id: str) -> LeadRecord:
        """Read a lead, raising Permanent when it does not exist."""
        record = self.fetch_lead(lead_id)
        if record is None:
            raise Permanent(f"no sandbox lead {lead_id}", code="NOT_FOUND", status=404)
        return record

    def tasks(self, lead_id: str | None = None) -> list[dict[str, Any]]:
        """Tasks in the sandbox CRM, optionally for one lead."""
        query = select(sandbox_tasks).order_by(sandbox_tasks.c.id)
        if lead_id is not None:
            query = query.where(sandbox_tasks.c.lead_id == lead_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def _write(self, lead_id: str, changes: Mapping[str, Any], owner: str | None) -> dict[str, Any]:
        now = db_time(self.clock.now())
        with self.engine.begin() as conn:
            row = conn.execute(select(sandbox_leads).where(sandbox_leads.c.id == lead_id)).first()
            if row is None:
                raise Permanent(f"no sandbox lead {lead_id}", code="NOT_FOUND", status=404)
            fields = {**dict(row.fields), **changes}
            conn.execute(
                update(sandbox_leads)
                .where(sandbox_leads.c.id == lead_id)
                .values(fields=fields, owner=owner or row.owner, updated_at=now)
            )
        return {k: v for k, v in fields.items() if k in changes}

    def _event(
        self, lead_id: str, kind: EventKind, fields: dict[str, Any], owner: str | None
    ) -> LeadEvent:
        # A created lead's event holds all its fields; later ones only what changed.
        return LeadEvent(
            crm=Crm.SANDBOX,
            lead_id=lead_id,
            kind=kind,
            event_key=f"sb:{uuid.uuid4().hex}",
            occurred_at=self.clock.now(),
            fields=fields,
            owner=owner,
            snapshot=kind == EventKind.CREATED,
        )


def _failed(change: Change, message: str) -> ChangeResult:
    return ChangeResult(change, False, error=Permanent(message, code="NOT_FOUND", status=404))


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
