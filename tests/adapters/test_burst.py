"""A burst of 2,000 routed leads through the service and the real adapters while the CRM throttles.

The fake answers 429 for its first 30 s (of a manual clock) and 503 on one call in five; the
outbox is drained by OutboxFlusher with the clock moved past every reschedule time. In the end
every change is applied exactly once and nothing is parked.
"""

from __future__ import annotations

import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

import tests.fakecrm.salesforce as fake_salesforce_module
from connector.adapters.base import CRMAdapter
from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings
from connector.adapters.salesforce import SalesforceAdapter, SalesforceSettings
from connector.clock import ManualClock
from connector.config.routing_models import RoutingConfig
from connector.events import Crm, EventKind, LeadEvent
from connector.outbox_flush import MAX_BACKOFF, OutboxFlusher
from connector.service import Service
from connector.store import outbox
from tests.adapters.conftest import SalesforceWorld
from tests.adapters.conftest_hubspot import HUBSPOT_TOKEN_ENV, Sleeper
from tests.conftest import make_migrated_engine
from tests.fakecrm.hubspot import FakeHubSpot

pytestmark = pytest.mark.slow
BURST = 2_000
SLA_SUBJECT = "Call this lead within 5m"


def push_everything(reps: list[str]) -> RoutingConfig:
    """Every lead is pushed round-robin to the reps, with a 5-minute SLA task."""
    return RoutingConfig.model_validate(
        {
            "reps": [
                {"id": f"rep{i}", "crm_user": user, "teams": ["sales"]}
                for i, user in enumerate(reps)
            ],
            "teams": {"sales": {"manager": {"name": "Maria Lopez", "crm_user": reps[0]}}},
            "slas": {"fast": {"contact_within": "5m", "task_subject": SLA_SUBJECT}},
            "routes": [
                {"name": "all", "assign": {"round_robin": {"team": "sales"}}, "sla": "fast"}
            ],
        }
    )


def drain(engine: Engine, adapter: CRMAdapter, clock: ManualClock, crm: Crm) -> None:
    """Flush until the outbox is empty, moving the clock past every reschedule time."""
    flusher = OutboxFlusher(engine, adapter, clock, worker_id="burst")
    for _ in range(100):
        flusher.flush_all()
        with engine.connect() as conn:
            left = outbox.backlog(conn, crm)
        assert left.parked == 0
        if left.pending == 0:
            return
        clock.advance(MAX_BACKOFF + timedelta(seconds=1))
    raise AssertionError("the outbox never drained")


