"""The values routing reads (lead facts, rep loads, rotation state) and the decisions it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from connector.config.routing_models import SlaPolicy

Action = Literal["assign", "pool", "manager"]
Source = Literal["push", "account", "escalation", "manual"]


@dataclass(frozen=True)
class LeadFacts:
    """What routing knows about a lead: its CRM fields, score and creation time."""

    lead_id: str
    fields: Mapping[str, Any]
    score: float | None
    created_at: datetime


@dataclass(frozen=True)
class RepLoad:
    """A rep's current counters, as the store keeps them."""

    open_leads: int = 0
    assigned_today: int = 0
    assigned_week: int = 0
    open_claims: int = 0
    claims_today: int = 0
    releases_today: int = 0
    recent_claim_scores: tuple[float | None, ...] = ()


NO_LOAD = RepLoad()


@dataclass(frozen=True)
class RoutingState:
    """Everything outside the config that a routing decision depends on."""

    now: datetime
    loads: Mapping[str, RepLoad]
    rotations: Mapping[str, Mapping[str, Any]]
    priority_reps: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    exclude_reason: str = "excluded"  # what a skip of an excluded rep says

    def load(self, rep_id: str) -> RepLoad:
        """The rep's load, or an empty one when the store has none yet."""
        return self.loads.get(rep_id, NO_LOAD)


@dataclass(frozen=True)
class Skip:
    """A rep a strategy passed over, and why."""

    rep: str
    why: str


@dataclass(frozen=True)
class RouteTrace:
    """Whether one route matched a lead, and the condition that decided it."""

    route: str
    matched: bool
    why: str


@dataclass(frozen=True, kw_only=True)
class Decision:
    """Where a lead goes: a rep, a pool or a manager, with a reason a rep can read.

    `team` names whose manager is concerned: the target team for action "manager", and for SLA
    breach decisions also the team whose manager gets the breach notice.
    """

    action: Action
    reason: str
    rep: str | None = None
    pool: str | None = None
    team: str | None = None
    route: str | None = None
    strategy: str | None = None
    source: Source | None = None
    sla: SlaPolicy | None = None
    rotation_updates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    skipped: tuple[Skip, ...] = ()
    trace: tuple[RouteTrace, ...] = ()


def require_aware(when: datetime, what: str) -> datetime:
    """Return `when`, or raise ValueError if it has no time zone (routing works in aware UTC)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (UTC), got naive {when.isoformat()}")
    return when
