"""The leads table on SQLite and PostgreSQL: load, insert, compare-and-set, pool queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select

from connector.store.engine import ConcurrentUpdate
from connector.store.leads import (
    cas_update_lead,
    count_by_state,
    get_lead,
    insert_lead,
    leads_owned,
    pool_waiting,
)
from connector.store.tables import leads
from tests.store.samples import NOW, lead_row


def test_insert_then_get_round_trips_every_field(engine: Engine) -> None:
    row = lead_row(
        owner="ana",
        owner_crm="005A0000001",
        owner_at=NOW,
        source="pull",
        escalation_step=1,
        routed_at=NOW,
        claimed_at=NOW + timedelta(minutes=1),
        lock_expires_at=NOW + timedelta(minutes=16),
        sla_due_at=NOW + timedelta(minutes=5),
        fields={"Company": "Acme", "nested": {"a": [1, 2]}},
    )
    with engine.begin() as conn:
        insert_lead(conn, row)
    with engine.connect() as conn:
        assert get_lead(conn, "salesforce", row.lead_id) == row
        assert get_lead(conn, "hubspot", row.lead_id) is None


def test_times_in_other_zones_come_back_as_the_same_instant_in_utc(engine: Engine) -> None:
    eastern = timezone(timedelta(hours=-5))
    created = datetime(2026, 1, 5, 9, 0, tzinfo=eastern)
    with engine.begin() as conn:
        insert_lead(conn, lead_row(created_at=created, pooled_at=created, updated_at=created))
    with engine.connect() as conn:
        lead = get_lead(conn, "salesforce", "00Q000000000001")
        raw = conn.execute(select(leads.c.created_at)).scalar_one()
    assert lead is not None
    assert lead.created_at == created
    assert lead.created_at.tzinfo is UTC
    assert lead.created_at.hour == 14
    # What the driver hands back differs (SQLite: naive UTC); the repository evens it out.
    assert raw.replace(tzinfo=raw.tzinfo or UTC) == created


def test_naive_time_is_refused_and_nothing_is_written(engine: Engine) -> None:
    with pytest.raises(ValueError, match="naive datetime"), engine.begin() as conn:
        insert_lead(conn, lead_row("00Q1", created_at=datetime(2026, 1, 5, 14, 0)))
    with engine.connect() as conn:
        assert get_lead(conn, "salesforce", "00Q1") is None


def test_second_insert_of_the_same_lead_is_a_concurrent_update(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_lead(conn, lead_row(state="NEW"))
    with pytest.raises(ConcurrentUpdate, match="already exists"), engine.begin() as conn:
        insert_lead(conn, lead_row(state="POOLED"))
    with engine.connect() as conn:
        lead = get_lead(conn, "salesforce", "00Q000000000001")
    assert lead is not None
    assert lead.state == "NEW"


def test_cas_update_bumps_version_and_sets_updated_at(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_lead(conn, lead_row())
    later = NOW + timedelta(minutes=3)
    with engine.begin() as conn:
        new = cas_update_lead(
            conn,
            "salesforce",
            "00Q000000000001",
            1,
            state="CLAIMED",
            owner="ana",
            claimed_at=later,
            updated_at=later,
            fields={"Company": "Acme Corp"},
        )
    assert (new.state, new.owner, new.version) == ("CLAIMED", "ana", 2)
    assert new.claimed_at == later
    assert new.updated_at == later
    assert new.fields == {"Company": "Acme Corp"}
    with engine.connect() as conn:
        assert get_lead(conn, "salesforce", "00Q000000000001") == new


def test_cas_update_without_updated_at_uses_the_current_time(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_lead(conn, lead_row())
        before = datetime.now(UTC)
        new = cas_update_lead(conn, "salesforce", "00Q000000000001", 1, score=90.0)
    assert new.updated_at >= before.replace(microsecond=0)
    assert new.score == 90.0


def test_cas_update_loses_on_a_stale_version_and_changes_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_lead(conn, lead_row())
        cas_update_lead(conn, "salesforce", "00Q000000000001", 1, state="CLAIMED", owner="ana")
    with pytest.raises(ConcurrentUpdate, match="no longer at version 1"), engine.begin() as conn:
        cas_update_lead(conn, "salesforce", "00Q000000000001", 1, state="CLAIMED", owner="bo")
    with engine.connect() as conn:
        lead = get_lead(conn, "salesforce", "00Q000000000001")
    assert lead is not None
    assert (lead.owner, lead.version) == ("ana", 2)


def test_cas_update_of_an_unknown_lead_is_a_concurrent_update(engine: Engine) -> None:
    with pytest.raises(ConcurrentUpdate), engine.begin() as conn:
        cas_update_lead(conn, "salesforce", "00Qmissing", 1, state="CLAIMED")


@pytest.mark.parametrize("column", ["version", "id", "colour"])
def test_cas_update_refuses_columns_it_may_not_set(engine: Engine, column: str) -> None:
    with engine.begin() as conn:
        insert_lead(conn, lead_row())
    refused = pytest.raises(ValueError, match=f"not updatable lead column.*{column}")
    with refused, engine.begin() as conn:
        cas_update_lead(conn, "salesforce", "00Q000000000001", 1, **{column: "x"})


def test_pool_waiting_lists_pooled_leads_oldest_first(engine: Engine) -> None:
    with engine.begin() as conn:
        for i, minutes in enumerate([5, 1, 3]):
            insert_lead(conn, lead_row(f"00Q{i}", pooled_at=NOW + timedelta(minutes=minutes)))
        insert_lead(conn, lead_row("00Qclaimed", state="CLAIMED", owner="ana"))
        insert_lead(conn, lead_row("00Qother", pool="inbound-ent"))
        insert_lead(conn, lead_row("00Qhub", crm="hubspot"))
    with engine.connect() as conn:
        waiting = pool_waiting(conn, "salesforce", "inbound-smb")
        first = pool_waiting(conn, "salesforce", "inbound-smb", limit=1)
    assert [lead.lead_id for lead in waiting] == ["00Q1", "00Q2", "00Q0"]
    assert [lead.lead_id for lead in first] == ["00Q1"]


def test_counts_by_state_and_by_owner(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_lead(conn, lead_row("a", state="POOLED"))
        insert_lead(conn, lead_row("b", state="CLAIMED", owner="ana"))
        insert_lead(conn, lead_row("c", state="WORKING", owner="ana"))
        insert_lead(conn, lead_row("d", state="CLAIMED", owner="bo"))
        insert_lead(conn, lead_row("e", crm="hubspot", state="CLAIMED", owner="ana"))
    with engine.connect() as conn:
        assert count_by_state(conn) == {"POOLED": 1, "CLAIMED": 3, "WORKING": 1}
        assert count_by_state(conn, "salesforce") == {"POOLED": 1, "CLAIMED": 2, "WORKING": 1}
        assert leads_owned(conn, "ana", ["CLAIMED"]) == 2
        assert leads_owned(conn, "ana", ("CLAIMED", "WORKING")) == 3
        assert leads_owned(conn, "ana", []) == 0
        assert leads_owned(conn, "cy", ["CLAIMED"]) == 0
