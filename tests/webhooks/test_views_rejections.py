"""Every bad input through the HTTP endpoints: its status, its error body, an untouched store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from tests.conftest import engine_url

from .endpoint_harness import (
    ENV,
    EVENTS_SECRET,
    Harness,
    error_of,
    fault_of,
    make_harness,
    refused,
)
from .payloads import hubspot_event, json_body, notification, outbound_message
from .signers import leadpool_json_headers

LEAD_ID = "00Q5e00000CZjEf2AL"
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
<soapenv:Body>&lol3;</soapenv:Body></soapenv:Envelope>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE n [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
<OrganizationId>&xxe;</OrganizationId></notifications></soapenv:Body></soapenv:Envelope>"""


def lead_message(count: int = 1, *, org_id: str | None = None) -> bytes:
    """An Outbound Message with `count` Lead notifications."""
    items = [
        notification(
            f"04l5e00000Gx{index:04d}AAJ",
            {"Id": f"00Q5e00000C{index:04d}AL", "Company": "Northwind", "Lead_Score__c": "40"},
        )
        for index in range(count)
    ]
    return outbound_message(items, org_id=org_id) if org_id else outbound_message(items)


def json_events(count: int = 1) -> bytes:
    """A JSON event body with `count` created events."""
    return json_body(
        {
            "events": [
                {
                    "id": f"evt-{index}",
                    "kind": "created",
                    "lead": {"Id": f"00Q5e00000D{index:04d}AL", "Company": "Contoso"},
                    "occurredAt": "2026-01-05T13:58:41Z",
                }
                for index in range(count)
            ]
        }
    )


def hubspot_batch(count: int = 1) -> bytes:
    """A HubSpot batch of `count` property changes."""
    return json_body(
        [hubspot_event(eventId=100 + index, objectId=500 + index) for index in range(count)]
    )


# Refusals happen before the store is touched, so they run on SQLite only; what involves the
# store (a valid delivery, a failing store) runs on both engines.


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'webhooks.db'}"


@pytest.fixture
def sf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for Salesforce, on SQLite."""
    yield from make_harness(tmp_path, _sqlite(tmp_path), "salesforce", monkeypatch)


@pytest.fixture
def hs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for HubSpot, on SQLite."""
    yield from make_harness(tmp_path, _sqlite(tmp_path), "hubspot", monkeypatch)


