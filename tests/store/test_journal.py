"""Seen events, audit, assignments and rep loads, rejections, tasks, rotations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from connector.store.engine import ConcurrentUpdate, MissingRow
from connector.store.journal import (
    add_assignment,
    add_audit,
    add_rejection,
    add_task,
    close_task,
    end_open_assignment,
    get_rotation,
    get_task,
    lead_timeline,
    mark_assignment_contacted,
    mark_event_seen,
    open_tasks,
    put_rotation,
    rep_loads,
    set_task_crm_id,
)
from connector.store.rows import RepLoad
from connector.store.tables import rejections
from tests.store.samples import NOW

SF = "salesforce"


def test_an_event_key_is_seen_once_per_crm(engine: Engine) -> None:
    with engine.begin() as conn:
        assert mark_event_seen(conn, SF, "04l-1", "00Q1", NOW) is True
        assert mark_event_seen(conn, SF, "04l-1", "00Q1", NOW) is False
        assert mark_event_seen(conn, "hubspot", "04l-1", "101", NOW) is True
    with engine.begin() as conn:
        assert mark_event_seen(conn, SF, "04l-1", "00Q1", NOW + timedelta(hours=1)) is False


def test_a_rolled_back_event_is_not_seen(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        mark_event_seen(conn, SF, "04l-2", "00Q1", NOW)
        raise RuntimeError("routing failed")
    with engine.begin() as conn:
        assert mark_event_seen(conn, SF, "04l-2", "00Q1", NOW) is True


def test_timeline_is_ordered_by_time_then_insertion(engine: Engine) -> None:
    with engine.begin() as conn:
        add_audit(conn, SF, "00Q1", NOW + timedelta(minutes=2), "ana", "claimed", "ana took it")
        add_audit(conn, SF, "00Q1", NOW, "leadpool", "pooled", "no route matched", "04l-1")
        add_audit(
            conn,
            SF,
            "00Q1",
            NOW + timedelta(minutes=2),
            "leadpool",
            "locked",
            "15 min lock",
            details={"lock_minutes": 15},
        )
        add_audit(conn, SF, "00Q2", NOW, "leadpool", "pooled", "other lead")
    with engine.connect() as conn:
        timeline = lead_timeline(conn, SF, "00Q1")
    assert [(a.action, a.at) for a in timeline] == [
        ("pooled", NOW),
        ("claimed", NOW + timedelta(minutes=2)),
        ("locked", NOW + timedelta(minutes=2)),
    ]
    assert timeline[0].event_key == "04l-1"
    assert timeline[0].details == {}
    assert timeline[2].details == {"lock_minutes": 15}


def test_assignment_lifecycle(engine: Engine) -> None:
    with engine.begin() as conn:
        first = add_assignment(
            conn,
            SF,
            "00Q1",
            "ana",
            "pull",
            NOW,
            pool="inbound-smb",
            score=40.0,
            pool_mean_score=55.5,
        )
        mark_assignment_contacted(conn, SF, "00Q1", NOW + timedelta(minutes=3))
        mark_assignment_contacted(conn, SF, "00Q1", NOW + timedelta(minutes=9))
        ended = end_open_assignment(conn, SF, "00Q1", NOW + timedelta(hours=1), "converted")
        assert end_open_assignment(conn, SF, "00Q1", NOW + timedelta(hours=2), "released") is None
        second = add_assignment(conn, SF, "00Q1", "bo", "push", NOW, route="hot")
    assert second > first
    assert ended is not None
    assert (ended.id, ended.rep, ended.source, ended.end_reason) == (
        first,
        "ana",
        "pull",
        "converted",
    )
    assert ended.contacted_at == NOW + timedelta(minutes=3)
    assert ended.ended_at == NOW + timedelta(hours=1)
    assert (ended.score, ended.pool_mean_score, ended.pool) == (40.0, 55.5, "inbound-smb")


def test_rep_loads_counts_in_grouped_queries(engine: Engine) -> None:
    now = NOW + timedelta(days=2)  # a Wednesday
    day = now.replace(hour=0)
    week = day - timedelta(days=day.weekday())
    yesterday = day - timedelta(hours=5)
    last_week = week - timedelta(days=1)
    with engine.begin() as conn:
        # ana: an old pull still open and uncontacted, a pull today contacted, a rejected
        # pull today, a push this week but not today that ended.
        add_assignment(conn, SF, "L1", "ana", "pull", last_week, score=10.0)
        add_assignment(conn, SF, "L2", "ana", "pull", now, score=90.0)
        mark_assignment_contacted(conn, SF, "L2", now)
        add_assignment(conn, SF, "L3", "ana", "pull", now + timedelta(minutes=1), score=20.0)
        end_open_assignment(conn, SF, "L3", now + timedelta(minutes=1), "rejected")
        add_assignment(conn, SF, "L4", "ana", "push", yesterday, score=70.0)
        end_open_assignment(conn, SF, "L4", now, "reassigned")
        add_assignment(conn, SF, "L5", "ana", "pull", yesterday, score=None)
        end_open_assignment(conn, SF, "L5", now, "released")
        # bo: one push today, open.
        add_assignment(conn, SF, "L6", "bo", "push", now)
        # cy: someone not asked about.
        add_assignment(conn, SF, "L7", "cy", "pull", now, score=5.0)
    with engine.connect() as conn:
        loads = rep_loads(conn, ["ana", "bo", "dee"], day, week, diversity_window=2)
        wide = rep_loads(conn, ["ana"], day, week, diversity_window=10)
        none = rep_loads(conn, ["ana"], day, week, diversity_window=0)
        assert rep_loads(conn, [], day, week, diversity_window=3) == {}
    assert loads == {
        "ana": RepLoad(
            open_leads=2,
            assigned_today=1,
            assigned_week=3,
            open_claims=1,
            claims_today=1,
            releases_today=1,  # L5, claimed yesterday, released today
            recent_claim_scores=(90.0, None),
        ),
        "bo": RepLoad(open_leads=1, assigned_today=1, assigned_week=1),
        "dee": RepLoad(),
    }
    assert wide["ana"].recent_claim_scores == (90.0, None, 10.0)
    assert none["ana"].recent_claim_scores == ()


def test_rejections_are_recorded(engine: Engine) -> None:
    with engine.begin() as conn:
        add_rejection(conn, SF, "00Q1", "ana", "hoarding", "ana holds 10 uncontacted", NOW)
    with engine.connect() as conn:
        row = conn.execute(select(rejections)).mappings().one()
    assert (row["rep"], row["rule"], row["reason"]) == (
        "ana",
        "hoarding",
        "ana holds 10 uncontacted",
    )


def test_task_lifecycle(engine: Engine) -> None:
    with engine.begin() as conn:
        add_task(conn, "sla:1", SF, "00Q1", "ana", "sla", "Call within 5 min", NOW)
        add_task(conn, "claim:1", SF, "00Q1", "ana", "claim", "Work it", NOW - timedelta(1))
        add_task(conn, "sla:2", SF, "00Q2", "bo", "sla", "Call", NOW)
    with engine.begin() as conn:
        assert [t.key for t in open_tasks(conn, SF, "00Q1")] == ["claim:1", "sla:1"]
        assert [t.key for t in open_tasks(conn, SF, "00Q1", kind="sla")] == ["sla:1"]
        set_task_crm_id(conn, "sla:1", "00T000000000001")
        close_task(conn, "sla:1")
        close_task(conn, "sla:1")
    with engine.connect() as conn:
        task = get_task(conn, "sla:1")
        assert [t.key for t in open_tasks(conn, SF, "00Q1")] == ["claim:1"]
        assert get_task(conn, "nope") is None
    assert task is not None
    assert (task.state, task.crm_task_id, task.owner, task.due_at) == (
        "completed",
        "00T000000000001",
        "ana",
        NOW,
    )


def test_task_errors(engine: Engine) -> None:
    with engine.begin() as conn:
        add_task(conn, "sla:1", SF, "00Q1", "ana", "sla", "Call", NOW)
    taken = pytest.raises(ConcurrentUpdate, match="task 'sla:1' already exists")
    with taken, engine.begin() as conn:
        add_task(conn, "sla:1", SF, "00Q1", "bo", "sla", "Call", NOW)
    with pytest.raises(MissingRow, match="no task with key 'gone'"), engine.begin() as conn:
        set_task_crm_id(conn, "gone", "00T1")
    with pytest.raises(MissingRow, match="no task with key 'gone'"), engine.begin() as conn:
        close_task(conn, "gone")
    with engine.connect() as conn:
        task = get_task(conn, "sla:1")
    assert task is not None
    assert task.owner == "ana"


def test_rotation_insert_then_compare_and_set(engine: Engine) -> None:
    with engine.begin() as conn:
        assert get_rotation(conn, "team:smb") is None
        put_rotation(conn, "team:smb", {"cursor": 0, "current": {"ana": 0}}, None)
        assert get_rotation(conn, "team:smb") == ({"cursor": 0, "current": {"ana": 0}}, 1)
        put_rotation(conn, "team:smb", {"cursor": 1}, 1)
        assert get_rotation(conn, "team:smb") == ({"cursor": 1}, 2)
    with pytest.raises(ConcurrentUpdate, match="no longer at version 1"), engine.begin() as conn:
        put_rotation(conn, "team:smb", {"cursor": 9}, 1)
    with pytest.raises(ConcurrentUpdate, match="created by another"), engine.begin() as conn:
        put_rotation(conn, "team:smb", {"cursor": 9}, None)
    with pytest.raises(ConcurrentUpdate), engine.begin() as conn:
        put_rotation(conn, "team:unknown", {"cursor": 9}, 1)
    with engine.connect() as conn:
        assert get_rotation(conn, "team:smb") == ({"cursor": 1}, 2)
        assert get_rotation(conn, "team:unknown") is None
        assert conn.execute(select(func.count()).select_from(rejections)).scalar_one() == 0
