"""Signed JSON lead events from a Salesforce Flow HTTP callout or Apex."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.errors import MalformedPayload, WebhookRejected
from connector.events import Crm, EventKind
from connector.webhooks.salesforce import parse_json_events, verify_json_signature

from .payloads import json_body
from .signers import leadpool_json_headers

FIXTURES = Path(__file__).parents[1] / "fixtures" / "salesforce"
SECRET = "flow-callout-secret"
NOW = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
NOW_S = int(NOW.timestamp())


def verify(body: bytes, headers: dict[str, str], now: datetime = NOW) -> None:
    verify_json_signature(
        SECRET, headers.get("X-Leadpool-Timestamp"), headers.get("X-Leadpool-Signature"), body, now
    )


def event(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "evt-1",
        "kind": "updated",
        "lead": {"Id": "00Q5e00000CZjEf2AL"},
        "occurredAt": "2026-01-05T13:00:00Z",
    }
    item.update(overrides)
    return item


def test_signed_fixture_round_trip() -> None:
    body = (FIXTURES / "json_events.json").read_bytes()
    verify(body, leadpool_json_headers(SECRET, body, NOW_S - 10))

    created, owner_changed, contacted = parse_json_events(body)

    assert created.crm is Crm.SALESFORCE and created.kind is EventKind.CREATED
    assert created.event_key == "sf-json:evt-0001"
    assert created.lead_id == "00Q5e00000CZjEf2AL"
    assert created.owner == "00G5e000000Tq1xEAC"
    assert created.fields["Lead_Score__c"] == 86
    assert created.fields["Email"] is None
    assert created.occurred_at == datetime(2026, 1, 5, 13, 58, 41, tzinfo=UTC)
    assert owner_changed.kind is EventKind.OWNER_CHANGED
    assert owner_changed.owner == "0055e000003AbCdAAK"
    assert contacted.kind is EventKind.CONTACTED
    assert contacted.owner is None
    assert contacted.fields == {
        "Id": "00Q5e00000CZjEg2AL",
        "Status": "Working - Contacted",
        "Do_Not_Call__c": False,
    }
    assert contacted.occurred_at == datetime(2026, 1, 5, 14, 5, tzinfo=UTC)


def test_uppercase_hex_signature_is_accepted() -> None:
    body = json_body({"events": [event()]})
    headers = leadpool_json_headers(SECRET, body, NOW_S)
    headers["X-Leadpool-Signature"] = headers["X-Leadpool-Signature"].upper()
    verify(body, headers)


@pytest.mark.parametrize("missing", ["X-Leadpool-Timestamp", "X-Leadpool-Signature"])
def test_missing_header_is_rejected(missing: str) -> None:
    body = json_body({"events": [event()]})
    headers = leadpool_json_headers(SECRET, body, NOW_S)
    del headers[missing]
    with pytest.raises(WebhookRejected, match=f"missing {missing} header"):
        verify(body, headers)


def test_tampered_body_is_rejected() -> None:
    body = json_body({"events": [event()]})
    headers = leadpool_json_headers(SECRET, body, NOW_S)
    with pytest.raises(WebhookRejected, match="X-Leadpool-Signature does not match the body"):
        verify(body.replace(b"evt-1", b"evt-2"), headers)


def test_other_secret_is_rejected() -> None:
    body = json_body({"events": [event()]})
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(body, leadpool_json_headers("another-secret", body, NOW_S))


def test_signature_covers_the_timestamp() -> None:
    body = json_body({"events": [event()]})
    headers = leadpool_json_headers(SECRET, body, NOW_S)
    headers["X-Leadpool-Timestamp"] = str(NOW_S + 1)
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(body, headers)


def test_stale_timestamp_is_rejected() -> None:
    body = json_body({"events": [event()]})
    headers = leadpool_json_headers(SECRET, body, NOW_S - 301)
    with pytest.raises(WebhookRejected, match="X-Leadpool-Timestamp is stale"):
        verify(body, headers)
    verify(body, headers, now=NOW - timedelta(seconds=1))


def test_future_timestamp_is_rejected() -> None:
    body = json_body({"events": [event()]})
    with pytest.raises(WebhookRejected, match="in the future"):
        verify(body, leadpool_json_headers(SECRET, body, NOW_S + 301))


def test_timestamp_in_milliseconds_is_not_a_unix_seconds_timestamp() -> None:
    body = json_body({"events": [event()]})
    with pytest.raises(WebhookRejected, match="not a unix timestamp"):
        verify(body, leadpool_json_headers(SECRET, body, NOW_S * 1000))


def test_unconfigured_secret_refuses_everything() -> None:
    body = json_body({"events": [event()]})
    headers = leadpool_json_headers("", body, NOW_S)
    with pytest.raises(WebhookRejected, match="no JSON event secret is configured"):
        verify_json_signature(
            "", headers["X-Leadpool-Timestamp"], headers["X-Leadpool-Signature"], body, NOW
        )


def test_batch_size_limits() -> None:
    hundred = {"events": [event(id=f"evt-{n}") for n in range(100)]}
    assert len(parse_json_events(json_body(hundred))) == 100
    too_many = {"events": [event(id=f"evt-{n}") for n in range(101)]}
    with pytest.raises(MalformedPayload, match="events: batch of 101 events exceeds 100"):
        parse_json_events(json_body(too_many))
    with pytest.raises(MalformedPayload, match="events: must hold at least one event"):
        parse_json_events(json_body({"events": []}))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([event()], "body: must be a JSON object"),
        ({}, "events: required"),
        ({"events": {"0": event()}}, "events: must be a list"),
        ({"events": [event(), "evt"]}, r"events\[1\]: must be an object"),
        ({"events": [event(id=None)]}, r"events\[0\].id: required"),
        ({"events": [event(id=7)]}, r"events\[0\].id: must be a string"),
        ({"events": [event(id=" ")]}, r"events\[0\].id: must not be empty"),
        ({"events": [event(kind="deleted")]}, r"events\[0\].kind: unknown kind 'deleted'"),
        ({"events": [event(kind=["updated"])]}, r"events\[0\].kind: must be a string"),
        ({"events": [event(lead=None)]}, r"events\[0\].lead: required"),
        ({"events": [event(lead=["00Q1"])]}, r"events\[0\].lead: must be an object"),
        (
            {"events": [event(), event(), event(), event(lead={"OwnerId": "005"})]},
            r"events\[3\].lead.Id: required",
        ),
        ({"events": [event(lead={"Id": 15})]}, r"events\[0\].lead.Id: must be a string"),
        (
            {"events": [event(lead={"Id": "00Q1", "OwnerId": 5})]},
            r"events\[0\].lead.OwnerId: must be a string or null",
        ),
        (
            {"events": [event(lead={"Id": "00Q1", "Address": {"City": "Oslo"}})]},
            r"events\[0\].lead.Address: must be a string, number, boolean or null",
        ),
        ({"events": [event(occurredAt=None)]}, r"events\[0\].occurredAt: required"),
        ({"events": [event(occurredAt=1767621600)]}, r"events\[0\].occurredAt: must be a string"),
        (
            {"events": [event(occurredAt="2026-01-05T13:00:00")]},
            r"events\[0\].occurredAt: needs a UTC offset",
        ),
        (
            {"events": [event(occurredAt="5 Jan 2026")]},
            r"events\[0\].occurredAt: not an ISO-8601 date-time",
        ),
    ],
)
def test_bad_event_names_the_field_path(document: Any, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        parse_json_events(json_body(document))


@pytest.mark.parametrize(
    "body", [b"", b"{", b"\xff", b'{"events": [NaN]}', json.dumps("x").encode()]
)
def test_invalid_json_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_json_events(body)
