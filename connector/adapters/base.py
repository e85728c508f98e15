"""The CRMAdapter protocol and the Change value objects every adapter applies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from connector.errors import CRMError
from connector.events import Crm


@dataclass(frozen=True)
class LeadpoolFields:
    """The leadpool status fields written on a lead (Leadpool_*__c / leadpool_* properties)."""

    status: str
    reason: str
    source: str | None = None
    lock_expires: datetime | None = None


@dataclass(frozen=True)
class UpdateLead:
    """Write the owner and/or the leadpool fields of one lead.

    `owner` is a CRM user id (Salesforce `005…`, HubSpot owner id); `pool` returns the lead
    to a pool instead (Salesforce: the queue id becomes the owner; HubSpot: the owner is
    cleared and `leadpool_pool` is set). Both None leaves the owner alone.
    """

    lead_id: str
    owner: str | None = None
    pool: str | None = None
    leadpool: LeadpoolFields | None = None


@dataclass(frozen=True)
class CreateTask:
    """Create a task on a lead for a user; `key` is leadpool's own id for the task."""

    key: str
    lead_id: str
    owner: str
    subject: str
    due: datetime
    description: str = ""


@dataclass(frozen=True)
class CompleteTask:
    """Mark a task created earlier as completed."""

    key: str
    crm_task_id: str


Change = UpdateLead | CreateTask | CompleteTask


@dataclass(frozen=True)
class ChangeResult:
    """The outcome of one change: ok (with the created record id, if any) or an error."""

    change: Change
    ok: bool
    crm_id: str | None = None
    error: CRMError | None = None


@dataclass(frozen=True)
class LeadRecord:
    """A lead as the CRM holds it now."""

    lead_id: str
    owner: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class CRMUser:
    """A CRM user (Salesforce User, HubSpot owner) that reps map to."""

    id: str
    email: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class BatchLimits:
    """How many changes of each kind one CRM call may carry."""

    lead_updates: int
    task_creates: int
    task_completes: int


class CRMAdapter(Protocol):
    """What the outbox flusher and the service need from a CRM."""

    crm: Crm
    limits: BatchLimits

    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply changes in as few calls as the limits allow; one result per change, in order."""
        ...

    def fetch_lead(self, lead_id: str) -> LeadRecord | None:
        """Return the lead as the CRM holds it, or None when the id is unknown."""
        ...

    def fetch_leads(self, lead_ids: Sequence[str]) -> dict[str, LeadRecord]:
        """Return the leads the CRM knows among lead_ids, in as few calls as it allows."""
        ...

    def list_users(self) -> list[CRMUser]:
        """Return the CRM users reps can map to."""
        ...

    def owner_of_user(self, user_id: str) -> str | None:
        """The owner id of the CRM user who made a change (None when unknown)."""
        ...
