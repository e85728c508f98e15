"""Salesforce Outbound Messages: parsing, org check, secret, replies, hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from connector.errors import MalformedPayload, WebhookRejected
from connector.events import Crm, EventKind
from connector.webhooks.salesforce import (
    ACK_RESPONSE,
    OtherRecord,
    parse_outbound,
    soap_fault,
    verify_outbound_secret,
)

from .payloads import ORG_ID, notification, outbound_message

FIXTURES = Path(__file__).parents[1] / "fixtures" / "salesforce"
NOW = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
ORG_15 = ORG_ID[:15]


def lead(notification_id: str = "04l5e00000Gx7QzAAJ", **fields: str | None) -> str:
    return notification(notification_id, {"Id": "00Q5e00000CZjEf2AL", **fields})


def test_fixture_with_three_leads_becomes_three_updated_events() -> None:
    batch = parse_outbound((FIXTURES / "outbound_leads.xml").read_bytes(), ORG_15, now=NOW)

    assert batch.organization_id == ORG_ID
    assert batch.action_id == "04k5e000000CaRkAAK"
    assert batch.other == ()
    first, second, third = batch.events
    assert first.crm is Crm.SALESFORCE and first.kind is EventKind.UPDATED
    assert first.lead_id == "00Q5e00000CZjEf2AL"
    assert first.event_key == "sf-om:04l5e00000Gx7QzAAJ"
    assert first.owner == "00G5e000000Tq1xEAC"
    assert first.occurred_at == datetime(2026, 1, 5, 13, 58, 41, tzinfo=UTC)
    assert first.object_type == "lead"
    assert all(event.snapshot for event in batch.events)  # a message carries the whole lead
    assert dict(first.fields) == {
        "Id": "00Q5e00000CZjEf2AL",
        "Company": "Northwind Traders",
        "Email": "pat.lee@northwind.example",
        "LastModifiedDate": "2026-01-05T13:58:41.000Z",
        "LastName": "Lee",
        "Lead_Score__c": "86.0",
        "LeadSource": "Web",
        "Leadpool_Status__c": None,
        "OwnerId": "00G5e000000Tq1xEAC",
        "Status": "Open - Not Contacted",
    }
    assert second.fields["Company"] == "Contoso & Sons"
    assert second.fields["Email"] is None
    assert second.owner == "0055e000003AbCdAAK"
    # No LastModifiedDate and no OwnerId selected in the message: stamped now, owner unknown.
    assert third.occurred_at == NOW
    assert third.owner is None
    assert "SessionId" not in repr(batch)


def test_other_sobject_types_are_collected_for_audit() -> None:
    batch = parse_outbound((FIXTURES / "outbound_mixed.xml").read_bytes(), ORG_ID, now=NOW)

    assert batch.other == (
        OtherRecord("Contact", "0035e00000ZkM3hAAF", "sf-om:04l5e00000Gx7S0AAJ"),
    )
    assert [event.lead_id for event in batch.events] == ["00Q5e00000CZjEi2AL"]


def test_org_id_compares_the_case_sensitive_15_character_prefix() -> None:
    body = outbound_message([lead()], org_id="00D5e000000KQ2eeag")  # checksum case differs
    assert len(parse_outbound(body, ORG_ID, now=NOW).events) == 1
    assert len(parse_outbound(outbound_message([lead()], org_id=ORG_15), ORG_ID).events) == 1


@pytest.mark.parametrize(
    "sent", ["00D5e000000KQ2EEAG", "00D5e000000KQ3eEAG", "00D5e000000KQ2", "x"]
)
def test_wrong_org_id_is_rejected(sent: str) -> None:
    with pytest.raises(WebhookRejected, match="is not the configured org"):
        parse_outbound(outbound_message([lead()], org_id=sent), ORG_ID, now=NOW)


def test_misconfigured_expected_org_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="15 or 18"):
        parse_outbound(outbound_message([lead()]), "00D5e", now=NOW)


def test_ack_response_is_the_reply_salesforce_expects() -> None:
    assert (FIXTURES / "outbound_ack.xml").read_bytes() == ACK_RESPONSE


def test_soap_fault_escapes_the_message_and_parses() -> None:
    reply = soap_fault('bad <Lead> & \x00 "quoted"', code="Server")
    root = SafeET.fromstring(reply)
    ns = "{http://schemas.xmlsoap.org/soap/envelope/}"
    fault = root.find(f"{ns}Body/{ns}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "soapenv:Server"
    assert fault.findtext("faultstring") == 'bad <Lead> & \ufffd "quoted"'


def test_soap_fault_code_is_client_or_server() -> None:
    with pytest.raises(ValueError, match="Client or Server"):
        soap_fault("x", code="Receiver")


def test_outbound_secret() -> None:
    verify_outbound_secret("tok-123", "tok-123")
    with pytest.raises(WebhookRejected, match="wrong or missing outbound message secret"):
        verify_outbound_secret("tok-124", "tok-123")
    with pytest.raises(WebhookRejected, match="wrong or missing"):
        verify_outbound_secret(None, "tok-123")


def test_malformed_xml() -> None:
    with pytest.raises(MalformedPayload, match="not well-formed XML"):
        parse_outbound(outbound_message([lead()])[:-40], ORG_ID, now=NOW)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound">
<OrganizationId>&lol4;</OrganizationId></notifications></soapenv:Body></soapenv:Envelope>"""


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="XML refused: DTDForbidden"):
        parse_outbound(BILLION_LAUGHS, ORG_ID, now=NOW)


