"""CRM API calls per routed lead, with 100 ms of latency per call on the fake CRMs.

Run as `python -m bench.crm_calls [N]` from the repository root (it uses the test fakes).
For Salesforce and HubSpot it routes (a) a burst of N leads (default 1,000), every one
pushed with an SLA task, ingesting all events before flushing the outbox, and (b) a single
lead on its own; it prints calls per lead (reads during ingest, writes during the flush) and
wall time.
Goals: burst <= 0.05 calls/lead on Salesforce, <= 0.1 on HubSpot; a single lead <= 2 calls.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from connector.adapters.base import CRMAdapter
from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings
from connector.adapters.salesforce import SalesforceAdapter, SalesforceSettings
from connector.clock import ManualClock
from connector.config.routing_models import RoutingConfig
from connector.events import Crm, EventKind, LeadEvent
from connector.outbox_flush import OutboxFlusher
from connector.service import Service
from connector.store.engine import migrate, open_engine
from tests.fakecrm.hubspot import FakeHubSpot
from tests.fakecrm.salesforce import running_fake_salesforce
from tests.fakecrm.tls import ThrowawayCA

LATENCY = 0.1
TOKEN_ENV = "LEADPOOL_BENCH_HUBSPOT_TOKEN"
# A world where seeding returns (adapter, reps, new_lead factory).
World = tuple[CRMAdapter, list[str], Callable[[], str]]


def push_with_sla(reps: list[str], sla: bool = True) -> RoutingConfig:
    """Every lead is pushed round-robin to the reps, with a 5-minute SLA task (or none)."""
    route: dict[str, object] = {"name": "all", "assign": {"round_robin": {"team": "sales"}}}
    if sla:
        route["sla"] = "fast"
    return RoutingConfig.model_validate(
        {
            "reps": [
                {"id": f"rep{i}", "crm_user": user, "teams": ["sales"]}
                for i, user in enumerate(reps)
            ],
            "teams": {"sales": {"manager": {"name": "Maria Lopez", "crm_user": reps[0]}}},
            "slas": {"fast": {"contact_within": "5m"}},
            "routes": [route],
        }
    )


@contextmanager
def salesforce(workdir: Path) -> Iterator[World]:
    """A fake Salesforce org with two reps and a password-login adapter."""
    with running_fake_salesforce(ThrowawayCA(workdir)) as fake:
        fake.add_user("Integration", "int@acme.test", password="pw", security_token="tk")
        reps = [fake.add_user("Ana", "ana@acme.test"), fake.add_user("Cara", "cara@acme.test")]
        env = {
            "LEADPOOL_SF_USERNAME": "int@acme.test",
            "LEADPOOL_SF_PASSWORD": "pw",
            "LEADPOOL_SF_TOKEN": "tk",
        }
        adapter = SalesforceAdapter(SalesforceSettings(), session=fake.session(), environ=env)
        fake.latency(LATENCY)
        yield adapter, reps, fake.add_lead


@contextmanager
def hubspot(workdir: Path) -> Iterator[World]:
    """A fake HubSpot portal with two owners and a token adapter."""
    fake = FakeHubSpot().start()
    try:
        reps = [fake.portal.add_owner("ana@acme.test"), fake.portal.add_owner("cara@acme.test")]
        settings = HubSpotSettings(token_env=TOKEN_ENV, host=fake.url, timeout_seconds=10.0)
        adapter = HubSpotAdapter(settings, environ={TOKEN_ENV: fake.token})
        fake.latency(LATENCY)
        yield adapter, reps, lambda: fake.portal.add_record("contacts")
    finally:
        fake.stop()


DELIVERY = 100


def run(world: World, workdir: Path, count: int, sla: bool = True) -> tuple[int, int, float]:
    """Ingest `count` lead-created events, then flush; returns (read calls, write calls, s)."""
    adapter, reps, new_lead = world
    engine = open_engine(f"sqlite:///{workdir / f'store-{count}.db'}")
    migrate(engine)
    clock = ManualClock()
    config = push_with_sla(reps, sla)
    service = Service(engine, lambda: config, adapter, clock)
    leads = [new_lead() for _ in range(count)]
    calls: Callable[[], int] = lambda: int(getattr(adapter, "api_calls", 0))  # noqa: E731
    start, before = time.perf_counter(), calls()
    events = [
        LeadEvent(
            crm=adapter.crm,
            lead_id=lead,
            kind=EventKind.CREATED,
            event_key=f"bench-{count}-{n}",
            occurred_at=clock.now(),
            # An Outbound Message carries the lead's fields; HubSpot's contact.creation
            # carries none, so the service reads those contacts first.
            fields={"Company": f"Co {n}"} if adapter.crm == Crm.SALESFORCE else {},
            snapshot=adapter.crm == Crm.SALESFORCE,
        )
        for n, lead in enumerate(leads)
    ]
    # Both CRMs deliver up to 100 events a request (Outbound Message notifications, HubSpot
    # webhook batches); the service reads a delivery's unknown leads in one batch.
    for start_at in range(0, len(events), DELIVERY):
        service.ingest(events[start_at : start_at + DELIVERY])
    reads = calls() - before
    OutboxFlusher(engine, adapter, clock, worker_id="bench").flush_all()
    writes = calls() - before - reads
    engine.dispose()
    return reads, writes, time.perf_counter() - start


def main() -> None:
    """Print the figures for both CRMs."""
    burst = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fakes' request lines
    print(f"{'crm':<11} {'case':<12} {'leads':>6} {'reads':>6} {'writes':>6} {'calls/lead':>10} "
          f"{'wall s':>8}")  # fmt: skip
    for name, factory in (("salesforce", salesforce), ("hubspot", hubspot)):
        for case, count, sla in (
            ("burst", burst, True),
            ("single", 1, True),
            ("single-nosla", 1, False),
        ):
            with tempfile.TemporaryDirectory() as tmp, factory(Path(tmp)) as world:
                reads, writes, wall = run(world, Path(tmp), count, sla)
            per_lead = (reads + writes) / count
            print(f"{name:<11} {case:<12} {count:>6} {reads:>6} {writes:>6} {per_lead:>10.3f} "
                  f"{wall:>8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
