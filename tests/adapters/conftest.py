"""Adapter fixtures: fake CRM servers on 127.0.0.1 (HubSpot fixtures live in conftest_hubspot)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connector.adapters.salesforce import SalesforceAdapter, SalesforceSettings
from tests.adapters.conftest_hubspot import *  # noqa: F403  (HubSpot fixtures)
from tests.fakecrm.salesforce import FakeSalesforce, running_fake_salesforce
from tests.fakecrm.tls import ThrowawayCA


@pytest.fixture(scope="session")
def throwaway_ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    """One throwaway CA per test session; its bundle is what clients trust."""
    return ThrowawayCA(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def fake_salesforce(throwaway_ca: ThrowawayCA) -> Iterator[FakeSalesforce]:
    """A fresh fake Salesforce org over TLS on a free port."""
    with running_fake_salesforce(throwaway_ca, timeout_hold=2.0) as fake:
        yield fake


@dataclass
class SalesforceWorld:
    """A seeded fake org (integration user, two reps, one queue) and an adapter factory."""

    fake: FakeSalesforce
    env: dict[str, str]
    rep_ana: str
    rep_ben: str
    queue: str
    sleeps: list[float] = field(default_factory=list)

    def adapter(self, **overrides: Any) -> SalesforceAdapter:
        """An adapter logged in through the fake; waits are recorded, never slept."""
        settings = SalesforceSettings(**{"timeout": 2.0, **overrides})
        return SalesforceAdapter(
            settings,
            session=self.fake.session(),
            environ=self.env,
            sleep=self.sleeps.append,
            jitter=lambda: 0.5,
        )


@pytest.fixture
def sf_world(fake_salesforce: FakeSalesforce) -> SalesforceWorld:
    """The fake with users and a queue, and password-login env vars for the integration user."""
    fake = fake_salesforce
    fake.add_user(
        "Integration", "integration@acme.test", password="s3cret-pass", security_token="tok3n"
    )
    return SalesforceWorld(
        fake=fake,
        env={
            "LEADPOOL_SF_USERNAME": "integration@acme.test",
            "LEADPOOL_SF_PASSWORD": "s3cret-pass",
            "LEADPOOL_SF_TOKEN": "tok3n",
        },
        rep_ana=fake.add_user("Ana Silva", "ana@acme.test"),
        rep_ben=fake.add_user("Ben Okafor", "ben@acme.test", active=False),
        queue=fake.add_queue("Inbound_SMB", "Inbound SMB"),
    )
