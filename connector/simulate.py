"""`leadpool simulate`: replay leads over a simulated day against the rules, in a sandbox store.

Reps follow a simple behaviour model: some are absent for the day (leadpool doesn't know, so
their pushed leads breach SLAs); present reps look at their pools now and then and claim a lead
with a probability that grows with its score (the cherry-picking the rules are there to stop);
they make contact after a random delay (sometimes after the lock has run out), and some
contacted leads convert.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from connector.adapters.sandbox import SandboxCRM
from connector.clock import ManualClock
from connector.config.holder import ConfigHolder
from connector.config.routing_models import Rep, RoutingConfig
from connector.lifecycle import LeadState
from connector.report_text import render_report
from connector.reporting import Report, build_report, percentile
from connector.runtime import Runtime
from connector.service import Service
from connector.store.engine import migrate, open_engine, reading
from connector.store.tables import leads as leads_table
from connector.worker import Worker

CONTACTED_STATUS = "Working - Contacted"


@dataclass
class SimulationOptions:
    """What to simulate."""

    config_dir: Path
    leads: str | None = None
    count: int = 120
    seed: int = 7
    day: str | None = None
    store: str | None = None
    absence_rate: float = 0.1
    look_chance: float = 0.25  # chance per minute that a present rep looks at their pools


@dataclass
class SimulationResult:
    """The figures of one simulated day."""

    day: date
    leads: int
    events: int
    absent: list[str]
    report: Report
    cfg: RoutingConfig

    def as_dict(self) -> dict[str, Any]:
        """The headline figures as plain data."""
        r = self.report
        return {
            "day": self.day.isoformat(),
            "leads": self.leads,
            "events": self.events,
            "absent_reps": self.absent,
            "minutes_to_assignment": _pcts(r.minutes_to_assignment),
            "minutes_to_claim": _pcts(r.minutes_to_claim),
            "minutes_to_contact": _pcts(r.minutes_to_contact),
            "escalations": sum(p.escalations for p in r.pools.values()),
            "unclaimed": r.unclaimed,
            "reps": {
                s.rep: {
                    "pushes": s.pushes,
                    "claims": s.claims,
                    "escalations": s.escalations,
                    "claim_score_mean": s.claim_score_mean,
                    "releases": s.releases,
                    "sla_breaches": s.sla_breaches,
                    "rejections": dict(s.rejections),
                }
                for s in r.reps.values()
            },
        }

    def render(self) -> str:
        """The simulation summary and the full report as text."""
        head = [
            f"simulated {self.day} ({self.leads} leads, {self.events} CRM events); "
            f"absent: {', '.join(self.absent) or 'nobody'}",
            f"escalations: {sum(p.escalations for p in self.report.pools.values())}; "
            f"left unclaimed at end of day: {self.report.unclaimed}",
        ]
        return "\n".join(head) + "\n\n" + render_report(self.report, self.cfg)


def _pcts(values: list[float]) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p90": percentile(values, 90), "n": float(len(values))}


@dataclass
class _Pending:
    at: datetime
    kind: str  # contact | convert
    lead_id: str
    rep: str


@dataclass
class _World:
    cfg: RoutingConfig
    runtime: Runtime
    crm: SandboxCRM
    clock: ManualClock
    rng: random.Random
    absent: set[str]
    pending: list[_Pending] = field(default_factory=list)
    events: int = 0

    def deliver(self, event: Any) -> None:
        self.events += 1
        self.runtime.service.ingest_one(event)


def synthetic_leads(cfg: RoutingConfig, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Plausible leads: mostly SMB, some enterprise, healthcare and named-account leads."""
    names = cfg.fields
    domains = [d for a in cfg.accounts for d in a.domains]
    out = []
    for i in range(count):
        roll = rng.random()
        domain = rng.choice(domains) if domains and roll < 0.05 else f"company{i}.example"
        out.append(
            {
                names.email: f"lead{i}@{domain}",
                names.company: f"Company {i}",
                names.score: round(min(100.0, max(0.0, rng.triangular(0, 100, 45)))),
                "Industry": "Healthcare" if 0.05 <= roll < 0.17 else "Retail",
                "NumberOfEmployees": rng.choice([5000, 1200])
                if 0.17 <= roll < 0.25
                else rng.randint(5, 400),
                "LeadSource": rng.choice(["Web", "Event", "Partner"]),
            }
        )
    return out


def _open_world(options: SimulationOptions, day: date) -> _World:
    holder = ConfigHolder.from_directory(options.config_dir)
    cfg = holder.routing()
    zone = ZoneInfo(cfg.timezone)
    start = datetime.combine(day, time(7, 0), zone).astimezone(UTC)
    clock = ManualClock(start)
    url = options.store or f"sqlite:///{tempfile.mkdtemp(prefix='leadpool-sim-')}/sim.db"
    engine = open_engine(url)
    migrate(engine)
    crm = SandboxCRM(engine, clock)
    service = Service(engine, holder.routing, crm, clock)
    runtime = Runtime(holder, engine, crm, service, clock, crm)
    rng = random.Random(options.seed)
    absent = {r.id for r in cfg.reps if rng.random() < options.absence_rate}
    return _World(cfg, runtime, crm, clock, rng, absent)


