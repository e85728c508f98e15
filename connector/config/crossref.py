"""Checks that names used in routing.yaml point at things it defines (pools, teams, reps, tiers)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from connector.config.durations import parse_duration
from connector.config.routing_models import Assign, RoutingConfig
from connector.config.yaml_source import Path

Problem = tuple[Path, str]


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    return f"unknown {kind} {name!r} (known: {', '.join(names) if names else 'none defined'})"


def check_references(cfg: RoutingConfig) -> list[Problem]:
    """Return every dangling or duplicated name, with the path where it is used."""
    return [*_reps(cfg), *_teams_and_pools(cfg), *_routes(cfg), *_claims_and_accounts(cfg)]


def _reps(cfg: RoutingConfig) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    users: dict[str, int] = {}
    for i, rep in enumerate(cfg.reps):
        if rep.id in seen:
            yield ("reps", i, "id"), f"duplicate rep id {rep.id!r} (also reps[{seen[rep.id]}])"
        seen.setdefault(rep.id, i)
        if rep.crm_user in users:
            yield (
                ("reps", i, "crm_user"),
                (f"CRM user {rep.crm_user!r} already belongs to reps[{users[rep.crm_user]}]"),
            )
        users.setdefault(rep.crm_user, i)
        for j, team in enumerate(rep.teams):
            if team not in cfg.teams:
                yield ("reps", i, "teams", j), _unknown("team", team, cfg.teams)
        if rep.tier not in cfg.claims.tiers:
            yield ("reps", i, "tier"), _unknown("tier", rep.tier, cfg.claims.tiers)


def _assign(cfg: RoutingConfig, assign: Assign, path: Path) -> Iterator[Problem]:
    rep_ids = {r.id for r in cfg.reps}
    if assign.team and assign.team not in cfg.teams:
        yield (*path, "team"), _unknown("team", assign.team, cfg.teams)
    for j, rep in enumerate(assign.reps):
        if rep not in rep_ids:
            yield (*path, "reps", j), _unknown("rep", rep, rep_ids)
    if assign.rep and assign.rep not in rep_ids:
        yield (*path, "rep"), _unknown("rep", assign.rep, rep_ids)


def _teams_and_pools(cfg: RoutingConfig) -> Iterator[Problem]:
    rep_ids = {r.id for r in cfg.reps}
    for name, team in cfg.teams.items():
        if team.fallback and team.fallback not in cfg.teams:
            yield ("teams", name, "fallback"), _unknown("team", team.fallback, cfg.teams)
    for name, pool in cfg.pools.items():
        base: Path = ("pools", name)
        for j, team_name in enumerate(pool.members.teams):
            if team_name not in cfg.teams:
                yield (*base, "members", "teams", j), _unknown("team", team_name, cfg.teams)
        for j, rep in enumerate(pool.members.reps):
            if rep not in rep_ids:
                yield (*base, "members", "reps", j), _unknown("rep", rep, rep_ids)
        if pool.team and pool.team not in cfg.teams:
            yield (*base, "team"), _unknown("team", pool.team, cfg.teams)
        for k, step in enumerate(pool.escalation):
            if step.assign:
                yield from _assign(cfg, step.assign, (*base, "escalation", k, "assign"))
            if step.sla is not None:
                yield from _sla(cfg, step.sla, (*base, "escalation", k, "sla"))
            if step.to == "manager" and not (pool.team or pool.members.teams):
                yield (
                    (*base, "escalation", k, "to"),
                    ("escalating to a manager needs the pool's 'team' (or member teams)"),
                )
    if cfg.fallback.pool and cfg.fallback.pool not in cfg.pools:
        yield ("fallback", "pool"), _unknown("pool", cfg.fallback.pool, cfg.pools)


def _routes(cfg: RoutingConfig) -> Iterator[Problem]:
    names: dict[str, int] = {}
    for i, route in enumerate(cfg.routes):
        base: Path = ("routes", i)
        if route.name in names:
            yield (
                (*base, "name"),
                f"duplicate route name {route.name!r} (also routes[{names[route.name]}])",
            )
        names.setdefault(route.name, i)
        if route.pool and route.pool not in cfg.pools:
            yield (*base, "pool"), _unknown("pool", route.pool, cfg.pools)
        if route.assign:
            yield from _assign(cfg, route.assign, (*base, "assign"))
        if route.sla is not None:
            yield from _sla(cfg, route.sla, (*base, "sla"))


def _sla(cfg: RoutingConfig, spec: str, path: Path) -> Iterator[Problem]:
    if spec in cfg.slas:
        return
    try:
        parse_duration(spec)
    except ValueError:
        yield path, _unknown("SLA policy", spec, cfg.slas) + " and not a duration like 5m"


def _claims_and_accounts(cfg: RoutingConfig) -> Iterator[Problem]:
    rep_ids = {r.id for r in cfg.reps}
    for name, tier in cfg.claims.tiers.items():
        if tier.pools != "all":
            for j, pool in enumerate(tier.pools):
                if pool not in cfg.pools:
                    yield ("claims", "tiers", name, "pools", j), _unknown("pool", pool, cfg.pools)
    for i, account in enumerate(cfg.accounts):
        if account.owner not in rep_ids:
            yield ("accounts", i, "owner"), _unknown("rep", account.owner, rep_ids)
        if not (account.domains or account.companies):
            yield ("accounts", i), "an account needs 'domains' or 'companies' to match leads"
