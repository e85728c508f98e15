"""Dashboard render times over a large store.

Run as `python bench/dashboard.py [--leads N] [--days D] [--store URL]`. It seeds N leads
(default 100,000) spread over D days, with their assignment, rejection, audit and outbox rows,
by bulk inserts into a fresh SQLite store (or the given URL), then signs in to the dashboard
through Flask's test client and prints how long the worker takes to compute the overview
figures, each page's render time with those figures fresh (what a user waits), and a render
that has to compute them itself. Goal: pages under 300 ms
on SQLite. For PostgreSQL pass --store postgresql://USER@HOST/DB (an empty database).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from werkzeug.security import generate_password_hash

from connector.app import create_app
from connector.clock import ManualClock
from connector.config.routing_models import RoutingConfig
from connector.dashboard.snapshots import Snapshots
from connector.dashboard.views import SNAPSHOTS
from connector.runtime import build_runtime
from connector.store.engine import is_postgres
from connector.store.tables import assignments, audit, leads, outbox, rejections

CONFIG = Path(__file__).resolve().parents[1] / "config"
NOW = datetime(2026, 1, 30, 17, 0, tzinfo=UTC)
CHUNK = 5_000
PASSWORD = "bench-password"


def _lead_rows(cfg: RoutingConfig, n: int, days: int, rng: random.Random) -> dict[str, list[Any]]:
    reps = [r.id for r in cfg.reps]
    pools = list(cfg.pools)
    rows: dict[str, list[Any]] = {
        "leads": [],
        "assignments": [],
        "audit": [],
        "rejections": [],
        "outbox": [],
    }
    for i in range(n):
        lead_id = f"00Q{i:012d}"
        created = NOW - timedelta(minutes=rng.uniform(0, days * 24 * 60))
        score = float(rng.randint(1, 100))
        pool = rng.choice(pools)
        kind = rng.random()
        rep = rng.choice(reps)
        state, source, pooled_at = "WORKING", "push", None
        if kind < 0.02 and created > NOW - timedelta(hours=6):
            state, source, rep, pooled_at = "POOLED", None, None, created
        elif kind < 0.55:
            source, pooled_at = "pull", created
        elif kind < 0.6:
            source, pooled_at = "escalation", created
        at = created + timedelta(minutes=rng.uniform(0, 40) if pooled_at else 0)
        contacted = at + timedelta(minutes=rng.expovariate(1 / 12)) if rep else None
        converted = rng.random() < 0.2 and rep is not None
        rows["leads"].append(
            {
                "crm": "sandbox",
                "lead_id": lead_id,
                "state": "CONVERTED" if converted else state,
                "owner": rep,
                "pool": pool if pooled_at else None,
                "score": score,
                "fields": {},
                "source": source,
                "route": "everything else" if pooled_at else "hot smb",
                "escalation_step": 0,
                "created_at": created,
                "routed_at": created,
                "pooled_at": pooled_at,
                "contacted_at": contacted,
                "updated_at": contacted or created,
                "version": 3,
            }
        )
        rows["audit"].append(_audit(lead_id, created, "received", "lead created in the CRM"))
        if rep is None:
            rows["audit"].append(_audit(lead_id, created, "pooled", f"pooled in {pool}"))
            continue
        rows["assignments"].append(
            {
                "crm": "sandbox",
                "lead_id": lead_id,
                "rep": rep,
                "source": source,
                "pool": pool if pooled_at else None,
                "score": score,
                "pool_mean_score": rng.uniform(40, 60) if source == "pull" else None,
                "at": at,
                "contacted_at": contacted,
                "ended_at": contacted if converted else None,
                "end_reason": "converted" if converted else None,
            }
        )
        rows["audit"].append(_audit(lead_id, at, "assigned", f"{source} to {rep}"))
        if rng.random() < 0.05:
            rows["rejections"].append(
                {
                    "crm": "sandbox",
                    "lead_id": lead_id,
                    "rep": rng.choice(reps),
                    "rule": rng.choice(["hoarding", "diversity", "tier", "race"]),
                    "reason": "claim refused",
                    "at": at,
                }
            )
        parked = rng.random() < 0.001
        rows["outbox"].append(
            {
                "crm": "sandbox",
                "lead_id": lead_id,
                "kind": "update_lead",
                "payload": {"owner": rep},
                "state": "parked" if parked else "done",
                "attempts": 1,
                "created_at": at,
                "next_try_at": at,
                "done_at": None if parked else at,
                "parked_at": at if parked else None,
                "last_error": "INVALID_FIELD: No such column" if parked else None,
            }
        )
    return rows


def _audit(lead_id: str, at: datetime, action: str, reason: str) -> dict[str, Any]:
    return {
        "crm": "sandbox",
        "lead_id": lead_id,
        "at": at,
        "actor": "leadpool",
        "action": action,
        "reason": reason,
        "details": {},
    }


def seed(engine: Engine, cfg: RoutingConfig, n: int, days: int) -> dict[str, int]:
    """Bulk-insert n leads and their history; returns the row counts."""
    rows = _lead_rows(cfg, n, days, random.Random(11))
    tables = {
        "leads": leads,
        "assignments": assignments,
        "audit": audit,
        "rejections": rejections,
        "outbox": outbox,
    }
    with engine.begin() as conn:
        for name, table in tables.items():
            batch = rows[name]
            for start in range(0, len(batch), CHUNK):
                conn.execute(insert(table), batch[start : start + CHUNK])
    if is_postgres(engine):
        # autovacuum would gather planner statistics within a minute; do not wait for it.
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return {name: len(batch) for name, batch in rows.items()}


def main() -> None:
    """Seed, sign in, time each page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--store", help="SQLAlchemy URL of an empty store (default: temp SQLite)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="leadpool-bench-")
    url = args.store or f"sqlite:///{workdir}/bench.db"
    os.environ.setdefault("LEADPOOL_SECRET_KEY", os.urandom(16).hex())
    os.environ["LEADPOOL_BENCH_ADMIN_HASH"] = generate_password_hash(PASSWORD)
    config_dir = Path(workdir) / "config"
    config_dir.mkdir()
    (config_dir / "routing.yaml").write_text((CONFIG / "routing.yaml").read_text())
    (config_dir / "connector.yaml").write_text(
        "crm: sandbox\ndashboard:\n  users: [{name: bench, password_hash_env: "
        "LEADPOOL_BENCH_ADMIN_HASH}]\n"
    )
    rt = build_runtime(config_dir, clock=ManualClock(NOW), store=url)
    started = time.perf_counter()
    counts = seed(rt.engine, rt.config.routing(), args.leads, args.days)
    print(f"seeded in {time.perf_counter() - started:.1f} s: {counts}")
    client = create_app(rt).test_client()
    reply = client.post("/dashboard/login", data={"username": "bench", "password": PASSWORD})
    assert reply.status_code == 302, reply.status_code
    pages = [
        "/dashboard/?days=7",
        "/dashboard/?days=30",
        "/dashboard/parked",
        "/dashboard/leads/sandbox/00Q000000004242",
        "/dashboard/api/overview",
    ]
    snapshots = rt.extras[SNAPSHOTS]
    assert isinstance(snapshots, Snapshots)
    print(f"store: {rt.engine.dialect.name}")
    for days in (7, 30):
        took = snapshots.compute(rt, days).compute_seconds * 1000
        print(f"worker: overview figures for {days} days computed in {took:.0f} ms")
    print(f"{'page':<42} {'served ms':>10} {'no figures ms':>14}")
    print("  served: median of 5 renders with the worker's figures fresh (what a user waits);")
    print("  no figures: a render that must compute them first (no worker, or a new period)")
    for page in pages:
        served = []
        for _ in range(5):
            t0 = time.perf_counter()
            reply = client.get(page)
            served.append((time.perf_counter() - t0) * 1000)
            assert reply.status_code == 200, (page, reply.status_code)
        snapshots.clear()
        t0 = time.perf_counter()
        assert client.get(page).status_code == 200
        cold = (time.perf_counter() - t0) * 1000
        for days in (7, 30):
            snapshots.compute(rt, days)
        print(f"{page:<42} {statistics.median(served):>10.0f} {cold:>14.0f}")
    rt.engine.dispose()


if __name__ == "__main__":
    main()
