"""route_lead: first match wins, the reasons, and the fallback chain (next team, pool, manager)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.routing.rules import route_lead
from connector.routing.state import RepLoad
from tests.routing.builders import MONDAY_10AM_NY, config, example, lead, rep, state


def test_hot_lead_goes_to_the_weighted_rotation_with_its_sla() -> None:
    decision = route_lead(example(), lead(86, NumberOfEmployees=12), state())
    assert (decision.action, decision.rep, decision.source) == ("assign", "ana", "push")
    assert (decision.route, decision.strategy) == ("hot smb", "weighted")
    assert decision.sla is not None and decision.sla.contact_within == timedelta(minutes=5)
    assert decision.reason == "score 86 ≥ 80: hot smb, weighted rotation → ana (weight 2)"
    assert [(t.route, t.matched) for t in decision.trace] == [
        ("named accounts", False),
        ("healthcare", False),
        ("enterprise", False),
        ("hot smb", True),
    ]
    assert decision.trace[2].why == "NumberOfEmployees 12 is not ≥ 1000"
    assert decision.rotation_updates == {
        "wrr:team:smb": {"current": {"ana": -3, "ben": 1, "cara": 1, "dev": 1}}
    }


NOON_IN_LA = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)


def test_named_account_goes_to_its_owner() -> None:
    decision = route_lead(example(), lead(10, Email="cfo@globex.io"), state(now=NOON_IN_LA))
    assert (decision.action, decision.rep, decision.source, decision.strategy) == (
        "assign",
        "finn",
        "account",
        "account_owner",
    )
    assert decision.reason == (
        "named account Globex (owner finn): named accounts, account owner of Globex → finn"
    )


def test_pool_routes_and_the_catch_all() -> None:
    hc = route_lead(example(), lead(95, Industry="Pharmaceuticals"), state())
    assert (hc.action, hc.pool, hc.rep, hc.source, hc.sla) == (
        "pool",
        "inbound-hc",
        None,
        None,
        None,
    )
    rest = route_lead(example(), lead(None), state())
    assert (rest.action, rest.pool, rest.route) == ("pool", "inbound-smb", "everything else")
    assert rest.reason == "no conditions (catch-all): everything else → pool inbound-smb"


def test_unavailable_owner_falls_back_to_the_pool() -> None:
    # Globex's owner finn works 08:00-17:00 in Los Angeles: 15:00 UTC is 07:00 there.
    decision = route_lead(example(), lead(10, Email="a@globex.com"), state())
    assert (decision.action, decision.pool, decision.route) == (
        "pool",
        "inbound-smb",
        "named accounts",
    )
    assert decision.reason == (
        "named account Globex (owner finn): named accounts, Globex's owner finn: outside hours "
        "(Mon-Fri 08:00-17:00 America/Los_Angeles); fallback pool inbound-smb"
    )


def test_full_team_falls_back_to_the_next_team() -> None:
    loads = {
        "ana": RepLoad(assigned_today=40),
        "ben": RepLoad(assigned_today=30),
        "cara": RepLoad(assigned_today=30),
    }
    # dev (no cap) is the only smb rep left: exclude him too.
    st = state(loads=loads, exclude=frozenset({"dev"}))
    decision = route_lead(example(), lead(90), st)
    assert (decision.action, decision.rep, decision.route) == ("assign", "erin", "hot smb")
    assert decision.reason.endswith("; next team enterprise: weighted rotation → erin (weight 3)")
    assert "ana at daily cap 40/40; ben at daily cap 30/30; cara at daily cap 30/30" in (
        decision.reason
    )
    assert [s.rep for s in decision.skipped] == ["ana", "ben", "cara", "dev", "finn"]
    assert decision.sla is not None and decision.sla.contact_within == timedelta(minutes=5)
    assert list(decision.rotation_updates) == ["wrr:team:enterprise"]


SATURDAY_NIGHT = datetime(2026, 1, 11, 4, 0, tzinfo=UTC)


def test_nobody_anywhere_goes_to_the_fallback_pool() -> None:
    decision = route_lead(example(), lead(90), state(now=SATURDAY_NIGHT))
    assert (decision.action, decision.pool, decision.rep) == ("pool", "inbound-smb", None)
    assert "; next team enterprise: nobody eligible in team enterprise" in decision.reason
    assert decision.reason.endswith("; fallback pool inbound-smb")


def _chain(**fallback: object):  # type: ignore[no-untyped-def]
    return config(
        [rep("ana", teams=["smb"], active=False), rep("erin", teams=["ent"], active=False)],
        routes=[
            {"name": "push", "when": {"score": ">= 50"}, "assign": {"round_robin": {"team": "smb"}}}
        ],
        fallback=fallback,
    )


def test_without_pool_the_team_manager_reviews() -> None:
    decision = route_lead(_chain(), lead(60), state())
    assert (decision.action, decision.team, decision.rep, decision.pool) == (
        "manager",
        "smb",
        None,
        None,
    )
    assert decision.reason == (
        "score 60 ≥ 50: push, nobody eligible in team smb: ana inactive; next team ent: "
        "nobody eligible in team ent: erin inactive; manager review by Maria (smb)"
    )


def test_next_team_can_be_switched_off() -> None:
    decision = route_lead(_chain(next_team=False), lead(60), state())
    assert decision.reason == (
        "score 60 ≥ 50: push, nobody eligible in team smb: ana inactive; "
        "manager review by Maria (smb)"
    )


def test_a_lead_is_never_dropped_even_with_every_fallback_off() -> None:
    decision = route_lead(_chain(next_team=False, manager=False), lead(60), state())
    assert (decision.action, decision.team) == ("manager", "smb")
    assert "as a last resort" in decision.reason


def test_no_matching_route_goes_to_the_pool_then_the_first_teams_manager() -> None:
    low = lead(10)
    decision = route_lead(_chain(pool="inbound"), low, state())
    assert (decision.action, decision.pool, decision.route) == ("pool", "inbound", None)
    assert decision.reason == "no route matched; fallback pool inbound"
    decision = route_lead(_chain(), low, state())
    assert (decision.action, decision.team) == ("manager", "smb")
    assert decision.reason == "no route matched; manager review by Maria (smb)"
    assert [t.why for t in decision.trace] == ["score 10 is not ≥ 50"]


def test_fallback_teams_that_loop_are_tried_once() -> None:
    cfg = config(
        [rep("ana", teams=["a"], active=False), rep("bo", teams=["b"], active=False)],
        teams={
            "a": {"manager": {"name": "A", "crm_user": "1"}, "fallback": "b"},
            "b": {"manager": {"name": "B", "crm_user": "2"}, "fallback": "a"},
        },
        pools={},
        routes=[{"name": "all", "assign": {"least_loaded": {"team": "a"}}}],
    )
    decision = route_lead(cfg, lead(), state())
    assert decision.reason == (
        "no conditions (catch-all): all, nobody eligible in team a: ana inactive; next team b: "
        "nobody eligible in team b: bo inactive; manager review by A (a)"
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match=r"state\.now must be an aware datetime"):
        route_lead(example(), lead(), state(now=MONDAY_10AM_NY.replace(tzinfo=None)))
