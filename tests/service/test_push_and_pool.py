"""Pushed and pooled leads on the sandbox CRM: writes, SLAs, claims, locks, escalation."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from connector.lifecycle import LeadState
from tests.service.harness import HC_QUEUE, SMB_QUEUE, USERS, Harness


def test_hot_lead_is_pushed_with_an_sla_task_and_contact_completes_it(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=86)
    owner, fields = h.crm_lead(lead_id)
    assert owner == USERS["ana"]
    assert fields["Leadpool_Status__c"] == "ASSIGNED"
    assert fields["Leadpool_Source__c"] == "push"
    assert fields["Leadpool_Reason__c"].startswith("score 86 ≥ 80")
    (task,) = h.tasks(lead_id)
    assert (task["owner"], task["subject"], task["status"]) == (
        USERS["ana"], "Hot lead: contact within 5m", "Open",
    )  # fmt: skip
    h.advance(3)
    assert h.contact(lead_id).state == LeadState.WORKING
    assert [t["status"] for t in h.tasks(lead_id)] == ["Completed"]
    h.advance(10)  # the SLA timer was cancelled by the contact
    assert h.lead(lead_id).owner == "ana"
    assert h.crm_lead(lead_id)[1]["Leadpool_Status__c"] == "WORKING"


def test_sla_breach_reassigns_and_tells_the_manager(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=90)
    assert h.lead(lead_id).owner == "ana"
    h.advance(6)
    lead = h.lead(lead_id)
    assert lead.state == LeadState.ASSIGNED and lead.owner != "ana"
    owner, fields = h.crm_lead(lead_id)
    assert owner == USERS[lead.owner or ""]
    assert "not contacted within 5m by ana" in fields["Leadpool_Reason__c"]
    subjects = {(t["owner"], t["subject"], t["status"]) for t in h.tasks(lead_id)}
    assert (USERS["ana"], "Hot lead: contact within 5m", "Completed") in subjects
    assert (
        "005A000000M0001",
        f"SLA breach: ana did not contact {lead_id} within 5m",
        "Open",
    ) in subjects
    assert (USERS[lead.owner or ""], "Hot lead: contact within 5m", "Open") in subjects
    first, second = h.assignment_rows(lead_id)
    assert (first.rep, first.end_reason) == ("ana", "sla_breach")
    assert second.rep == lead.owner and second.end_reason is None


def test_warm_lead_is_pooled_in_the_queue(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=40)
    owner, fields = h.crm_lead(lead_id)
    assert owner == SMB_QUEUE
    assert fields["Leadpool_Status__c"] == "POOLED"
    assert "pool inbound-smb" in fields["Leadpool_Reason__c"]
    assert h.lead(lead_id).state == LeadState.POOLED


def test_claim_locks_and_lock_expiry_returns_the_lead(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=40)
    outcome = h.take(lead_id, "ben")
    assert outcome.state == LeadState.CLAIMED
    owner, fields = h.crm_lead(lead_id)
    assert owner == USERS["ben"]
    assert fields["Leadpool_Status__c"] == "CLAIMED"
    assert fields["Leadpool_Lock_Expires__c"] == "2026-01-05T15:15:00+00:00"
    (task,) = h.tasks(lead_id)
    assert task["owner"] == USERS["ben"] and task["subject"].startswith(
        "Contact this lead before 15:15"
    )
    h.advance(16)
    owner, fields = h.crm_lead(lead_id)
    assert owner == SMB_QUEUE
    assert fields["Leadpool_Status__c"] == "POOLED"
    assert fields["Leadpool_Reason__c"].startswith("lock expired: ben made no contact within 15m")
    assert [t["status"] for t in h.tasks(lead_id)] == ["Completed"]
    (claim,) = h.assignment_rows(lead_id)
    assert (claim.rep, claim.source, claim.end_reason) == ("ben", "pull", "released")


def test_contact_within_the_lock_keeps_the_lead(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=40)
    h.take(lead_id, "ben")
    h.advance(5)
    assert h.contact(lead_id).state == LeadState.WORKING
    h.advance(20)
    assert h.crm_lead(lead_id)[0] == USERS["ben"]
    assert h.lead(lead_id).state == LeadState.WORKING


def test_escalation_auto_assigns_after_30_minutes(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=40)
    h.advance(29)
    assert h.lead(lead_id).state == LeadState.POOLED
    h.advance(2)
    lead = h.lead(lead_id)
    assert (lead.state, lead.source) == (LeadState.ASSIGNED, "escalation")
    owner, fields = h.crm_lead(lead_id)
    assert owner == USERS[lead.owner or ""]
    assert fields["Leadpool_Source__c"] == "escalation"
    assert fields["Leadpool_Reason__c"].startswith("unclaimed for 30m in inbound-smb: round robin")


def test_escalation_reaches_manager_review_when_nobody_can_take_it(engine: Engine) -> None:
    # 03:00 UTC on Tuesday: every healthcare rep is off shift.
    h = Harness(engine, start=datetime(2026, 1, 6, 3, 0, tzinfo=UTC))
    lead_id = h.new_lead(score=40, Industry="Healthcare")
    assert h.crm_lead(lead_id)[0] == HC_QUEUE
    h.advance(21)  # the 20m rung finds nobody: the lead keeps waiting
    assert h.lead(lead_id).state == LeadState.POOLED
    assert h.timeline(lead_id)[-1].action == "escalation_waiting"
    h.advance(25)  # 46 minutes: the 45m rung hands it to the manager
    assert h.lead(lead_id).state == LeadState.MANAGER_REVIEW
    owner, fields = h.crm_lead(lead_id)
    assert owner == "005A000000M0003"
    assert fields["Leadpool_Status__c"] == "MANAGER_REVIEW"
    assert any(
        t["owner"] == "005A000000M0003" and t["subject"].startswith("Review lead")
        for t in h.tasks(lead_id)
    )
