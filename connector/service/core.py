"""Service: dedupe, one transaction per event or timer, retries when a compare-and-set loses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from sqlalchemy import Connection, Engine

from connector.adapters.base import CRMAdapter, LeadRecord
from connector.clock import Clock
from connector.config.routing_models import RoutingConfig
from connector.errors import UnknownLead
from connector.events import CHANGED_BY_FIELD as CHANGED_BY
from connector.events import Crm, LeadEvent
from connector.service import fired, intake
from connector.service.context import Tx
from connector.store import journal, leads, timers
from connector.store.engine import ConcurrentUpdate, is_sqlite, reading
from connector.store.rows import TimerRow

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Outcome:
    """What one event or timer did to a lead."""

    lead_id: str
    action: str  # routed | updated | duplicate | unknown_lead | ignored | fired | stale_timer
    state: str | None = None
    reason: str = ""


class Service:
    """Applies lead events and timers to the store; everything CRM-bound goes to the outbox."""

    def __init__(
        self,
        engine: Engine,
        routing: Callable[[], RoutingConfig],
        adapter: CRMAdapter,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.routing = routing
        self.adapter = adapter
        self.clock = clock
        self.crm: Crm = adapter.crm

    def _in_tx(
        self, work: Callable[[Tx], T], event_key: str | None = None, conn: Connection | None = None
    ) -> T:
        """Run work in its own transaction, or in a savepoint of `conn`; retry lost CAS."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with conn.begin_nested() if conn is not None else self.engine.begin() as scope:
                    db = conn if conn is not None else scope
                    assert isinstance(db, Connection)
                    tx = Tx(db, self.routing(), self.crm, self.clock.now(), event_key)
                    return work(tx)
            except ConcurrentUpdate:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("compare-and-set lost, retrying", extra={"event_key": event_key})
        raise AssertionError("unreachable")

    def ingest(self, events: Sequence[LeadEvent]) -> list[Outcome]:
        """Apply a delivery's events in order, each atomically; committed before returning."""
        events = self._owners_for_users(events)
        records = self._prefetch(events)
        applies = [(partial(self._apply, event=e, records=records), e.event_key) for e in events]
        if len(events) < 2 or not is_sqlite(self.engine):
            outcomes = [self._in_tx(apply, key) for apply, key in applies]
        else:
            # SQLite has one writer at a time, so a transaction per event buys no concurrency
            # and costs a lock round trip each; a delivery shares one, each event in its
            # savepoint.
            with self.engine.begin() as conn:
                outcomes = [self._in_tx(apply, key, conn) for apply, key in applies]
        if log.isEnabledFor(logging.INFO):
            for event, outcome in zip(events, outcomes, strict=True):
                log.info(
                    "lead event applied",
                    extra={
                        "lead_id": event.lead_id,
                        "event_id": event.event_key,
                        "kind": str(event.kind),
                        "action": outcome.action,
                        "state": outcome.state,
                        "reason": outcome.reason,
                    },
                )
        return outcomes

    def ingest_one(self, event: LeadEvent) -> Outcome:
        """Apply one event: dedupe, load the lead (fetching it from the CRM if new), decide."""
        return self.ingest([event])[0]

    def _owners_for_users(self, events: Sequence[LeadEvent]) -> Sequence[LeadEvent]:
        # HubSpot webhooks name the *user* who changed a record, while reps are configured
        # by owner id; the adapter maps one to the other (outside any transaction).
        out = []
        for event in events:
            user = event.fields.get(CHANGED_BY)
            if user:
                owner = self.adapter.owner_of_user(str(user))
                event = replace(event, fields={**event.fields, CHANGED_BY: owner or f"user:{user}"})
            out.append(event)
        return out

    def _prefetch(self, events: Sequence[LeadEvent]) -> dict[str, LeadRecord | None]:
        # CRM calls stay outside transactions, and a delivery's unknown leads are read in one
        # batch. Only events that are not a snapshot of the lead need a read.
        wanted = [e.lead_id for e in events if _needs_record(e)]
        if not wanted:
            return {}
        with reading(self.engine) as conn:
            known = leads.known_ids(conn, self.crm, wanted)
        missing = [i for i in dict.fromkeys(wanted) if i not in known]
        if not missing:
            return {}
        found = self.adapter.fetch_leads(missing)
        return {i: found.get(i) for i in missing}

    def _apply(self, tx: Tx, event: LeadEvent, records: dict[str, LeadRecord | None]) -> Outcome:
        if not journal.mark_event_seen(tx.conn, self.crm, event.event_key, event.lead_id, tx.now):
            return Outcome(event.lead_id, "duplicate", reason="event already applied")
        lead = leads.get_lead(tx.conn, self.crm, event.lead_id)
        if lead is None:
            record = records.get(event.lead_id)
            if record is None and _needs_record(event):
                reason = f"the CRM does not know lead {event.lead_id}"
                tx.audit(event.lead_id, "crm", "unknown_lead", reason, kind=event.kind)
                return Outcome(event.lead_id, "unknown_lead", reason=reason)
            routed = intake.new_lead(tx, event, record)
            return Outcome(routed.lead_id, "routed", routed.state, tx.notes[-1] if tx.notes else "")
        after = intake.known_lead(tx, lead, event)
        action = "updated" if after.version != lead.version else "ignored"
        return Outcome(after.lead_id, action, after.state, "; ".join(tx.notes[-2:]))

    def note_unrouted(self, object_type: str, record_id: str, event_key: str, reason: str) -> bool:
        """Acknowledge and audit an event leadpool does not route; False if already noted."""

        def work(tx: Tx) -> bool:
            if not journal.mark_event_seen(tx.conn, self.crm, event_key, record_id, tx.now):
                return False
            tx.audit(record_id, "crm", "not_routed", reason, object_type=object_type)
            return True

        return self._in_tx(work, event_key)

    def fire_timer(self, timer: TimerRow) -> Outcome:
        """Apply a due timer taken by a worker; one re-set or cancelled meanwhile is skipped."""

        def work(tx: Tx) -> Outcome:
            if not timers.claim_fired_timer(tx.conn, timer):
                return Outcome(timer.lead_id, "stale_timer")
            lead = leads.get_lead(tx.conn, timer.crm, timer.lead_id)
            if lead is None:
                raise UnknownLead(f"timer {timer.id} points at unknown lead {timer.lead_id}")
            after = fired.fire(tx, lead, timer)
            log.info(
                "timer fired",
                extra={"lead_id": lead.lead_id, "timer": timer.kind, "state": after.state},
            )
            return Outcome(after.lead_id, "fired", after.state, "; ".join(tx.notes[-2:]))

        return self._in_tx(work, f"timer:{timer.kind}:{timer.id}")


def _needs_record(event: LeadEvent) -> bool:
    """Whether a first event about a lead lacks what routing needs (the CRM must be read)."""
    return not event.fields or not event.snapshot
