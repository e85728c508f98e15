"""Salesforce Outbound Messages: the SOAP `notifications` call, parsed into LeadEvents.

An Outbound Message carries 1-100 `Notification`s, each with its own `Id` (stable across
Salesforce's retries, so it is the dedupe key) and one `sObject` holding the fields the admin
selected, with their *latest* values. There is no signature: the sender is checked by its
`OrganizationId` and by a secret in the endpoint URL or Basic auth (`verify_outbound_secret`).
Salesforce keeps retrying for 24 h until it gets `ACK_RESPONSE`.
https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from connector.clock import SystemClock
from connector.errors import MalformedPayload, WebhookRejected
from connector.events import Crm, EventKind, LeadEvent
from connector.webhooks.signing import verify_shared_secret

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100

#: The acknowledgement Salesforce waits for; anything else makes it retry the whole message.
ACK_RESPONSE = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
      <Ack>true</Ack>
    </notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>
"""

_ENV = f"{{{SOAP_ENV_NS}}}"
_OM = f"{{{OUTBOUND_NS}}}"
_XSI_TYPE = f"{{{XSI_NS}}}type"
_XSI_NIL = f"{{{XSI_NS}}}nil"
_SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class OtherRecord(NamedTuple):
    """A notification about a non-Lead sObject: acknowledged and audited, never routed."""

    sobject_type: str
    record_id: str
    event_key: str


@dataclass(frozen=True)
class OutboundBatch:
    """One verified Outbound Message: its Lead events and the other records it mentioned.

    The message's `SessionId` (a live Salesforce session) is deliberately not kept.
    """

    organization_id: str
    action_id: str | None
    events: tuple[LeadEvent, ...]
    other: tuple[OtherRecord, ...]


def parse_outbound(
    body: bytes, expected_org_id: str, *, now: datetime | None = None
) -> OutboundBatch:
    """Parse an Outbound Message SOAP body sent by the org `expected_org_id`.

    Raises MalformedPayload for anything that is not a well-formed `notifications` envelope
    with 1-100 notifications (DTDs and entities included), WebhookRejected when the message
    comes from another org. `now` stamps events whose sObject has no LastModifiedDate.
    """
    expected = _org_prefix(expected_org_id)
    notifications = _notifications_element(body)
    org_id = _required_text(notifications, "OrganizationId", "notifications")
    if not _SALESFORCE_ID.fullmatch(org_id) or org_id[:15] != expected:
        raise WebhookRejected(f"OrganizationId {org_id[:18]!r} is not the configured org")
    action_id = _optional_text(notifications, "ActionId")
    items = notifications.findall(f"{_OM}Notification")
    if not items:
        raise MalformedPayload("notifications: no Notification element")
    if len(items) > MAX_NOTIFICATIONS:
        raise MalformedPayload(
            f"notifications: {len(items)} Notification elements exceed {MAX_NOTIFICATIONS}"
        )
    received = now or SystemClock().now()
    events: list[LeadEvent] = []
    other: list[OtherRecord] = []
    for index, item in enumerate(items):
        parsed = _notification(item, f"Notification[{index}]", received)
        if isinstance(parsed, LeadEvent):
            events.append(parsed)
        else:
            other.append(parsed)
    return OutboundBatch(org_id, action_id, tuple(events), tuple(other))


def soap_fault(message: str, *, code: str = "Client") -> bytes:
    """Build a SOAP 1.1 Fault reply; Salesforce logs the faultstring and retries the message.

    `code` is `Client` (the message was refused) or `Server` (leadpool failed).
    """
    if code not in ("Client", "Server"):
        raise ValueError(f"SOAP fault code must be Client or Server, not {code!r}")
    text = escape(_NOT_XML_CHAR.sub("\ufffd", message))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}">\n'
        "  <soapenv:Body>\n"
        "    <soapenv:Fault>\n"
        f"      <faultcode>soapenv:{code}</faultcode>\n"
        f"      <faultstring>{text}</faultstring>\n"
        "    </soapenv:Fault>\n"
        "  </soapenv:Body>\n"
        "</soapenv:Envelope>\n"
    ).encode()


