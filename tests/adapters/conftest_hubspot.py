"""HubSpot adapter fixtures: a fake HubSpot on 127.0.0.1 and an adapter wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings
from connector.clock import ManualClock
from tests.fakecrm.hubspot import FakeHubSpot

HUBSPOT_TOKEN_ENV = "LEADPOOL_TEST_HUBSPOT_TOKEN"

__all__ = [
    "HUBSPOT_TOKEN_ENV",
    "Sleeper",
    "ana",
    "fake_hubspot",
    "hubspot_adapter",
    "hubspot_clock",
    "hubspot_settings",
    "hubspot_sleeper",
    "lead",
    "make_hubspot_adapter",
]


class Sleeper:
    """Stands in for time.sleep: records each wait and moves the manual clock instead."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def hubspot_clock() -> ManualClock:
    """The clock both the adapter (limiter, retry waits) and the fake (timestamps) read."""
    return ManualClock()


@pytest.fixture
def hubspot_sleeper(hubspot_clock: ManualClock) -> Sleeper:
    """The adapter's sleep: advances the manual clock, so no test waits for real."""
    return Sleeper(hubspot_clock)


@pytest.fixture
def fake_hubspot(hubspot_clock: ManualClock) -> Iterator[FakeHubSpot]:
    """A fresh fake HubSpot portal on a free port; its own answers must match the specs."""
    fake = FakeHubSpot(now=lambda: hubspot_clock.now().timestamp(), hang_seconds=2.0).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.response_problems == []


@pytest.fixture
def hubspot_settings(fake_hubspot: FakeHubSpot) -> HubSpotSettings:
    """Settings pointing at the fake, with a short timeout so timeout tests stay fast."""
    return HubSpotSettings(token_env=HUBSPOT_TOKEN_ENV, host=fake_hubspot.url, timeout_seconds=0.3)


@pytest.fixture
def make_hubspot_adapter(
    fake_hubspot: FakeHubSpot, hubspot_clock: ManualClock, hubspot_sleeper: Sleeper
) -> Callable[[HubSpotSettings], HubSpotAdapter]:
    """Build an adapter on the fake from settings (the token comes from a test environment)."""

    def build(settings: HubSpotSettings) -> HubSpotAdapter:
        return HubSpotAdapter(
            settings,
            clock=hubspot_clock,
            sleep=hubspot_sleeper,
            environ={HUBSPOT_TOKEN_ENV: fake_hubspot.token},
        )

    return build


@pytest.fixture
def hubspot_adapter(
    make_hubspot_adapter: Callable[[HubSpotSettings], HubSpotAdapter],
    hubspot_settings: HubSpotSettings,
) -> HubSpotAdapter:
    """The adapter under test, talking to the fake through hubspot-api-client."""
    return make_hubspot_adapter(hubspot_settings)


@pytest.fixture
def ana(fake_hubspot: FakeHubSpot) -> str:
    """An owner in the fake portal."""
    return fake_hubspot.portal.add_owner("ana@acme.test", "Ana", "Silva")


@pytest.fixture
def lead(fake_hubspot: FakeHubSpot) -> str:
    """A contact in the fake portal."""
    return fake_hubspot.portal.add_record("contacts", firstname="Lee", email="lee@example.com")
