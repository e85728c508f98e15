"""HubSpot webhooks: v3 signatures and event batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hubspot.utils.signature import Signature

from connector.errors import MalformedPayload, WebhookRejected
from connector.events import Crm, EventKind
from connector.webhooks.hubspot import OtherEvent, parse_batch, signed_uri, verify_v3

from .payloads import hubspot_event, json_body
from .signers import hubspot_v3_headers

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hubspot"
SECRET = "8a5c6f0e-3b1d-4c8e-9f2a-7d6b5e4c3a21"
URI = "https://leadpool.example.com/webhooks/hubspot"
NOW = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def verify(
    body: bytes,
    headers: dict[str, str],
    *,
    uri: str = URI,
    method: str = "POST",
    now: datetime = NOW,
) -> None:
    verify_v3(
        SECRET,
        method,
        uri,
        body,
        headers.get("X-HubSpot-Request-Timestamp"),
        headers.get("X-HubSpot-Signature-v3"),
        now,
    )


def test_published_known_answer_vector_is_accepted() -> None:
    # The v3 vector from hubspot-api-python's tests/spec/utils/test_signature.py.
    verify_v3(
        "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        "POST",
        "https://www.example.com/webhook_uri",
        b"{'example_field':'example_value'}",
        "15000000",
        "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
        datetime.fromtimestamp(15_000, UTC),
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        '[{"propertyValue":"Zoë"}]'.encode(),
        (FIXTURES / "docs_example_batch.json").read_bytes(),
    ],
)
def test_agrees_with_the_client_library_signature(body: bytes) -> None:
    expected = Signature.get_signature(
        SECRET, body.decode(), "v3", http_uri=URI, http_method="POST", timestamp=str(NOW_MS)
    )
    verify_v3(SECRET, "POST", URI, body, str(NOW_MS), expected, NOW)


def test_signed_round_trip() -> None:
    body = (FIXTURES / "contact_property_changes.json").read_bytes()
    verify(body, hubspot_v3_headers(SECRET, "POST", URI, body, NOW_MS - 4_000))


def test_listed_escapes_are_decoded_before_hashing() -> None:
    sent = URI + "?portal=50687303%2C50687304&next=%2Fhooks%3Fx%3D1&at=%40me&sp=%20ok"
    assert signed_uri(sent) == URI + "?portal=50687303,50687304&next=/hooks?x%3D1&at=@me&sp=%20ok"
    assert signed_uri("%3a%2f") == ":/"
    body = b"[]"
    verify(body, hubspot_v3_headers(SECRET, "POST", sent, body, NOW_MS), uri=sent)


def test_escapes_outside_the_list_stay_encoded() -> None:
    body = b"[]"
    headers = hubspot_v3_headers(SECRET, "POST", URI + "?q=a b", body, NOW_MS)
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(body, headers, uri=URI + "?q=a%20b")


@pytest.mark.parametrize("missing", ["X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"])
def test_missing_header_is_rejected(missing: str) -> None:
    headers = hubspot_v3_headers(SECRET, "POST", URI, b"[]", NOW_MS)
    del headers[missing]
    with pytest.raises(WebhookRejected, match=f"missing {missing} header"):
        verify(b"[]", headers)


@pytest.mark.parametrize(
    ("change", "kwargs"),
    [
        ("body", {}),
        ("uri", {"uri": URI + "/other"}),
        ("method", {"method": "PUT"}),
    ],
)
def test_anything_changed_after_signing_is_rejected(change: str, kwargs: dict[str, Any]) -> None:
    body = json_body([hubspot_event()])
    headers = hubspot_v3_headers(SECRET, "POST", URI, body, NOW_MS)
    sent = body.replace(b"NEW", b"OLD") if change == "body" else body
    with pytest.raises(WebhookRejected, match="X-HubSpot-Signature-v3 does not match"):
        verify(sent, headers, **kwargs)


def test_wrong_secret_and_garbage_signatures_are_rejected() -> None:
    body = b"[]"
    for headers in (
        hubspot_v3_headers("other-secret", "POST", URI, body, NOW_MS),
        {"X-HubSpot-Signature-v3": "não-base64", "X-HubSpot-Request-Timestamp": str(NOW_MS)},
    ):
        with pytest.raises(WebhookRejected, match="does not match"):
            verify(body, headers)


def test_stale_and_future_timestamps_are_rejected() -> None:
    body = b"[]"
    stale = hubspot_v3_headers(SECRET, "POST", URI, body, NOW_MS - 300_001)
    with pytest.raises(WebhookRejected, match="X-HubSpot-Request-Timestamp is stale"):
        verify(body, stale)
    verify(body, stale, now=NOW - timedelta(milliseconds=2))
    future = hubspot_v3_headers(SECRET, "POST", URI, body, NOW_MS + 301_000)
    with pytest.raises(WebhookRejected, match="in the future"):
        verify(body, future)


def test_seconds_timestamp_is_stale_not_accepted() -> None:
    body = b"[]"
    with pytest.raises(WebhookRejected, match="stale"):
        verify(body, hubspot_v3_headers(SECRET, "POST", URI, body, NOW_MS // 1000))


def test_unconfigured_secret_refuses_everything() -> None:
    headers = hubspot_v3_headers("", "POST", URI, b"[]", NOW_MS)
    with pytest.raises(WebhookRejected, match="no HubSpot client secret"):
        verify_v3(
            "",
            "POST",
            URI,
            b"[]",
            headers["X-HubSpot-Request-Timestamp"],
            headers["X-HubSpot-Signature-v3"],
            NOW,
        )


def test_docs_example_batch() -> None:
    batch = parse_batch((FIXTURES / "docs_example_batch.json").read_bytes())

    changed, created = batch.events
    assert batch.other == ()
    assert changed.crm is Crm.HUBSPOT and changed.kind is EventKind.UPDATED
    assert (changed.lead_id, changed.event_key) == ("1246965", "hs:3816279340")
    assert changed.fields == {"lifecyclestage": "subscriber"}
    assert changed.owner is None and changed.object_type == "contact"
    assert changed.occurred_at == datetime(2016, 5, 2, 19, 11, 47, 945000, tzinfo=UTC)
    assert created.kind is EventKind.CREATED and created.fields == {}
    assert (created.lead_id, created.event_key) == ("1246978", "hs:3816279480")


def test_classic_contact_events() -> None:
    batch = parse_batch((FIXTURES / "contact_property_changes.json").read_bytes())

    summary = [(e.kind, e.lead_id, dict(e.fields), e.owner) for e in batch.events]
    assert summary == [
        (EventKind.CREATED, "173595202426", {}, None),
        (
            EventKind.OWNER_CHANGED,
            "173595202426",
            {"hubspot_owner_id": "83210455", "_changed_by": "10202051"},  # sourceId userId:…
            "83210455",
        ),
        (EventKind.UPDATED, "173595202426", {"hs_lead_status": "IN_PROGRESS"}, None),
        (EventKind.UPDATED, "173595202426", {"notes_last_contacted": "1767621598123"}, None),
        (EventKind.UPDATED, "173595202499", {"hubspotscore": "86"}, None),
        (EventKind.OWNER_CHANGED, "173595202499", {"hubspot_owner_id": ""}, None),
    ]
    assert [e.event_key for e in batch.events][:2] == ["hs:714285774", "hs:714285775"]
    assert batch.other == (
        OtherEvent("company.propertyChange", None, "9876543210", "hs:714285780"),
        OtherEvent("contact.deletion", "0-1", "173595202400", "hs:714285781"),
    )


def test_generic_object_events() -> None:
    batch = parse_batch((FIXTURES / "generic_object_events.json").read_bytes())

    created, owner, status, lead = batch.events
    assert (created.kind, created.object_type, created.lead_id) == (
        EventKind.CREATED,
        "contact",
        "173595202426",
    )
    assert (owner.kind, owner.owner) == (EventKind.OWNER_CHANGED, "83210455")
    assert (status.kind, status.fields) == (EventKind.UPDATED, {"hs_lead_status": "CONNECTED"})
    assert (lead.kind, lead.object_type, lead.lead_id) == (EventKind.CREATED, "lead", "402113")
    # Two events share eventId 3816279340 but come from different subscriptions.
    assert created.event_key == "hs:2881778:3816279340:1767621521000"
    assert owner.event_key == "hs:2881779:3816279340:1767621521000"
    assert [(o.event_type, o.object_type_id) for o in batch.other] == [
        ("object.propertyChange", "0-2"),
        ("object.deletion", "0-1"),
    ]


def test_owner_property_is_configurable() -> None:
    body = json_body([hubspot_event(propertyName="lead_owner", propertyValue=" 77 ")])
    (event,) = parse_batch(body, owner_property="lead_owner").events
    assert (event.kind, event.owner) == (EventKind.OWNER_CHANGED, "77")
    (event,) = parse_batch(body).events
    assert event.kind is EventKind.UPDATED


def test_retried_delivery_keeps_its_event_key() -> None:
    first = parse_batch(json_body([hubspot_event(attemptNumber=0)])).events[0]
    retry = parse_batch(json_body([hubspot_event(attemptNumber=3)])).events[0]
    assert first.event_key == retry.event_key


def test_batch_size_limits() -> None:
    hundred = [hubspot_event(eventId=n) for n in range(100)]
    assert len(parse_batch(json_body(hundred)).events) == 100
    with pytest.raises(MalformedPayload, match="batch of 101 events exceeds 100"):
        parse_batch(json_body([*hundred, hubspot_event(eventId=100)]))
    with pytest.raises(MalformedPayload, match="empty batch"):
        parse_batch(b"[]")


def drop(key: str, **overrides: Any) -> dict[str, Any]:
    event = hubspot_event(**overrides)
    del event[key]
    return event


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ({"eventId": 1}, "body: must be a JSON array of events"),
        ([hubspot_event(), 7], r"\[1\]: must be an object"),
        ([hubspot_event(), hubspot_event(), drop("eventId")], r"\[2\].eventId: required"),
        ([drop("subscriptionType")], r"\[0\].subscriptionType: required"),
        ([drop("occurredAt")], r"\[0\].occurredAt: required"),
        ([drop("objectId")], r"\[0\].objectId: required"),
        ([drop("propertyName")], r"\[0\].propertyName: required"),
        (
            [drop("subscriptionId", subscriptionType="object.creation", objectTypeId="0-1")],
            r"\[0\].subscriptionId: required",
        ),
        ([hubspot_event(occurredAt="1767621600000")], r"\[0\].occurredAt: must be an integer"),
        ([hubspot_event(occurredAt=True)], r"\[0\].occurredAt: must be an integer"),
        ([hubspot_event(occurredAt=-1)], r"\[0\].occurredAt: -1 is not a time"),
        ([hubspot_event(occurredAt=10**20)], r"\[0\].occurredAt: .* is not a time"),
        ([hubspot_event(objectId=True)], r"\[0\].objectId: must be a non-negative integer id"),
        ([hubspot_event(objectId="12a")], r"\[0\].objectId: must be a non-negative integer id"),
        ([hubspot_event(eventId=1.5)], r"\[0\].eventId: must be a non-negative integer id"),
        ([hubspot_event(subscriptionType=5)], r"\[0\].subscriptionType: must be a string"),
        ([hubspot_event(propertyValue=42)], r"\[0\].propertyValue: must be a string"),
        ([hubspot_event(propertyName="")], r"\[0\].propertyName: must not be empty"),
        (
            [hubspot_event(subscriptionType="object.creation", objectTypeId=1)],
            r"\[0\].objectTypeId: must be a string",
        ),
    ],
)
def test_bad_event_names_index_and_key(events: Any, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        parse_batch(json_body(events))


def test_absent_property_value_reads_as_cleared() -> None:
    (event,) = parse_batch(
        json_body([drop("propertyValue", propertyName="hubspot_owner_id")])
    ).events
    assert (event.kind, event.owner, event.fields) == (
        EventKind.OWNER_CHANGED,
        None,
        {"hubspot_owner_id": None},
    )


@pytest.mark.parametrize("body", [b"", b"[", b"\xff\xfe", b"[NaN]", b"null"])
def test_invalid_json_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_batch(body)


def test_hubspot_events_are_not_snapshots_of_the_lead() -> None:
    batch = parse_batch(json_body([hubspot_event(), hubspot_event(eventId=2)]))
    assert batch.events and not any(event.snapshot for event in batch.events)
