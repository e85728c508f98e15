"""The per-transaction context the service's handlers share: connection, config, clock, writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from connector.adapters.base import Change, CreateTask, LeadpoolFields, UpdateLead
from connector.adapters.change_codec import encode_change
from connector.config.routing_models import RoutingConfig, crm_user_key
from connector.events import Crm
from connector.lifecycle import TaskKind
from connector.routing.state import LeadFacts, RepLoad, RoutingState
from connector.routing.timers import min_daily_shortfall
from connector.store import history, journal, outbox
from connector.store.rows import LeadRow

LEADPOOL = "leadpool"


@dataclass
class Tx:
    """One event's or timer's transaction: everything a handler reads and writes goes through it."""

    conn: Connection
    cfg: RoutingConfig
    crm: Crm
    now: datetime
    event_key: str | None = None
    writes: int = 0
    notes: list[str] = field(default_factory=list)
    rotation_versions: dict[str, int] = field(default_factory=dict)

    def audit(self, lead_id: str, actor: str, action: str, reason: str, **details: Any) -> None:
        """Write one audit row for the lead."""
        journal.add_audit(
            self.conn, self.crm, lead_id, self.now, actor, action, reason, self.event_key, details
        )
        self.notes.append(reason)

    def write(self, change: Change, lead_id: str) -> None:
        """Queue a CRM change for a lead in the outbox (flushed by the worker after commit)."""
        kind, payload = encode_change(change)
        outbox.enqueue(self.conn, self.crm, lead_id, kind, payload, self.now)
        self.writes += 1

    def mark(self, lead_id: str, status: str, reason: str, **kw: Any) -> None:
        """Write the leadpool status fields (and optionally owner/pool) on the CRM lead."""
        fields = LeadpoolFields(
            status, reason, kw.pop("source", None), kw.pop("lock_expires", None)
        )
        change = UpdateLead(lead_id, kw.pop("owner", None), kw.pop("pool", None), fields)
        self.write(change, lead_id)

    def task(
        self,
        lead_id: str,
        owner_user: str,
        kind: TaskKind,
        subject: str,
        due: datetime,
        body: str = "",
    ) -> str:
        """Create a CRM task for a user and remember it; returns leadpool's task key."""
        key = f"{kind}-{uuid.uuid4().hex[:20]}"
        journal.add_task(self.conn, key, self.crm, lead_id, owner_user, kind, subject, due)
        self.write(CreateTask(key, lead_id, owner_user, subject, due, body), lead_id)
        return key

    # -- config-derived helpers -------------------------------------------------------------

    def pool_ref(self, pool: str) -> str:
        """What the CRM calls a pool: the Salesforce queue id, or the pool name elsewhere."""
        spec = self.cfg.pools[pool]
        if self.crm == Crm.HUBSPOT:
            return pool
        return spec.crm_queue or pool

    def pool_owner(self, pool: str) -> str | None:
        """The CRM owner a pooled lead has: the queue on Salesforce/sandbox, nobody on HubSpot."""
        return None if self.crm == Crm.HUBSPOT else self.pool_ref(pool)

    def pool_of_owner(self, owner: str | None) -> str | None:
        """The pool whose queue this CRM owner id is, if any."""
        if owner is None:
            return None
        for name in self.cfg.pools:
            ref = self.pool_owner(name)
            if ref is not None and same_crm_id(ref, owner):
                return name
        return None

    def score_of(self, fields: dict[str, Any]) -> float | None:
        """Read the lead score from the configured score field."""
        return parse_score(fields.get(self.cfg.fields.score))

    def facts(self, lead: LeadRow) -> LeadFacts:
        """The routing view of a stored lead."""
        return LeadFacts(lead.lead_id, public_fields(lead.fields), lead.score, lead.created_at)

    def day_bounds(self) -> tuple[datetime, datetime]:
        """Start of today and of this week (Monday) in the org's time zone, as UTC."""
        zone = ZoneInfo(self.cfg.timezone)
        local = self.now.astimezone(zone)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        week = day - timedelta(days=day.weekday())
        return day, week

    def loads(self, reps: list[str] | None = None) -> dict[str, RepLoad]:
        """The current load of the given reps (default: every configured rep)."""
        day, week = self.day_bounds()
        window = self.cfg.claims.diversity.window if self.cfg.claims.diversity else 0
        wanted = [r.id for r in self.cfg.reps] if reps is None else reps
        return journal.rep_loads(self.conn, wanted, day, week, window)

    def routing_state(
        self, exclude: frozenset[str] = frozenset(), *, escalation: bool = False
    ) -> RoutingState:
        """Loads, rotation cursors and (for escalations) priorities, read only when used."""
        return RoutingState(
            now=self.now,
            loads=Lazy(self.loads),
            rotations=Lazy(self._rotations),
            priority_reps=self.priority_reps() if escalation else frozenset(),
            exclude=exclude,
        )

    def _rotations(self) -> dict[str, dict[str, Any]]:
        stored = history.all_rotations(self.conn)
        self.rotation_versions.update({key: version for key, (_s, version) in stored.items()})
        return {key: state for key, (state, _v) in stored.items()}

    def priority_reps(self) -> frozenset[str]:
        """Reps who ended yesterday under the daily claim floor (first in escalations)."""
        floor = self.cfg.claims.min_daily
        if floor is None or not floor.priority_next_day:
            return frozenset()
        day, _ = self.day_bounds()
        counts = history.claims_between(self.conn, day - timedelta(days=1), day)
        if not counts:  # no claims at all yesterday (weekend, first day): nobody is behind
            return frozenset()
        return frozenset(rep for rep, _n, _floor in min_daily_shortfall(self.cfg, counts))

    def save_rotations(self, updates: dict[str, Any] | Any) -> None:
        """Persist rotation states a decision moved (compare-and-set on each)."""
        for key, state in dict(updates).items():
            version = self.rotation_versions.get(key)
            if version is None:
                current = journal.get_rotation(self.conn, key)
                version = None if current is None else current[1]
            journal.put_rotation(self.conn, key, dict(state), version)
            self.rotation_versions[key] = (version or 0) + 1


V = TypeVar("V")


class Lazy(Mapping[str, V]):
    """A mapping filled by a loader on first use (routing often needs no loads at all)."""

    def __init__(self, loader: Callable[[], Mapping[str, V]]) -> None:
        self._loader = loader
        self._data: Mapping[str, V] | None = None

    def _get(self) -> Mapping[str, V]:
        if self._data is None:
            self._data = self._loader()
        return self._data

    def __getitem__(self, key: str) -> V:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def same_crm_id(a: str | None, b: str | None) -> bool:
    """Compare CRM ids; Salesforce 15- and 18-char forms of one id are equal."""
    if a is None or b is None:
        return a is b
    return crm_user_key(a) == crm_user_key(b)


def parse_score(value: Any) -> float | None:
    """A numeric score from whatever the CRM sent ('86', 86, '86.5'), or None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


FIELD_TIMES = "_leadpool_at"


def public_fields(fields: Any) -> dict[str, Any]:
    """Lead fields without leadpool's bookkeeping keys."""
    return {k: v for k, v in dict(fields).items() if k != FIELD_TIMES}
