"""Retried and shuffled deliveries decide exactly what one in-order delivery decides."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.webhooks import hubspot, salesforce
from tests.conftest import engine_url

from .endpoint_harness import NOW, Harness, epoch_ms, make_harness
from .payloads import ORG_ID, hubspot_event, json_body, notification, outbound_message

ANA, BEN, DEV = "005A0000001AAAA", "005A0000001BBBB", "005A0000001DDDD"
SCORES = [91, 35, 88, 42, 95, 20, 84, 55, 97, 61, 83, 48]  # hot ones are pushed in rotation
# Leads arrive in a first delivery; reps act on them in the CRM afterwards, and those owner
# and status changes come in a second delivery a few minutes later.
ARRIVED = NOW - timedelta(minutes=5)
LATER = timedelta(minutes=5)
WORKED = NOW + timedelta(minutes=1)


@pytest.fixture
def sf(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for Salesforce."""
    yield from make_harness(tmp_path, engine_url(engine), "salesforce", monkeypatch)


@pytest.fixture
def hs(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The app configured for HubSpot."""
    yield from make_harness(tmp_path, engine_url(engine), "hubspot", monkeypatch)


def hubspot_scenario(h: Harness) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Twelve contacts created; then claims (a race, a tier refusal), a contact, a company."""
    arrivals: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []

    def event(base: Any, seconds: int, object_id: int, **fields: Any) -> dict[str, Any]:
        built = hubspot_event(
            eventId=7000 + len(arrivals) + len(actions),
            objectId=object_id,
            occurredAt=epoch_ms(base + timedelta(seconds=seconds)),
            **fields,
        )
        if built["subscriptionType"].endswith(".creation"):
            del built["propertyName"], built["propertyValue"]
        return built

    for index, score in enumerate(SCORES):
        object_id = 9001 + index
        h.crm.seed(str(object_id), {"hubspotscore": str(score), "company": f"Co {index}"})
        created = event(ARRIVED, 10 * index, object_id, subscriptionType="contact.creation")
        arrivals.append(created)
    owner = "hubspot_owner_id"
    actions += [event(WORKED, 0, 9002, propertyName=owner, propertyValue=ANA)]
    actions += [event(WORKED, 5, 9002, propertyName=owner, propertyValue=BEN)]  # too late
    actions += [event(WORKED, 10, 9004, propertyName=owner, propertyValue=BEN)]
    actions += [event(WORKED, 20, 9006, propertyName=owner, propertyValue=DEV)]  # tier: no pools
    status = "hs_lead_status"
    actions += [event(WORKED, 30, 9002, propertyName=status, propertyValue="Working - Contacted")]
    actions += [event(WORKED, 40, 9555, subscriptionType="company.creation")]
    return arrivals, actions


def salesforce_scenario() -> tuple[list[str], list[str]]:
    """Ten leads arrive; then a claim race, a claim, a tier refusal, contact, and a Contact."""

    def at(base: Any, seconds: int) -> str:
        return (base + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    arrivals = [
        notification(
            f"04l5e00000Hx{index:04d}AAJ",
            {
                "Id": f"00Q5e00000E{index:04d}AL",
                "Company": f"Co {index}",
                "LastModifiedDate": at(ARRIVED, 10 * index),
                "Lead_Score__c": f"{score}.0",
                "OwnerId": "00GA0000001SMB1",
                "Status": "Open - Not Contacted",
            },
        )
        for index, score in enumerate(SCORES[:10])
    ]
    changes = [
        ("00Q5e00000E0001AL", 0, ANA, "Open - Not Contacted"),
        ("00Q5e00000E0001AL", 5, BEN, "Open - Not Contacted"),
        ("00Q5e00000E0003AL", 10, BEN, "Open - Not Contacted"),
        ("00Q5e00000E0005AL", 20, DEV, "Open - Not Contacted"),
        ("00Q5e00000E0001AL", 30, ANA, "Working - Contacted"),
    ]
    actions = [
        notification(
            f"04l5e00000Jx{number:04d}AAJ",
            {
                "Id": lead_id,
                "LastModifiedDate": at(WORKED, seconds),
                "LastModifiedById": owner,
                "OwnerId": owner,
                "Status": status,
            },
        )
        for number, (lead_id, seconds, owner, status) in enumerate(changes)
    ]
    contact = notification(
        "04l5e00000Kx0001AAJ", {"Id": "0035e00000Zk0001AAF"}, sobject_type="Contact"
    )
    return arrivals, [*actions, contact]


def shuffled(items: list[Any], seed: int) -> list[Any]:
    """A copy in a different order (the same order every run)."""
    out = list(items)
    random.Random(seed).shuffle(out)
    assert out != items
    return out


Phases = Sequence[Sequence[list[Any]]]


def post_phases(h: Harness, post: Callable[[list[Any]], Any], phases: Phases) -> list[Any]:
    """Post each phase's deliveries, the clock moving on between phases; returns the replies."""
    h.clock.set(NOW)
    replies = []
    for number, deliveries in enumerate(phases):
        if number:
            h.clock.advance(LATER)
        replies.extend(post(items) for items in deliveries)
    return replies


def ingest_unsorted(h: Harness, events_of: Callable[[list[Any]], Any], phases: Phases) -> None:
    """Apply the deliveries' lead events straight to the service, in the order they were sent."""
    h.reset_store()
    h.clock.set(NOW)
    for number, deliveries in enumerate(phases):
        if number:
            h.clock.advance(LATER)
        for items in deliveries:
            h.runtime.service.ingest(events_of(items))


def hs_post(h: Harness) -> Callable[[list[Any]], Any]:
    """Post a HubSpot batch, returning the JSON reply."""
    return lambda events: h.post_hubspot(json_body(events)).get_json()


def sf_post(h: Harness) -> Callable[[list[Any]], Any]:
    """Post an Outbound Message, returning the reply body."""
    return lambda items: h.post_outbound(outbound_message(items)).data


def test_hubspot_batches_sent_three_times_decide_once(hs: Harness) -> None:
    arrivals, actions = hubspot_scenario(hs)
    assert post_phases(hs, hs_post(hs), [[arrivals], [actions]]) == [
        {"accepted": 12, "duplicates": 0},
        {"accepted": 6, "duplicates": 0},
    ]
    once = hs.decisions()
    hs.reset_store()

    replies = post_phases(hs, hs_post(hs), [[arrivals] * 3, [actions] * 3])

    assert replies[1:3] == [{"accepted": 0, "duplicates": 12}] * 2
    assert replies[4:] == [{"accepted": 0, "duplicates": 6}] * 2
    assert hs.decisions() == once


def test_hubspot_shuffled_batches_decide_like_ordered_ones(hs: Harness) -> None:
    phases = hubspot_scenario(hs)
    post_phases(hs, hs_post(hs), [[phase] for phase in phases])
    in_order = hs.decisions()
    actions = {row[2] for row in in_order["audit"]}
    assert {"assigned", "pooled", "claimed", "claim_rejected", "contacted"} <= actions, actions
    mixed = [[shuffled(phase, seed=7)] for phase in phases]
    hs.reset_store()

    post_phases(hs, hs_post(hs), mixed)

    assert hs.decisions() == in_order
    # The scenario is order-sensitive: applied as received, the batches decide differently.
    ingest_unsorted(hs, lambda items: hubspot.parse_batch(json_body(items)).events, mixed)
    assert hs.decisions()["leads"] != in_order["leads"]


def test_outbound_messages_sent_three_times_decide_once(sf: Harness) -> None:
    arrivals, actions = salesforce_scenario()
    post_phases(sf, sf_post(sf), [[arrivals], [actions]])
    once = sf.decisions()
    sf.reset_store()

    replies = post_phases(sf, sf_post(sf), [[arrivals] * 3, [actions] * 3])

    assert replies == [salesforce.ACK_RESPONSE] * 6
    assert sf.decisions() == once


def test_outbound_messages_shuffled_decide_like_ordered_ones(sf: Harness) -> None:
    phases = salesforce_scenario()
    post_phases(sf, sf_post(sf), [[phase] for phase in phases])
    in_order = sf.decisions()
    actions = {row[2] for row in in_order["audit"]}
    assert {"assigned", "pooled", "claimed", "claim_rejected", "contacted", "not_routed"} <= actions
    mixed = [[shuffled(phase, seed=11)] for phase in phases]
    sf.reset_store()

    assert post_phases(sf, sf_post(sf), mixed) == [salesforce.ACK_RESPONSE] * 2

    assert sf.decisions() == in_order

    def events_of(items: list[str]) -> Any:
        return salesforce.parse_outbound(outbound_message(items), ORG_ID, now=NOW).events

    ingest_unsorted(sf, events_of, mixed)
    assert sf.decisions()["leads"] != in_order["leads"]


def test_json_events_sent_three_times_decide_once(sf: Harness) -> None:
    body = json_body(
        {
            "events": [
                {
                    "id": f"evt-{index}",
                    "kind": "created",
                    "lead": {"Id": f"00Q5e00000F{index:04d}AL", "Lead_Score__c": score},
                    "occurredAt": (ARRIVED + timedelta(seconds=index)).isoformat(),
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
