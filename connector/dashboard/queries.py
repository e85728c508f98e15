"""Dashboard figures as SQL aggregates, so pages stay fast with a large store.

The figures mean the same as `connector.reporting.build_report` (tests compare the two); this
module only moves the counting and the time arithmetic into the database. The speed
percentiles live in `connector.dashboard.speed`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, case, func, select, text

from connector.config.routing_models import RoutingConfig
from connector.dashboard.speed import (
    DaySpeed,
    Spread,
    minutes_between,
    speed_and_contact_by_source,
)
from connector.lifecycle import END_SLA_BREACH, LeadState
from connector.store.rows import db_time, utc
from connector.store.tables import assignments, audit, leads, rejections

AGE_BUCKETS = ((5, "< 5m"), (15, "5-15m"), (30, "15-30m"), (60, "30-60m"), (240, "1-4h"))
OLDEST_BUCKET = "> 4h"


@dataclass
class PoolHealth:
    """One pool now: leads waiting, how old they are, and escalations since midnight."""

    pool: str
    waiting: int = 0
    oldest_minutes: float | None = None
    ages: dict[str, int] = field(default_factory=dict)
    escalations_today: int = 0


@dataclass
class RepRow:
    """One rep's line in the fairness table."""

    rep: str
    pushes: int = 0
    claims: int = 0
    escalations: int = 0
    manual: int = 0
    releases: int = 0
    sla_breaches: int = 0
    conversions: int = 0
    held: int = 0
    open_claims: int = 0
    max_open: int | None = None
    claim_score_mean: float | None = None
    pool_score_mean: float | None = None
    rejections: dict[str, int] = field(default_factory=dict)

    @property
    def cherry_pick_index(self) -> float | None:
        """Mean claimed score over the pool's mean at claim time (1.0 = no picking)."""
        if self.claim_score_mean is None or not self.pool_score_mean:
            return None
        return self.claim_score_mean / self.pool_score_mean

    @property
    def conversion_rate(self) -> float | None:
        """Converted leads over leads held."""
        return self.conversions / self.held if self.held else None


@dataclass
class SourceRow:
    """Push versus pull: leads held, converted, and time to contact by claim source."""

    source: str
    held: int
    converted: int
    contact_p50: float | None
    contact_p90: float | None

    @property
    def conversion_rate(self) -> float | None:
        """Converted over held."""
        return self.converted / self.held if self.held else None


