"""A leadpool service on the sandbox CRM with a manual clock, for scenario tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from connector.adapters.sandbox import SandboxCRM
from connector.clock import ManualClock
from connector.config import load_config
from connector.config.holder import ConfigHolder
from connector.config.routing_models import RoutingConfig
from connector.events import LeadEvent
from connector.runtime import Runtime
from connector.service import Outcome, Service
from connector.store import journal, leads
from connector.store.rows import AuditRow, LeadRow
from connector.store.tables import assignments, rejections
from connector.worker import Worker

EXAMPLE = Path(__file__).resolve().parents[2] / "config"
# Monday 2026-01-05 15:00 UTC = 10:00 in New York: the example's reps are at work.
MONDAY_10_NY = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
USERS = {
    "ana": "005A0000001AAAA",
    "ben": "005A0000001BBBB",
    "cara": "005A0000001CCCC",
    "dev": "005A0000001DDDD",
    "erin": "005A0000001EEEE",
    "finn": "005A0000001FFFF",
    "gia": "005A0000001GGGG",
    "hugo": "005A0000001HHHH",
}
SMB_QUEUE = "00GA0000001SMB1"
HC_QUEUE = "00GA0000001HC01"


@dataclass
class Harness:
    """Drives the service the way a CRM and its reps would."""

    engine: Engine
    config_dir: Path = EXAMPLE
    start: datetime = MONDAY_10_NY
    clock: ManualClock = field(init=False)
    crm: SandboxCRM = field(init=False)
    service: Service = field(init=False)
    worker: Worker = field(init=False)
    cfg: RoutingConfig = field(init=False)

    def __post_init__(self) -> None:
        self.clock = ManualClock(self.start)
        holder = ConfigHolder(load_config(self.config_dir))
        self.cfg = holder.routing()
        self.crm = SandboxCRM(self.engine, self.clock)
        self.service = Service(self.engine, holder.routing, self.crm, self.clock)
        runtime = Runtime(holder, self.engine, self.crm, self.service, self.clock, self.crm)
        self.worker = Worker(runtime, ident="test-worker")

    def deliver(self, event: LeadEvent) -> Outcome:
        """Hand an event to the service and flush its CRM writes."""
        outcome = self.service.ingest_one(event)
        self.worker.flusher.flush_all()
        return outcome

    def new_lead(self, score: float | None = 50, **fields: Any) -> str:
        """Create a lead in the CRM; returns its id."""
        values = {"Email": "pat@smallco.example", "Company": "Small Co", **fields}
        if score is not None:
            values["Lead_Score__c"] = score
        return self.deliver(self.crm.create_lead(values)).lead_id

    def take(self, lead_id: str, rep: str, by: str | None = None) -> Outcome:
        """A rep (or someone, `by`) sets the owner in the CRM."""
        return self.deliver(self.crm.set_owner(lead_id, USERS.get(rep, rep), by))

    def contact(self, lead_id: str) -> Outcome:
        """The owner logs contact (status change)."""
        return self.deliver(self.crm.update_fields(lead_id, {"Status": "Working - Contacted"}))

    def advance(self, minutes: float) -> None:
        """Move the clock and let the worker fire timers and flush."""
        self.clock.advance(timedelta(minutes=minutes))
        self.worker.run_pass()

    def lead(self, lead_id: str) -> LeadRow:
        """leadpool's row for the lead."""
        with self.engine.connect() as conn:
            row = leads.get_lead(conn, "sandbox", lead_id)
        assert row is not None
        return row

    def crm_lead(self, lead_id: str) -> tuple[str | None, dict[str, Any]]:
        """(owner, fields) as the sandbox CRM holds them."""
        record = self.crm.fetch_lead(lead_id)
        assert record is not None
        return record.owner, dict(record.fields)

    def tasks(self, lead_id: str) -> list[dict[str, Any]]:
        """CRM tasks on the lead."""
        return self.crm.tasks(lead_id)

    def timeline(self, lead_id: str) -> list[AuditRow]:
        """The lead's audit trail."""
        with self.engine.connect() as conn:
            return journal.lead_timeline(conn, "sandbox", lead_id)

    def assignment_rows(self, lead_id: str) -> list[Any]:
        """The lead's assignment history."""
        with self.engine.connect() as conn:
            query = select(assignments).where(assignments.c.lead_id == lead_id)
            return list(conn.execute(query.order_by(assignments.c.id)).all())

    def lead_ids_in_pool(self, pool: str = "inbound-smb") -> list[str]:
        """Ids of the leads waiting in a pool, oldest first."""
        with self.engine.connect() as conn:
            return [row.lead_id for row in leads.pool_waiting(conn, "sandbox", pool)]

    def rejection_rules(self, rep: str) -> list[str]:
        """Rules that undid the rep's claims."""
        with self.engine.connect() as conn:
            query = select(rejections.c.rule).where(rejections.c.rep == rep)
            return list(conn.execute(query.order_by(rejections.c.id)).scalars())
