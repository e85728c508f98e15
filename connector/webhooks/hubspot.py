"""HubSpot webhooks: v3 signature check and event batches parsed into LeadEvents.

HubSpot posts a JSON array of up to 100 events per request, unordered and possibly twice, and
retries on any 4xx/5xx. Contacts (and the Leads object) are what leadpool routes; creation
events carry no properties, so the service fetches the record. Both the classic subscription
types (`contact.creation`, `contact.propertyChange`) and the generic ones (`object.creation`,
`object.propertyChange` with an `objectTypeId`) are understood.
https://developers.hubspot.com/docs/apps/legacy-apps/public-apps/create-generic-webhook-subscriptions
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from connector.errors import MalformedPayload, WebhookRejected
from connector.events import CHANGED_BY_FIELD, Crm, EventKind, LeadEvent
from connector.webhooks.signing import (
    check_freshness,
    digests_match,
    hmac_sha256,
    load_json,
    parse_epoch,
    require_header,
)

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_EVENTS = 100
#: The event field that names who changed the owner (read by the service as "changed by").

#: objectTypeId of the CRM objects leadpool routes, with the LeadEvent.object_type they get.
ROUTED_OBJECT_TYPES = {"0-1": "contact", "0-136": "lead"}

# HubSpot signs the URI with these percent-escapes decoded ("Validate the v3 request
# signature"), so they are decoded here too before hashing; all others stay as received.
# https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
_SIGNED_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_SIGNED_DECODED_RE = re.compile("|".join(_SIGNED_DECODED), re.IGNORECASE)

# Event types leadpool routes; None means "property change", decided by the property name.
_CLASSIC_TYPES: dict[str, EventKind | None] = {
    "contact.creation": EventKind.CREATED,
    "contact.propertyChange": None,
}
_GENERIC_TYPES: dict[str, EventKind | None] = {
    "object.creation": EventKind.CREATED,
    "object.propertyChange": None,
}


class OtherEvent(NamedTuple):
    """An event leadpool does not route (other object or event type): acknowledged, audited."""

    event_type: str
    object_type_id: str | None
    object_id: str | None
    event_key: str


@dataclass(frozen=True)
class HubSpotBatch:
    """One webhook request: the lead events to apply and the events only to audit."""

    events: tuple[LeadEvent, ...]
    other: tuple[OtherEvent, ...]


def signed_uri(uri: str) -> str:
    """Return the URI as HubSpot puts it in the v3 signature (its listed escapes decoded)."""
    return _SIGNED_DECODED_RE.sub(lambda match: _SIGNED_DECODED[match[0].upper()], uri)


def verify_v3(
    client_secret: str,
    method: str,
    uri: str,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    now: datetime,
) -> None:
    """Check X-HubSpot-Signature-v3: base64 HMAC-SHA256(secret, method+URI+body+timestamp).

    `uri` is the full public URL HubSpot called (scheme, host, path, query), as configured in
    the app, not what a proxy forwarded. The timestamp (ms) must lie within 5 minutes of now.
    """
    if not client_secret:
        raise WebhookRejected("no HubSpot client secret is configured; refusing every request")
    timestamp = require_header(timestamp_header, TIMESTAMP_HEADER)
    signature = require_header(signature_header, SIGNATURE_HEADER)
    sent_at = parse_epoch(timestamp, TIMESTAMP_HEADER, millis=True)
    message = f"{method}{signed_uri(uri)}".encode() + body + timestamp.encode("ascii")
    expected = base64.b64encode(hmac_sha256(client_secret, message)).decode("ascii")
    if not digests_match(expected, signature):
        raise WebhookRejected(f"{SIGNATURE_HEADER} does not match the request")
    check_freshness(sent_at, now, TIMESTAMP_HEADER)


def parse_batch(body: bytes, *, owner_property: str = "hubspot_owner_id") -> HubSpotBatch:
    """Parse a webhook body: a JSON array of 1-100 events.

    Creation → CREATED; a change of `owner_property` → OWNER_CHANGED (empty value: no owner);
    any other property change → UPDATED with that one field. Raises MalformedPayload naming
    the event index and key, e.g. `[3].objectId: required`.
    """
    items = load_json(body)
    if not isinstance(items, list):
        raise MalformedPayload("body: must be a JSON array of events")
    if not items:
        raise MalformedPayload("body: empty batch")
    if len(items) > MAX_EVENTS:
        raise MalformedPayload(f"batch of {len(items)} events exceeds {MAX_EVENTS}")
    events: list[LeadEvent] = []
    other: list[OtherEvent] = []
    for index, item in enumerate(items):
        parsed = _event(item, f"[{index}]", owner_property)
        if isinstance(parsed, LeadEvent):
            events.append(parsed)
        else:
            other.append(parsed)
    return HubSpotBatch(tuple(events), tuple(other))


def _event(item: Any, path: str, owner_property: str) -> LeadEvent | OtherEvent:
    if not isinstance(item, dict):
        raise MalformedPayload(f"{path}: must be an object")
    # Current payloads name the type `subscriptionType`; older documented samples `eventType`.
    type_key = "subscriptionType" if "subscriptionType" in item else "eventType"
    event_type = _text(item, type_key, path, name="subscriptionType")
    event_id = _identifier(item, "eventId", path)
    occurred_ms = _integer(item, "occurredAt", path)
    generic = event_type.startswith("object.")
    object_type_id = _optional_text(item, "objectTypeId", path)
    if generic:
        # HubSpot does not promise eventId is unique across subscriptions; the triple names one
        # delivery and a retry repeats it unchanged (only attemptNumber grows).
        subscription = _identifier(item, "subscriptionId", path)
        event_key = f"hs:{subscription}:{event_id}:{occurred_ms}"
    else:
        event_key = f"hs:{event_id}"
        if event_type.startswith("contact."):
            object_type_id = "0-1"
    kinds = _GENERIC_TYPES if generic else _CLASSIC_TYPES
    object_type = ROUTED_OBJECT_TYPES.get(object_type_id or "")
    if event_type not in kinds or object_type is None:
        object_id = _identifier(item, "objectId", path) if "objectId" in item else None
        return OtherEvent(event_type, object_type_id, object_id, event_key)
    lead_id = _identifier(item, "objectId", path)
    occurred_at = _from_millis(occurred_ms, f"{path}.occurredAt")
    kind = kinds[event_type]
    fields: dict[str, str | None] = {}
    owner: str | None = None
    if kind is None:
        prop = _text(item, "propertyName", path)
        # A cleared property arrives as an empty propertyValue; an absent one means the same.
        value = _optional_text(item, "propertyValue", path, allow_empty=True)
        fields = {prop: value}
        if prop == owner_property:
            kind = EventKind.OWNER_CHANGED
            owner = (value or "").strip() or None
            # Who made the change: `sourceId` is "userId:<id>" for a person in the CRM UI.
            # The service tells a rep's own claim from a manager's assignment by it.
            changed_by = _source_user(item)
            if changed_by is not None:
                fields[CHANGED_BY_FIELD] = changed_by
        else:
            kind = EventKind.UPDATED
    return LeadEvent(
        crm=Crm.HUBSPOT,
        lead_id=lead_id,
        kind=kind,
        event_key=event_key,
        occurred_at=occurred_at,
        fields=fields,
        owner=owner,
        object_type=object_type,
        snapshot=False,  # HubSpot events carry at most the one property that changed
    )


def _source_user(item: Mapping[str, Any]) -> str | None:
    """The HubSpot user id in `sourceId` ("userId:83210455"), or None for apps, workflows."""
    source = item.get("sourceId")
    if not isinstance(source, str):
        return None
    kind, _, user = source.partition(":")
    return user if kind == "userId" and user.isascii() and user.isdigit() else None


def _text(item: Mapping[str, Any], key: str, path: str, *, name: str | None = None) -> str:
    value = item.get(key)
    label = f"{path}.{name or key}"
    if value is None:
        raise MalformedPayload(f"{label}: required")
    if not isinstance(value, str):
        raise MalformedPayload(f"{label}: must be a string")
    if not value:
        raise MalformedPayload(f"{label}: must not be empty")
    return value


def _optional_text(
    item: Mapping[str, Any], key: str, path: str, *, allow_empty: bool = False
) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{path}.{key}: must be a string")
    return value if value or allow_empty else None


def _integer(item: Mapping[str, Any], key: str, path: str) -> int:
    value = item.get(key)
    if value is None:
        raise MalformedPayload(f"{path}.{key}: required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{path}.{key}: must be an integer")
    return value


def _identifier(item: Mapping[str, Any], key: str, path: str) -> str:
    """HubSpot ids are JSON numbers; a digit string is accepted as the same id."""
    value = item.get(key)
    if value is None:
        raise MalformedPayload(f"{path}.{key}: required")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise MalformedPayload(f"{path}.{key}: must be a non-negative integer id")


def _from_millis(value: int, path: str) -> datetime:
    try:
        if value < 0:
            raise ValueError("negative")
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedPayload(f"{path}: {value} is not a time in milliseconds") from exc
