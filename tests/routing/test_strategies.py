"""Strategies: round robin, smooth weighted, least loaded, account owner, fixed rep."""

from __future__ import annotations

from typing import Any

from connector.config.routing_models import Assign
from connector.routing.state import RepLoad
from connector.routing.strategies import pick
from tests.routing.builders import config, lead, rep, state

SMB = [rep("ana", teams=["smb"], weight=2), rep("ben", teams=["smb"]), rep("cara", teams=["smb"])]


def _run(strategy: str, picks: int, **assign: Any) -> list[str | None]:
    cfg = config(SMB)
    chosen = Assign.model_validate({"strategy": strategy, "team": "smb", **assign})
    rotations: dict[str, Any] = {}
    out = []
    for _ in range(picks):
        found = pick(cfg, chosen, lead(), state(rotations=rotations))
        rotations.update(found.rotation_updates)
        out.append(found.rep)
    return out


def test_round_robin_cycles_in_configured_order() -> None:
    assert _run("round_robin", 7) == ["ana", "ben", "cara", "ana", "ben", "cara", "ana"]


def test_round_robin_resumes_after_the_last_pick() -> None:
    cfg = config(SMB)
    saved = {"rr:team:smb": {"last": "ben", "order": ["ana", "ben", "cara"]}}
    found = pick(cfg, Assign(strategy="round_robin", team="smb"), lead(), state(rotations=saved))
    assert (found.rep, found.reason) == ("cara", "round robin → cara")
    assert found.rotation_updates == {
        "rr:team:smb": {"last": "cara", "order": ["ana", "ben", "cara"]}
    }


def test_round_robin_survives_the_last_rep_leaving_the_config() -> None:
    cfg = config(SMB)
    saved = {"rr:team:smb": {"last": "bob", "order": ["ana", "bob", "ben", "cara"]}}
    found = pick(cfg, Assign(strategy="round_robin", team="smb"), lead(), state(rotations=saved))
    assert found.rep == "ben"


def test_round_robin_skips_unavailable_reps_and_says_why() -> None:
    saved = {"rr:team:smb": {"last": "ana"}}
    loads = {"ben": RepLoad(assigned_today=3)}
    cfg = config([SMB[0], rep("ben", teams=["smb"], daily_cap=3), SMB[2]])
    found = pick(
        cfg, Assign(strategy="round_robin", team="smb"), lead(), state(rotations=saved, loads=loads)
    )
    assert found.rep == "cara"
    assert [(s.rep, s.why) for s in found.skipped] == [("ben", "at daily cap 3/3")]


def test_weighted_follows_weights_smoothly() -> None:
    # nginx smooth weighted round robin with weights 2, 1, 1.
    assert _run("weighted", 8) == ["ana", "ben", "cara", "ana"] * 2


def test_weighted_reason_names_the_weight() -> None:
    cfg = config(SMB)
    found = pick(cfg, Assign(strategy="weighted", team="smb"), lead(), state())
    assert found.reason == "weighted rotation → ana (weight 2)"
    assert found.rotation_updates == {"wrr:team:smb": {"current": {"ana": -2, "ben": 1, "cara": 1}}}


def test_weighted_never_picks_weight_zero() -> None:
    cfg = config([rep("ana", teams=["smb"], weight=0), rep("ben", teams=["smb"])])
    found = pick(cfg, Assign(strategy="weighted", team="smb"), lead(), state())
    assert found.rep == "ben"
    assert [(s.rep, s.why) for s in found.skipped] == [("ana", "weight 0")]


def test_least_loaded_orders_by_open_then_today_then_config() -> None:
    cfg = config(SMB)
    loads = {
        "ana": RepLoad(open_leads=2, assigned_today=0),
        "ben": RepLoad(open_leads=1, assigned_today=5),
        "cara": RepLoad(open_leads=1, assigned_today=2),
    }
    found = pick(cfg, Assign(strategy="least_loaded", team="smb"), lead(), state(loads=loads))
    assert (found.rep, found.reason) == ("cara", "least loaded → cara (1 open, 2 today)")
    tie = pick(cfg, Assign(strategy="least_loaded", team="smb"), lead(), state())
    assert tie.rep == "ana"
    assert tie.rotation_updates == {}


