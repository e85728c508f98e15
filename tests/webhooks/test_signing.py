"""Shared sender checks: timestamp windows, secrets, strict JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import MalformedPayload, WebhookRejected
from connector.webhooks.signing import (
    MAX_SKEW,
    check_freshness,
    digests_match,
    load_json,
    parse_epoch,
    require_header,
    verify_shared_secret,
)

NOW = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("offset", [timedelta(0), MAX_SKEW, -MAX_SKEW, timedelta(seconds=-30)])
def test_freshness_accepts_timestamps_inside_the_window(offset: timedelta) -> None:
    check_freshness(NOW - offset, NOW, "X-Test")


def test_freshness_rejects_a_stale_timestamp() -> None:
    with pytest.raises(WebhookRejected, match="X-Test is stale: 301 s old"):
        check_freshness(NOW - MAX_SKEW - timedelta(seconds=1), NOW, "X-Test")


def test_freshness_rejects_a_timestamp_from_the_future() -> None:
    with pytest.raises(WebhookRejected, match="in the future"):
        check_freshness(NOW + MAX_SKEW + timedelta(seconds=1), NOW, "X-Test")


@pytest.mark.parametrize("value", ["", "12a", "-5", "1.5", "١٢٣", "9" * 12])
def test_epoch_seconds_must_be_plain_digits_of_sane_length(value: str) -> None:
    with pytest.raises(WebhookRejected, match="X-Test is not a unix timestamp"):
        parse_epoch(value, "X-Test", millis=False)


def test_epoch_reads_seconds_and_milliseconds() -> None:
    assert parse_epoch("1767621600", "X", millis=False) == NOW
    assert parse_epoch("1767621600000", "X", millis=True) == NOW


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_header_is_rejected(value: str | None) -> None:
    with pytest.raises(WebhookRejected, match="missing X-Test header"):
        require_header(value, "X-Test")


def test_shared_secret_accepts_only_the_exact_secret() -> None:
    verify_shared_secret("s3cret-Token", "s3cret-Token", "token")
    for wrong in ("s3cret-token", "s3cret-Token ", "", None, "s3crét-Token"):
        with pytest.raises(WebhookRejected, match="wrong or missing token"):
            verify_shared_secret(wrong, "s3cret-Token", "token")


def test_shared_secret_refuses_everything_when_none_is_configured() -> None:
    with pytest.raises(WebhookRejected, match="no token is configured"):
        verify_shared_secret("", "", "token")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[NaN]", "NaN is not a JSON number"),
        (b'{"a": Infinity}', "Infinity is not a JSON number"),
        (b"\xff\xfe[]", "not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
        (b"{'single': 'quotes'}", "not valid JSON"),
    ],
)
def test_load_json_is_strict(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        load_json(body)


def test_digest_comparison_never_raises_on_odd_characters() -> None:
    assert digests_match("abc", "abc")
    assert not digests_match("abc", "\udc80bc")
    assert not digests_match("abc", "ab")
