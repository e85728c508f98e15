"""Eight reps in eight processes take the same pooled lead: exactly one claim is accepted."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector.adapters.sandbox import SandboxCRM
from connector.clock import ManualClock
from connector.config import load_config
from connector.events import Crm, EventKind, LeadEvent
from connector.service import Service
from connector.store.engine import open_engine
from connector.store.tables import assignments, rejections
from tests.conftest import engine_url
from tests.service.harness import MONDAY_10_NY

pytestmark = pytest.mark.slow
CLAIMERS = 8
TIMEOUT_S = 120

ROUTING = """
teams:
  sales: {manager: {name: Mo, crm_user: 005M00000000001}}
reps:
{reps}
pools:
  inbound: {crm_queue: 00G000000000001, team: sales, members: {teams: [sales]}}
routes:
  - {name: everything, pool: inbound}
"""


def user(i: int) -> str:
    return f"005R0000000000{i}"


def write_config(directory: Path) -> Path:
    reps = "\n".join(
        f"  - {{id: rep{i}, crm_user: {user(i)}, teams: [sales]}}" for i in range(CLAIMERS)
    )
    directory.mkdir()
    (directory / "routing.yaml").write_text(ROUTING.replace("{reps}", reps))
    return directory


def _claim(url: str, config_dir: str, lead_id: str, i: int, barrier: Any, results: Any) -> None:
    engine = open_engine(url)
    try:
        clock = ManualClock(MONDAY_10_NY)
        cfg = load_config(config_dir)
        service = Service(engine, lambda: cfg.routing, SandboxCRM(engine, clock), clock)
        event = LeadEvent(
            Crm.SANDBOX, lead_id, EventKind.OWNER_CHANGED, f"claim-{i}", MONDAY_10_NY,
            {"OwnerId": user(i), "LastModifiedById": user(i)}, user(i),
        )  # fmt: skip
        barrier.wait(TIMEOUT_S)
        outcome = service.ingest_one(event)
        results.put((i, outcome.state, outcome.action))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((i, "error", repr(exc)))
    finally:
        engine.dispose()


def test_eight_processes_claim_one_lead(engine: Engine, tmp_path: Path) -> None:
    config_dir = write_config(tmp_path / "cfg")
    cfg = load_config(config_dir)
    clock = ManualClock(MONDAY_10_NY)
    crm = SandboxCRM(engine, clock)
    service = Service(engine, lambda: cfg.routing, crm, clock)
    lead_id = service.ingest_one(crm.create_lead({"Lead_Score__c": 50})).lead_id
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(CLAIMERS)
    results = ctx.Queue()
    url = engine_url(engine)
    procs = [
        ctx.Process(target=_claim, args=(url, str(config_dir), lead_id, i, barrier, results))
        for i in range(CLAIMERS)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=TIMEOUT_S) for _ in procs]
    for p in procs:
        p.join(TIMEOUT_S)
    assert not [o for o in outcomes if o[1] == "error"], outcomes
    with engine.connect() as conn:
        winners = conn.execute(select(assignments.c.rep).where(assignments.c.lead_id == lead_id))
        losers = conn.execute(select(rejections.c.rep, rejections.c.rule))
        won, lost = list(winners.scalars()), list(losers.all())
    assert len(won) == 1
    assert sorted(r for r, _ in lost) == sorted(
        f"rep{i}" for i in range(CLAIMERS) if f"rep{i}" != won[0]
    )
    assert {rule for _, rule in lost} == {"race"}