def test_account_owner_picks_the_owner() -> None:
    cfg = config(SMB, accounts=[{"name": "Acme", "owner": "ben", "domains": ["acme.com"]}])
    found = pick(cfg, Assign(strategy="account_owner"), lead(Email="a@acme.com"), state())
    assert (found.rep, found.reason) == ("ben", "account owner of Acme → ben")


def test_account_owner_unavailable_says_why() -> None:
    reps = [SMB[0], rep("ben", teams=["smb"], out_of_office=["2026-01-01..2026-01-31"])]
    cfg = config(reps, accounts=[{"name": "Acme", "owner": "ben", "domains": ["acme.com"]}])
    found = pick(cfg, Assign(strategy="account_owner"), lead(Email="a@acme.com"), state())
    assert (found.rep, found.reason) == (None, "Acme's owner ben: out of office until 2026-01-31")
    nobody = pick(cfg, Assign(strategy="account_owner"), lead(Email="a@other.com"), state())
    assert (nobody.rep, nobody.reason) == (None, "no named account matches this lead")


def test_manual_picks_the_named_rep_only_if_eligible() -> None:
    cfg = config([*SMB[:2], rep("cara", teams=["smb"], active=False)])
    assert pick(cfg, Assign(strategy="manual", rep="ben"), lead(), state()).reason == (
        "fixed rep → ben"
    )
    found = pick(cfg, Assign(strategy="manual", rep="cara"), lead(), state())
    assert (found.rep, found.reason) == (None, "nobody eligible in rep cara: cara inactive")
    assert pick(cfg, Assign(strategy="manual"), lead(), state()).rep is None


def test_excluded_reps_are_skipped_with_the_given_reason() -> None:
    cfg = config(SMB)
    st = state(exclude=frozenset({"ana"}), exclude_reason="excluded: breached SLA")
    found = pick(cfg, Assign(strategy="round_robin", team="smb"), lead(), st)
    assert found.rep == "ben"
    assert [(s.rep, s.why) for s in found.skipped] == [("ana", "excluded: breached SLA")]


def test_preferred_reps_go_first() -> None:
    cfg = config(SMB)
    found = pick(
        cfg, Assign(strategy="round_robin", team="smb"), lead(), state(), prefer=frozenset({"cara"})
    )
    assert found.reason == "round robin → cara (priority: under yesterday's claim floor)"
    # A preferred rep who cannot take leads does not block the others.
    st = state(exclude=frozenset({"cara"}))
    found = pick(
        cfg, Assign(strategy="round_robin", team="smb"), lead(), st, prefer=frozenset({"cara"})
    )
    assert found.rep == "ana"


def test_members_and_reps_name_their_own_rotation() -> None:
    cfg = config(SMB)
    by_pool = pick(
        cfg,
        Assign(strategy="round_robin"),
        lead(),
        state(),
        members=["ben", "cara"],
        group="pool:inbound",
    )
    assert (by_pool.rep, list(by_pool.rotation_updates)) == ("ben", ["rr:pool:inbound"])
    by_reps = pick(cfg, Assign(strategy="round_robin", reps=("cara", "ana")), lead(), state())
    assert (by_reps.rep, list(by_reps.rotation_updates)) == ("cara", ["rr:reps:cara,ana"])
    everyone = pick(cfg, Assign(strategy="round_robin"), lead(), state())
    assert list(everyone.rotation_updates) == ["rr:all"]


def test_nobody_eligible_lists_the_first_skips() -> None:
    cfg = config([rep(f"r{i}", teams=["smb"], active=False) for i in range(5)])
    found = pick(cfg, Assign(strategy="round_robin", team="smb"), lead(), state())
    assert found.rep is None
    assert found.reason == (
        "nobody eligible in team smb: r0 inactive; r1 inactive; r2 inactive; and 2 more"
    )
    assert len(found.skipped) == 5
    empty = pick(cfg, Assign(strategy="round_robin", team="ent"), lead(), state())
    assert empty.reason == "nobody eligible in team ent: it has no reps"
