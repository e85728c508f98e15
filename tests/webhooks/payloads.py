"""Builders for webhook bodies in the CRMs' real shapes (see tests/fixtures/ for samples)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

ORG_ID = "00D5e000000KQ2eEAG"


def outbound_message(
    notifications: Sequence[str], *, org_id: str = ORG_ID, action_id: str = "04k5e000000CaRkAAK"
) -> bytes:
    """A Salesforce Outbound Message envelope around the given Notification elements."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        " <soapenv:Body>\n"
        '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">\n'
        f"   <OrganizationId>{org_id}</OrganizationId>\n"
        f"   <ActionId>{action_id}</ActionId>\n"
        '   <SessionId xsi:nil="true"/>\n'
        "   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/61.0/00D5e</EnterpriseUrl>\n"
        "   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/61.0/00D5e</PartnerUrl>\n"
        + "".join(notifications)
        + "  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n"
    ).encode()


def notification(
    notification_id: str, fields: Mapping[str, str | None], *, sobject_type: str = "Lead"
) -> str:
    """One Notification element; a None value is sent as xsi:nil like Salesforce does."""
    children = "".join(
        f'<sf:{name} xsi:nil="true"/>'
        if value is None
        else f"<sf:{name}>{escape(value)}</sf:{name}>"
        for name, value in fields.items()
    )
    return (
        f"   <Notification><Id>{notification_id}</Id>"
        f'<sObject xsi:type="sf:{sobject_type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"{children}</sObject></Notification>\n"
    )


def hubspot_event(**overrides: Any) -> dict[str, Any]:
    """A classic contact.propertyChange event; keyword arguments replace or add keys."""
    event: dict[str, Any] = {
        "eventId": 100,
        "subscriptionId": 4849549,
        "portalId": 50687303,
        "appId": 25681700,
        "occurredAt": 1767621600000,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": 123,
        "propertyName": "hs_lead_status",
        "propertyValue": "NEW",
        "changeSource": "CRM_UI",
    }
    event.update(overrides)
    return event


def json_body(value: Any) -> bytes:
    """Serialize a test document the way the senders do (compact JSON, UTF-8)."""
    return json.dumps(value, separators=(",", ":")).encode()
