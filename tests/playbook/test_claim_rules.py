"""Playbook 4-6: claim races, the rules that undo a claim, and queue order."""

from __future__ import annotations

from tests.playbook.world import World


def assert_undone(world: World, lead: str, pool: str = "inbound-smb") -> None:
    """The CRM shows the lead back in its pool, as it was before the claim."""
    assert world.crm_owner(lead) == world.pool_owner_value(pool)
    fields = world.crm_fields(lead)
    assert (fields["status"], fields["pool"]) == ("POOLED", pool)
    assert fields["reason"].startswith("claim undone: ")


def test_4_race_of_two_claims_has_exactly_one_winner_in_either_order(world: World) -> None:
    for delivered_first, other in (("ana", "ben"), ("ben", "ana")):
        lead = world.new_lead(score=40)

        world.race(lead, "ana", "ben", delivered_first=delivered_first)

        assert world.crm_owner(lead) == delivered_first
        fields = world.crm_fields(lead)
        assert (fields["status"], fields["source"]) == ("CLAIMED", "pull")
        (notice,) = world.notices(lead, other)
        assert notice.startswith("Claim undone (race)")
        assert f"already claimed by {delivered_first}" in notice
        assert [a.rep for a in world.assignment_rows(lead)] == [delivered_first]
    assert (world.rejection_rules("ana"), world.rejection_rules("ben")) == (["race"], ["race"])


def test_5_rules_that_say_no_undo_the_claim_and_say_why(world: World) -> None:
    # max_open: ana holds ten uncontacted claims; an eleventh is undone.
    held = [world.new_lead(score=30) for _ in range(10)]
    for lead in held:
        world.take(lead, "ana")
    assert {world.crm_fields(lead)["status"] for lead in held} == {"CLAIMED"}
    eleventh = world.new_lead(score=30)
    world.take(eleventh, "ana")
    assert_undone(world, eleventh)
    (notice,) = world.notices(eleventh, "ana")
    assert notice.startswith("Claim undone (max open)") and "(limit 10)" in notice

    # diversity: cara's last nine claims all scored 70; another high-score lead is refused.
    for _ in range(9):
        lead = world.new_lead(score=70)
        world.take(lead, "cara")
        world.contact(lead)
    high = world.new_lead(score=75)
    world.take(high, "cara")
    assert_undone(world, high)
    (notice,) = world.notices(high, "cara")
    assert notice.startswith("Claim undone (diversity)") and "below 50" in notice

    # tiers: a new-tier rep may not claim at all.
    first_day = world.new_lead(score=30)
    world.take(first_day, "dev")
    assert_undone(world, first_day)
    (notice,) = world.notices(first_day, "dev")
    assert notice.startswith("Claim undone (tier)")

    # score ceiling: a standard-tier rep claims above 79.
    rich = world.new_lead(score=85, Industry="Healthcare")
    world.take(rich, "hugo")
    assert_undone(world, rich, "inbound-hc")
    (notice,) = world.notices(rich, "hugo")
    assert notice.startswith("Claim undone (score ceiling)") and "79" in notice and "85" in notice

    # a CRM user the config does not know.
    stray = world.new_lead(score=30)
    world.take(stray, "zed")
    assert_undone(world, stray)
    (notice,) = world.notices(stray, "zed")
    assert notice.startswith("Claim undone (unknown rep)")

    assert world.rejection_rules("ana") == ["max_open"]
    assert world.rejection_rules("cara") == ["diversity"]
    assert world.rejection_rules("dev") == ["tier"]
    assert world.rejection_rules("hugo") == ["score_ceiling"]
    assert world.rejection_rules("zed") == ["unknown_rep"]
    low = world.new_lead(score=20)
    world.take(low, "cara")  # a low-score lead keeps cara's mix diverse: accepted
    assert (world.crm_owner(low), world.crm_fields(low)["status"]) == ("cara", "CLAIMED")


def test_6_queue_mode_only_the_oldest_lead_may_be_taken(world: World) -> None:
    oldest = world.new_lead(score=30, Industry="Healthcare")
    world.advance(1)
    newer = world.new_lead(score=60, Industry="Healthcare")
    assert world.crm_owner(newer) == world.pool_owner_value("inbound-hc")

    world.take(newer, "gia")

    assert_undone(world, newer, "inbound-hc")
    (notice,) = world.notices(newer, "gia")
    assert notice.startswith("Claim undone (queue order)") and oldest in notice
    world.take(oldest, "gia")
    assert (world.crm_owner(oldest), world.crm_fields(oldest)["status"]) == ("gia", "CLAIMED")
