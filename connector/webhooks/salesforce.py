"""Salesforce events in: Outbound Messages (SOAP) and leadpool's signed JSON events.

Outbound Messages are parsed in `salesforce_soap` and re-exported here. The JSON format is
for a Flow HTTP callout or Apex that posts lead changes directly:

    POST <endpoint>
    Content-Type: application/json
    X-Leadpool-Timestamp: 1767621600
    X-Leadpool-Signature: <hex HMAC-SHA256(secret, timestamp + "." + raw body)>

    {"events": [
      {"id": "a-unique-event-id",
       "kind": "created" | "updated" | "owner_changed" | "contacted" | "converted",
       "lead": {"Id": "00Q...", "OwnerId": "005... or 00G...", "Status": "Open - Not Contacted",
                "Lead_Score__c": 86, ...any other Lead fields...},
       "occurredAt": "2026-01-05T14:00:00.000Z"}
    ]}

- `events` holds 1 to 100 events. `id` is unique per event; a retried delivery keeps it, and
  leadpool ignores an id it has already applied.
- `lead.Id` is required; `lead.OwnerId` is optional (omit it when the event says nothing about
  the owner). Every `lead` key becomes a field of the event; values are strings, numbers,
  booleans or null.
- `occurredAt` is an ISO-8601 date-time with a UTC offset (`Z` or `+hh:mm`).
- The timestamp is unix seconds; requests more than 5 minutes off leadpool's clock (either way)
  are rejected, as are bad signatures. The secret is the one named in `connector.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.errors import MalformedPayload, WebhookRejected
from connector.events import Crm, EventKind, LeadEvent
from connector.webhooks.salesforce_soap import (
    ACK_RESPONSE,
    MAX_NOTIFICATIONS,
    OtherRecord,
    OutboundBatch,
    parse_outbound,
    soap_fault,
    verify_outbound_secret,
)
from connector.webhooks.signing import (
    check_freshness,
    digests_match,
    hmac_sha256,
    load_json,
    parse_epoch,
    require_header,
)

__all__ = [
    "ACK_RESPONSE",
    "MAX_EVENTS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "OtherRecord",
    "OutboundBatch",
    "parse_json_events",
    "parse_outbound",
    "soap_fault",
    "verify_json_signature",
    "verify_outbound_secret",
]

TIMESTAMP_HEADER = "X-Leadpool-Timestamp"
SIGNATURE_HEADER = "X-Leadpool-Signature"
MAX_EVENTS = MAX_NOTIFICATIONS

_KINDS = {kind.value: kind for kind in EventKind}
_SCALARS = (str, int, float, bool, type(None))


def verify_json_signature(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> None:
    """Check the X-Leadpool-Timestamp / X-Leadpool-Signature headers of a JSON event post.

    The signature is checked before the age, so "stale" is only ever said of a genuine request.
    """
    if not secret:
        raise WebhookRejected("no JSON event secret is configured; refusing every request")
    timestamp = require_header(timestamp, TIMESTAMP_HEADER)
    signature = require_header(signature, SIGNATURE_HEADER).lower()
    sent_at = parse_epoch(timestamp, TIMESTAMP_HEADER, millis=False)
    expected = hmac_sha256(secret, timestamp.encode("ascii") + b"." + body).hex()
    if not digests_match(expected, signature):
        raise WebhookRejected(f"{SIGNATURE_HEADER} does not match the body")
    check_freshness(sent_at, now, TIMESTAMP_HEADER)


def parse_json_events(body: bytes) -> list[LeadEvent]:
    """Parse a signed JSON event body into LeadEvents (event_key `sf-json:<id>`).

    Raises MalformedPayload naming the first bad field path, e.g. `events[3].lead.Id: required`.
    """
    document = load_json(body)
    if not isinstance(document, dict):
        raise MalformedPayload("body: must be a JSON object with an 'events' list")
    items = document.get("events")
    if items is None:
        raise MalformedPayload("events: required")
    if not isinstance(items, list):
        raise MalformedPayload("events: must be a list")
    if not items:
        raise MalformedPayload("events: must hold at least one event")
    if len(items) > MAX_EVENTS:
        raise MalformedPayload(f"events: batch of {len(items)} events exceeds {MAX_EVENTS}")
    return [_event(item, f"events[{index}]") for index, item in enumerate(items)]


def _event(item: Any, path: str) -> LeadEvent:
    if not isinstance(item, dict):
        raise MalformedPayload(f"{path}: must be an object")
    event_id = _string(item, "id", path)
    kind_name = _string(item, "kind", path)
    kind = _KINDS.get(kind_name)
    if kind is None:
        raise MalformedPayload(
            f"{path}.kind: unknown kind {kind_name!r} (known: {', '.join(_KINDS)})"
        )
    lead = item.get("lead")
    if lead is None:
        raise MalformedPayload(f"{path}.lead: required")
    if not isinstance(lead, dict):
        raise MalformedPayload(f"{path}.lead: must be an object")
    lead_id = _string(lead, "Id", f"{path}.lead").strip()
    fields = _lead_fields(lead, f"{path}.lead")
    owner = lead.get("OwnerId")
    if owner is not None and not isinstance(owner, str):
        raise MalformedPayload(f"{path}.lead.OwnerId: must be a string or null")
    return LeadEvent(
        crm=Crm.SALESFORCE,
        lead_id=lead_id,
        kind=kind,
        event_key=f"sf-json:{event_id}",
        occurred_at=_occurred_at(_string(item, "occurredAt", path), f"{path}.occurredAt"),
        fields=fields,
        owner=(owner.strip() or None) if owner else None,
    )


def _lead_fields(lead: Mapping[str, Any], path: str) -> dict[str, Any]:
    for name, value in lead.items():
        if not isinstance(value, _SCALARS):
            raise MalformedPayload(f"{path}.{name}: must be a string, number, boolean or null")
    return dict(lead)


def _string(container: Mapping[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if value is None:
        raise MalformedPayload(f"{path}.{key}: required")
    if not isinstance(value, str):
        raise MalformedPayload(f"{path}.{key}: must be a string")
    if not value.strip():
        raise MalformedPayload(f"{path}.{key}: must not be empty")
    return value


def _occurred_at(value: str, path: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise MalformedPayload(f"{path}: not an ISO-8601 date-time: {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        raise MalformedPayload(f"{path}: needs a UTC offset ('Z' or '+hh:mm'): {value[:40]!r}")
    return parsed
