"""check_claim: every rule, in order, with the reason the rep reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.routing.claims import Accept, ClaimContext, ClaimLead, Reject, check_claim
from connector.routing.state import NO_LOAD, RepLoad
from tests.routing.builders import MONDAY_10AM_NY, example

T0 = MONDAY_10AM_NY


def _lead(
    score: float | None, pool: str = "inbound-smb", lead_id: str = "L1", minutes_ago: int = 5
) -> ClaimLead:
    return ClaimLead(lead_id, pool, score, T0 - timedelta(minutes=minutes_ago))


def _check(
    rep_id: str | None,
    lead: ClaimLead,
    load: RepLoad = NO_LOAD,
    waiting: tuple[ClaimLead, ...] = (),
) -> Accept | Reject:
    cfg = example()
    rep = cfg.rep(rep_id) if rep_id else None
    return check_claim(cfg, rep, lead, ClaimContext(T0, load, waiting or (lead,)))


def test_a_good_claim_is_accepted() -> None:
    assert _check("ana", _lead(62)) == Accept("claimed from inbound-smb (score 62)")
    assert _check("ben", _lead(None)) == Accept("claimed from inbound-smb (unscored)")


@pytest.mark.parametrize(
    ("rep_id", "lead", "load", "rule", "reason"),
    [
        (None, _lead(62), RepLoad(), "unknown_rep", "this CRM user is not a leadpool rep"),
        (
            "gia",
            _lead(62),
            RepLoad(),
            "not_member",
            "you are not a member of pool inbound-smb (members: teams smb)",
        ),
        (
            "ana",
            _lead(62, pool="nowhere"),
            RepLoad(),
            "not_member",
            "'nowhere' is not a leadpool pool",
        ),
        (
            "dev",
            _lead(62),
            RepLoad(),
            "tier",
            "your tier 'new' may not claim from inbound-smb (allowed: no pools)",
        ),
        (
            "ben",
            _lead(86),
            RepLoad(),
            "score_ceiling",
            "your tier 'standard' may claim leads scoring up to 79; this one scores 86",
        ),
        (
            "ana",
            _lead(62),
            RepLoad(open_claims=10),
            "max_open",
            "you hold 10 claimed leads not yet contacted (limit 10): "
            "contact one before claiming more",
        ),
        (
            "ana",
            _lead(62),
            RepLoad(releases_today=5),
            "release_limit",
            "you released 5 leads today (limit 5): no more claims until tomorrow",
        ),
    ],
)
def test_rejections(
    rep_id: str | None, lead: ClaimLead, load: RepLoad, rule: str, reason: str
) -> None:
    assert _check(rep_id, lead, load) == Reject(rule, reason)  # type: ignore[arg-type]


def test_inactive_rep_is_refused_before_anything_else() -> None:
    cfg = example()
    ana = cfg.reps[0].model_copy(update={"active": False})
    result = check_claim(cfg, ana, _lead(62), ClaimContext(T0, RepLoad(open_claims=99), ()))
    assert result == Reject(
        "inactive", "Ana Silva is marked inactive in leadpool: claims are closed"
    )


def test_max_open_just_under_the_limit_is_fine() -> None:
    assert isinstance(_check("ana", _lead(62), RepLoad(open_claims=9)), Accept)


HIGH = 70.0
LOW = 20.0


@pytest.mark.parametrize(
    ("score", "recent", "accepted"),
    [
        # Window not full yet (this claim + 8 earlier < 10): anything goes.
        (HIGH, (HIGH,) * 8, True),
        # Full window, this high claim would leave 2 of 10 low (< 3 needed).
        (HIGH, (LOW, LOW) + (HIGH,) * 7, False),
        # Three low among the last nine: 3 of 10 is exactly 30%.
        (HIGH, (LOW, LOW, LOW) + (HIGH,) * 6, True),
        # Only the last window-1 claims count: the old low claim beyond them does not.
        (HIGH, (LOW, LOW) + (HIGH,) * 7 + (LOW,), False),
        # Low claims are always fine.
        (LOW, (HIGH,) * 9, True),
        (49.9, (HIGH,) * 9, True),
        (50.0, (HIGH,) * 9, False),
        # Unscored leads count as low.
        (HIGH, (None, None, None) + (HIGH,) * 6, True),
    ],
)
def test_diversity(score: float, recent: tuple[float | None, ...], accepted: bool) -> None:
    result = _check("ana", _lead(score), RepLoad(recent_claim_scores=recent))
    assert isinstance(result, Accept) is accepted
    if not accepted:
        assert isinstance(result, Reject) and result.rule == "diversity"


def test_diversity_reason_names_the_numbers() -> None:
    result = _check("ana", _lead(HIGH), RepLoad(recent_claim_scores=(LOW,) + (HIGH,) * 8))
    assert result == Reject(
        "diversity",
        "with this claim only 1 of your last 10 claims would score below 50 "
        "(at least 3 needed, 30%): claim a lead scoring under 50 next",
    )


def test_queue_pool_hands_out_the_oldest_lead_first() -> None:
    oldest = _lead(40, pool="inbound-hc", lead_id="OLD", minutes_ago=30)
    newer = _lead(40, pool="inbound-hc", lead_id="NEW", minutes_ago=10)
    waiting = (newer, oldest)
    assert _check("gia", oldest, waiting=waiting) == Accept("claimed from inbound-hc (score 40)")
    result = _check("gia", newer, waiting=waiting)
    assert result == Reject(
        "queue_order",
        "inbound-hc hands out leads oldest first: take lead OLD "
        "(waiting since 2026-01-05 09:30 EST) first",
    )


def test_queue_order_skips_leads_above_the_reps_ceiling() -> None:
    hot_oldest = _lead(95, pool="inbound-hc", lead_id="HOT", minutes_ago=30)
    warm = _lead(60, pool="inbound-hc", lead_id="WARM", minutes_ago=10)
    # hugo is 'standard' (max 79): the hot lead is not his to take, so the warm one is next.
    assert isinstance(_check("hugo", warm, waiting=(hot_oldest, warm)), Accept)
    # gia is 'top': she must take the hot one first.
    result = _check("gia", warm, waiting=(hot_oldest, warm))
    assert isinstance(result, Reject) and result.rule == "queue_order"


def test_browse_pools_allow_any_order() -> None:
    older = _lead(40, lead_id="OLD", minutes_ago=30)
    newer = _lead(40, lead_id="NEW", minutes_ago=1)
    assert isinstance(_check("ana", newer, waiting=(older, newer)), Accept)
