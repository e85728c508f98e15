"""What the service's timers mean: lock expiry, the pool escalation ladder, SLA breaches."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from connector.config.durations import format_duration
from connector.config.routing_models import Assign, Pool, Route, RoutingConfig, SlaPolicy
from connector.routing.roster import roster
from connector.routing.rules import to_manager
from connector.routing.state import Decision, LeadFacts, RoutingState, require_aware
from connector.routing.strategies import pick

BREACH_SKIP = "excluded: breached SLA"


def lock_expires_at(cfg: RoutingConfig, claimed_at: datetime) -> datetime:
    """When a claim's lock runs out unless the rep makes contact."""
    return require_aware(claimed_at, "claimed_at") + cfg.claims.lock


def lock_expiry(contacted: bool) -> Literal["release", "keep"]:
    """What an expired lock does: a contacted lead stays with the rep, others go back."""
    return "keep" if contacted else "release"


def _pool(cfg: RoutingConfig, name: str) -> Pool:
    pool = cfg.pools.get(name)
    if pool is None:
        known = ", ".join(sorted(cfg.pools)) or "none defined"
        raise ValueError(f"unknown pool {name!r} (known: {known})")
    return pool


def next_escalation(
    cfg: RoutingConfig, pool: str, pooled_at: datetime, steps_done: int
) -> tuple[int, datetime] | None:
    """The index of the pool's next escalation step and when it is due, or None after the last."""
    ladder = _pool(cfg, pool).escalation
    if steps_done < 0:
        raise ValueError(f"steps_done must be 0 or more, got {steps_done}")
    if steps_done >= len(ladder):
        return None
    return steps_done, require_aware(pooled_at, "pooled_at") + ladder[steps_done].after


def escalate(
    cfg: RoutingConfig, pool: str, step_index: int, lead: LeadFacts, state: RoutingState
) -> Decision:
    """Apply one escalation step to a lead still unclaimed in a pool.

    An assign step runs its strategy over its own team/reps or, when it names neither, over the
    pool's members; reps in `state.priority_reps` are picked first. When nobody is eligible, or
    the step says `to: manager`, the pool's team manager reviews the lead.
    """
    require_aware(state.now, "state.now")
    ladder = _pool(cfg, pool).escalation
    if not 0 <= step_index < len(ladder):
        raise ValueError(f"pool {pool!r} has no escalation step {step_index} ({len(ladder)} steps)")
    step = ladder[step_index]
    ros = roster(cfg)
    prefix = f"unclaimed for {format_duration(step.after)} in {pool}"
    team = ros.pool_team(pool)
    if step.assign is None:
        return to_manager(ros, team, prefix, sep=": ")
    assign = step.assign
    prefer = state.priority_reps
    if assign.team or assign.reps or assign.rep or assign.strategy == "account_owner":
        found = pick(cfg, assign, lead, state, prefer=prefer)
    else:
        members = ros.pool_members[pool]
        found = pick(cfg, assign, lead, state, members=members, group=f"pool:{pool}", prefer=prefer)
    if found.rep is None:
        return to_manager(ros, team, f"{prefix}: {found.reason}", skipped=found.skipped)
    return Decision(
        action="assign",
        rep=found.rep,
        strategy=assign.strategy,
        source="escalation",
        sla=cfg.sla_policy(step.sla),
        reason=f"{prefix}: {found.reason}",
        rotation_updates=found.rotation_updates,
        skipped=found.skipped,
    )


def sla_due_at(policy: SlaPolicy, assigned_at: datetime) -> datetime:
    """When a pushed lead must have been contacted."""
    return require_aware(assigned_at, "assigned_at") + policy.contact_within


def sla_breach(
    cfg: RoutingConfig,
    policy: SlaPolicy,
    lead: LeadFacts,
    breached_rep: str,
    team: str | None,
    route: Route | None,
    state: RoutingState,
) -> Decision:
    """Decide what a missed SLA does to a lead.

    With `reassign`, the route's strategy (round robin in the rep's team without a route) picks
    another rep, never the one who breached; nobody eligible → the manager. Without `reassign`
    the lead stays: action "assign" with rep == breached_rep and source None. `team` on the
    decision names the manager to notify when the policy says `notify_manager`.
    """
    require_aware(state.now, "state.now")
    ros = roster(cfg)
    team = team or ros.team_of(breached_rep) or ros.first_team
    prefix = f"not contacted within {format_duration(policy.contact_within)} by {breached_rep}"
    notice = _notice(cfg, policy, team)
    if "reassign" not in policy.on_breach:
        return Decision(
            action="assign",
            rep=breached_rep,
            team=team,
            route=route.name if route else None,
            reason=f"{prefix}: stays with {breached_rep}{notice}",
        )
    if route is not None and route.assign is not None:
        assign = route.assign
    else:
        assign = Assign(strategy="round_robin", team=team)
    excluded = dataclasses.replace(
        state, exclude=state.exclude | {breached_rep}, exclude_reason=BREACH_SKIP
    )
    found = pick(cfg, assign, lead, excluded)
    if found.rep is None:
        return to_manager(
            ros, team, f"{prefix}: {found.reason}", route=route, skipped=found.skipped
        )
    return Decision(
        action="assign",
        rep=found.rep,
        team=team,
        route=route.name if route else None,
        strategy=assign.strategy,
        source="escalation",
        sla=policy,
        reason=f"{prefix}: reassigned by {found.reason}{notice}",
        rotation_updates=found.rotation_updates,
        skipped=found.skipped,
    )


def _notice(cfg: RoutingConfig, policy: SlaPolicy, team: str | None) -> str:
    if "notify_manager" not in policy.on_breach or team not in cfg.teams:
        return ""
    return f"; {cfg.teams[team].manager.name} notified"


def min_daily_shortfall(
    cfg: RoutingConfig, claims_today: Mapping[str, int]
) -> list[tuple[str, int, int]]:
    """(rep, claims, floor) for active pool members who claimed fewer leads than the floor."""
    floor = cfg.claims.min_daily
    if floor is None:
        return []
    member_pools = roster(cfg).member_pools

    def may_claim(rep_id: str, tier_name: str) -> bool:
        tier = cfg.claims.tiers.get(tier_name)
        pools = member_pools.get(rep_id, ())
        return (
            tier is not None
            and bool(pools)
            and (tier.pools == "all" or any(p in tier.pools for p in pools))
        )

    return [
        (rep.id, claims_today.get(rep.id, 0), floor.claims)
        for rep in cfg.reps
        if rep.active and may_claim(rep.id, rep.tier) and claims_today.get(rep.id, 0) < floor.claims
    ]
