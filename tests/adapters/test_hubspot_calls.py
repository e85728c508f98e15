"""HubSpot call failures through the adapter: 429, 5xx, timeouts, bad tokens, the limiter."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from connector.adapters.base import CreateTask, UpdateLead
from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings
from connector.adapters.hubspot_calls import crm_error
from connector.errors import Permanent, Transient
from tests.adapters.conftest_hubspot import HUBSPOT_TOKEN_ENV, Sleeper
from tests.fakecrm.hubspot import FakeHubSpot

CREATE_TASKS = r"/crm/v3/objects/tasks/batch/create"
DUE = datetime(2026, 1, 5, 14, 5, tzinfo=UTC)
Build = Callable[[HubSpotSettings], HubSpotAdapter]


def owner_of(fake: FakeHubSpot, record_id: str) -> str | None:
    return fake.portal.records["contacts"][record_id].properties.get("hubspot_owner_id")


def test_429_with_retry_after_is_honoured_then_succeeds(
    hubspot_adapter: HubSpotAdapter,
    fake_hubspot: FakeHubSpot,
    hubspot_sleeper: Sleeper,
    ana: str,
    lead: str,
) -> None:
    fake_hubspot.fail_next(1, 429, retry_after=3)

    [result] = hubspot_adapter.apply([UpdateLead(lead, owner=ana)])

    assert result.ok
    assert [c.status for c in fake_hubspot.calls] == [429, 200]
    assert 3.0 in hubspot_sleeper.waits
    assert owner_of(fake_hubspot, lead) == ana


def test_429_from_rolling_window_waits_for_the_window(
    make_hubspot_adapter: Build,
    hubspot_settings: HubSpotSettings,
    fake_hubspot: FakeHubSpot,
    hubspot_sleeper: Sleeper,
    lead: str,
) -> None:
    fake_hubspot.rate_limit(2)
    adapter = make_hubspot_adapter(replace(hubspot_settings, retry_horizon_seconds=60))

    records = [adapter.fetch_lead(lead) for _ in range(3)]

    assert all(r is not None for r in records)
    assert [c.status for c in fake_hubspot.calls] == [200, 200, 429, 200]
    # No Retry-After from HubSpot: the X-HubSpot-RateLimit-Interval-Milliseconds window is used.
    assert hubspot_sleeper.waits == [10.0]


def test_503_is_retried_then_succeeds(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    fake_hubspot.fail_next(2, 503)

    [result] = hubspot_adapter.apply([UpdateLead(lead, owner=ana)])

    assert result.ok
    assert [c.status for c in fake_hubspot.calls] == [503, 503, 200]


def test_outage_gives_transient_results_and_stops_calling(
    hubspot_adapter: HubSpotAdapter,
    hubspot_settings: HubSpotSettings,
    fake_hubspot: FakeHubSpot,
    hubspot_sleeper: Sleeper,
    ana: str,
) -> None:
    leads = [fake_hubspot.portal.add_record("contacts") for _ in range(150)]
    fake_hubspot.fail_for(3600, 503)

    results = hubspot_adapter.apply(
        [UpdateLead(i, owner=ana) for i in leads] + [CreateTask("t", leads[0], ana, "Call", DUE)]
    )

    assert all(isinstance(r.error, Transient) for r in results)
    assert results[0].error is not None and results[0].error.status == 503
    # Only the first batch was tried, within the attempt and time budget; the rest waits.
    attempts = len(fake_hubspot.calls)
    assert 1 < attempts <= hubspot_settings.max_attempts
    assert {c.path for c in fake_hubspot.calls} == {"/crm/v3/objects/contacts/batch/update"}
    assert sum(hubspot_sleeper.waits) <= hubspot_settings.retry_horizon_seconds


def test_timeout_is_retried_for_updates(
    make_hubspot_adapter: Build,
    hubspot_settings: HubSpotSettings,
    fake_hubspot: FakeHubSpot,
    ana: str,
    lead: str,
) -> None:
    adapter = make_hubspot_adapter(replace(hubspot_settings, max_attempts=2))
    fake_hubspot.timeout_next(1)

    [result] = adapter.apply([UpdateLead(lead, owner=ana)])

    assert result.ok
    assert [c.status for c in fake_hubspot.calls] == [0, 200]


def test_timeouts_end_in_transient_timeout(
    make_hubspot_adapter: Build,
    hubspot_settings: HubSpotSettings,
    fake_hubspot: FakeHubSpot,
    ana: str,
    lead: str,
) -> None:
    adapter = make_hubspot_adapter(replace(hubspot_settings, max_attempts=2))
    fake_hubspot.timeout_next(2)

    [result] = adapter.apply([UpdateLead(lead, owner=ana)])

    assert isinstance(result.error, Transient)
    assert result.error.code == "TIMEOUT"
    assert len(fake_hubspot.calls) == 2


def test_task_create_is_not_repeated_after_a_timeout(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    fake_hubspot.timeout_next(1)

    [result] = hubspot_adapter.apply([CreateTask("sla-1", lead, ana, "Call", DUE)])

    assert isinstance(result.error, Transient)
    assert len(fake_hubspot.requests("POST", CREATE_TASKS)) == 1


def test_limiter_keeps_every_10s_window_under_the_limit(
    make_hubspot_adapter: Build,
    hubspot_settings: HubSpotSettings,
    fake_hubspot: FakeHubSpot,
    lead: str,
) -> None:
    fake_hubspot.rate_limit(5)  # the fake enforces the same quota: any excess would be a 429
    adapter = make_hubspot_adapter(replace(hubspot_settings, requests_per_10s=5))

    for _ in range(23):
        assert adapter.fetch_lead(lead) is not None

    stamps = [c.at for c in fake_hubspot.calls]
    assert len(stamps) == 23 and all(c.status == 200 for c in fake_hubspot.calls)
    assert max(sum(1 for s in stamps if t <= s < t + 10) for t in stamps) == 5
    assert stamps[-1] - stamps[0] >= 40  # 23 calls at 5 per 10 s need at least 4 more windows


def test_bad_token_is_transient_unauthorized_without_retry(
    hubspot_settings: HubSpotSettings, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    adapter = HubSpotAdapter(hubspot_settings, environ={HUBSPOT_TOKEN_ENV: "revoked"})

    [result] = adapter.apply([UpdateLead(lead, owner=ana)])

    assert isinstance(result.error, Transient)
    assert (result.error.code, result.error.status) == ("UNAUTHORIZED", 401)
    assert "Authentication credentials not found" in str(result.error)
    assert [c.status for c in fake_hubspot.calls] == [401]
    assert owner_of(fake_hubspot, lead) is None


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (
            429,
            {"policyName": "TEN_SECONDLY_ROLLING", "message": "slow down"},
            {},
            (Transient, 10.0),
        ),
        (429, {"message": "slow down"}, {"Retry-After": "4"}, (Transient, 4.0)),
        (429, {"policyName": "DAILY", "message": "daily limit"}, {}, (Transient, 3600.0)),
        (502, None, {}, (Transient, None)),
        (403, {"message": "missing scopes", "category": "MISSING_SCOPES"}, {}, (Transient, None)),
        (404, {"message": "gone", "category": "OBJECT_NOT_FOUND"}, {}, (Permanent, None)),
    ],
)
def test_hubspot_failures_map_to_transient_or_permanent(
    status: int,
    body: dict[str, str] | None,
    headers: dict[str, str],
    expected: tuple[type[Exception], float | None],
) -> None:
    raw = json.dumps(body).encode() if body is not None else b"<html>Bad gateway</html>"

    error = crm_error(status, raw, headers, "reason phrase")

    kind, retry_after = expected
    assert type(error) is kind
    assert error.status == status
    assert getattr(error, "retry_after", None) == retry_after
    assert str(error) == (body or {}).get("message", "reason phrase")
