"""Sample rows for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connector.store.rows import LeadRow

NOW = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


def lead_row(lead_id: str = "00Q000000000001", **overrides: Any) -> LeadRow:
    """A POOLED Salesforce lead in pool inbound-smb, with overrides applied."""
    values: dict[str, Any] = {
        "crm": "salesforce",
        "lead_id": lead_id,
        "state": "POOLED",
        "pool": "inbound-smb",
        "score": 42.0,
        "fields": {"Company": "Acme", "Lead_Score__c": 42},
        "route": "rest",
        "created_at": NOW,
        "pooled_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return LeadRow(**values)
