"""Timers: set and move, cancel, lease when due, fire exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from connector.store.timers import (
    cancel_lead_timers,
    cancel_timer,
    claim_fired_timer,
    lease_due_timers,
    next_timer_due,
    set_timer,
)
from tests.store.samples import NOW

SF = "salesforce"
LEASE = timedelta(minutes=1)


def test_a_due_timer_is_leased_once_and_fires_once(engine: Engine) -> None:
    with engine.begin() as conn:
        set_timer(conn, SF, "00Q1", "lock_expiry", NOW, {"lock_version": 3})
        set_timer(conn, SF, "00Q2", "sla", NOW + timedelta(minutes=5))
        set_timer(conn, SF, "00Q3", "escalation", NOW - timedelta(minutes=1))
    timers = lease_due_timers(engine, NOW, 10, "w1", LEASE)
    assert [(t.lead_id, t.kind) for t in timers] == [
        ("00Q3", "escalation"),
        ("00Q1", "lock_expiry"),
    ]
    assert timers[1].payload == {"lock_version": 3}
    assert {(t.leased_by, t.lease_until) for t in timers} == {("w1", NOW + LEASE)}
    assert lease_due_timers(engine, NOW, 10, "w2", LEASE) == []
    assert lease_due_timers(engine, NOW, 0, "w2", LEASE) == []
    with engine.begin() as conn:
        assert claim_fired_timer(conn, timers[1]) is True
        assert claim_fired_timer(conn, timers[1]) is False


def test_an_expired_lease_is_retaken_and_only_one_holder_fires(engine: Engine) -> None:
    with engine.begin() as conn:
        set_timer(conn, SF, "00Q1", "lock_expiry", NOW)
    (slow,) = lease_due_timers(engine, NOW, 10, "w1", LEASE)
    (fast,) = lease_due_timers(engine, NOW + LEASE, 10, "w2", LEASE)
    assert (fast.id, fast.leased_by) == (slow.id, "w2")
    with engine.begin() as conn:
        assert claim_fired_timer(conn, fast) is True
    with engine.begin() as conn:
        assert claim_fired_timer(conn, slow) is False


def test_a_timer_moved_while_leased_does_not_fire_for_the_old_holder(engine: Engine) -> None:
    with engine.begin() as conn:
        set_timer(conn, SF, "00Q1", "lock_expiry", NOW)
    (old,) = lease_due_timers(engine, NOW, 10, "w1", LEASE)
    with engine.begin() as conn:
        # A contact arrived: the lock is re-set, to the very same due time even.
        set_timer(conn, SF, "00Q1", "lock_expiry", NOW, {"reason": "re-locked"})
    with engine.begin() as conn:
        assert claim_fired_timer(conn, old) is False
    (new,) = lease_due_timers(engine, NOW, 10, "w2", LEASE)  # the re-set cleared the lease
    assert new.leased_by == "w2"
    assert new.payload == {"reason": "re-locked"}


def test_moving_a_timer_later_defers_it(engine: Engine) -> None:
    with engine.begin() as conn:
        set_timer(conn, SF, "00Q1", "sla", NOW)
        set_timer(conn, SF, "00Q1", "sla", NOW + timedelta(minutes=10))
        assert next_timer_due(conn) == NOW + timedelta(minutes=10)
    assert lease_due_timers(engine, NOW, 10, "w1", LEASE) == []
    assert len(lease_due_timers(engine, NOW + timedelta(minutes=10), 10, "w1", LEASE)) == 1


def test_cancelled_timers_do_not_fire(engine: Engine) -> None:
    with engine.begin() as conn:
        set_timer(conn, SF, "00Q1", "lock_expiry", NOW)
        set_timer(conn, SF, "00Q1", "sla", NOW)
        set_timer(conn, SF, "00Q1", "escalation", NOW)
        set_timer(conn, SF, "00Q2", "sla", NOW)
    leased = lease_due_timers(engine, NOW, 10, "w1", LEASE)
    with engine.begin() as conn:
        cancel_timer(conn, SF, "00Q1", "lock_expiry")
        cancel_timer(conn, SF, "00Q1", "never-set")
        cancel_lead_timers(conn, SF, "00Q1")
    with engine.begin() as conn:
        fired = [t.lead_id for t in leased if claim_fired_timer(conn, t)]
    assert fired == ["00Q2"]
    with engine.connect() as conn:
        assert next_timer_due(conn) is None


def test_next_timer_due_counts_a_leased_timer_from_its_lease_end(engine: Engine) -> None:
    with engine.begin() as conn:
        assert next_timer_due(conn) is None
        set_timer(conn, SF, "00Q1", "lock_expiry", NOW)
        set_timer(conn, SF, "00Q2", "sla", NOW + timedelta(hours=1))
        assert next_timer_due(conn) == NOW
    lease_due_timers(engine, NOW, 10, "w1", LEASE)
    with engine.connect() as conn:
        due = next_timer_due(conn)
    assert due == NOW + LEASE
    assert due is not None
    assert due.tzinfo is not None