def route_burst(
    engine: Engine,
    adapter: CRMAdapter,
    clock: ManualClock,
    reps: list[str],
    leads: list[str],
    throttle: Callable[[], None],
) -> None:
    """Ingest a lead-created event for every lead, throttle the CRM, then drain the outbox.

    The service reads each new lead from the CRM before routing it (a failed read fails the
    webhook, which the CRM re-sends), so the faults start once every lead is routed.
    """
    config = push_everything(reps)
    service = Service(engine, lambda: config, adapter, clock)
    for n, lead in enumerate(leads):
        event = LeadEvent(
            crm=adapter.crm,
            lead_id=lead,
            kind=EventKind.CREATED,
            event_key=f"burst-{n}",
            occurred_at=clock.now(),
            fields={"Company": f"Co {n}", "Email": f"p{n}@co{n}.example"},
            snapshot=adapter.crm != Crm.HUBSPOT,  # HubSpot events name only what changed
        )
        assert service.ingest_one(event).action == "routed"
    throttle()
    drain(engine, adapter, clock, adapter.crm)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite store for the burst."""
    engine = make_migrated_engine(f"sqlite:///{tmp_path / 'store.db'}")
    yield engine
    engine.dispose()


def test_salesforce_burst_applies_every_change_once(
    sf_world: SalesforceWorld, store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    # The fake's outage window reads time.monotonic; point it at the manual clock instead.
    fake_time = types.SimpleNamespace(monotonic=lambda: clock.now().timestamp(), sleep=time.sleep)
    monkeypatch.setattr(fake_salesforce_module, "time", fake_time)
    fake = sf_world.fake
    reps = [sf_world.rep_ana, fake.add_user("Cara Diaz", "cara@acme.test")]
    leads = [fake.add_lead() for _ in range(BURST)]
    applied: list[tuple[str, dict[str, Any]]] = []
    original: Callable[[str, Any], list[dict[str, Any]]] = fake.org.collection

    def spy(method: str, body: Any) -> list[dict[str, Any]]:
        applied.extend((method, dict(r)) for r in body.get("records", []))
        return original(method, body)

    monkeypatch.setattr(fake.org, "collection", spy)
    adapter = SalesforceAdapter(
        SalesforceSettings(timeout=5.0),
        session=fake.session(),
        clock=clock,
        environ=sf_world.env,
        sleep=Sleeper(clock),
        jitter=lambda: 0.5,
    )

    def throttle() -> None:
        fake.fail_for(30, 429)
        fake.fail_every(5, 503)

    route_burst(store, adapter, clock, reps, leads, throttle)

    updates = Counter(r["Id"] for m, r in applied if m == "PATCH" and "OwnerId" in r)
    creates = Counter(r["WhoId"] for m, r in applied if m == "POST")
    assert updates == Counter(leads) and creates == Counter(leads)
    tasks = Counter(t["WhoId"] for t in fake.org.objects["Task"].values())
    assert tasks == Counter(leads)
    owners = Counter(fake.record("Lead", lead)["OwnerId"] for lead in leads)
    assert owners == {reps[0]: BURST // 2, reps[1]: BURST // 2}
    assert fake.record("Lead", leads[0])["Leadpool_Status__c"]
    assert any(r.path.endswith("/composite") for r in fake.writes())  # faults really were met


def test_hubspot_burst_applies_every_change_once(
    fake_hubspot: FakeHubSpot,
    hubspot_settings: HubSpotSettings,
    hubspot_clock: ManualClock,
    hubspot_sleeper: Sleeper,
    store: Engine,
) -> None:
    fake, clock = fake_hubspot, hubspot_clock
    reps = [fake.portal.add_owner("ana@acme.test"), fake.portal.add_owner("cara@acme.test")]
    leads = [fake.portal.add_record("contacts") for _ in range(BURST)]
    # A timed-out task create is not re-sent (it may exist), so give the loaded fake time.
    adapter = HubSpotAdapter(
        replace(hubspot_settings, timeout_seconds=5.0),
        clock=clock,
        sleep=hubspot_sleeper,
        environ={HUBSPOT_TOKEN_ENV: fake.token},
    )

    def throttle() -> None:
        fake.fail_for(30, 429)
        fake.fail_every(5, 503)

    route_burst(store, adapter, clock, reps, leads, throttle)

    ok = [c for c in fake.calls if c.status in (200, 201, 207)]
    assert {c.status for c in fake.calls} >= {429, 503}  # the faults were really met
    updates: Counter[str] = Counter()
    creates: Counter[str] = Counter()
    for call in ok:
        for item in (call.body or {}).get("inputs", []):
            if call.path.endswith("/contacts/batch/update") and "hubspot_owner_id" in item.get(
                "properties", {}
            ):
                updates[item["id"]] += 1
            if call.path.endswith("/tasks/batch/create"):
                creates.update(a["to"]["id"] for a in item["associations"])
    assert updates == Counter(leads) and creates == Counter(leads)
    tasks = Counter(
        a["to"]["id"] for t in fake.portal.records["tasks"].values() for a in t.associations
    )
    assert tasks == Counter(leads)
    owners = Counter(
        fake.portal.records["contacts"][lead].properties["hubspot_owner_id"] for lead in leads
    )
    assert owners == {reps[0]: BURST // 2, reps[1]: BURST // 2}
