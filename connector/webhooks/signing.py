"""Shared by the webhook modules: HMAC digests, timestamp windows, secrets, strict JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import MalformedPayload, WebhookRejected

#: How far a signed timestamp may lie from our clock, either way (replay window).
MAX_SKEW = timedelta(minutes=5)


def hmac_sha256(secret: str, message: bytes) -> bytes:
    """Return the raw HMAC-SHA256 of message keyed with the UTF-8 secret."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def digests_match(expected: str, provided: str) -> bool:
    """Compare two digest strings in constant time (any characters, never raises)."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), provided.encode("utf-8", "surrogatepass")
    )


def require_header(value: str | None, header: str) -> str:
    """Return the header's value stripped, or reject the request when it is missing or blank."""
    if value is None or not value.strip():
        raise WebhookRejected(f"missing {header} header")
    return value.strip()


def parse_epoch(value: str, header: str, *, millis: bool) -> datetime:
    """Read a unix timestamp header (seconds or milliseconds) as an aware UTC datetime."""
    # 11 digits of seconds / 14 of milliseconds reach past the year 5000: enough, never overflows.
    if not value.isascii() or not value.isdigit() or len(value) > (14 if millis else 11):
        raise WebhookRejected(f"{header} is not a unix timestamp: {value[:32]!r}")
    seconds = int(value) / 1000 if millis else int(value)
    return datetime.fromtimestamp(seconds, UTC)


def check_freshness(
    sent_at: datetime, now: datetime, header: str, *, max_skew: timedelta = MAX_SKEW
) -> None:
    """Reject a timestamp further than max_skew from now, in the past (replay) or the future."""
    age = now - sent_at
    if age > max_skew:
        raise WebhookRejected(
            f"{header} is stale: {int(age.total_seconds())} s old (limit {_seconds(max_skew)} s)"
        )
    if -age > max_skew:
        raise WebhookRejected(
            f"{header} is {int(-age.total_seconds())} s in the future "
            f"(limit {_seconds(max_skew)} s); check the clocks"
        )


def verify_shared_secret(provided: str | None, expected: str, what: str) -> None:
    """Check a shared secret (URL token, Basic auth password) in constant time."""
    if not expected:
        raise WebhookRejected(f"no {what} is configured; refusing every request")
    if provided is None or not digests_match(expected, provided):
        raise WebhookRejected(f"wrong or missing {what}")


def load_json(body: bytes) -> Any:
    """Decode a JSON body strictly (UTF-8, no NaN/Infinity); any failure is MalformedPayload."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise MalformedPayload("body: JSON nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        raise MalformedPayload(f"body: not valid JSON: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())
