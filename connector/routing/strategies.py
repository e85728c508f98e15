"""Picking a rep: round robin, smooth weighted rotation, least loaded, account owner, fixed rep.

Rotation state (`RoutingState.rotations`) is a JSON-friendly mapping per rotation key:
- `rr:<group>` → {"last": rep id, "order": [rep ids in configured order at that pick]}
- `wrr:<group>` → {"current": {rep id: current weight}}
where <group> is `team:smb`, `pool:inbound-smb`, `reps:ana,ben` or `all`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connector.config.routing_models import Assign, RoutingConfig
from connector.routing.availability import card_unavailable
from connector.routing.roster import Roster, roster
from connector.routing.state import LeadFacts, RoutingState, Skip

PRIORITY_NOTE = " (priority: under yesterday's claim floor)"
_SHOWN_SKIPS = 3


@dataclass(frozen=True)
class Pick:
    """The rep a strategy chose (None when nobody is eligible), why, and rotation state to save."""

    rep: str | None
    reason: str
    rotation_updates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    skipped: tuple[Skip, ...] = ()


def pick(
    cfg: RoutingConfig,
    assign: Assign,
    lead: LeadFacts,
    state: RoutingState,
    *,
    members: Sequence[str] | None = None,
    group: str | None = None,
    prefer: frozenset[str] = frozenset(),
) -> Pick:
    """Pick an eligible rep with the assign's strategy.

    Candidates: the account's owner (account_owner), assign.rep (manual), else `members` when
    given (with `group` naming them for the rotation key, e.g. `pool:inbound-smb`), else
    assign.reps, else assign.team's members, else every rep. Eligible reps in `prefer` (e.g. reps
    under yesterday's claim floor, for escalations) are picked before all others.
    """
    ros = roster(cfg)
    if assign.strategy == "account_owner":
        return account_owner(ros, lead, state)
    if assign.strategy == "manual":
        if not assign.rep:
            return Pick(None, "manual assignment names no rep (set assign.rep)")
        return pick_among(ros, "manual", (assign.rep,), f"rep:{assign.rep}", state)
    if members is not None:
        candidates: Sequence[str] = tuple(members)
        group = group or "reps:" + ",".join(candidates)
    elif assign.reps:
        candidates, group = assign.reps, "reps:" + ",".join(assign.reps)
    elif assign.team:
        candidates, group = ros.team_members.get(assign.team, ()), f"team:{assign.team}"
    else:
        candidates, group = ros.all_reps, "all"
    return pick_among(ros, assign.strategy, candidates, group, state, prefer)


def describe_group(group: str) -> str:
    """Render a rotation group for humans: `team:smb` → `team smb`."""
    return "all reps" if group == "all" else group.replace(":", " ", 1).replace(",", ", ")


def screen(
    ros: Roster, strategy: str, candidates: Sequence[str], state: RoutingState
) -> tuple[list[str], list[Skip]]:
    """Split candidates into eligible reps (in order) and skipped ones with the reason."""
    eligible: list[str] = []
    skipped: list[Skip] = []
    local_times: dict[ZoneInfo, datetime] = {}
    for rep_id in candidates:
        card = ros.cards.get(rep_id)
        if card is None:
            why: str | None = "not a rep in routing.yaml"
        elif rep_id in state.exclude:
            why = state.exclude_reason
        else:
            why = card_unavailable(card, state.now, state.load(rep_id), local_times)
            if why is None and strategy == "weighted" and card.rep.weight == 0:
                why = "weight 0"
        if why is None:
            eligible.append(rep_id)
        else:
            skipped.append(Skip(rep_id, why))
    return eligible, skipped


def nobody(group: str, skipped: Sequence[Skip]) -> str:
    """The reason when no candidate is eligible, naming the first few skips."""
    if not skipped:
        return f"nobody eligible in {describe_group(group)}: it has no reps"
    shown = "; ".join(f"{s.rep} {s.why}" for s in skipped[:_SHOWN_SKIPS])
    more = len(skipped) - _SHOWN_SKIPS
    return f"nobody eligible in {describe_group(group)}: {shown}" + (
        f"; and {more} more" if more > 0 else ""
    )


def pick_among(
    ros: Roster,
    strategy: str,
    candidates: Sequence[str],
    group: str,
    state: RoutingState,
    prefer: Collection[str] = frozenset(),
) -> Pick:
    """Run a strategy over explicit candidates in configured order."""
    eligible, skipped = screen(ros, strategy, candidates, state)
    if not eligible:
        return Pick(None, nobody(group, skipped), {}, tuple(skipped))
    note = ""
    if prefer:
        preferred = [r for r in eligible if r in prefer]
        if preferred:
            eligible, note = preferred, PRIORITY_NOTE
    updates: dict[str, Mapping[str, Any]] = {}
    if strategy == "round_robin":
        rep = _round_robin(candidates, eligible, state.rotations.get("rr:" + group))
        updates["rr:" + group] = {"last": rep, "order": list(candidates)}
        reason = f"round robin → {rep}"
    elif strategy == "weighted":
        rep, current = _weighted(ros, candidates, eligible, state.rotations.get("wrr:" + group))
        updates["wrr:" + group] = {"current": current}
        reason = f"weighted rotation → {rep} (weight {ros.cards[rep].rep.weight})"
    elif strategy == "least_loaded":
        rep = min(eligible, key=lambda r: _load_key(state, r, ros))
        load = state.load(rep)
        reason = f"least loaded → {rep} ({load.open_leads} open, {load.assigned_today} today)"
    else:
        rep = eligible[0]
        reason = f"fixed rep → {rep}"
    return Pick(rep, reason + note, updates, tuple(skipped))


def account_owner(ros: Roster, lead: LeadFacts, state: RoutingState) -> Pick:
    """The owner of the named account the lead belongs to, if the owner can take it."""
    account = ros.account_for(lead.fields)
    if account is None:
        return Pick(None, "no named account matches this lead")
    eligible, skipped = screen(ros, "account_owner", (account.owner,), state)
    if not eligible:
        why = skipped[0].why
        return Pick(None, f"{account.name}'s owner {account.owner}: {why}", {}, tuple(skipped))
    return Pick(account.owner, f"account owner of {account.name} → {account.owner}")


def _load_key(state: RoutingState, rep_id: str, ros: Roster) -> tuple[int, int, int]:
    load = state.load(rep_id)
    return load.open_leads, load.assigned_today, ros.cards[rep_id].position


def _round_robin(
    order: Sequence[str], eligible: Sequence[str], saved: Mapping[str, Any] | None
) -> str:
    # Next after the last pick in configured order. When the last rep left the config, resume
    # at the first rep that followed them in the order saved with that pick.
    start = 0
    last = saved.get("last") if saved else None
    if last is not None:
        positions = {rep: i for i, rep in enumerate(order)}
        if last in positions:
            start = positions[last] + 1
        elif saved is not None and isinstance(saved.get("order"), list | tuple):
            old = list(saved["order"])
            if last in old:
                at = old.index(last)
                for rep in old[at + 1 :] + old[:at]:
                    if rep in positions:
                        start = positions[rep]
                        break
    allowed = set(eligible)
    count = len(order)
    for step in range(count):
        rep = order[(start + step) % count]
        if rep in allowed:
            return rep
    return eligible[0]


def _weighted(
    ros: Roster, order: Sequence[str], eligible: Sequence[str], saved: Mapping[str, Any] | None
) -> tuple[str, dict[str, int]]:
    # Smooth weighted round robin (nginx): every eligible rep gains its weight, the highest
    # current weight wins and pays back the total. Ineligible reps keep their current weight.
    raw = saved.get("current") if saved else None
    previous: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    current = {rep: int(previous.get(rep, 0)) for rep in order}
    total = 0
    best: str | None = None
    for rep in eligible:
        weight = ros.cards[rep].rep.weight
        current[rep] += weight
        total += weight
        if best is None or current[rep] > current[best]:
            best = rep
    assert best is not None
    current[best] -= total
    return best, current
