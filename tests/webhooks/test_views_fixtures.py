"""The recorded payload samples of each CRM, signed and posted to the endpoints end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from connector.store.tables import audit, events_seen, leads, outbox
from connector.webhooks.salesforce import ACK_RESPONSE
from tests.conftest import engine_url

from .endpoint_harness import Harness, make_harness

FIXTURES = Path(__file__).parents[1] / "fixtures"
SMB_REPS = {"ana": "005A0000001AAAA", "ben": "005A0000001BBBB", "cara": "005A0000001CCCC"}
SMB_QUEUE = "00GA0000001SMB1"


@pytest.fixture
def sf(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for Salesforce."""
    yield from make_harness(tmp_path, engine_url(engine), "salesforce", monkeypatch)


@pytest.fixture
def hs(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for HubSpot."""
    yield from make_harness(tmp_path, engine_url(engine), "hubspot", monkeypatch)


def lead_rows(h: Harness) -> dict[str, dict[str, object]]:
    """Stored leads by id."""
    with h.engine.connect() as conn:
        rows = conn.execute(select(leads)).mappings().all()
    return {row["lead_id"]: dict(row) for row in rows}


def audit_of(h: Harness, action: str) -> list[tuple[str, str, str | None]]:
    """(lead id, reason, event key) of the audit rows with this action, oldest first."""
    with h.engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.lead_id, audit.c.reason, audit.c.event_key)
            .where(audit.c.action == action)
            .order_by(audit.c.id)
        ).all()
    return [(r.lead_id, r.reason, r.event_key) for r in rows]


def seen_keys(h: Harness) -> set[str]:
    """Event keys the store has recorded."""
    with h.engine.connect() as conn:
        return set(conn.execute(select(events_seen.c.event_key)).scalars())


def owner_writes(h: Harness, lead_id: str) -> list[object]:
    """Owners the outbox will write on a lead, in order."""
    with h.engine.connect() as conn:
        payloads = conn.execute(
            select(outbox.c.payload).where(
                outbox.c.lead_id == lead_id, outbox.c.kind == "update_lead"
            )
        ).scalars()
        return [payload["owner"] or payload["pool"] for payload in payloads]


def test_outbound_message_with_three_leads_is_routed_and_acknowledged(sf: Harness) -> None:
    body = (FIXTURES / "salesforce" / "outbound_leads.xml").read_bytes()

    response = sf.post_outbound(body)

    assert response.status_code == 200
    assert response.data == ACK_RESPONSE
    stored = lead_rows(sf)
    hot = stored["00Q5e00000CZjEf2AL"]  # Lead_Score__c 86: the "hot smb" route pushes it
    assert (hot["state"], hot["route"], hot["source"]) == ("ASSIGNED", "hot smb", "push")
    assert hot["owner"] in SMB_REPS
    assert owner_writes(sf, "00Q5e00000CZjEf2AL") == [SMB_REPS[str(hot["owner"])]]
    for pooled in ("00Q5e00000CZjEg2AL", "00Q5e00000CZjEh2AL"):  # score 42 / no score
        assert stored[pooled]["state"] == "POOLED"
        assert stored[pooled]["pool"] == "inbound-smb"
        assert owner_writes(sf, pooled) == [SMB_QUEUE]
    assert seen_keys(sf) == {
        "sf-om:04l5e00000Gx7QzAAJ",
        "sf-om:04l5e00000Gx7R0AAJ",
        "sf-om:04l5e00000Gx7R1AAJ",
    }
    assert sf.crm.fetched == []  # the message carried the fields: no CRM call


def test_outbound_message_about_a_contact_is_acknowledged_with_an_audit_note(sf: Harness) -> None:
    body = (FIXTURES / "salesforce" / "outbound_mixed.xml").read_bytes()

    response = sf.post_outbound_basic(body)

    assert response.data == ACK_RESPONSE
    assert audit_of(sf, "not_routed") == [
        (
            "0035e00000ZkM3hAAF",
            "Outbound Message about a Contact; leadpool routes Leads only",
            "sf-om:04l5e00000Gx7S0AAJ",
        )
    ]
    assert set(lead_rows(sf)) == {"00Q5e00000CZjEi2AL"}

    again = sf.post_outbound_basic(body)

    assert again.data == ACK_RESPONSE
    assert len(audit_of(sf, "not_routed")) == 1


def test_json_events_fixture(sf: Harness) -> None:
    body = (FIXTURES / "salesforce" / "json_events.json").read_bytes()

    first = sf.post_events(body)
    second = sf.post_events(body)

    assert first.status_code == 200
    assert first.get_json() == {"accepted": 3, "duplicates": 0}
    assert second.get_json() == {"accepted": 0, "duplicates": 3}
    created = lead_rows(sf)["00Q5e00000CZjEf2AL"]
    assert (created["state"], created["route"]) == ("ASSIGNED", "hot smb")
    assert seen_keys(sf) == {"sf-json:evt-0001", "sf-json:evt-0002", "sf-json:evt-0003"}


def test_hubspot_contact_events_fixture(hs: Harness) -> None:
    hs.crm.seed(
        "173595202426",
        {"hubspotscore": "90", "company": "Initech", "email": "jo@initech.example"},
    )
    body = (FIXTURES / "hubspot" / "contact_property_changes.json").read_bytes()

    response = hs.post_hubspot(body)

    assert response.status_code == 200
    assert response.get_json() == {"accepted": 8, "duplicates": 0}
    # HubSpot events carry no lead fields, so the two contacts leadpool didn't know were read
    # from the CRM, in one batch; the CRM doesn't know 173595202499, so it isn't routed.
    assert (hs.crm.fetched, hs.crm.batch_reads) == (["173595202426", "173595202499"], 1)
    assert "173595202499" not in lead_rows(hs)
    assert [lead for lead, _r, _k in audit_of(hs, "unknown_lead")] == ["173595202499"] * 2
    created = lead_rows(hs)["173595202426"]
    # Pushed (score 90), then notes_last_contacted changed: the rep made contact.
    assert (created["route"], created["state"]) == ("hot smb", "WORKING")
    assert [(lead, key) for lead, _reason, key in audit_of(hs, "not_routed")] == [
        ("9876543210", "hs:714285780"),
        ("173595202400", "hs:714285781"),
    ]
    assert "HubSpot company.propertyChange event" in audit_of(hs, "not_routed")[0][1]
    assert len(seen_keys(hs)) == 8


def test_hubspot_generic_object_events_fixture(hs: Harness) -> None:
    hs.crm.seed("173595202426", {"hubspotscore": "30", "company": "Initech"})
    hs.crm.seed("402113", {"hubspotscore": "20", "company": "Umbrella"})
    body = (FIXTURES / "hubspot" / "generic_object_events.json").read_bytes()

    response = hs.post_hubspot(body)

    assert response.get_json() == {"accepted": 6, "duplicates": 0}
    assert sorted(hs.crm.fetched) == ["173595202426", "402113"]
    lead_object = lead_rows(hs)["402113"]  # objectTypeId 0-136: a HubSpot Lead record
    assert (lead_object["state"], lead_object["pool"]) == ("POOLED", "inbound-smb")
    assert owner_writes(hs, "402113") == ["inbound-smb"]  # HubSpot pools are named, not queues
    assert {lead for lead, _reason, _key in audit_of(hs, "not_routed")} == {
        "9876543210",
        "173595202400",
    }


def test_hubspot_docs_sample_with_a_contact_the_crm_does_not_know(hs: Harness) -> None:
    body = (FIXTURES / "hubspot" / "docs_example_batch.json").read_bytes()

    response = hs.post_hubspot(body)

    assert response.status_code == 200
    assert response.get_json() == {"accepted": 2, "duplicates": 0}
    # Neither contact is known to the CRM: a property change alone is not enough to route.
    assert audit_of(hs, "unknown_lead") == [
        ("1246965", "the CRM does not know lead 1246965", "hs:3816279340"),
        ("1246978", "the CRM does not know lead 1246978", "hs:3816279480"),
    ]
    assert "1246978" not in lead_rows(hs) and "1246965" not in lead_rows(hs)
