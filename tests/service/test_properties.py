"""Property: random events and clock moves never break the service's invariants."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connector.lifecycle import LeadState
from connector.store.engine import migrate, open_engine
from connector.store.tables import assignments, leads
from tests.service.harness import USERS, Harness

ROUTING = """
timezone: America/New_York
teams:
  smb: {manager: {name: Mo, crm_user: 005M00000000001}}
reps:
  - {id: ana, crm_user: 005A0000001AAAA, teams: [smb], weight: 2, daily_cap: 3,
     hours: "Mon-Fri 08:00-17:00 America/New_York"}
  - {id: ben, crm_user: 005A0000001BBBB, teams: [smb], daily_cap: 2,
     hours: "Mon-Fri 08:00-17:00 America/New_York", out_of_office: ["2026-01-06"]}
  - {id: cara, crm_user: 005A0000001CCCC, teams: [smb], weekly_cap: 4,
     hours: "Mon-Fri 09:00-18:00 America/Chicago"}
  - {id: dev, crm_user: 005A0000001DDDD, teams: [smb], active: false}
pools:
  inbound: {crm_queue: 00GA0000001SMB1, team: smb, members: {teams: [smb]},
            escalation: [{after: 30m, assign: round_robin}, {after: 60m, to: manager}]}
slas:
  hot: {contact_within: 5m}
routes:
  - {name: hot, when: {score: ">= 80"}, assign: {weighted: {team: smb}}, sla: hot}
  - {name: rest, pool: inbound}
claims: {lock: 15m, max_open: 3}
"""

step = st.one_of(
    st.tuples(st.just("lead"), st.integers(0, 100)),
    st.tuples(st.just("take"), st.sampled_from(["ana", "ben", "cara", "dev"])),
    st.tuples(st.just("contact"), st.integers(0, 50)),
    st.tuples(st.just("wait"), st.integers(1, 240)),
)


def check_invariants(h: Harness) -> None:
    with h.engine.connect() as conn:
        rows = conn.execute(select(assignments).order_by(assignments.c.at, assignments.c.id)).all()
        lead_rows = {r.lead_id: r for r in conn.execute(select(leads)).all()}
    open_by_lead: dict[str, list[str]] = defaultdict(list)
    given_per_day: dict[tuple[str, object], int] = defaultdict(int)
    for a in rows:
        if a.ended_at is None:
            open_by_lead[a.lead_id].append(a.rep)
        if a.end_reason == "rejected":
            continue
        rep = h.cfg.rep(a.rep)
        assert rep is not None
        at = a.at if a.at.tzinfo else a.at.replace(tzinfo=UTC)
        day = at.astimezone(ZoneInfo(h.cfg.timezone)).date()
        if a.source in ("push", "escalation", "account"):
            assert rep.active, f"inactive {rep.id} was given {a.lead_id}"
            assert rep.hours is None or rep.hours.covers(at), f"{rep.id} off hours at {at}"
            assert not any(r.covers(day) for r in rep.out_of_office), f"{rep.id} away on {day}"
            if rep.daily_cap is not None:
                assert given_per_day[(rep.id, day)] < rep.daily_cap, f"{rep.id} over daily cap"
        given_per_day[(rep.id, day)] += 1
    for lead_id, reps in open_by_lead.items():
        assert len(reps) == 1, f"{lead_id} has two owners: {reps}"
    for lead_id, lead in lead_rows.items():
        held = open_by_lead.get(lead_id, [])
        if lead.state in (LeadState.ASSIGNED, LeadState.CLAIMED, LeadState.WORKING) and lead.owner:
            assert held == [lead.owner], f"{lead_id} {lead.state} owner {lead.owner} vs {held}"
        if lead.state == LeadState.POOLED:
            assert held == [] and lead.owner is None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=5, max_size=30))
def test_random_days_keep_the_invariants(steps: list[tuple[str, int | str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg_dir = Path(tmp) / "cfg"
        cfg_dir.mkdir()
        (cfg_dir / "routing.yaml").write_text(ROUTING)
        engine = open_engine(f"sqlite:///{tmp}/store.db")
        migrate(engine)
        try:
            h = Harness(engine, config_dir=cfg_dir)
            lead_ids: list[str] = []
            for kind, value in steps:
                if kind == "lead":
                    lead_ids.append(h.new_lead(score=float(value)))
                elif kind == "take" and lead_ids:
                    pooled = [i for i in lead_ids if h.lead(i).state == LeadState.POOLED]
                    if pooled:
                        h.take(pooled[0], USERS[str(value)])
                elif kind == "contact" and lead_ids:
                    h.contact(lead_ids[int(value) % len(lead_ids)])
                elif kind == "wait":
                    h.clock.advance(timedelta(minutes=int(value)))
                    h.worker.run_pass()
                check_invariants(h)
        finally:
            engine.dispose()
