"""Dashboard figures as SQL aggregates, so pages stay fast with a large store.

The figures mean the same as `connector.reporting.build_report` (tests compare the two); this
module only moves the counting and the time arithmetic into the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Float, and_, case, cast, func, select

from connector.config.routing_models import RoutingConfig
from connector.lifecycle import END_SLA_BREACH, LeadState
from connector.reporting import percentile
from connector.store.rows import utc
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
class DaySpeed:
    """Median and 90th percentile minutes of one speed measure on one day."""

    day: str
    p50: float | None
    p90: float | None
    n: int


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


def minutes_between(conn: Connection, start: Any, end: Any) -> ColumnElement[float]:
    """SQL for (end - start) in minutes on the connection's engine."""
    if conn.dialect.name == "sqlite":
        # julianday() is a float of days: round away its sub-millisecond noise.
        return func.round((func.julianday(end) - func.julianday(start)) * 1440.0, 4)
    return cast(func.extract("epoch", end - start) / 60.0, Float)


def day_of(conn: Connection, column: Any) -> ColumnElement[str]:
    """SQL for the UTC calendar day (YYYY-MM-DD) of a timestamp column."""
    if conn.dialect.name == "sqlite":
        return func.date(column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def pool_health(conn: Connection, cfg: RoutingConfig, now: datetime) -> list[PoolHealth]:
    """Leads waiting per pool, their age distribution, oldest, and escalations today."""
    pools = {name: PoolHealth(name) for name in cfg.pools}
    age = minutes_between(conn, leads.c.pooled_at, now)
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
    escalated = select(audit.c.details).where(audit.c.at >= midnight, audit.c.action == "escalated")
    for (details,) in conn.execute(escalated):
        name = (details or {}).get("pool")
        if name in pools:
            pools[name].escalations_today += 1
    return list(pools.values())


def _per_day(rows: list[tuple[str, float | None]]) -> list[DaySpeed]:
    by_day: dict[str, list[float]] = defaultdict(list)
    for day, minutes in rows:
        if minutes is not None and minutes >= 0:
            by_day[str(day)].append(float(minutes))
    return [
        DaySpeed(day, percentile(values, 50), percentile(values, 90), len(values))
        for day, values in sorted(by_day.items())
    ]


def speed(conn: Connection, since: datetime) -> dict[str, list[DaySpeed]]:
    """Minutes to assignment, to claim and to contact, p50/p90 per day."""
    first = (
        select(
            assignments.c.crm,
            assignments.c.lead_id,
            func.min(assignments.c.at).label("first_at"),
        )
        .where(assignments.c.at >= since)
        .group_by(assignments.c.crm, assignments.c.lead_id)
        .subquery()
    )
    to_assign = select(
        day_of(conn, first.c.first_at), minutes_between(conn, leads.c.created_at, first.c.first_at)
    ).join_from(first, leads, and_(leads.c.crm == first.c.crm, leads.c.lead_id == first.c.lead_id))
    a = assignments.c
    to_claim = (
        select(day_of(conn, a.at), minutes_between(conn, leads.c.pooled_at, a.at))
        .join_from(
            assignments,
            leads,
            and_(leads.c.crm == assignments.c.crm, leads.c.lead_id == assignments.c.lead_id),
        )
        .where(assignments.c.at >= since, assignments.c.source == "pull")
    )
    to_contact = select(day_of(conn, a.at), minutes_between(conn, a.at, a.contacted_at)).where(
        a.at >= since, a.contacted_at.is_not(None)
    )
    return {
        "assignment": _per_day([(d, m) for d, m in conn.execute(to_assign)]),
        "claim": _per_day([(d, m) for d, m in conn.execute(to_claim)]),
        "contact": _per_day([(d, m) for d, m in conn.execute(to_contact)]),
    }


def rep_table(conn: Connection, cfg: RoutingConfig, since: datetime) -> list[RepRow]:
    """Per rep: pushes, claims, cherry-pick inputs, releases, rejections, breaches, conversions."""
    rows = {r.id: RepRow(r.id, max_open=cfg.claims.max_open) for r in cfg.reps}
    a = assignments.c
    pull = a.source == "pull"
    stmt = (
        select(
            a.rep,
            _count(a.source.in_(["push", "account"])),
            _count(pull),
            _count(a.source == "escalation"),
            _count(a.source.not_in(["push", "account", "pull", "escalation"])),
            _count(a.end_reason == "released"),
            _count(a.end_reason == END_SLA_BREACH),
            _count(a.end_reason == "converted"),
            func.count(),
            func.avg(case((pull, a.score))),
            func.avg(case((pull, a.pool_mean_score))),
        )
        .where(a.at >= since)
        .group_by(a.rep)
    )
    for rep, *counts, claim_mean, pool_mean in conn.execute(stmt):
        row = rows.setdefault(rep, RepRow(rep, max_open=cfg.claims.max_open))
        (
            row.pushes,
            row.claims,
            row.escalations,
            row.manual,
            row.releases,
            row.sla_breaches,
            row.conversions,
            row.held,
        ) = (int(n) for n in counts)
        row.claim_score_mean = None if claim_mean is None else float(claim_mean)
        row.pool_score_mean = None if pool_mean is None else float(pool_mean)
    open_now = (
        select(a.rep, func.count())
        .where(pull, a.ended_at.is_(None), a.contacted_at.is_(None))
        .group_by(a.rep)
    )
    for rep, n in conn.execute(open_now):
        rows.setdefault(rep, RepRow(rep, max_open=cfg.claims.max_open)).open_claims = int(n)
    by_rule = (
        select(rejections.c.rep, rejections.c.rule, func.count())
        .where(rejections.c.at >= since)
        .group_by(rejections.c.rep, rejections.c.rule)
    )
    for rep, rule, n in conn.execute(by_rule):
        rows.setdefault(rep, RepRow(rep, max_open=cfg.claims.max_open)).rejections[rule] = int(n)
    return list(rows.values())


def by_source(conn: Connection, since: datetime) -> list[SourceRow]:
    """Conversion and time to contact by how the rep got the lead (push, pull, escalation...)."""
    a = assignments.c
    counts = (
        select(a.source, func.count(), _count(a.end_reason == "converted"))
        .where(a.at >= since)
        .group_by(a.source)
    )
    contact = select(a.source, minutes_between(conn, a.at, a.contacted_at)).where(
        a.at >= since, a.contacted_at.is_not(None)
    )
    minutes: dict[str, list[float]] = defaultdict(list)
    for source, m in conn.execute(contact):
        if m is not None and m >= 0:
            minutes[source].append(float(m))
    return [
        SourceRow(
            source,
            int(held),
            int(converted),
            percentile(minutes[source], 50),
            percentile(minutes[source], 90),
        )
        for source, held, converted in sorted(conn.execute(counts))
    ]


def overview(conn: Connection, cfg: RoutingConfig, since: datetime, now: datetime) -> Overview:
    """All the main page's figures for [since, now]."""
    total = conn.execute(select(func.count()).select_from(leads)).scalar_one()
    return Overview(
        since,
        now,
        pool_health(conn, cfg, now),
        speed(conn, since),
        rep_table(conn, cfg, since),
        by_source(conn, since),
        int(total),
    )


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
