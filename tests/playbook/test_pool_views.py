"""Playbook 12: the pool view previews only the configured fields; queue mode takes the next."""

from __future__ import annotations

from tests.playbook.world import World

# What each CRM's pool view shows of a lead: the example's preview_fields for inbound-smb
# (pool mode) and, for inbound-hc (queue mode, no preview list), the score but no identity.
SMB_VIEW = {
    "salesforce": ["LEAD.COMPANY", "Lead_Score__c", "LEAD.LEAD_SOURCE", "LEAD.STATE"],
    "hubspot": ["company", "hubspotscore", "hs_analytics_source", "state"],
}
HC_VIEW = {
    "salesforce": ["Lead_Score__c", "LEAD.CREATED_DATE"],
    "hubspot": ["hubspotscore"],
}


def test_12_pool_view_previews_and_queue_mode_allows_only_the_next(world: World) -> None:
    smb_view, hc_view = world.pool_view("inbound-smb"), world.pool_view("inbound-hc")
    if world.crm == "sandbox":  # the sandbox has no list views of its own
        assert (smb_view, hc_view) == (None, None)
    else:
        assert smb_view == SMB_VIEW[world.crm]
        assert hc_view == HC_VIEW[world.crm]

    # Blind (queue) mode: picking anything but the oldest is undone, naming the lead to take.
    first = world.new_lead(score=20, Industry="Healthcare")
    world.advance(1)
    second = world.new_lead(score=70, Industry="Healthcare")
    world.take(second, "gia")
    assert world.crm_owner(second) == world.pool_owner_value("inbound-hc")
    (notice,) = world.notices(second, "gia")
    assert notice.startswith("Claim undone (queue order)") and first in notice
    world.take(first, "gia")
    world.take(second, "hugo")  # now the oldest waiting: taken
    assert (world.crm_owner(first), world.crm_owner(second)) == ("gia", "hugo")
    assert {world.crm_fields(lead)["status"] for lead in (first, second)} == {"CLAIMED"}
