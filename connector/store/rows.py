"""Typed rows read from the store, and the UTC conversions every read and write goes through."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from connector.routing.state import RepLoad  # re-exported: the store returns routing's RepLoad

__all__ = ["RepLoad"]

from sqlalchemy import RowMapping


def db_time(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC before it is written or compared in SQL.

    SQLite keeps DateTime values as text without an offset, so a non-UTC time written as is
    would be read back shifted; naive times are refused because their zone is a guess.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given; pass an aware UTC time")
    return value.astimezone(UTC)


def db_time_or_none(value: datetime | None) -> datetime | None:
    """db_time for nullable columns."""
    return None if value is None else db_time(value)


def utc(value: datetime | None) -> datetime | None:
    """Read a DateTime column back as an aware UTC datetime (SQLite returns naive ones)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_required(value: datetime | None) -> datetime:
    """utc() for NOT NULL columns."""
    result = utc(value)
    if result is None:
        raise ValueError("a NOT NULL timestamp column came back empty")
    return result


class _FromRow:
    """Builds a dataclass from a result row, converting every datetime field to aware UTC."""

    @classmethod
    def from_row(cls, row: RowMapping) -> Self:
        """Build the dataclass from a SQLAlchemy row mapping (extra columns are ignored)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in row:
                continue
            value = row[f.name]
            values[f.name] = utc(value) if isinstance(value, datetime) else value
        return cls(**values)


@dataclass(frozen=True)
class LeadRow(_FromRow):
    """leadpool's view of one CRM lead: its state in the lead state machine and its owner."""

    crm: str
    lead_id: str
    state: str
    created_at: datetime
    updated_at: datetime
    owner: str | None = None
    owner_crm: str | None = None
    owner_at: datetime | None = None
    pool: str | None = None
    score: float | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    route: str | None = None
    escalation_step: int = 0
    routed_at: datetime | None = None
    pooled_at: datetime | None = None
    claimed_at: datetime | None = None
    lock_expires_at: datetime | None = None
    contacted_at: datetime | None = None
    converted_at: datetime | None = None
    sla_due_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class OutboxRow(_FromRow):
    """One pending (or done, or parked) change to write to the CRM."""

    id: int
    crm: str
    lead_id: str
    kind: str
    payload: Mapping[str, Any]
    state: str
    attempts: int
    created_at: datetime
    next_try_at: datetime
    done_at: datetime | None = None
    parked_at: datetime | None = None
    last_error: str | None = None
    crm_id: str | None = None
    leased_by: str | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class TimerRow(_FromRow):
    """A timer on a lead (lock expiry, escalation, SLA) and who holds its lease."""

    id: int
    crm: str
    lead_id: str
    kind: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    leased_by: str | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class TaskRow(_FromRow):
    """A CRM task leadpool created (SLA, claim follow-up, manager review)."""

    key: str
    crm: str
    lead_id: str
    owner: str
    kind: str
    subject: str
    due_at: datetime
    crm_task_id: str | None = None
    state: str = "open"


@dataclass(frozen=True)
class AuditRow(_FromRow):
    """One line of a lead's timeline: who did what, when, and why."""

    id: int
    crm: str
    lead_id: str
    at: datetime
    actor: str
    action: str
    reason: str
    event_key: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssignmentRow(_FromRow):
    """One stretch of a rep holding a lead (push, claim, escalation, manual set)."""

    id: int
    crm: str
    lead_id: str
    rep: str
    source: str
    at: datetime
    route: str | None = None
    pool: str | None = None
    score: float | None = None
    pool_mean_score: float | None = None
    contacted_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Backlog:
    """Outbox health: rows waiting, rows parked, and how long the oldest has waited."""

    pending: int
    parked: int
    oldest_pending_at: datetime | None
