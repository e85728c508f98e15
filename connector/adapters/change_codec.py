"""Change value objects to and from the JSON kept in outbox rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.adapters.base import Change, CompleteTask, CreateTask, LeadpoolFields, UpdateLead

UPDATE_LEAD = "update_lead"
CREATE_TASK = "create_task"
COMPLETE_TASK = "complete_task"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def encode_change(change: Change) -> tuple[str, dict[str, Any]]:
    """Return (kind, payload) for storing a change in the outbox."""
    if isinstance(change, UpdateLead):
        fields = change.leadpool
        return UPDATE_LEAD, {
            "lead_id": change.lead_id,
            "owner": change.owner,
            "pool": change.pool,
            "leadpool": None
            if fields is None
            else {
                "status": fields.status,
                "reason": fields.reason,
                "source": fields.source,
                "lock_expires": _iso(fields.lock_expires),
            },
        }
    if isinstance(change, CreateTask):
        return CREATE_TASK, {
            "key": change.key,
            "lead_id": change.lead_id,
            "owner": change.owner,
            "subject": change.subject,
            "due": change.due.isoformat(),
            "description": change.description,
        }
    return COMPLETE_TASK, {"key": change.key, "crm_task_id": change.crm_task_id}


def decode_change(kind: str, payload: dict[str, Any]) -> Change:
    """Rebuild a change from an outbox row; raises ValueError for an unknown kind."""
    if kind == UPDATE_LEAD:
        raw = payload.get("leadpool")
        fields = (
            None
            if raw is None
            else LeadpoolFields(
                status=raw["status"],
                reason=raw["reason"],
                source=raw.get("source"),
                lock_expires=_dt(raw.get("lock_expires")),
            )
        )
        return UpdateLead(payload["lead_id"], payload.get("owner"), payload.get("pool"), fields)
    if kind == CREATE_TASK:
        due = _dt(payload["due"])
        assert due is not None
        return CreateTask(
            key=payload["key"],
            lead_id=payload["lead_id"],
            owner=payload["owner"],
            subject=payload["subject"],
            due=due,
            description=payload.get("description", ""),
        )
    if kind == COMPLETE_TASK:
        return CompleteTask(payload["key"], payload.get("crm_task_id") or "")
    raise ValueError(f"unknown outbox change kind {kind!r}")
