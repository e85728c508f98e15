"""Fairness and speed figures from the store: per rep, per pool, and by claim source."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean, quantiles
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from connector.config.routing_models import RoutingConfig
from connector.lifecycle import END_SLA_BREACH, LeadState
from connector.routing.timers import min_daily_shortfall
from connector.store.history import claims_between
from connector.store.rows import utc
from connector.store.tables import assignments, audit, leads, rejections


def percentile(values: list[float], q: int) -> float | None:
    """The q-th percentile (1..99) of values, or None when there are none."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class RepStats:
    """One rep's figures over a period."""

    rep: str
    pushes: int = 0
    claims: int = 0
    escalations: int = 0
    manual: int = 0
    releases: int = 0
    sla_breaches: int = 0
    conversions: int = 0
    open_claims: int = 0
    claim_scores: list[float] = field(default_factory=list)
    pool_scores: list[float] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)
    minutes_to_claim: list[float] = field(default_factory=list)
    minutes_to_contact: list[float] = field(default_factory=list)

    @property
    def claim_score_mean(self) -> float | None:
        """Mean score of the leads the rep claimed."""
        return fmean(self.claim_scores) if self.claim_scores else None

    @property
    def cherry_pick_index(self) -> float | None:
        """Mean claimed score over the pool's mean score at claim time (1.0 = no picking)."""
        if not self.claim_scores or not self.pool_scores or fmean(self.pool_scores) == 0:
            return None
        return fmean(self.claim_scores) / fmean(self.pool_scores)


@dataclass
class PoolStats:
    """One pool's state now and its escalations over the period."""

    pool: str
    waiting: int = 0
    oldest_minutes: float | None = None
    escalations: int = 0
    ages_minutes: list[float] = field(default_factory=list)


@dataclass
class Report:
    """Everything `leadpool report`, `leadpool simulate` and the dashboard show."""

    since: datetime
    until: datetime
    reps: dict[str, RepStats]
    pools: dict[str, PoolStats]
    minutes_to_assignment: list[float]
    minutes_to_claim: list[float]
    minutes_to_contact: list[float]
    by_source: dict[str, tuple[int, int]]  # source -> (leads held, converted)
    unclaimed: int = 0
    under_floor: list[tuple[str, int, int]] = field(default_factory=list)  # rep, claims, floor


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 60


def build_report(conn: Connection, cfg: RoutingConfig, since: datetime, now: datetime) -> Report:
    """Compute the figures for assignments made in [since, now] and the pools as they are now."""
    reps = {r.id: RepStats(r.id) for r in cfg.reps}
    pools = {name: PoolStats(name) for name in cfg.pools}
    lead_rows = {
        (row.crm, row.lead_id): row
        for row in conn.execute(select(leads).where(leads.c.updated_at >= since)).all()
    }
    first_assignment: dict[tuple[str, str], datetime] = {}
    source_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    to_claim: list[float] = []
    to_contact: list[float] = []
    query = select(assignments).where(assignments.c.at >= since).order_by(assignments.c.at)
    for a in conn.execute(query).all():
        at = utc(a.at)
        assert at is not None
        key = (a.crm, a.lead_id)
        first_assignment.setdefault(key, at)
        stats = reps.setdefault(a.rep, RepStats(a.rep))
        source_counts[a.source][0] += 1
        if a.end_reason == "converted":
            source_counts[a.source][1] += 1
            stats.conversions += 1
        if a.source == "pull":
            stats.claims += 1
            if a.score is not None:
                stats.claim_scores.append(a.score)
            if a.pool_mean_score is not None:
                stats.pool_scores.append(a.pool_mean_score)
            lead = lead_rows.get(key)
            waited = _minutes(utc(lead.pooled_at) if lead else None, at)
            if waited is not None and waited >= 0:
                stats.minutes_to_claim.append(waited)
                to_claim.append(waited)
            if a.ended_at is None and a.contacted_at is None:
                stats.open_claims += 1
        elif a.source in ("push", "account"):
            stats.pushes += 1
        elif a.source == "escalation":
            stats.escalations += 1
        else:
            stats.manual += 1
        stats.releases += a.end_reason == "released"
        stats.sla_breaches += a.end_reason == END_SLA_BREACH
        contact = _minutes(at, utc(a.contacted_at))
        if contact is not None:
            stats.minutes_to_contact.append(contact)
            to_contact.append(contact)
    for rule_row in conn.execute(select(rejections).where(rejections.c.at >= since)).all():
        reps.setdefault(rule_row.rep, RepStats(rule_row.rep)).rejections[rule_row.rule] += 1
    to_assign = [
        m
        for key, at in first_assignment.items()
        if key in lead_rows and (m := _minutes(utc(lead_rows[key].created_at), at)) is not None
    ]
    unclaimed = 0
    for row in lead_rows.values():
        if row.state == LeadState.POOLED and row.pool in pools:
            pool = pools[row.pool]
            age = _minutes(utc(row.pooled_at), now) or 0.0
            pool.waiting += 1
            pool.ages_minutes.append(age)
            pool.oldest_minutes = max(pool.oldest_minutes or 0.0, age)
            unclaimed += 1
    escalated = select(audit.c.details).where(audit.c.at >= since, audit.c.action == "escalated")
    for (details,) in conn.execute(escalated).all():
        pool_name = (details or {}).get("pool")
        if pool_name in pools:
            pools[pool_name].escalations += 1
    day_start = now.astimezone(ZoneInfo(cfg.timezone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    under_floor = min_daily_shortfall(cfg, claims_between(conn, day_start, now + timedelta(1)))
    return Report(
        since,
        now,
        reps,
        pools,
        to_assign,
        to_claim,
        to_contact,
        {k: (v[0], v[1]) for k, v in source_counts.items()},
        unclaimed,
        under_floor,
    )
