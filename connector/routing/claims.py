"""Claim checks: membership, tiers, hoarding, release limit, diversity and queue order."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from connector.config.routing_models import Pool, Rep, RoutingConfig, Tier
from connector.routing.roster import roster
from connector.routing.state import RepLoad

Rule = Literal[
    "unknown_rep",
    "inactive",
    "not_member",
    "tier",
    "score_ceiling",
    "max_open",
    "diversity",
    "queue_order",
    "release_limit",
]
# Share comparisons on floats like 0.3 * 10 must not round a whole number of claims upwards.
_EPSILON = 1e-9


@dataclass(frozen=True)
class ClaimLead:
    """A pooled lead a rep tries to claim."""

    lead_id: str
    pool: str
    score: float | None
    pooled_at: datetime


@dataclass(frozen=True)
class ClaimContext:
    """What a claim check needs besides the config: the time, the rep's load, the pool's queue."""

    now: datetime
    load: RepLoad
    waiting: Sequence[ClaimLead]
    pool_mean_score: float | None = None


@dataclass(frozen=True)
class Accept:
    """The claim stands."""

    reason: str


@dataclass(frozen=True)
class Reject:
    """The claim is refused: the rule that refused it and a reason the rep can act on."""

    rule: Rule
    reason: str


def check_claim(
    cfg: RoutingConfig, rep: Rep | None, lead: ClaimLead, ctx: ClaimContext
) -> Accept | Reject:
    """Check a claim against every claim rule, in a fixed order; the first failure rejects."""
    if rep is None:
        return Reject("unknown_rep", "this CRM user is not a leadpool rep")
    if not rep.active:
        return Reject("inactive", f"{rep.label} is marked inactive in leadpool: claims are closed")
    pool = cfg.pools.get(lead.pool)
    if pool is None:
        return Reject("not_member", f"{lead.pool!r} is not a leadpool pool")
    if rep.id not in roster(cfg).pool_members.get(lead.pool, ()):
        return Reject("not_member", f"you are not a member of pool {lead.pool} ({_members(pool)})")
    tier = cfg.claims.tiers.get(rep.tier)
    if tier is None:
        return Reject("tier", f"your tier {rep.tier!r} is not defined in claims.tiers")
    if tier.pools != "all" and lead.pool not in tier.pools:
        allowed = ", ".join(tier.pools) or "no pools"
        return Reject(
            "tier", f"your tier {rep.tier!r} may not claim from {lead.pool} (allowed: {allowed})"
        )
    if not _under_ceiling(tier, lead.score):
        assert tier.max_score is not None and lead.score is not None
        return Reject(
            "score_ceiling",
            f"your tier {rep.tier!r} may claim leads scoring up to {tier.max_score:g}; "
            f"this one scores {lead.score:g}",
        )
    rejected = _load_rules(cfg, ctx.load, lead.score)
    if rejected is not None:
        return rejected
    if pool.mode == "queue" and cfg.claims.queue_order:
        first = _first_claimable(tier, ctx.waiting)
        if first is not None and first.lead_id != lead.lead_id:
            since = first.pooled_at.astimezone(roster(cfg).zone)
            return Reject(
                "queue_order",
                f"{lead.pool} hands out leads oldest first: take lead {first.lead_id} "
                f"(waiting since {since:%Y-%m-%d %H:%M %Z}) first",
            )
    return Accept(f"claimed from {lead.pool} ({_score_words(lead.score)})")


def _load_rules(cfg: RoutingConfig, load: RepLoad, score: float | None) -> Reject | None:
    rules = cfg.claims
    if rules.max_open is not None and load.open_claims >= rules.max_open:
        return Reject(
            "max_open",
            f"you hold {load.open_claims} claimed leads not yet contacted "
            f"(limit {rules.max_open}): contact one before claiming more",
        )
    limit = rules.max_releases_per_day
    if limit is not None and load.releases_today >= limit:
        return Reject(
            "release_limit",
            f"you released {load.releases_today} leads today (limit {limit}): "
            "no more claims until tomorrow",
        )
    diversity = rules.diversity
    if diversity is None or _is_low(score, diversity.below_score):
        return None
    window = diversity.window
    claims = (score, *load.recent_claim_scores[: window - 1])
    if len(claims) < window:
        return None
    low = sum(1 for s in claims if _is_low(s, diversity.below_score))
    needed = math.ceil(diversity.min_share * window - _EPSILON)
    if low >= needed:
        return None
    return Reject(
        "diversity",
        f"with this claim only {low} of your last {window} claims would score below "
        f"{diversity.below_score:g} (at least {needed} needed, {diversity.min_share:.0%}): "
        f"claim a lead scoring under {diversity.below_score:g} next",
    )


def _is_low(score: float | None, below: float) -> bool:
    # An unscored lead is no cherry-pick: it counts with the low scores.
    return score is None or score < below


def _under_ceiling(tier: Tier, score: float | None) -> bool:
    return tier.max_score is None or score is None or score <= tier.max_score


def _first_claimable(tier: Tier, waiting: Sequence[ClaimLead]) -> ClaimLead | None:
    oldest_first = sorted(waiting, key=lambda w: w.pooled_at)
    return next((w for w in oldest_first if _under_ceiling(tier, w.score)), None)


def _members(pool: Pool) -> str:
    parts = []
    if pool.members.teams:
        parts.append("teams " + ", ".join(pool.members.teams))
    if pool.members.reps:
        parts.append("reps " + ", ".join(pool.members.reps))
    return "members: " + "; ".join(parts) if parts else "it has no members"


def _score_words(score: float | None) -> str:
    return "unscored" if score is None else f"score {score:g}"
