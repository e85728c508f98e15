"""Per-config lookups built once per config object: team members, pool members, accounts, SLAs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

from connector.config.durations import DateRange, WorkingHours
from connector.config.routing_models import Account, Rep, Route, RoutingConfig, SlaPolicy
from connector.routing.conditions import Check, compile_route, email_domain

_CACHE_SIZE = 8


@dataclass(frozen=True)
class RepCard:
    """The parts of a rep routing checks on every decision, parsed once."""

    rep: Rep
    position: int
    zone: ZoneInfo
    hours: WorkingHours | None
    out_of_office: tuple[DateRange, ...]


class Roster:
    """Indexes over one RoutingConfig; build with `roster(cfg)` so each config is indexed once."""

    def __init__(self, cfg: RoutingConfig) -> None:
        self.cfg = cfg
        self.zone = ZoneInfo(cfg.timezone)
        self.cards: dict[str, RepCard] = {
            rep.id: RepCard(
                rep=rep,
                position=i,
                zone=rep.hours.zone if rep.hours else self.zone,
                hours=rep.hours,
                out_of_office=rep.out_of_office,
            )
            for i, rep in enumerate(cfg.reps)
        }
        self.all_reps: tuple[str, ...] = tuple(rep.id for rep in cfg.reps)
        self.team_members: dict[str, tuple[str, ...]] = {
            team: tuple(rep.id for rep in cfg.reps if team in rep.teams) for team in cfg.teams
        }
        self.pool_members: dict[str, tuple[str, ...]] = {
            name: self._members_of(name) for name in cfg.pools
        }
        self.member_pools: dict[str, frozenset[str]] = {
            rep_id: frozenset(p for p, members in self.pool_members.items() if rep_id in members)
            for rep_id in self.all_reps
        }
        self.slas: dict[str, SlaPolicy | None] = {r.name: cfg.sla_for(r) for r in cfg.routes}
        self.routes: dict[str, Route] = {r.name: r for r in cfg.routes}
        self.checks: dict[str, tuple[Check, ...]] = {r.name: compile_route(r) for r in cfg.routes}
        self.first_team: str | None = next(iter(cfg.teams), None)
        self._by_domain: dict[str, Account] = {}
        self._by_company: dict[str, Account] = {}
        for account in cfg.accounts:
            for domain in account.domains:
                self._by_domain.setdefault(domain.strip().lower().lstrip("@"), account)
            for company in (*account.companies, account.name):
                self._by_company.setdefault(company.strip().casefold(), account)

    def _members_of(self, pool_name: str) -> tuple[str, ...]:
        members = self.cfg.pools[pool_name].members
        teams = set(members.teams)
        listed = set(members.reps)
        return tuple(
            rep.id for rep in self.cfg.reps if rep.id in listed or teams.intersection(rep.teams)
        )

    def account_for(self, fields: Mapping[str, Any]) -> Account | None:
        """The named account a lead belongs to: by email domain (or parent domain), then company."""
        domain = email_domain(fields.get(self.cfg.fields.email))
        while domain:
            account = self._by_domain.get(domain)
            if account is not None:
                return account
            _, _, domain = domain.partition(".")
        company = fields.get(self.cfg.fields.company)
        if isinstance(company, str) and company.strip():
            return self._by_company.get(company.strip().casefold())
        return None

    def team_of(self, rep_id: str) -> str | None:
        """The rep's first team, whose manager answers for the rep."""
        card = self.cards.get(rep_id)
        return card.rep.teams[0] if card and card.rep.teams else None

    def pool_team(self, pool_name: str) -> str | None:
        """The team answerable for a pool: its `team`, else its first member team."""
        pool = self.cfg.pools[pool_name]
        return pool.team or (pool.members.teams[0] if pool.members.teams else None)


_cache: OrderedDict[int, Roster] = OrderedDict()
_cache_lock = Lock()


def roster(cfg: RoutingConfig) -> Roster:
    """The Roster of a config, built on first use; the few most recent configs stay cached."""
    key = id(cfg)
    found = _cache.get(key)
    # The cached Roster holds a reference to its config, so an id cannot be reused while cached.
    if found is not None and found.cfg is cfg:
        return found
    built = Roster(cfg)
    with _cache_lock:
        _cache[key] = built
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return built
