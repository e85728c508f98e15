"""LeadEvent: what every webhook becomes once verified and parsed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# The event field that names the CRM user who made a change, when a webhook says so
# (HubSpot's sourceId "userId:N"); Salesforce messages carry LastModifiedById instead.
CHANGED_BY_FIELD = "_changed_by"


class EventKind(StrEnum):
    """What happened to a lead in the CRM."""

    CREATED = "created"
    OWNER_CHANGED = "owner_changed"
    UPDATED = "updated"
    CONTACTED = "contacted"
    CONVERTED = "converted"


class Crm(StrEnum):
    """The CRMs leadpool speaks to."""

    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"
    SANDBOX = "sandbox"


@dataclass(frozen=True)
class LeadEvent:
    """One normalized lead event.

    `fields` holds the CRM's field values as sent (CRM field names, e.g. `Lead_Score__c`,
    `hubspot_owner_id`); `owner` is the CRM owner id the event reports (a user id or a
    Salesforce queue id), or None when the event says nothing about the owner.
    `event_key` identifies the delivery for dedupe (Notification Id, HubSpot eventId, ...).
    """

    crm: Crm
    lead_id: str
    kind: EventKind
    event_key: str
    occurred_at: datetime
    fields: Mapping[str, Any] = field(default_factory=dict)
    owner: str | None = None
    object_type: str = "lead"
    # True when `fields` carry the lead as a whole (a Salesforce message); False when they
    # carry only what changed (a HubSpot property event): a lead first seen through such an
    # event is read from the CRM before it is routed.
    snapshot: bool = True
