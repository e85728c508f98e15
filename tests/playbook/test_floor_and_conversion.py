"""Playbook 10-11: the daily claim floor and next-day priority; conversions by claim source."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.report_text import render_report
from tests.playbook.world import World

# Monday 16:00 and Tuesday 10:00 in New York.
MONDAY_EVENING = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)
TUESDAY_MORNING = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)


def claim_and_work(world: World, rep: str, count: int) -> None:
    """The rep claims `count` pooled leads and contacts each."""
    for _ in range(count):
        lead = world.new_lead(score=30)
        world.take(lead, rep)
        world.contact(lead)
        assert (world.crm_owner(lead), world.crm_fields(lead)["status"]) == (rep, "WORKING")


def test_10_reps_under_the_daily_floor_are_listed_and_go_first_the_next_day(
    world: World,
) -> None:
    claim_and_work(world, "ana", 5)
    claim_and_work(world, "ben", 1)
    world.travel_to(MONDAY_EVENING)

    report = world.report()

    behind = {rep: (claims, floor) for rep, claims, floor in report.under_floor}
    # dev's tier may not claim, erin and finn are in no pool: the floor is not theirs.
    assert behind == {"ben": (1, 5), "cara": (0, 5), "gia": (0, 5), "hugo": (0, 5)}
    text = render_report(report, world.runtime.config.routing())
    assert "under the daily claim floor (5) today: ben 1, cara 0, gia 0, hugo 0" in text
    assert "they go first in tomorrow's escalation assignments" in text

    world.travel_to(TUESDAY_MORNING)
    waiting = [world.new_lead(score=40), world.new_lead(score=40)]
    world.advance(31)

    owners = {world.crm_owner(lead) for lead in waiting}
    assert owners == {"ben", "cara"}  # ana met the floor yesterday: she waits her turn
    for lead in waiting:
        fields = world.crm_fields(lead)
        assert (fields["status"], fields["source"]) == ("ASSIGNED", "escalation")


def test_11_conversions_are_recorded_with_their_claim_source(world: World) -> None:
    escalated = world.new_lead(score=40)
    world.advance(31)
    pushed = world.new_lead(score=86)
    world.contact(pushed)
    pulled = world.new_lead(score=30)
    world.take(pulled, "ben")
    world.contact(pulled)
    manual = world.new_lead(score=30)
    world.take(manual, "cara", by="maria")
    leads = {"escalation": escalated, "push": pushed, "pull": pulled, "manual": manual}
    before = {source: world.crm_fields(lead) for source, lead in leads.items()}
    assert {source: f["source"] for source, f in before.items()} == {
        source: source for source in leads
    }

    for lead in leads.values():
        world.convert(lead)

    for source, lead in leads.items():
        converted = world.lead(lead)
        assert (converted.state, converted.source) == ("CONVERTED", source)
        (audit,) = [row for row in world.timeline(lead) if row.action == "converted"]
        assert audit.details["source"] == source
        # Converted leads are read-only in Salesforce: leadpool writes nothing more.
        assert world.crm_fields(lead) == before[source]
    report = world.report()
    assert report.by_source == {source: (1, 1) for source in leads}
    text = render_report(report, world.runtime.config.routing())
    assert "  escalation      1     1  100%" in text
