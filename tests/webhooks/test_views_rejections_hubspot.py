"""Every bad HubSpot webhook: its status, its error body, and an untouched store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from .endpoint_harness import (
    ENV,
    HUBSPOT_SECRET,
    PUBLIC_BASE_URL,
    Harness,
    error_of,
    make_harness,
    refused,
)
from .payloads import hubspot_event, json_body
from .signers import hubspot_v3_headers


def hubspot_batch(count: int = 1) -> bytes:
    """A HubSpot batch of `count` property changes."""
    events = [hubspot_event(eventId=100 + index, objectId=500 + index) for index in range(count)]
    return json_body(events)


@pytest.fixture
def hs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for HubSpot, on SQLite (refusals never reach the store)."""
    yield from make_harness(tmp_path, f"sqlite:///{tmp_path / 'hs.db'}", "hubspot", monkeypatch)


@pytest.fixture(autouse=True)
def _no_secret_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    for secret in ENV.values():
        assert secret not in caplog.text


HUBSPOT_CASES: dict[str, tuple[Callable[[Harness], TestResponse], int, str]] = {
    "missing signature": (
        lambda h: h.client.post(
            "/webhooks/hubspot", data=hubspot_batch(), content_type="application/json"
        ),
        401,
        "missing X-HubSpot-Request-Timestamp header",
    ),
    "bad signature": (
        lambda h: h.post_hubspot(hubspot_batch(), secret="not-the-secret"),
        401,
        "X-HubSpot-Signature-v3 does not match the request",
    ),
    "signed for another URL": (
        lambda h: h.post_hubspot(
            hubspot_batch(), signed_uri="https://elsewhere.example.com/webhooks/hubspot"
        ),
        401,
        "X-HubSpot-Signature-v3 does not match the request",
    ),
    "stale timestamp": (
        lambda h: h.post_hubspot(
            hubspot_batch(),
            timestamp_ms=int((h.clock.now() - timedelta(minutes=5, seconds=1)).timestamp() * 1000),
        ),
        401,
        "X-HubSpot-Request-Timestamp is stale: 301 s old (limit 300 s)",
    ),
    "invalid JSON": (lambda h: h.post_hubspot(b"[{"), 400, "body: not valid JSON"),
    "not an array": (
        lambda h: h.post_hubspot(b'{"eventId": 1}'),
        400,
        "body: must be a JSON array of events",
    ),
    "event without objectId": (
        lambda h: h.post_hubspot(json_body([hubspot_event(objectId=None)])),
        400,
        "[0].objectId: required",
    ),
    "wrong content type": (
        lambda h: h.post_hubspot(hubspot_batch(), content_type="application/x-www-form-urlencoded"),
        415,
        "Content-Type application/x-www-form-urlencoded not accepted",
    ),
    "oversized body": (
        lambda h: h.post_hubspot(b" " * (h.runtime.connector.webhooks.max_body_bytes + 1)),
        413,
        "body exceeds 1048576 bytes",
    ),
    "101 events": (
        lambda h: h.post_hubspot(hubspot_batch(101)),
        400,
        "batch of 101 events exceeds 100",
    ),
}


@pytest.mark.parametrize("case", list(HUBSPOT_CASES))
def test_hubspot_refusals(hs: Harness, case: str) -> None:
    send, status, message = HUBSPOT_CASES[case]
    response = refused(hs, lambda: send(hs))
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert message in error_of(response)


def test_hubspot_signature_covers_the_query_string(hs: Harness) -> None:
    body = hubspot_batch()
    signed = f"{PUBLIC_BASE_URL}/webhooks/hubspot?portal=50687303"
    headers = hubspot_v3_headers(
        HUBSPOT_SECRET, "POST", signed, body, int(hs.clock.now().timestamp() * 1000)
    )
    wrong = refused(
        hs,
        lambda: hs.client.post(
            "/webhooks/hubspot?portal=1",
            data=body,
            content_type="application/json",
            headers=headers,
        ),
    )
    right = hs.client.post(
        "/webhooks/hubspot?portal=50687303",
        data=body,
        content_type="application/json",
        headers=headers,
    )

    assert wrong.status_code == 401
    assert right.status_code == 200, right.data


def test_config_can_lower_the_batch_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    harness = make_harness(
        tmp_path,
        f"sqlite:///{tmp_path / 'hs.db'}",
        "hubspot",
        monkeypatch,
        webhooks={"max_events": 5},
    )
    h = next(harness)
    try:
        response = refused(h, lambda: h.post_hubspot(hubspot_batch(6)))
        assert response.status_code == 400
        assert error_of(response) == "batch of 6 events exceeds webhooks.max_events (5)"
        assert h.post_hubspot(hubspot_batch(5)).status_code == 200
    finally:
        harness.close()
