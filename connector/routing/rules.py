"""Route matching (first match wins) and the fallback chain that never drops a lead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connector.config.routing_models import Assign, Route, RoutingConfig
from connector.routing.conditions import match_route
from connector.routing.roster import Roster, roster
from connector.routing.state import (
    Decision,
    LeadFacts,
    RouteTrace,
    RoutingState,
    Skip,
    Source,
    require_aware,
)
from connector.routing.strategies import Pick, pick, pick_among

ROTATING = frozenset({"round_robin", "weighted", "least_loaded"})
_SOURCES: Mapping[str, Source] = {"account_owner": "account", "manual": "manual"}


def route_lead(cfg: RoutingConfig, lead: LeadFacts, state: RoutingState) -> Decision:
    """Decide where a new lead goes: the first matching route, else the fallback chain."""
    require_aware(state.now, "state.now")
    ros = roster(cfg)
    trace: list[RouteTrace] = []
    for route in cfg.routes:
        matched, why = match_route(ros, route, lead)
        trace.append(RouteTrace(route.name, matched, why))
        if matched:
            return apply_route(ros, route, why, lead, state, tuple(trace))
    return fall_back(ros, state, "no route matched", team=ros.first_team, trace=tuple(trace))


def apply_route(
    ros: Roster,
    route: Route,
    why: str,
    lead: LeadFacts,
    state: RoutingState,
    trace: tuple[RouteTrace, ...] = (),
) -> Decision:
    """Turn a matched route into a decision: its pool, or a rep its strategy picks."""
    if route.pool is not None:
        return Decision(
            action="pool",
            pool=route.pool,
            route=route.name,
            reason=f"{why}: {route.name} → pool {route.pool}",
            trace=trace,
        )
    assign = route.assign
    assert assign is not None
    found = pick(ros.cfg, assign, lead, state)
    prefix = f"{why}: {route.name}, {found.reason}"
    if found.rep is not None:
        return assigned(ros, found, prefix, assign, route, "push", trace)
    return fall_back(
        ros,
        state,
        prefix,
        team=answerable_team(ros, assign, lead),
        assign=assign,
        route=route,
        skipped=found.skipped,
        trace=trace,
    )


def assigned(
    ros: Roster,
    found: Pick,
    reason: str,
    assign: Assign,
    route: Route | None,
    source: Source,
    trace: tuple[RouteTrace, ...] = (),
    skipped: Sequence[Skip] = (),
) -> Decision:
    """An assign decision for a rep a strategy found."""
    return Decision(
        action="assign",
        rep=found.rep,
        route=route.name if route else None,
        strategy=assign.strategy,
        source=_SOURCES.get(assign.strategy, source),
        sla=ros.slas.get(route.name) if route else None,
        reason=reason,
        rotation_updates=found.rotation_updates,
        skipped=(*skipped, *found.skipped),
        trace=trace,
    )


def answerable_team(ros: Roster, assign: Assign, lead: LeadFacts) -> str | None:
    """The team whose manager answers when an assign finds nobody."""
    if assign.team:
        return assign.team
    if assign.strategy == "account_owner":
        account = ros.account_for(lead.fields)
        if account is not None:
            return ros.team_of(account.owner) or ros.first_team
    people = (assign.rep,) if assign.rep else assign.reps
    for rep_id in people:
        if team := ros.team_of(rep_id):
            return team
    return ros.first_team


def fall_back(
    ros: Roster,
    state: RoutingState,
    prefix: str,
    *,
    team: str | None,
    assign: Assign | None = None,
    route: Route | None = None,
    skipped: Sequence[Skip] = (),
    trace: tuple[RouteTrace, ...] = (),
) -> Decision:
    """The fallback chain: the team's fallback teams, then cfg.fallback.pool, then the manager."""
    cfg = ros.cfg
    skips = list(skipped)
    if (
        assign is not None
        and assign.team
        and assign.strategy in ROTATING
        and cfg.fallback.next_team
    ):
        visited = {assign.team}
        nxt = _fallback_team(cfg, assign.team)
        while nxt is not None and nxt not in visited:
            visited.add(nxt)
            found = pick_among(
                ros, assign.strategy, ros.team_members.get(nxt, ()), f"team:{nxt}", state
            )
            prefix = f"{prefix}; next team {nxt}: {found.reason}"
            if found.rep is not None:
                return assigned(ros, found, prefix, assign, route, "push", trace, skips)
            skips.extend(found.skipped)
            nxt = _fallback_team(cfg, nxt)
    if cfg.fallback.pool is not None:
        return Decision(
            action="pool",
            pool=cfg.fallback.pool,
            route=route.name if route else None,
            reason=f"{prefix}; fallback pool {cfg.fallback.pool}",
            skipped=tuple(skips),
            trace=trace,
        )
    if not cfg.fallback.manager:
        # With no pool and manager fallback off there is nowhere else to go: a lead is never
        # dropped, so the manager still gets it.
        prefix = f"{prefix}; no fallback pool and manager fallback is off, so as a last resort"
    return to_manager(ros, team, prefix, route=route, skipped=skips, trace=trace)


def to_manager(
    ros: Roster,
    team: str | None,
    prefix: str,
    *,
    route: Route | None = None,
    skipped: Sequence[Skip] = (),
    trace: tuple[RouteTrace, ...] = (),
    updates: Mapping[str, Mapping[str, Any]] | None = None,
    sep: str = "; ",
) -> Decision:
    """Hand the lead to a team's manager for review; the reason is `prefix`, sep, whom."""
    team = team if team in ros.cfg.teams else ros.first_team
    if team is None:
        whom = "manager review (no team is configured)"
    else:
        whom = f"manager review by {ros.cfg.teams[team].manager.name} ({team})"
    return Decision(
        action="manager",
        team=team,
        route=route.name if route else None,
        reason=f"{prefix}{sep}{whom}" if prefix else whom,
        rotation_updates=updates or {},
        skipped=tuple(skipped),
        trace=trace,
    )


def _fallback_team(cfg: RoutingConfig, team: str) -> str | None:
    found = cfg.teams.get(team)
    return found.fallback if found else None
