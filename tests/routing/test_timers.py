"""Timers: lock expiry, the escalation ladder, SLA breaches and the daily claim floor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.routing.state import RepLoad
from connector.routing.timers import (
    escalate,
    lock_expires_at,
    lock_expiry,
    min_daily_shortfall,
    next_escalation,
    sla_breach,
    sla_due_at,
)
from tests.routing.builders import MONDAY_10AM_NY, config, example, lead, rep, state

T0 = MONDAY_10AM_NY


def test_lock_expiry() -> None:
    assert lock_expires_at(example(), T0) == T0 + timedelta(minutes=15)
    assert lock_expiry(contacted=True) == "keep"
    assert lock_expiry(contacted=False) == "release"
    with pytest.raises(ValueError, match="claimed_at must be an aware datetime"):
        lock_expires_at(example(), T0.replace(tzinfo=None))


def test_escalation_ladder() -> None:
    cfg = example()
    assert next_escalation(cfg, "inbound-smb", T0, 0) == (0, T0 + timedelta(minutes=30))
    assert next_escalation(cfg, "inbound-smb", T0, 1) == (1, T0 + timedelta(minutes=60))
    assert next_escalation(cfg, "inbound-smb", T0, 2) is None
    with pytest.raises(
        ValueError, match="unknown pool 'nope' \\(known: inbound-hc, inbound-smb\\)"
    ):
        next_escalation(cfg, "nope", T0, 0)
    with pytest.raises(ValueError, match="steps_done must be 0 or more"):
        next_escalation(cfg, "inbound-smb", T0, -1)


def test_first_step_assigns_by_round_robin() -> None:
    decision = escalate(example(), "inbound-smb", 0, lead(40), state())
    assert (decision.action, decision.rep, decision.source, decision.strategy) == (
        "assign",
        "ana",
        "escalation",
        "round_robin",
    )
    assert decision.route is None
    assert decision.reason == "unclaimed for 30m in inbound-smb: round robin → ana"
    assert decision.rotation_updates == {
        "rr:team:smb": {"last": "ana", "order": ["ana", "ben", "cara", "dev"]}
    }


def test_escalation_prefers_reps_under_the_claim_floor() -> None:
    decision = escalate(
        example(), "inbound-smb", 0, lead(40), state(priority_reps=frozenset({"cara"}))
    )
    assert decision.rep == "cara"
    assert decision.reason.endswith("(priority: under yesterday's claim floor)")


def test_step_without_team_uses_the_pool_members() -> None:
    # inbound-hc's first step is plain least_loaded over the pool's members (gia, hugo).
    loads = {"gia": RepLoad(open_leads=3)}
    decision = escalate(example(), "inbound-hc", 0, lead(40), state(loads=loads))
    assert (decision.rep, decision.reason) == (
        "hugo",
        "unclaimed for 20m in inbound-hc: least loaded → hugo (0 open, 0 today)",
    )


def test_second_step_goes_to_the_manager() -> None:
    decision = escalate(example(), "inbound-smb", 1, lead(40), state())
    assert (decision.action, decision.team, decision.rep) == ("manager", "smb", None)
    assert decision.reason == "unclaimed for 1h in inbound-smb: manager review by Maria Lopez (smb)"


def test_assign_step_with_nobody_free_goes_to_the_manager() -> None:
    night = state(now=datetime(2026, 1, 6, 4, 0, tzinfo=UTC))
    decision = escalate(example(), "inbound-hc", 0, lead(40), night)
    assert (decision.action, decision.team) == ("manager", "healthcare")
    assert decision.reason.startswith("unclaimed for 20m in inbound-hc: nobody eligible in pool")
    assert decision.reason.endswith("; manager review by Hana Ito (healthcare)")
    assert [s.rep for s in decision.skipped] == ["gia", "hugo"]


def test_escalate_refuses_a_missing_step() -> None:
    with pytest.raises(ValueError, match="pool 'inbound-smb' has no escalation step 2"):
        escalate(example(), "inbound-smb", 2, lead(), state())


def _hot() -> tuple:  # type: ignore[type-arg]
    cfg = example()
    route = next(r for r in cfg.routes if r.name == "hot smb")
    policy = cfg.sla_for(route)
    assert policy is not None
    return cfg, route, policy


def test_sla_due() -> None:
    _, _, policy = _hot()
    assert sla_due_at(policy, T0) == T0 + timedelta(minutes=5)


def test_sla_breach_reassigns_to_someone_else() -> None:
    cfg, route, policy = _hot()
    decision = sla_breach(cfg, policy, lead(90), "ana", "smb", route, state())
    assert (decision.action, decision.rep, decision.source, decision.team) == (
        "assign",
        "ben",
        "escalation",
        "smb",
    )
    assert decision.reason == (
        "not contacted within 5m by ana: reassigned by weighted rotation → ben (weight 1); "
        "Maria Lopez notified"
    )
    assert [(s.rep, s.why) for s in decision.skipped] == [("ana", "excluded: breached SLA")]
    assert decision.sla == policy


def test_sla_breach_with_nobody_free_goes_to_the_manager() -> None:
    cfg, route, policy = _hot()
    st = state(exclude=frozenset({"ben", "cara", "dev"}))
    decision = sla_breach(cfg, policy, lead(90), "ana", None, route, st)
    assert (decision.action, decision.team) == ("manager", "smb")
    assert decision.reason.startswith("not contacted within 5m by ana: nobody eligible in team smb")


def test_sla_breach_without_route_rotates_in_the_reps_team() -> None:
    cfg, _, policy = _hot()
    decision = sla_breach(cfg, policy, lead(90), "ana", None, None, state())
    assert (decision.rep, decision.strategy) == ("ben", "round_robin")


def test_notify_only_policy_keeps_the_rep() -> None:
    cfg, route, policy = _hot()
    notify = policy.model_copy(update={"on_breach": ("notify_manager",)})
    decision = sla_breach(cfg, notify, lead(90), "ana", "smb", route, state())
    assert (decision.action, decision.rep, decision.source, decision.team) == (
        "assign",
        "ana",
        None,
        "smb",
    )
    assert decision.reason == "not contacted within 5m by ana: stays with ana; Maria Lopez notified"


def test_min_daily_shortfall() -> None:
    cfg = example()
    short = min_daily_shortfall(cfg, {"ana": 5, "ben": 4, "gia": 9})
    # erin and finn are in no pool and dev's tier may claim from none; every other active
    # pool member under 5 is listed.
    assert short == [("ben", 4, 5), ("cara", 0, 5), ("hugo", 0, 5)]
    assert min_daily_shortfall(config([rep("ana", teams=["smb"])]), {}) == []