@dataclass
class Overview:
    """Everything the dashboard's main page shows."""

    since: datetime
    until: datetime
    pools: list[PoolHealth]
    speed: dict[str, list[DaySpeed]]  # assignment | claim | contact -> per day
    reps: list[RepRow]
    sources: list[SourceRow]
    leads_total: int


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def pool_health(conn: Connection, cfg: RoutingConfig, now: datetime) -> list[PoolHealth]:
    """Leads waiting per pool, their age distribution, oldest, and escalations today."""
    pools = {name: PoolHealth(name) for name in cfg.pools}
    age = minutes_between(conn, leads.c.pooled_at, db_time(now))
    bucket = case(
        *[(age < limit, label) for limit, label in AGE_BUCKETS], else_=OLDEST_BUCKET
    ).label("bucket")
    stmt = (
        select(leads.c.pool, bucket, func.count(), func.max(age))
        .where(leads.c.state == LeadState.POOLED)
        .group_by(leads.c.pool, bucket)
    )
    for pool_name, label, n, oldest in conn.execute(stmt):
        health = pools.get(pool_name)
        if health is None:
            continue
        health.waiting += int(n)
        health.ages[str(label)] = int(n)
        if oldest is not None:
            health.oldest_minutes = max(health.oldest_minutes or 0.0, float(oldest))
    midnight = now.astimezone(ZoneInfo(cfg.timezone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    escalated = select(audit.c.details).where(
        audit.c.action == "escalated", audit.c.at >= db_time(midnight)
    )
    for (details,) in conn.execute(escalated):
        name = (details or {}).get("pool")
        if name in pools:
            pools[name].escalations_today += 1
    return list(pools.values())


def _rep_row(rows: dict[str, RepRow], cfg: RoutingConfig, rep: str) -> RepRow:
    return rows.setdefault(rep, RepRow(rep, max_open=cfg.claims.max_open))


def reps_and_sources(
    conn: Connection, cfg: RoutingConfig, since: datetime, contact: dict[str, Spread]
) -> tuple[list[RepRow], list[SourceRow]]:
    """The fairness table per rep and push versus pull per source, from one grouped scan."""
    rows = {r.id: RepRow(r.id, max_open=cfg.claims.max_open) for r in cfg.reps}
    a = assignments.c
    stmt = (
        select(
            a.rep,
            a.source,
            func.count(),
            _count(a.end_reason == "released"),
            _count(a.end_reason == END_SLA_BREACH),
            _count(a.end_reason == "converted"),
            func.avg(a.score),
            func.avg(a.pool_mean_score),
        )
        .where(a.at >= db_time(since))
        .group_by(a.rep, a.source)
    )
    held: Counter[str] = Counter()
    converted: Counter[str] = Counter()
    for rep, source, n, released, breaches, conversions, score, pool_score in conn.execute(stmt):
        row = _rep_row(rows, cfg, rep)
        if source in ("push", "account"):
            row.pushes += int(n)
        elif source == "pull":
            row.claims += int(n)
            row.claim_score_mean = None if score is None else float(score)
            row.pool_score_mean = None if pool_score is None else float(pool_score)
        elif source == "escalation":
            row.escalations += int(n)
        else:
            row.manual += int(n)
        row.releases += int(released)
        row.sla_breaches += int(breaches)
        row.conversions += int(conversions)
        row.held += int(n)
        held[source] += int(n)
        converted[source] += int(conversions)
    open_now = (
        select(a.rep, func.count())
        .where(a.source == "pull", a.contacted_at.is_(None), a.ended_at.is_(None))
        .group_by(a.rep)
    )
    for rep, n in conn.execute(open_now):
        _rep_row(rows, cfg, rep).open_claims = int(n)
    by_rule = (
        select(rejections.c.rep, rejections.c.rule, func.count())
        .where(rejections.c.at >= db_time(since))
        .group_by(rejections.c.rep, rejections.c.rule)
    )
    for rep, rule, n in conn.execute(by_rule):
        _rep_row(rows, cfg, rep).rejections[rule] = int(n)
    sources = []
    for source in sorted(held):
        spread = contact.get(source, Spread(0, None, None))
        sources.append(SourceRow(source, held[source], converted[source], spread.p50, spread.p90))
    return list(rows.values()), sources


def overview(conn: Connection, cfg: RoutingConfig, since: datetime, now: datetime) -> Overview:
    """All the main page's figures for [since, now]."""
    if conn.dialect.name == "postgresql":
        # The speed ranks sort ~100k rows per measure: keep those sorts in memory (the
        # 4MB default spills them to disk). SET LOCAL ends with this read's transaction.
        conn.execute(text("SET LOCAL work_mem = '64MB'"))
    total = conn.execute(select(func.count()).select_from(leads)).scalar_one()
    speed, contact_by_source = speed_and_contact_by_source(conn, since)
    reps, sources = reps_and_sources(conn, cfg, since, contact_by_source)
    return Overview(since, now, pool_health(conn, cfg, now), speed, reps, sources, int(total))


def recent_leads(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The most recently changed leads, for links to their timelines."""
    stmt = (
        select(leads.c.crm, leads.c.lead_id, leads.c.state, leads.c.owner, leads.c.pool)
        .add_columns(leads.c.score, leads.c.updated_at)
        .order_by(leads.c.updated_at.desc(), leads.c.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping, updated_at=utc(row.updated_at)) for row in conn.execute(stmt)]


def default_since(now: datetime, days: int) -> datetime:
    """The start of a period of `days` days ending now."""
    return now - timedelta(days=days)
