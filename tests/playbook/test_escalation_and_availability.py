"""Playbook 7-9: the escalation ladder, named accounts and manual owners, availability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.playbook.world import World

# Tuesday 03:00 UTC = Monday 22:00 in New York: nobody in smb or enterprise is at work.
NIGHT = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
SMB = ("ana", "ben", "cara", "dev")


def skips(world: World, lead: str) -> dict[str, str]:
    """The reps routing passed over for the lead, and why (from the audit trail)."""
    (assigned,) = [row for row in world.timeline(lead) if row.action == "assigned"]
    return {rep: why for rep, why in assigned.details["skipped"]}


def test_7_unclaimed_lead_is_auto_assigned_after_30_minutes(world: World) -> None:
    lead = world.new_lead(score=40)
    world.advance(29)
    assert world.crm_fields(lead)["status"] == "POOLED"

    world.advance(2)

    owner = world.crm_owner(lead)
    assert owner in SMB
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["source"]) == ("ASSIGNED", "escalation")
    assert fields["reason"].startswith("unclaimed for 30m in inbound-smb: round robin")
    assert world.assignment_rows(lead)[-1].source == "escalation"
    (task,) = world.crm_tasks(lead)  # the escalation step's SLA: `escalated`, 15 minutes
    assert (task.owner, task.subject, task.done) == (
        owner,
        "Escalated lead: contact within 15m",
        False,
    )
    assert task.due == world.clock.now() + timedelta(minutes=15)


def test_7_lead_nobody_can_take_goes_to_manager_review_after_60_minutes(world: World) -> None:
    world.configure(at=NIGHT)
    lead = world.new_lead(score=40)
    assert world.crm_owner(lead) == world.pool_owner_value("inbound-smb")

    world.advance(31)  # the 30m rung finds nobody at work: the lead keeps waiting
    assert world.crm_fields(lead)["status"] == "POOLED"
    assert world.timeline(lead)[-1].action == "escalation_waiting"
    world.advance(30)

    assert world.crm_owner(lead) == "maria"
    fields = world.crm_fields(lead)
    assert fields["status"] == "MANAGER_REVIEW"
    assert fields["reason"].startswith("unclaimed for 1h in inbound-smb")
    (review,) = world.crm_tasks(lead)
    assert review.owner == "maria"
    assert review.subject.startswith("Review lead: unclaimed for 1h in inbound-smb")
    assert not review.done


def test_8_named_account_lead_goes_to_the_account_owner(world: World) -> None:
    lead = world.new_lead(score=20, Email="cto@acme.com")

    assert world.crm_owner(lead) == "erin"
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["source"]) == ("ASSIGNED", "account")
    assert "Acme Corp" in fields["reason"]


def test_8_owner_a_manager_sets_by_hand_is_kept_as_manual(world: World) -> None:
    lead = world.new_lead(score=30)

    world.take(lead, "cara", by="maria")

    assert world.crm_owner(lead) == "cara"
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["source"]) == ("ASSIGNED", "manual")
    assert fields["reason"].startswith("owner set by hand to Cara Diaz")
    assert world.timeline(lead)[-1].action == "manual_assignment"
    assert world.report().reps["cara"].manual == 1
    world.advance(20)  # no lock, no escalation: the manual owner keeps it
    assert world.crm_owner(lead) == "cara"


def test_9_unavailable_reps_are_skipped_with_the_reason_and_the_fallback_followed(
    world: World,
) -> None:
    # Out of office: ben is away over the holidays; hot leads go around him.
    world.configure(
        at=datetime(2026, 12, 28, 15, 0, tzinfo=UTC), **{"daily_cap: 40": "daily_cap: 2"}
    )
    pushed = [world.new_lead(score=90) for _ in range(6)]
    owners = [world.crm_owner(lead) for lead in pushed]
    assert "ben" not in owners and owners.count("ana") == 2
    assert all(o in SMB for o in owners)
    skipped = [skips(world, lead) for lead in pushed]
    assert all(s["ben"] == "out of office until 2026-12-31" for s in skipped)
    # At the daily cap (2 here): once ana holds two leads she is skipped.
    assert skipped[-1]["ana"] == "at daily cap 2/2"
    assert all(world.crm_fields(lead)["source"] == "push" for lead in pushed)

    # Outside working hours, nobody in smb or enterprise: the fallback chain ends in the pool.
    world.travel_to(datetime(2026, 12, 29, 3, 0, tzinfo=UTC))
    late = world.new_lead(score=95)
    assert world.crm_owner(late) == world.pool_owner_value("inbound-smb")
    fields = world.crm_fields(late)
    assert fields["status"] == "POOLED"
    reason = fields["reason"]
    assert "ana outside hours (Mon-Fri 08:00-17:00 America/New_York)" in reason
    assert "next team enterprise: nobody eligible" in reason
    full = world.timeline(late)[-1].reason
    assert full.endswith("fallback pool inbound-smb")
    # Salesforce's reason field holds 255 characters (cut with "…"); HubSpot's holds it all.
    assert full.startswith(reason.removesuffix("…"))