def verify_outbound_secret(provided: str | None, expected: str) -> None:
    """Check the endpoint secret (URL token or Basic auth password) in constant time."""
    verify_shared_secret(provided, expected, "outbound message secret")


def _org_prefix(org_id: str) -> str:
    # 18-character ids are the 15-character, case-sensitive id plus a case-insensitive
    # checksum suffix, so the first 15 characters identify the org either way.
    # https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm (ID)
    org_id = org_id.strip()
    if not _SALESFORCE_ID.fullmatch(org_id):
        raise ValueError(f"expected org id must be 15 or 18 letters/digits, got {org_id!r}")
    return org_id[:15]


def _notifications_element(body: bytes) -> Element:
    try:
        # SOAP 1.1 messages never carry a DTD, so any DOCTYPE is refused outright: this also
        # shuts out entity expansion ("billion laughs") and external entities.
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise MalformedPayload(f"XML refused: {type(exc).__name__} (no DTDs or entities)") from exc
    except (ParseError, ValueError) as exc:
        raise MalformedPayload(f"not well-formed XML: {exc}") from exc
    if root.tag != f"{_ENV}Envelope":
        raise MalformedPayload(f"root element is {_local(root.tag)!r}, not a SOAP Envelope")
    soap_body = root.find(f"{_ENV}Body")
    if soap_body is None:
        raise MalformedPayload("Envelope: no SOAP Body")
    notifications = soap_body.find(f"{_OM}notifications")
    if notifications is None:
        raise MalformedPayload(f"Body: no notifications element in namespace {OUTBOUND_NS}")
    return notifications


def _notification(item: Element, path: str, received: datetime) -> LeadEvent | OtherRecord:
    notification_id = _required_text(item, "Id", path)
    sobject = item.find(f"{_OM}sObject")
    if sobject is None:
        raise MalformedPayload(f"{path}.sObject: required")
    # xsi:type is a QName such as "sf:Lead"; the prefix is whatever the message declared.
    sobject_type = (sobject.get(_XSI_TYPE) or "").rpartition(":")[2]
    if not sobject_type:
        raise MalformedPayload(f"{path}.sObject: xsi:type attribute required")
    fields = _sobject_fields(sobject, f"{path}.sObject")
    record_id = fields.get("Id")
    if not record_id:
        raise MalformedPayload(f"{path}.sObject.Id: required")
    event_key = f"sf-om:{notification_id}"
    if sobject_type != "Lead":
        return OtherRecord(sobject_type, record_id, event_key)
    modified = fields.get("LastModifiedDate")
    return LeadEvent(
        crm=Crm.SALESFORCE,
        lead_id=record_id,
        kind=EventKind.UPDATED,
        event_key=event_key,
        occurred_at=(
            _datetime(modified, f"{path}.sObject.LastModifiedDate") if modified else received
        ),
        fields=fields,
        owner=fields.get("OwnerId") or None,
    )


def _sobject_fields(sobject: Element, path: str) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    for child in sobject:
        name = _local(child.tag)
        if name in fields:
            raise MalformedPayload(f"{path}.{name}: appears twice")
        # Outbound Messages send a cleared field as <sf:Field xsi:nil="true"/>.
        nil = child.get(_XSI_NIL, "").strip().lower() in ("true", "1")
        fields[name] = None if nil else "".join(child.itertext())
    for key in ("Id", "OwnerId"):
        value = fields.get(key)
        if value is not None:
            fields[key] = value.strip()
    return fields


def _required_text(parent: Element, name: str, path: str) -> str:
    value = _optional_text(parent, name)
    if not value:
        raise MalformedPayload(f"{path}.{name}: required")
    return value


def _optional_text(parent: Element, name: str) -> str | None:
    element = parent.find(f"{_OM}{name}")
    if element is None or element.get(_XSI_NIL, "").strip().lower() in ("true", "1"):
        return None
    return "".join(element.itertext()).strip() or None


def _datetime(value: str, path: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise MalformedPayload(f"{path}: not an ISO-8601 date-time: {value[:40]!r}") from exc
    # Salesforce always writes dateTime values in UTC ("...Z"); read a bare one as UTC too.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
