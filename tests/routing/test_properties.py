"""Invariants over random configs, loads and clocks: fairness, availability, caps, no drops."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config.routing_models import Assign
from connector.routing.availability import why_unavailable
from connector.routing.rules import route_lead
from connector.routing.state import RepLoad
from connector.routing.strategies import pick
from tests.routing.builders import MONDAY_10AM_NY, config, lead, rep, state

FAST = settings(max_examples=60, deadline=None)


def _team(weights: list[int]) -> tuple[Any, list[str]]:
    ids = [f"r{i}" for i in range(len(weights))]
    return config([rep(i, teams=["smb"], weight=w) for i, w in zip(ids, weights, strict=True)]), ids


def _picks(cfg: Any, strategy: str, count: int, rotations: dict[str, Any]) -> list[str]:
    assign = Assign(strategy=strategy, team="smb")  # type: ignore[arg-type]
    out = []
    for _ in range(count):
        found = pick(cfg, assign, lead(), state(rotations=rotations))
        assert found.rep is not None
        rotations.update(found.rotation_updates)
        out.append(found.rep)
    return out


@FAST
@given(size=st.integers(1, 8), cycles=st.integers(1, 4), start=st.integers(0, 7))
def test_round_robin_is_fair_over_every_full_cycle(size: int, cycles: int, start: int) -> None:
    cfg, ids = _team([1] * size)
    rotations: dict[str, Any] = {"rr:team:smb": {"last": ids[start % size]}}
    picks = _picks(cfg, "round_robin", size * cycles, rotations)
    for k in range(cycles):
        window = picks[k * size : (k + 1) * size]
        counts = [window.count(i) for i in ids]
        assert max(counts) - min(counts) <= 1


@FAST
@given(weights=st.lists(st.integers(0, 6), min_size=1, max_size=6), cycles=st.integers(1, 3))
def test_smooth_weighted_stays_within_one_of_the_weights(weights: list[int], cycles: int) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    cfg, ids = _team(weights)
    total = sum(weights)
    picks = _picks(cfg, "weighted", total * cycles, {})
    for k in range(cycles):
        window = picks[k * total : (k + 1) * total]
        for rep_id, weight in zip(ids, weights, strict=True):
            assert abs(window.count(rep_id) - weight) <= 1
            if weight == 0:
                assert rep_id not in window


rep_specs = st.fixed_dictionaries(
    {
        "active": st.booleans(),
        "start": st.integers(0, 20),
        "length": st.integers(1, 12),
        "days": st.sampled_from(["Mon-Fri", "Mon-Sun", "Sat,Sun", "Tue"]),
        "zone": st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]),
        "ooo": st.none() | st.integers(0, 6),
        "daily_cap": st.none() | st.integers(0, 4),
        "weekly_cap": st.none() | st.integers(0, 8),
        "team": st.sampled_from(["smb", "ent"]),
        "weight": st.integers(0, 3),
    }
)


def _rep(i: int, spec: dict[str, Any]) -> dict[str, Any]:
    end = min(spec["start"] + spec["length"], 23)
    extra: dict[str, Any] = {
        "active": spec["active"],
        "teams": [spec["team"]],
        "weight": spec["weight"],
        "hours": f"{spec['days']} {spec['start']:02d}:00-{end:02d}:59 {spec['zone']}",
        "daily_cap": spec["daily_cap"],
        "weekly_cap": spec["weekly_cap"],
    }
    if spec["ooo"] is not None:
        first = MONDAY_10AM_NY.date() + timedelta(days=spec["ooo"])
        extra["out_of_office"] = [f"{first}..{first + timedelta(days=1)}"]
    return rep(f"r{i}", **extra)


@settings(max_examples=40, deadline=None)
@given(
    specs=st.lists(rep_specs, min_size=1, max_size=6),
    strategy=st.sampled_from(["round_robin", "weighted", "least_loaded"]),
    with_pool=st.booleans(),
    moves=st.lists(st.integers(0, 600), min_size=5, max_size=40),
)
def test_picks_respect_availability_and_caps(
    specs: list[dict[str, Any]], strategy: str, with_pool: bool, moves: list[int]
) -> None:
    cfg = config(
        [_rep(i, s) for i, s in enumerate(specs)],
        routes=[
            {"name": "push", "when": {"score": ">= 50"}, "assign": {strategy: {"team": "smb"}}},
            {"name": "owner", "when": {"score": "< 10"}, "assign": {"rep": "r0"}},
        ],
        fallback={"pool": "inbound" if with_pool else None},
    )
    now = MONDAY_10AM_NY
    loads: dict[str, RepLoad] = {}
    rotations: dict[str, Any] = {}
    for n, minutes in enumerate(moves):
        now += timedelta(minutes=minutes)
        score = float((n * 37) % 100)
        decision = route_lead(cfg, lead(score), state(now=now, loads=loads, rotations=rotations))
        if decision.action == "assign":
            assert decision.rep is not None
            chosen = cfg.rep(decision.rep)
            assert chosen is not None
            assert why_unavailable(cfg, chosen, now, loads.get(chosen.id, RepLoad())) is None
            if strategy == "weighted" and decision.strategy == "weighted":
                assert chosen.weight > 0
            old = loads.get(chosen.id, RepLoad())
            new = replace(
                old,
                assigned_today=old.assigned_today + 1,
                assigned_week=old.assigned_week + 1,
                open_leads=old.open_leads + 1,
            )
            assert chosen.daily_cap is None or new.assigned_today <= chosen.daily_cap
            assert chosen.weekly_cap is None or new.assigned_week <= chosen.weekly_cap
            loads[chosen.id] = new
        elif decision.action == "pool":
            assert decision.pool in cfg.pools and decision.rep is None
        else:
            assert decision.action == "manager" and decision.team in cfg.teams
        assert decision.reason
        rotations.update(decision.rotation_updates)


@settings(max_examples=40, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(["Industry", "NumberOfEmployees", "Email", "Company", "Country"]),
        st.none() | st.text(max_size=12) | st.integers(-5, 5000) | st.booleans(),
    ),
    score=st.none() | st.floats(-50, 150, allow_nan=False),
    hour=st.integers(0, 24 * 7 - 1),
)
def test_example_config_always_decides(
    fields: dict[str, Any], score: float | None, hour: int
) -> None:
    from tests.routing.builders import example

    now = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=hour)
    decision = route_lead(example(), lead(score, **fields), state(now=now))
    assert decision.action in ("assign", "pool", "manager")
    assert (decision.rep is not None) == (decision.action == "assign")
    assert (decision.pool is not None) == (decision.action == "pool")
    assert decision.reason
