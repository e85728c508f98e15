"""Retried and shuffled deliveries decide exactly what one in-order delivery decides."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.webhooks import hubspot, salesforce
from tests.conftest import engine_url

from .payloads import hubspot_event, json_body, notification, outbound_message
from .test_views_support import NOW, Harness, epoch_ms, make_harness

ANA, BEN, DEV = "005A0000001AAAA", "005A0000001BBBB", "005A0000001DDDD"
SCORES = [91, 35, 88, 42, 95, 20, 84, 55, 97, 61, 83, 48]  # hot ones are pushed in rotation
START = NOW - timedelta(minutes=20)


@pytest.fixture
def sf(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for Salesforce."""
    yield from make_harness(tmp_path, engine_url(engine), "salesforce", monkeypatch)


@pytest.fixture
def hs(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for HubSpot."""
    yield from make_harness(tmp_path, engine_url(engine), "hubspot", monkeypatch)


def hubspot_scenario(h: Harness) -> list[dict[str, Any]]:
    """Twelve contacts created, then claims (one refused by tier) and a contact, in time order."""
    events: list[dict[str, Any]] = []

    def add(seconds: int, object_id: int, **fields: Any) -> None:
        events.append(
            hubspot_event(
                eventId=7000 + len(events),
                objectId=object_id,
                occurredAt=epoch_ms(START + timedelta(seconds=seconds)),
                **fields,
            )
        )

    for index, score in enumerate(SCORES):
        object_id = 9001 + index
        h.crm.seed(str(object_id), {"hubspotscore": str(score), "company": f"Co {index}"})
        add(10 * index, object_id, subscriptionType="contact.creation", propertyName=None)
    # Claims of pooled contacts: ana (top tier), ben (standard, score < 80), dev (new: no pools).
    add(300, 9002, propertyName="hubspot_owner_id", propertyValue=ANA)
    add(310, 9004, propertyName="hubspot_owner_id", propertyValue=BEN)
    add(320, 9006, propertyName="hubspot_owner_id", propertyValue=DEV)
    add(330, 9002, propertyName="hs_lead_status", propertyValue="Working - Contacted")
    add(340, 9008, propertyName="hubspot_owner_id", propertyValue=ANA)
    add(350, 9555, subscriptionType="company.creation", propertyName=None)
    return events


def salesforce_scenario() -> list[str]:
    """Notifications: ten leads arrive, then two are claimed and one is worked, in time order."""

    def at(seconds: int) -> str:
        return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    items = [
        notification(
            f"04l5e00000Hx{index:04d}AAJ",
            {
                "Id": f"00Q5e00000E{index:04d}AL",
                "Company": f"Co {index}",
                "LastModifiedDate": at(10 * index),
                "Lead_Score__c": f"{score}.0",
                "OwnerId": "00GA0000001SMB1",
                "Status": "Open - Not Contacted",
            },
        )
        for index, score in enumerate(SCORES[:10])
    ]
    updates = [
        ("00Q5e00000E0001AL", 300, ANA, "Open - Not Contacted"),
        ("00Q5e00000E0003AL", 310, BEN, "Open - Not Contacted"),
        ("00Q5e00000E0001AL", 320, ANA, "Working - Contacted"),
        ("00Q5e00000E0005AL", 330, DEV, "Open - Not Contacted"),
    ]
    for number, (lead_id, seconds, owner, status) in enumerate(updates):
        items.append(
            notification(
                f"04l5e00000Jx{number:04d}AAJ",
                {
                    "Id": lead_id,
                    "LastModifiedDate": at(seconds),
                    "OwnerId": owner,
                    "Status": status,
                },
            )  # fmt: skip
        )
    items.append(
        notification("04l5e00000Kx0001AAJ", {"Id": "0035e00000Zk0001AAF"}, sobject_type="Contact")
    )
    return items


def shuffled(items: list[Any], seed: int) -> list[Any]:
    """A copy in a different order (the same order every run)."""
    out = list(items)
    random.Random(seed).shuffle(out)
    assert out != items
    return out


def test_hubspot_batch_sent_three_times_decides_once(hs: Harness) -> None:
    body = json_body(hubspot_scenario(hs))
    assert hs.post_hubspot(body).get_json() == {"accepted": 18, "duplicates": 0}
    once = hs.decisions()
    hs.reset_store()

    replies = [hs.post_hubspot(body).get_json() for _ in range(3)]

    assert replies[0] == {"accepted": 18, "duplicates": 0}
    assert replies[1:] == [{"accepted": 0, "duplicates": 18}] * 2
    assert hs.decisions() == once


def test_hubspot_shuffled_batch_decides_like_the_ordered_one(hs: Harness) -> None:
    events = hubspot_scenario(hs)
    hs.post_hubspot(json_body(events))
    in_order = hs.decisions()
    # The scenario is order-sensitive: claims before creations, rotation turns...
    assert [a for a in in_order["audit"] if a[2] == "claim_rejected"], in_order["audit"]
    mixed = shuffled(events, seed=7)
    hs.reset_store()

    response = hs.post_hubspot(json_body(mixed))

    assert response.status_code == 200
    assert hs.decisions() == in_order
    # ...so applying the shuffled batch as received would have decided differently.
    hs.reset_store()
    hs.runtime.service.ingest(hubspot.parse_batch(json_body(mixed)).events)
    assert hs.decisions()["leads"] != in_order["leads"]


def test_hubspot_batch_split_and_delivered_backwards(hs: Harness) -> None:
    events = hubspot_scenario(hs)
    hs.post_hubspot(json_body(events))
    in_order = hs.decisions()
    hs.reset_store()

    # HubSpot may also spread the same events over several requests; each request is sorted,
    # but requests arriving newest first cannot be reordered: stale owner reports are refused.
    for part in (events[12:], events[:12]):
        assert hs.post_hubspot(json_body(shuffled(part, seed=3))).status_code == 200
    replayed = hs.decisions()

    assert [lead[:2] for lead in replayed["leads"]] != []
    assert {lead[0] for lead in replayed["leads"]} == {lead[0] for lead in in_order["leads"]}
    # Redelivering everything in order afterwards changes nothing: every key was seen.
    assert hs.post_hubspot(json_body(events)).get_json() == {"accepted": 0, "duplicates": 18}
    assert hs.decisions() == replayed


def test_outbound_message_sent_three_times_decides_once(sf: Harness) -> None:
    body = outbound_message(salesforce_scenario())
    assert sf.post_outbound(body).data == salesforce.ACK_RESPONSE
    once = sf.decisions()
    sf.reset_store()

    replies = [sf.post_outbound(body) for _ in range(3)]

    assert [r.data for r in replies] == [salesforce.ACK_RESPONSE] * 3
    assert sf.decisions() == once


def test_outbound_message_shuffled_decides_like_the_ordered_one(sf: Harness) -> None:
    items = salesforce_scenario()
    sf.post_outbound(outbound_message(items))
    in_order = sf.decisions()
    assert {a[2] for a in in_order["audit"]} >= {"assigned", "pooled", "claimed", "not_routed"}
    mixed = outbound_message(shuffled(items, seed=11))
    sf.reset_store()

    assert sf.post_outbound(mixed).data == salesforce.ACK_RESPONSE

    assert sf.decisions() == in_order
    sf.reset_store()
    batch = salesforce.parse_outbound(mixed, "00D5e000000KQ2e", now=NOW)
    sf.runtime.service.ingest(batch.events)
    assert sf.decisions()["leads"] != in_order["leads"]


def test_json_events_sent_three_times_decide_once(sf: Harness) -> None:
    body = json_body(
        {
            "events": [
                {
                    "id": f"evt-{index}",
                    "kind": "created",
                    "lead": {"Id": f"00Q5e00000F{index:04d}AL", "Lead_Score__c": score},
                    "occurredAt": (START + timedelta(seconds=index)).isoformat(),
                }
                for index, score in enumerate(SCORES)
            ]
        }
    )
    sf.post_events(body)
    once = sf.decisions()
    sf.reset_store()

    replies = [sf.post_events(body).get_json() for _ in range(3)]

    assert replies == [{"accepted": 12, "duplicates": 0}] + [{"accepted": 0, "duplicates": 12}] * 2
    assert sf.decisions() == once
