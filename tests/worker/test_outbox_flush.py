"""Outbox flushing: transient failures retry with backoff, permanent ones park and block nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Engine, select

from connector.adapters.base import Change, ChangeResult
from connector.adapters.sandbox import SandboxCRM
from connector.errors import Transient
from connector.store import outbox
from connector.store.tables import outbox as outbox_table
from tests.service.harness import SMB_QUEUE, Harness


class FlakyCRM(SandboxCRM):
    """The sandbox CRM answering its first `failures` calls with a rate limit."""

    failures = 0

    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        if self.failures > 0:
            self.failures -= 1
            self.api_calls += 1
            error = Transient("REQUEST_LIMIT_EXCEEDED", code="429", status=429, retry_after=30)
            return [ChangeResult(c, False, error=error) for c in changes]
        return super().apply(changes)


def states(engine: Engine) -> list[tuple[str, int, str | None]]:
    with engine.connect() as conn:
        query = select(outbox_table.c.state, outbox_table.c.attempts, outbox_table.c.last_error)
        return [tuple(r) for r in conn.execute(query.order_by(outbox_table.c.id))]  # type: ignore[misc]


def test_transient_failures_retry_after_retry_after(engine: Engine) -> None:
    h = Harness(engine)
    flaky = FlakyCRM(engine, h.clock)
    h.worker.flusher.adapter = flaky
    h.service.adapter = flaky
    flaky.failures = 1
    lead_id = h.service.ingest_one(flaky.create_lead({"Lead_Score__c": 40})).lead_id
    report = h.worker.flusher.flush_all()
    assert (report.applied, report.retried, report.parked) == (0, 1, 0)
    assert states(engine) == [("pending", 1, "429: REQUEST_LIMIT_EXCEEDED")]
    h.clock.advance(timedelta(seconds=29))
    assert h.worker.flusher.flush_all().applied == 0  # Retry-After: 30 s not over yet
    h.clock.advance(timedelta(seconds=2))
    assert h.worker.flusher.flush_all().applied == 1
    assert states(engine)[0][0] == "done"
    assert h.crm_lead(lead_id)[0] == SMB_QUEUE


def test_transient_failures_past_the_horizon_park(engine: Engine) -> None:
    h = Harness(engine)
    flaky = FlakyCRM(engine, h.clock)
    h.worker.flusher.adapter = flaky
    flaky.failures = 10**6
    h.service.ingest_one(flaky.create_lead({"Lead_Score__c": 40}))
    h.worker.flusher.flush_all()
    h.clock.advance(timedelta(hours=25))
    report = h.worker.flusher.flush_all()
    assert report.parked == 1
    ((state, _attempts, error),) = states(engine)
    assert state == "parked" and error is not None and error.startswith("gave up after 1 day")


def test_permanent_failure_parks_that_change_only(engine: Engine) -> None:
    h = Harness(engine)
    good = h.new_lead(score=40)
    with engine.begin() as conn:  # a change for a lead the CRM has never heard of
        outbox.enqueue(
            conn,
            "sandbox",
            "00QNOPE",
            "update_lead",
            {"lead_id": "00QNOPE", "owner": None, "pool": SMB_QUEUE, "leadpool": None},
            h.clock.now(),
        )
    h.take(good, "ben")  # the harness flushes after each delivery
    rows = states(engine)
    assert [s for s, _a, _e in rows].count("parked") == 1
    parked = next(e for s, _a, e in rows if s == "parked")
    assert parked == "NOT_FOUND: no lead 00QNOPE"
    assert h.crm_lead(good)[1]["Leadpool_Status__c"] == "CLAIMED"  # the others went through
    with engine.begin() as conn:
        assert outbox.retry_parked(conn) == 1
    assert [s for s, _a, _e in states(engine)].count("pending") == 1


def test_changes_for_one_lead_apply_in_order(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.service.ingest_one(h.crm.create_lead({"Lead_Score__c": 40})).lead_id
    h.service.ingest_one(h.crm.set_owner(lead_id, "005A0000001BBBB"))
    h.clock.advance(timedelta(minutes=16))
    h.worker.fire_due_timers()
    h.worker.flusher.flush_all()  # pooled, claimed, released: all in one flush, in order
    owner, fields = h.crm_lead(lead_id)
    assert owner == SMB_QUEUE and fields["Leadpool_Status__c"] == "POOLED"
    assert all(s == "done" for s, _a, _e in states(engine))
