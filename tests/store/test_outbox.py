"""The outbox: queueing, leasing (never two holders), per-lead order, bookkeeping, backlog."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from connector.store.engine import is_postgres
from connector.store.outbox import (
    backlog,
    enqueue,
    lease_due,
    mark_done,
    park,
    parked_rows,
    reschedule,
    retry_parked,
)
from connector.store.rows import Backlog
from connector.store.tables import outbox
from tests.store.samples import NOW

SF = "salesforce"
LEASE = timedelta(minutes=2)


def _enqueue(engine: Engine, *lead_ids: str, at: datetime = NOW) -> list[int]:
    with engine.begin() as conn:
        return [
            enqueue(conn, SF, lead_id, "update_lead", {"OwnerId": f"005-{i}"}, at)
            for i, lead_id in enumerate(lead_ids)
        ]


def test_enqueue_then_lease_hands_out_rows_oldest_first(engine: Engine) -> None:
    ids = _enqueue(engine, "L1", "L2", "L3")
    with engine.begin() as conn:
        enqueue(conn, "hubspot", "101", "update_lead", {}, NOW)
        enqueue(conn, SF, "L9", "update_lead", {}, NOW + timedelta(minutes=5))  # not yet due
    rows = lease_due(engine, SF, NOW, 10, "w1", LEASE)
    assert [r.id for r in rows] == ids
    assert rows[0].payload == {"OwnerId": "005-0"}
    assert {(r.leased_by, r.lease_until, r.state, r.attempts) for r in rows} == {
        ("w1", NOW + LEASE, "pending", 0)
    }
    assert rows[0].created_at == NOW
    assert lease_due(engine, SF, NOW, 0, "w1", LEASE) == []


def test_limit_is_respected(engine: Engine) -> None:
    ids = _enqueue(engine, "L1", "L2", "L3")
    assert [r.id for r in lease_due(engine, SF, NOW, 2, "w1", LEASE)] == ids[:2]
    assert [r.id for r in lease_due(engine, SF, NOW, 2, "w2", LEASE)] == ids[2:]


def test_a_held_lease_is_not_taken_but_an_expired_one_is(engine: Engine) -> None:
    ids = _enqueue(engine, "L1")
    assert [r.id for r in lease_due(engine, SF, NOW, 10, "w1", LEASE)] == ids
    assert lease_due(engine, SF, NOW + LEASE - timedelta(seconds=1), 10, "w2", LEASE) == []
    retaken = lease_due(engine, SF, NOW + LEASE, 10, "w2", LEASE)
    assert [(r.id, r.leased_by, r.lease_until) for r in retaken] == [
        (ids[0], "w2", NOW + 2 * LEASE)
    ]


def test_bookkeeping_by_a_worker_whose_lease_was_taken_over_is_refused(engine: Engine) -> None:
    first, second = _enqueue(engine, "L1", "L2")
    lease_due(engine, SF, NOW, 10, "w1", LEASE)
    lease_due(engine, SF, NOW + LEASE, 10, "w2", LEASE)  # w1 was too slow
    with engine.begin() as conn:
        refused = mark_done(conn, {first: "00Q1", second: None}, NOW, worker_id="w1")
        assert reschedule(conn, first, NOW, "boom", worker_id="w1") is False
        assert park(conn, first, "bad id", NOW, worker_id="w1") is False
    assert refused == {first, second}
    rows = lease_due(engine, SF, NOW + 2 * LEASE, 10, "w3", LEASE)
    assert [(r.id, r.state, r.attempts, r.crm_id) for r in rows] == [
        (first, "pending", 0, None),
        (second, "pending", 0, None),
    ]


def test_mark_done_applies_only_the_rows_still_held(engine: Engine) -> None:
    first, second = _enqueue(engine, "L1", "L2")
    lease_due(engine, SF, NOW, 1, "w1", LEASE)
    lease_due(engine, SF, NOW, 1, "w2", LEASE)
    with engine.begin() as conn:
        refused = mark_done(conn, {first: "00T1", second: "00T2"}, NOW, worker_id="w1")
        assert mark_done(conn, {}, NOW, worker_id="w1") == frozenset()
        assert backlog(conn) == Backlog(pending=1, parked=0, oldest_pending_at=NOW)
    assert refused == {second}
    # The done row is never leased again; the other is still w2's.
    assert lease_due(engine, SF, NOW + LEASE, 10, "w3", LEASE)[0].id == second


def test_reschedule_counts_the_attempt_and_frees_the_row(engine: Engine) -> None:
    (row_id,) = _enqueue(engine, "L1")
    lease_due(engine, SF, NOW, 10, "w1", LEASE)
    retry_at = NOW + timedelta(seconds=30)
    with engine.begin() as conn:
        assert reschedule(conn, row_id, retry_at, "503 Service Unavailable", worker_id="w1")
    assert lease_due(engine, SF, retry_at - timedelta(seconds=1), 10, "w2", LEASE) == []
    (row,) = lease_due(engine, SF, retry_at, 10, "w2", LEASE)
    assert (row.attempts, row.last_error, row.next_try_at) == (
        1,
        "503 Service Unavailable",
        retry_at,
    )


def test_changes_to_one_lead_are_leased_in_order_and_to_one_worker(engine: Engine) -> None:
    a1, b1, a2, a3 = _enqueue(engine, "A", "B", "A", "A")
    (row,) = lease_due(engine, SF, NOW, 1, "w1", LEASE)
    assert row.id == a1
    # A's next changes wait while w1 holds A's first one; B's is free.
    assert [r.id for r in lease_due(engine, SF, NOW, 10, "w2", LEASE)] == [b1]
    with engine.begin() as conn:
        assert reschedule(conn, a1, NOW + timedelta(minutes=1), "429", worker_id="w1")
    # The failed older change waits for its retry, and so do the newer ones behind it.
    assert lease_due(engine, SF, NOW, 10, "w3", LEASE) == []
    later = NOW + timedelta(minutes=1)
    assert [r.id for r in lease_due(engine, SF, later, 10, "w3", LEASE)] == [a1, a2, a3]


def test_a_parked_change_no_longer_blocks_its_lead(engine: Engine) -> None:
    a1, a2 = _enqueue(engine, "A", "A")
    lease_due(engine, SF, NOW, 1, "w1", LEASE)
    with engine.begin() as conn:
        assert park(conn, a1, "INVALID_CROSS_REFERENCE_KEY", NOW, worker_id="w1")
    assert [r.id for r in lease_due(engine, SF, NOW, 10, "w2", LEASE)] == [a2]


def test_park_backlog_and_retry(engine: Engine) -> None:
    ids = _enqueue(engine, "L1", "L2", "L3", "L4")
    lease_due(engine, SF, NOW, 10, "w1", LEASE)
    with engine.begin() as conn:
        for minutes, row_id in enumerate(ids[:3]):
            error = f"MALFORMED_ID {row_id}"
            assert park(conn, row_id, error, NOW + timedelta(minutes=minutes), worker_id="w1")
        assert backlog(conn) == Backlog(pending=1, parked=3, oldest_pending_at=NOW)
        assert backlog(conn, "hubspot") == Backlog(pending=0, parked=0, oldest_pending_at=None)
        parked = parked_rows(conn, 2)
        assert [(r.id, r.state, r.attempts) for r in parked] == [
            (ids[2], "parked", 1),
            (ids[1], "parked", 1),
        ]
        assert parked[0].last_error == f"MALFORMED_ID {ids[2]}"
        assert parked[0].parked_at == NOW + timedelta(minutes=2)
        assert retry_parked(conn, []) == 0
        assert retry_parked(conn, [ids[0], ids[3]]) == 1  # ids[3] is not parked
        assert backlog(conn).parked == 2
        assert retry_parked(conn) == 2
        assert backlog(conn) == Backlog(pending=4, parked=0, oldest_pending_at=NOW)
    retried = lease_due(engine, SF, NOW + LEASE, 10, "w2", LEASE)
    assert [(r.id, r.attempts, r.parked_at) for r in retried] == [(i, 0, None) for i in ids]


def test_naive_now_is_refused(engine: Engine) -> None:
    _enqueue(engine, "L1")
    with pytest.raises(ValueError, match="naive"):
        lease_due(engine, SF, datetime(2026, 1, 5, 14, 0), 10, "w1", LEASE)
    assert len(lease_due(engine, SF, NOW, 10, "w1", LEASE)) == 1


def test_rows_behind_one_another_worker_is_locking_are_not_leased(engine: Engine) -> None:
    if not is_postgres(engine):
        pytest.skip("SQLite has one writer at a time; no lease can be in flight meanwhile")
    a1, b1, a2 = _enqueue(engine, "A", "B", "A")
    with engine.begin() as other:
        # Another worker is inside lease_due and has locked A's first change, not committed.
        other.execute(select(outbox.c.id).where(outbox.c.id == a1).with_for_update())
        rows = lease_due(engine, SF, NOW, 10, "w2", LEASE)
    assert [r.id for r in rows] == [b1]
    assert [r.id for r in lease_due(engine, SF, NOW, 10, "w3", LEASE)] == [a1, a2]
