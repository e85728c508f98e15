"""Routing throughput: route N random leads through route_lead and print decisions/s and latency.

Run as `python bench/routing.py [N]`. The config (50 reps, 5 teams, 10 routes, 5 pools) is built
in code; state (loads, rotation cursors, the clock) is carried from one decision to the next.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.config.routing_models import RoutingConfig
from connector.routing.rules import route_lead
from connector.routing.state import LeadFacts, RepLoad, RoutingState

TEAMS = ("smb", "mid", "enterprise", "healthcare", "emea")
ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin", "UTC")
INDUSTRIES = ("Retail", "Healthcare", "Software", "Banking", "Education", "Pharmaceuticals")
COUNTRIES = ("US", "DE", "FR", "GB", "CA", "BR")


def build_config() -> RoutingConfig:
    """A 50-rep org: 5 teams of 10, 10 routes over every strategy, 5 pools."""
    reps = []
    for i in range(50):
        team = TEAMS[i // 10]
        reps.append(
            {
                "id": f"rep{i:02d}",
                "crm_user": f"005A00000{i:06d}",
                "teams": [team],
                "weight": 1 + i % 3,
                "daily_cap": 400 if i % 7 else 30,
                "weekly_cap": 1500,
                "hours": f"Mon-Fri 00:00-23:59 {ZONES[i % len(ZONES)]}"
                if i % 4
                else f"Mon-Sun 06:00-22:00 {ZONES[i % len(ZONES)]}",
                "out_of_office": ["2026-01-07..2026-01-08"] if i % 11 == 0 else [],
                "active": i % 13 != 5,
            }
        )
    teams = {
        t: {"manager": {"name": f"Manager {t}", "crm_user": f"005M{j}"}, "fallback": TEAMS[j - 1]}
        for j, t in enumerate(TEAMS)
    }
    pools = {
        f"pool-{t}": {"crm_queue": f"00G{j}", "team": t, "members": {"teams": [t]}}
        for j, t in enumerate(TEAMS)
    }
    routes: list[dict[str, Any]] = [
        {"name": "named", "when": {"account_owner": "present"}, "assign": "account_owner"},
        {
            "name": "hc-hot",
            "when": {"Industry": ["Healthcare", "Pharmaceuticals"], "score": ">= 70"},
            "assign": {"least_loaded": {"team": "healthcare"}},
            "sla": "10m",
        },
        {
            "name": "hc",
            "when": {"Industry": ["Healthcare", "Pharmaceuticals"]},
            "pool": "pool-healthcare",
        },
        {
            "name": "big",
            "when": {"NumberOfEmployees": ">= 1000"},
            "assign": {"weighted": {"team": "enterprise"}},
            "sla": "1h",
        },
        {
            "name": "emea",
            "when": {"Country": ["DE", "FR", "GB"], "score": ">= 50"},
            "assign": {"round_robin": {"team": "emea"}},
        },
        {"name": "emea-rest", "when": {"Country": ["DE", "FR", "GB"]}, "pool": "pool-emea"},
        {
            "name": "hot",
            "when": {"score": ">= 80"},
            "assign": {"weighted": {"team": "smb"}},
            "sla": "5m",
        },
        {
            "name": "mid",
            "when": {"score": "50..79", "Title": {"regex": "vp|director|head"}},
            "assign": {"round_robin": {"team": "mid"}},
        },
        {"name": "mid-pool", "when": {"score": "50..79"}, "pool": "pool-mid"},
        {"name": "rest", "pool": "pool-smb"},
    ]
    accounts = [
        {"name": f"Account {k}", "owner": f"rep{20 + k:02d}", "domains": [f"acct{k}.com"]}
        for k in range(10)
    ]
    return RoutingConfig.model_validate(
        {
            "timezone": "America/New_York",
            "reps": reps,
            "teams": teams,
            "pools": pools,
            "routes": routes,
            "accounts": accounts,
            "fallback": {"pool": "pool-smb"},
        }
    )


def random_lead(rng: random.Random, n: int, now: datetime) -> LeadFacts:
    """A lead with a plausible mix of fields."""
    domain = f"acct{rng.randrange(10)}.com" if rng.random() < 0.05 else f"co{n}.com"
    fields = {
        "Email": f"lead{n}@{domain}",
        "Company": f"Company {n}",
        "Industry": rng.choice(INDUSTRIES),
        "Country": rng.choice(COUNTRIES),
        "NumberOfEmployees": str(rng.choice((5, 40, 200, 800, 1500, 20000))),
        "Title": rng.choice(("VP Sales", "Engineer", "Head of Ops", "Analyst", "")),
    }
    score = rng.choice((None, *range(0, 101, 3)))
    return LeadFacts(f"00Q{n:012d}", fields, None if score is None else float(score), now)


def run(count: int, seed: int = 7) -> None:
    """Route `count` leads and print the figures."""
    cfg = build_config()
    rng = random.Random(seed)
    now = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    loads: dict[str, RepLoad] = {}
    rotations: dict[str, Any] = {}
    timings: list[int] = []
    actions: dict[str, int] = {}
    day = now.date()
    for n in range(count):
        now += timedelta(seconds=rng.randrange(1, 40))
        if now.date() != day:
            day = now.date()
            loads = {k: replace(v, assigned_today=0) for k, v in loads.items()}
        state = RoutingState(now=now, loads=loads, rotations=rotations)
        lead = random_lead(rng, n, now)
        started = time.perf_counter_ns()
        decision = route_lead(cfg, lead, state)
        timings.append(time.perf_counter_ns() - started)
        actions[decision.action] = actions.get(decision.action, 0) + 1
        rotations.update(decision.rotation_updates)
        if decision.rep is not None:
            old = loads.get(decision.rep, RepLoad())
            loads[decision.rep] = replace(
                old,
                open_leads=old.open_leads + 1,
                assigned_today=old.assigned_today + 1,
                assigned_week=old.assigned_week + 1,
            )
    total_s = sum(timings) / 1e9
    cuts = statistics.quantiles(timings, n=100)
    print(f"routing: {count} decisions over 50 reps, 10 routes, 5 pools")
    print(f"  decisions/s: {count / total_s:,.0f}")
    print(f"  per decision: p50 {cuts[49] / 1000:.1f} µs, p99 {cuts[98] / 1000:.1f} µs")
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(actions.items())))


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
