"""Claims the rules refuse are undone in the CRM and the rep is told why; races have one winner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from connector.lifecycle import LeadState
from tests.service.harness import HC_QUEUE, SMB_QUEUE, USERS, Harness


def notices(h: Harness, lead_id: str, rep: str) -> list[str]:
    return [t["subject"] for t in h.tasks(lead_id) if t["owner"] == USERS[rep]]


@pytest.mark.parametrize("first", ["ana", "ben"])
def test_race_of_two_claims_has_exactly_one_winner(engine: Engine, first: str) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=40)
    second = "ben" if first == "ana" else "ana"
    e1 = h.crm.set_owner(lead_id, USERS[first])
    e2 = h.crm.set_owner(lead_id, USERS[second])  # the CRM now says `second` owns it
    h.deliver(e1)
    h.deliver(e2)
    lead = h.lead(lead_id)
    assert (lead.state, lead.owner) == (LeadState.CLAIMED, first)
    assert h.crm_lead(lead_id)[0] == USERS[first]
    (notice,) = notices(h, lead_id, second)
    assert notice.startswith("Claim undone (race)") and f"already claimed by {first}" in notice
    assert h.rejection_rules(second) == ["race"]
    assert [a.rep for a in h.assignment_rows(lead_id)] == [first]


def test_race_delivered_in_reverse_order_keeps_the_first_accepted(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=40)
    e_ana = h.crm.set_owner(lead_id, USERS["ana"])
    h.clock.advance(timedelta(seconds=1))
    e_ben = h.crm.set_owner(lead_id, USERS["ben"])
    h.deliver(e_ben)  # the later change arrives first and wins
    h.deliver(e_ana)  # the earlier one is the race's loser
    assert h.lead(lead_id).owner == "ben"
    assert h.crm_lead(lead_id)[0] == USERS["ben"]
    assert h.rejection_rules("ana") == ["race"]


def test_max_open_claims_stops_hoarding(engine: Engine) -> None:
    h = Harness(engine)
    ids = [h.new_lead(score=30) for _ in range(11)]
    for lead_id in ids[:10]:
        assert h.take(lead_id, "ana").state == LeadState.CLAIMED
    outcome = h.take(ids[10], "ana")
    assert outcome.state == LeadState.POOLED
    owner, fields = h.crm_lead(ids[10])
    assert owner == SMB_QUEUE and fields["Leadpool_Status__c"] == "POOLED"
    (notice,) = notices(h, ids[10], "ana")
    assert "max open" in notice and "(limit 10)" in notice
    assert h.rejection_rules("ana") == ["max_open"]


def test_diversity_rule_refuses_another_high_score_claim(engine: Engine) -> None:
    h = Harness(engine)
    for _ in range(9):
        lead_id = h.new_lead(score=70)
        h.take(lead_id, "ana")
        h.contact(lead_id)
    high = h.new_lead(score=75)
    low = h.new_lead(score=20)
    assert h.take(high, "ana").state == LeadState.POOLED
    (notice,) = notices(h, high, "ana")
    assert "diversity" in notice and "below 50" in notice
    assert h.take(low, "ana").state == LeadState.CLAIMED


def test_new_tier_may_not_claim(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=30)
    assert h.take(lead_id, "dev").state == LeadState.POOLED
    assert h.rejection_rules("dev") == ["tier"]
    assert h.crm_lead(lead_id)[0] == SMB_QUEUE


def test_standard_tier_score_ceiling(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=85, Industry="Healthcare")  # healthcare pool, above 79
    assert h.take(lead_id, "hugo").state == LeadState.POOLED
    assert h.rejection_rules("hugo") == ["score_ceiling"]
    (notice,) = notices(h, lead_id, "hugo")
    assert "79" in notice and "85" in notice
    assert h.take(lead_id, "gia").state == LeadState.CLAIMED  # top tier has no ceiling


def test_unknown_crm_user_claim_is_undone(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=30)
    assert h.take(lead_id, "005A0000009ZZZZ").state == LeadState.POOLED
    assert h.crm_lead(lead_id)[0] == SMB_QUEUE
    assert h.rejection_rules("005A0000009ZZZZ") == ["unknown_rep"]


def test_queue_mode_only_the_oldest_may_be_taken(engine: Engine) -> None:
    h = Harness(engine)
    oldest = h.new_lead(score=30, Industry="Healthcare")
    h.advance(1)
    newer = h.new_lead(score=60, Industry="Healthcare")
    assert h.crm_lead(newer)[0] == HC_QUEUE
    assert h.take(newer, "gia").state == LeadState.POOLED
    (notice,) = notices(h, newer, "gia")
    assert "queue order" in notice and oldest in notice
    assert h.take(oldest, "gia").state == LeadState.CLAIMED


def test_manager_setting_an_owner_by_hand_is_kept_as_manual(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=30)
    outcome = h.take(lead_id, "cara", by="005A000000M0001")
    lead = h.lead(lead_id)
    assert (outcome.state, lead.owner, lead.source) == (LeadState.ASSIGNED, "cara", "manual")
    owner, fields = h.crm_lead(lead_id)
    assert owner == USERS["cara"] and fields["Leadpool_Source__c"] == "manual"
    assert h.timeline(lead_id)[-1].action == "manual_assignment"


def test_named_account_goes_to_its_owner(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=20, Email="cto@acme.com")
    lead = h.lead(lead_id)
    assert (lead.owner, lead.source) == ("erin", "account")
    assert h.crm_lead(lead_id)[0] == USERS["erin"]


def test_off_hours_reps_are_skipped_and_the_fallback_followed(engine: Engine) -> None:
    # Tuesday 03:00 UTC: nobody in smb or enterprise works; a hot lead falls back to the pool.
    h = Harness(engine, start=datetime(2026, 1, 6, 3, 0, tzinfo=UTC))
    lead_id = h.new_lead(score=95)
    lead = h.lead(lead_id)
    assert (lead.state, lead.pool) == (LeadState.POOLED, "inbound-smb")
    reason = h.timeline(lead_id)[-1].reason
    assert "ana outside hours (Mon-Fri 08:00-17:00 America/New_York)" in reason
    assert "next team enterprise: nobody eligible" in reason
    assert reason.endswith("fallback pool inbound-smb")
    assert h.crm_lead(lead_id)[1]["Leadpool_Reason__c"] == reason[:255]


def test_out_of_office_rep_gets_nothing(engine: Engine) -> None:
    h = Harness(engine, start=datetime(2026, 12, 28, 15, 0, tzinfo=UTC))  # ben is away
    owners = {h.lead(h.new_lead(score=90)).owner for _ in range(6)}
    assert "ben" not in owners and owners <= {"ana", "cara", "dev"}


def test_conversion_is_recorded_with_its_claim_source(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=30)
    h.take(lead_id, "ben")
    h.contact(lead_id)
    outcome = h.deliver(h.crm.update_fields(lead_id, {"IsConverted": True}))
    assert outcome.state == LeadState.CONVERTED
    lead = h.lead(lead_id)
    assert (lead.source, lead.converted_at is not None) == ("pull", True)
    (row,) = h.assignment_rows(lead_id)
    assert row.end_reason == "converted"


def test_same_event_twice_is_applied_once_and_echoes_change_nothing(engine: Engine) -> None:
    h = Harness(engine)
    lead_id = h.new_lead(score=30)
    event = h.crm.set_owner(lead_id, USERS["ben"])
    assert h.deliver(event).state == LeadState.CLAIMED
    assert h.deliver(event).action == "duplicate"
    version = h.lead(lead_id).version
    echo = h.crm.set_owner(lead_id, USERS["ben"])  # the CRM reports the owner we hold
    assert h.deliver(echo).action == "ignored"
    assert h.lead(lead_id).version == version
