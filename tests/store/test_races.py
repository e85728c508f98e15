"""Real processes racing on one store: claim compare-and-set, outbox leasing."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector.store.engine import ConcurrentUpdate, open_engine
from connector.store.leads import cas_update_lead, get_lead, insert_lead
from connector.store.outbox import backlog, enqueue, lease_due, mark_done
from connector.store.tables import outbox
from tests.conftest import engine_url
from tests.store.samples import NOW, lead_row

pytestmark = pytest.mark.slow

SF = "salesforce"
# Only there so a broken child cannot hang the suite; never reached when things work.
BARRIER_TIMEOUT_S = 120
JOIN_TIMEOUT_S = 240


def _claim_once(url: str, lead_id: str, rep: str, barrier: Any, results: Any) -> None:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            lead = get_lead(conn, SF, lead_id)
        assert lead is not None and lead.state == "POOLED"
        barrier.wait(BARRIER_TIMEOUT_S)
        try:
            with engine.begin() as conn:
                cas_update_lead(conn, SF, lead_id, lead.version, state="CLAIMED", owner=rep)
            results.put((rep, "won"))
        except ConcurrentUpdate:
            results.put((rep, "lost"))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((rep, f"error: {exc!r}"))
    finally:
        engine.dispose()


def _drain(url: str, worker: str, barrier: Any, results: Any) -> None:
    engine = open_engine(url)
    taken: list[int] = []
    refused: list[int] = []
    try:
        barrier.wait(BARRIER_TIMEOUT_S)
        while True:
            rows = lease_due(engine, SF, NOW, 25, worker, timedelta(hours=1))
            if not rows:
                with engine.connect() as conn:
                    if backlog(conn).pending == 0:
                        break
                continue  # the other worker holds the rows left (or ones they wait behind)
            taken.extend(r.id for r in rows)
            with engine.begin() as conn:
                refused.extend(mark_done(conn, {r.id: None for r in rows}, NOW, worker_id=worker))
        results.put((worker, taken, refused, None))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((worker, taken, refused, repr(exc)))
    finally:
        engine.dispose()


def _run(target: Any, args_per_process: list[tuple[Any, ...]]) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args_per_process))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=target, args=(*args, barrier, results)) for args in args_per_process
    ]
    for p in processes:
        p.start()
    collected = [results.get(timeout=JOIN_TIMEOUT_S) for _ in processes]
    for p in processes:
        p.join(JOIN_TIMEOUT_S)
        assert p.exitcode == 0
    return collected


def test_eight_processes_claim_one_pooled_lead_exactly_one_wins(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_lead(conn, lead_row("00Qrace"))
    reps = [f"rep{i}" for i in range(8)]
    outcomes = dict(_run(_claim_once, [(engine_url(engine), "00Qrace", rep) for rep in reps]))

    assert sorted(outcomes) == reps
    winners = [rep for rep, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    assert sorted(outcomes.values()) == ["lost"] * 7 + ["won"]
    with engine.connect() as conn:
        lead = get_lead(conn, SF, "00Qrace")
    assert lead is not None
    assert (lead.state, lead.owner, lead.version) == ("CLAIMED", winners[0], 2)


def test_two_processes_drain_the_outbox_without_taking_a_row_twice(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = [enqueue(conn, SF, f"L{i % 700}", "update_lead", {"n": i}, NOW) for i in range(2000)]
    url = engine_url(engine)
    results = _run(_drain, [(url, "w1"), (url, "w2")])

    assert [error for *_, error in results] == [None, None]
    assert [refused for _, _, refused, _ in results] == [[], []]
    taken = Counter(row_id for _, rows, _, _ in results for row_id in rows)
    assert set(taken) == set(ids)
    assert max(taken.values()) == 1
    with engine.connect() as conn:
        by_state = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        states = {state: n for state, n in conn.execute(by_state)}
    assert states == {"done": 2000}