@pytest.fixture
def sf_db(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for Salesforce, on SQLite and on PostgreSQL."""
    yield from make_harness(tmp_path, engine_url(engine), "salesforce", monkeypatch)


@pytest.fixture(autouse=True)
def _no_secret_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    for secret in ENV.values():
        assert secret not in caplog.text


# -- Salesforce Outbound Messages ---------------------------------------------------------------


SOAP_CASES: dict[str, tuple[Callable[[Harness], TestResponse], int, str]] = {
    "wrong token": (
        lambda h: h.post_outbound(lead_message(), token="not-the-token"),
        401,
        "wrong or missing outbound message secret",
    ),
    "wrong org id": (
        lambda h: h.post_outbound(lead_message(org_id="00D5e000000ZZZZEAG")),
        401,
        "OrganizationId '00D5e000000ZZZZEAG' is not the configured org",
    ),
    "malformed XML": (
        lambda h: h.post_outbound(lead_message()[:-30]),
        400,
        "not well-formed XML",
    ),
    "entity expansion": (
        lambda h: h.post_outbound(BILLION_LAUGHS),
        400,
        "XML refused: DTDForbidden",
    ),
    "external entity": (
        lambda h: h.post_outbound(EXTERNAL_ENTITY),
        400,
        "XML refused: DTDForbidden",
    ),
    "not a SOAP envelope": (
        lambda h: h.post_outbound(b"<notifications/>"),
        400,
        "root element is 'notifications', not a SOAP Envelope",
    ),
    "wrong content type": (
        lambda h: h.post_outbound(lead_message(), content_type="application/json"),
        415,
        "Content-Type application/json not accepted (expected text/xml or application/soap+xml)",
    ),
    "oversized body": (
        lambda h: h.post_outbound(b" " * (h.runtime.connector.webhooks.max_body_bytes + 1)),
        413,
        "body exceeds 1048576 bytes",
    ),
    "101 notifications": (
        lambda h: h.post_outbound(lead_message(101)),
        400,
        "notifications: 101 Notification elements exceed 100",
    ),
    "basic auth: wrong password": (
        lambda h: h.post_outbound_basic(lead_message(), password="guess"),
        401,
        "wrong HTTP Basic credentials",
    ),
    "basic auth: wrong user": (
        lambda h: h.post_outbound_basic(lead_message(), user="someone"),
        401,
        "wrong HTTP Basic credentials",
    ),
    "basic auth: none sent": (
        lambda h: h.client.post(
            "/webhooks/salesforce/outbound", data=lead_message(), content_type="text/xml"
        ),
        401,
        "missing HTTP Basic credentials",
    ),
}


@pytest.mark.parametrize("case", list(SOAP_CASES))
def test_outbound_message_refusals(sf: Harness, case: str) -> None:
    send, status, message = SOAP_CASES[case]
    response = refused(sf, lambda: send(sf))
    assert response.status_code == status
    fault = fault_of(response)
    assert message in fault
    assert "<faultcode>soapenv:Client</faultcode>" in response.get_data(as_text=True)


def test_outbound_message_is_acknowledged_when_valid(sf_db: Harness) -> None:
    # The counterpart of the refusals: the same message with the right token and credentials.
    for send in (sf_db.post_outbound, sf_db.post_outbound_basic):
        response = send(lead_message())
        assert response.status_code == 200
        assert b"<Ack>true</Ack>" in response.data
        assert response.mimetype == "text/xml"
    assert sf_db.counts()["events_seen"] == 1


def test_unset_token_variable_is_a_server_error_not_a_pass(
    sf: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("LP_TEST_SF_OUTBOUND_TOKEN")

    response_any = refused(sf, lambda: sf.post_outbound(lead_message(), token="anything"))

    assert response_any.status_code == 500
    assert "not configured" in fault_of(response_any)
    assert "<faultcode>soapenv:Server</faultcode>" in response_any.get_data(as_text=True)
    assert "LP_TEST_SF_OUTBOUND_TOKEN (named by connector.yaml salesforce.outbound_token_env)" in (
        caplog.text
    )


def test_store_failure_answers_503_and_the_retry_is_applied(sf_db: Harness) -> None:
    h = sf_db
    body = lead_message(3)
    with h.engine.begin() as conn:
        conn.execute(text("ALTER TABLE events_seen RENAME TO events_seen_away"))
    try:
        response = h.post_outbound(body)
    finally:
        with h.engine.begin() as conn:
            conn.execute(text("ALTER TABLE events_seen_away RENAME TO events_seen"))
    assert response.status_code == 503
    assert "temporarily unable to store events" in fault_of(response)
    assert "<faultcode>soapenv:Server</faultcode>" in response.get_data(as_text=True)
    assert h.counts() == dict.fromkeys(h.counts(), 0)

    retry = h.post_outbound(body)

    assert retry.status_code == 200
    assert h.counts()["leads"] == 3


def test_endpoints_of_the_other_crm_are_not_found(hs: Harness, sf: Harness) -> None:
    response = refused(hs, lambda: hs.post_outbound(lead_message()))
    assert response.status_code == 404
    assert "this leadpool connects to hubspot, not salesforce" in fault_of(response)

    response = refused(sf, lambda: sf.post_hubspot(hubspot_batch()))
    assert response.status_code == 404
    assert error_of(response) == "this leadpool connects to salesforce, not hubspot"


# -- Salesforce JSON events ---------------------------------------------------------------------


def _signed_for(h: Harness, other_body: bytes) -> dict[str, str]:
    return leadpool_json_headers(EVENTS_SECRET, other_body, int(h.clock.now().timestamp()))


def _unsigned(h: Harness) -> TestResponse:
    return h.client.post(
        "/webhooks/salesforce/events", data=json_events(), content_type="application/json"
    )


JSON_CASES: dict[str, tuple[Callable[[Harness], TestResponse], int, str]] = {
    "missing signature": (_unsigned, 401, "missing X-Leadpool-Timestamp header"),
    "bad signature": (
        lambda h: h.post_events(json_events(), secret="not-the-secret"),
        401,
        "X-Leadpool-Signature does not match the body",
    ),
    "body changed after signing": (
        lambda h: h.post_events(json_events(), headers=_signed_for(h, json_events(2))),
        401,
        "X-Leadpool-Signature does not match the body",
    ),
    "stale timestamp": (
        lambda h: h.post_events(
            json_events(), timestamp=int((h.clock.now() - timedelta(minutes=6)).timestamp())
        ),
        401,
        "X-Leadpool-Timestamp is stale: 360 s old (limit 300 s)",
    ),
    "invalid JSON": (
        lambda h: h.post_events(b'{"events": [}'),
        400,
        "body: not valid JSON",
    ),
    "missing lead id": (
        lambda h: h.post_events(
            json_body({"events": [{"id": "e", "kind": "created", "lead": {}, "occurredAt": "x"}]})
        ),
        400,
        "events[0].lead.Id: required",
    ),
    "wrong content type": (
        lambda h: h.post_events(json_events(), content_type="text/plain"),
        415,
        "Content-Type text/plain not accepted (expected application/json)",
    ),
    "oversized body": (
        lambda h: h.post_events(b" " * (h.runtime.connector.webhooks.max_body_bytes + 1)),
        413,
        "body exceeds 1048576 bytes",
    ),
    "101 events": (
        lambda h: h.post_events(json_events(101)),
        400,
        "events: batch of 101 events exceeds 100",
    ),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_json_event_refusals(sf: Harness, case: str) -> None:
    send, status, message = JSON_CASES[case]
    response = refused(sf, lambda: send(sf))
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert message in error_of(response)


def test_json_events_accepted_when_signed(sf: Harness) -> None:
    response = sf.post_events(json_events(2))
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 2, "duplicates": 0}


def test_unset_events_secret_is_a_server_error(
    sf: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LP_TEST_SF_EVENTS_SECRET", "")
    response = refused(sf, lambda: sf.post_events(json_events(), secret=""))
    assert response.status_code == 500
    assert error_of(response) == "this endpoint is not configured on the leadpool server"
    assert "LP_TEST_SF_EVENTS_SECRET" in caplog.text
