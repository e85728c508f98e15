"""`leadpool explain`: why a lead would go where it goes, in lines an admin can read."""

from __future__ import annotations

from connector.config.durations import format_duration
from connector.config.routing_models import RoutingConfig
from connector.routing.roster import roster
from connector.routing.rules import route_lead
from connector.routing.state import Decision, LeadFacts, RoutingState
from connector.routing.strategies import screen


def explain_lead(cfg: RoutingConfig, lead: LeadFacts, state: RoutingState) -> list[str]:
    """Which route matched and why earlier ones didn't, who was eligible, and the decision."""
    decision = route_lead(cfg, lead, state)
    score = "unscored" if lead.score is None else f"score {lead.score:g}"
    lines = [f"lead {lead.lead_id} ({score}) at {state.now.isoformat()}"]
    for step in decision.trace:
        verdict = "matched" if step.matched else "no match"
        lines.append(f"  route {step.route!r}: {verdict}: {step.why}")
    if not any(step.matched for step in decision.trace):
        lines.append("  no route matched: the fallback chain applies")
    eligible = _eligible(cfg, lead, state, decision)
    if eligible is not None:
        lines.append("  eligible: " + (", ".join(eligible) if eligible else "nobody"))
    for skip in decision.skipped:
        lines.append(f"  skipped {skip.rep}: {skip.why}")
    lines.append("decision: " + _verdict(decision))
    lines.append("reason: " + decision.reason)
    return lines


def _eligible(
    cfg: RoutingConfig, lead: LeadFacts, state: RoutingState, decision: Decision
) -> list[str] | None:
    ros = roster(cfg)
    route = ros.routes.get(decision.route) if decision.route else None
    if route is None or route.assign is None:
        return None
    assign = route.assign
    if assign.strategy == "account_owner":
        account = ros.account_for(lead.fields)
        candidates: tuple[str, ...] = (account.owner,) if account else ()
    elif assign.rep:
        candidates = (assign.rep,)
    elif assign.reps:
        candidates = assign.reps
    elif assign.team:
        candidates = ros.team_members.get(assign.team, ())
    else:
        candidates = ros.all_reps
    return screen(ros, assign.strategy, candidates, state)[0]


def _verdict(decision: Decision) -> str:
    if decision.action == "assign":
        text = f"assign to {decision.rep} ({decision.source}, {decision.strategy})"
        if decision.sla is not None:
            text += f", contact within {format_duration(decision.sla.contact_within)}"
        return text
    if decision.action == "pool":
        return f"put in pool {decision.pool}"
    return f"manager review ({decision.team or 'no team configured'})"
