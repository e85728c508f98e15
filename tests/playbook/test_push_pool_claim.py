"""Playbook 1-3: hot leads pushed with an SLA, warm leads pooled, claims locked and released."""

from __future__ import annotations

from datetime import timedelta

from tests.playbook.world import MONDAY_10_NY, REPS, Task, World

HOT_SUBJECT = "Hot lead: contact within 5m"


def test_1_hot_lead_is_pushed_with_an_sla_task_and_contact_completes_it(world: World) -> None:
    lead = world.new_lead(score=86)

    assert world.crm_owner(lead) == "ana"  # weight 2: first in the weighted rotation
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["source"]) == ("ASSIGNED", "push")
    assert fields["reason"].startswith("score 86 ≥ 80")
    due = MONDAY_10_NY + timedelta(minutes=5)
    assert world.crm_tasks(lead) == [Task(HOT_SUBJECT, "ana", due, done=False)]

    world.advance(3)
    world.contact(lead)

    assert world.crm_fields(lead)["status"] == "WORKING"
    assert world.crm_tasks(lead) == [Task(HOT_SUBJECT, "ana", due, done=True)]
    world.advance(10)  # the SLA timer was cancelled by the contact
    assert world.crm_owner(lead) == "ana"
    assert len(world.crm_tasks(lead)) == 1


def test_1_sla_breach_reassigns_tells_the_manager_and_counts_against_the_rep(
    world: World,
) -> None:
    lead = world.new_lead(score=90)
    assert world.crm_owner(lead) == "ana"

    world.advance(6)

    second = world.crm_owner(lead)
    assert second in REPS and second != "ana"
    fields = world.crm_fields(lead)
    assert fields["status"] == "ASSIGNED"
    assert "not contacted within 5m by ana" in fields["reason"]
    breach_at = MONDAY_10_NY + timedelta(minutes=6)
    tasks = world.crm_tasks(lead)
    assert Task(HOT_SUBJECT, "ana", MONDAY_10_NY + timedelta(minutes=5), done=True) in tasks
    assert Task(f"SLA breach: ana did not contact {lead} within 5m", "maria", breach_at, False) in (
        tasks
    )
    assert Task(HOT_SUBJECT, second, breach_at + timedelta(minutes=5), done=False) in tasks
    assert len(tasks) == 3
    report = world.report()
    assert (report.reps["ana"].sla_breaches, report.reps[second].sla_breaches) == (1, 0)


def test_2_warm_lead_is_pooled_with_the_reason(world: World) -> None:
    lead = world.new_lead(score=40)

    assert world.crm_owner(lead) == world.pool_owner_value("inbound-smb")
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["pool"]) == ("POOLED", "inbound-smb")
    assert "pool inbound-smb" in fields["reason"]
    assert fields["lock_expires"] is None
    assert world.crm_tasks(lead) == []


def test_3_claim_locks_and_an_expired_lock_returns_the_lead(world: World) -> None:
    lead = world.new_lead(score=40)

    world.take(lead, "ben")

    lock = MONDAY_10_NY + timedelta(minutes=15)
    assert world.crm_owner(lead) == "ben"
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["source"], fields["lock_expires"]) == ("CLAIMED", "pull", lock)
    claim_task = "Contact this lead before 15:15 UTC or it returns to inbound-smb"
    assert world.crm_tasks(lead) == [Task(claim_task, "ben", lock, done=False)]

    world.advance(16)

    assert world.crm_owner(lead) == world.pool_owner_value("inbound-smb")
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["pool"], fields["lock_expires"]) == (
        "POOLED", "inbound-smb", None,
    )  # fmt: skip
    assert fields["reason"].startswith("lock expired: ben made no contact within 15m")
    assert world.crm_tasks(lead) == [Task(claim_task, "ben", lock, done=True)]
    assert world.report().reps["ben"].releases == 1