def _pool_members(cfg: RoutingConfig, rep: Rep) -> list[str]:
    return [
        name
        for name, pool in cfg.pools.items()
        if rep.id in pool.members.reps or set(rep.teams) & set(pool.members.teams)
    ]


def _reps_look(world: _World, options: SimulationOptions) -> None:
    cfg, now = world.cfg, world.clock.now()
    for rep in cfg.reps:
        if rep.id in world.absent or not rep.active or world.rng.random() >= options.look_chance:
            continue
        if rep.hours is not None and not rep.hours.covers(now):
            continue
        for pool_name in _pool_members(cfg, rep):
            with reading(world.runtime.engine) as conn:
                waiting = conn.execute(
                    select(leads_table.c.lead_id, leads_table.c.score)
                    .where(leads_table.c.state == LeadState.POOLED, leads_table.c.pool == pool_name)
                    .order_by(leads_table.c.pooled_at)
                ).all()
            if cfg.pools[pool_name].mode == "queue":
                waiting = waiting[:1]
            for lead_id, score in waiting:
                if world.rng.random() < 0.1 + 0.85 * min(1.0, (score or 0) / 100):
                    world.deliver(world.crm.set_owner(lead_id, rep.crm_user))
                    _plan_contact(world, lead_id, rep.id, mean_minutes=10)
                    return


def _plan_contact(world: _World, lead_id: str, rep: str, mean_minutes: float) -> None:
    delay = timedelta(minutes=world.rng.expovariate(1 / mean_minutes))
    world.pending.append(_Pending(world.clock.now() + delay, "contact", lead_id, rep))


def _due_actions(world: _World) -> None:
    now = world.clock.now()
    due = [p for p in world.pending if p.at <= now]
    world.pending = [p for p in world.pending if p.at > now]
    for action in due:
        rep = world.cfg.rep(action.rep)
        record = world.crm.fetch_lead(action.lead_id)
        if rep is None or record is None or record.owner != rep.crm_user:
            continue  # the lead moved on (lock expired, SLA reassigned)
        if action.kind == "contact":
            world.deliver(
                world.crm.update_fields(action.lead_id, {world.cfg.fields.status: CONTACTED_STATUS})
            )
            if world.rng.random() < 0.25:
                later = now + timedelta(minutes=world.rng.uniform(30, 180))
                world.pending.append(_Pending(later, "convert", action.lead_id, action.rep))
        elif world.cfg.fields.converted:
            world.deliver(
                world.crm.update_fields(action.lead_id, {world.cfg.fields.converted: True})
            )


def _new_pushes(world: _World, seen: set[str]) -> None:
    """Present reps act on leads pushed to them (the absent ones never do)."""
    with reading(world.runtime.engine) as conn:
        rows = conn.execute(
            select(leads_table.c.lead_id, leads_table.c.owner, leads_table.c.version).where(
                leads_table.c.state == LeadState.ASSIGNED
            )
        ).all()
    for lead_id, owner, version in rows:
        key = f"{lead_id}:{version}"
        if key in seen or owner is None or owner in world.absent:
            continue
        seen.add(key)
        _plan_contact(world, lead_id, owner, mean_minutes=4)


def run_simulation(options: SimulationOptions) -> SimulationResult:
    """Simulate one working day minute by minute and report what happened."""
    day = date.fromisoformat(options.day) if options.day else _next_monday()
    world = _open_world(options, day)
    cfg = world.cfg
    zone = ZoneInfo(cfg.timezone)
    if options.leads:
        raw = json.loads(Path(options.leads).read_text(encoding="utf-8"))
        lead_fields = [item.get("fields", item) for item in raw]
    else:
        lead_fields = synthetic_leads(cfg, options.count, world.rng)
    open_at = datetime.combine(day, time(8, 0), zone).astimezone(UTC)
    arrivals = sorted(
        (open_at + timedelta(minutes=world.rng.uniform(0, 9 * 60)), i)
        for i in range(len(lead_fields))
    )
    worker = Worker(world.runtime, ident="simulator")
    end = datetime.combine(day, time(20, 0), zone).astimezone(UTC)
    pushed_seen: set[str] = set()
    start = world.clock.now()
    while world.clock.now() < end:
        now = world.clock.now()
        while arrivals and arrivals[0][0] <= now:
            _, index = arrivals.pop(0)
            world.deliver(world.crm.create_lead(lead_fields[index]))
        _new_pushes(world, pushed_seen)
        _reps_look(world, options)
        _due_actions(world)
        worker.run_pass()
        world.clock.advance(timedelta(minutes=1))
    with reading(world.runtime.engine) as conn:
        report = build_report(conn, cfg, start, world.clock.now())
    return SimulationResult(day, len(lead_fields), world.events, sorted(world.absent), report, cfg)


def _next_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)