def test_external_entity_is_refused_without_reading_the_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("top-secret-content")
    body = outbound_message([lead(Company="&xxe;")]).replace(
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        b'<?xml version="1.0"?>\n<!DOCTYPE e [<!ENTITY xxe SYSTEM "'
        + secret_file.as_uri().encode()
        + b'">]>\n',
    )
    with pytest.raises(MalformedPayload, match="XML refused") as caught:
        parse_outbound(body.replace(b"&amp;xxe;", b"&xxe;"), ORG_ID, now=NOW)
    assert "top-secret-content" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<Envelope/>", "root element is 'Envelope', not a SOAP Envelope"),
        (
            b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>',
            "Envelope: no SOAP Body",
        ),
        (
            b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            b"<notifications/></e:Body></e:Envelope>",
            "Body: no notifications element",
        ),
    ],
)
def test_not_an_outbound_message(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        parse_outbound(body, ORG_ID, now=NOW)


def test_missing_org_id_is_malformed() -> None:
    body = outbound_message([lead()]).replace(
        b"<OrganizationId>00D5e000000KQ2eEAG</OrganizationId>", b""
    )
    with pytest.raises(MalformedPayload, match=r"notifications\.OrganizationId: required"):
        parse_outbound(body, ORG_ID, now=NOW)


def test_notification_count_must_be_1_to_100() -> None:
    with pytest.raises(MalformedPayload, match="no Notification element"):
        parse_outbound(outbound_message([]), ORG_ID, now=NOW)
    hundred = [lead(f"04l5e00000Gx{index:04d}AA") for index in range(100)]
    assert len(parse_outbound(outbound_message(hundred), ORG_ID, now=NOW).events) == 100
    with pytest.raises(MalformedPayload, match="101 Notification elements exceed 100"):
        parse_outbound(outbound_message([*hundred, lead("04l5e00000GxZZZZAA")]), ORG_ID, now=NOW)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("<Notification><sObject/></Notification>", r"Notification\[1\].Id: required"),
        ("<Notification><Id>04l1</Id></Notification>", r"Notification\[1\].sObject: required"),
        (
            "<Notification><Id>04l1</Id><sObject><sf:Id xmlns:sf='urn:x'>00Q1</sf:Id>"
            "</sObject></Notification>",
            r"Notification\[1\].sObject: xsi:type attribute required",
        ),
        (notification("04l1", {"LastName": "Lee"}), r"Notification\[1\].sObject.Id: required"),
        (
            notification("04l1", {"Id": "00Q1", "LastModifiedDate": "yesterday"}),
            r"Notification\[1\].sObject.LastModifiedDate: not an ISO-8601 date-time: 'yesterday'",
        ),
        (
            notification("04l1", {"Id": "00Q1"}).replace(
                "</sObject>", "<sf:Id>00Q2</sf:Id></sObject>"
            ),
            r"Notification\[1\].sObject.Id: appears twice",
        ),
    ],
)
def test_bad_notification_names_its_path(item: str, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        parse_outbound(outbound_message([lead(), item]), ORG_ID, now=NOW)


def test_xsi_type_prefix_is_whatever_the_message_declares() -> None:
    item = (
        '<Notification><Id>04l1</Id><sObject xsi:type="ens:Lead" '
        'xmlns:ens="urn:sobject.enterprise.soap.sforce.com"><ens:Id>00Q1</ens:Id>'
        '<ens:OwnerId xsi:nil="true"/></sObject></Notification>'
    )
    (event,) = parse_outbound(outbound_message([item]), ORG_ID, now=NOW).events
    assert event.lead_id == "00Q1"
    assert event.owner is None
    assert event.fields == {"Id": "00Q1", "OwnerId": None}
