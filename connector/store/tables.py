"""SQLAlchemy Core tables: one schema for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Integer primary keys autoincrement on both engines; BigInteger would not on SQLite.
_pk = Integer().with_variant(BigInteger(), "postgresql")


def _ts(name: str, **kw: object) -> Column[object]:
    return Column(name, DateTime(timezone=True), **kw)  # type: ignore[arg-type]


leads = Table(
    "leads",
    metadata,
    Column("id", _pk, primary_key=True, autoincrement=True),
    Column("crm", String(16), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("state", String(20), nullable=False),
    Column("owner", String(64)),  # rep id from routing.yaml
    Column("owner_crm", String(64)),  # the CRM owner id we last wrote or saw
    _ts("owner_at"),  # when that owner was set: older CRM events about the owner are stale
    Column("pool", String(64)),
    Column("score", Float),
    Column("fields", JSON, nullable=False, default=dict),
    Column("source", String(16)),  # push | pull | escalation | manual | account
    Column("route", String(120)),
    Column("escalation_step", Integer, nullable=False, default=0),
    _ts("created_at", nullable=False),
    _ts("routed_at"),
    _ts("pooled_at"),
    _ts("claimed_at"),
    _ts("lock_expires_at"),
    _ts("contacted_at"),
    _ts("converted_at"),
    _ts("sla_due_at"),
    _ts("updated_at", nullable=False),
    Column("version", Integer, nullable=False, default=1),
    UniqueConstraint("crm", "lead_id", name="uq_leads_crm_lead"),
    Index("ix_leads_pool_state", "crm", "pool", "state", "pooled_at"),
    Index("ix_leads_owner_state", "owner", "state"),
    # Dashboard: pool health reads only waiting leads; "recent leads" reads the newest first.
    Index("ix_leads_state_pool", "state", "pool", "pooled_at"),
    Index("ix_leads_updated", "updated_at", "id"),
)

events_seen = Table(
    "events_seen",
    metadata,
    Column("crm", String(16), primary_key=True),
    Column("event_key", String(200), primary_key=True),
    Column("lead_id", String(64)),
    _ts("received_at", nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", _pk, primary_key=True, autoincrement=True),
    Column("crm", String(16), nullable=False),
    Column("lead_id", String(64), nullable=False),
    _ts("at", nullable=False),
    Column("actor", String(64), nullable=False),  # leadpool, a rep id, a manager, the CRM
    Column("action", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("event_key", String(200)),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_audit_lead", "crm", "lead_id", "at"),
    Index("ix_audit_at", "at"),
    Index("ix_audit_action_at", "action", "at"),  # dashboard: escalations today
)

# One row per lead a rep held: pushes, claims, escalations, manual sets.
assignments = Table(
    "assignments",
    metadata,
    Column("id", _pk, primary_key=True, autoincrement=True),
    Column("crm", String(16), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("rep", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("route", String(120)),
    Column("pool", String(64)),
    Column("score", Float),
    Column("pool_mean_score", Float),  # mean score of the pool at claim time
    _ts("at", nullable=False),
    _ts("contacted_at"),
    _ts("ended_at"),
    Column("end_reason", String(24)),  # released | rejected | reassigned | converted | sla_breach
    Index("ix_assignments_rep_at", "rep", "at"),
    Index("ix_assignments_lead", "crm", "lead_id"),
    # Dashboard: the period's claims, and the claims open now.
    Index("ix_assignments_source_at", "source", "at"),
    Index("ix_assignments_open", "source", "contacted_at", "ended_at"),
)

# Claims that were undone, kept for the fairness report ("rejections by rule").
rejections = Table(
    "rejections",
    metadata,
    Column("id", _pk, primary_key=True, autoincrement=True),
    Column("crm", String(16), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("rep", String(64), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    _ts("at", nullable=False),
    Index("ix_rejections_rep_at", "rep", "at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", _pk, primary_key=True, autoincrement=True),
    Column("crm", String(16), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),  # update_lead | create_task | complete_task
    Column("payload", JSON, nullable=False),
    Column("state", String(12), nullable=False, default="pending"),  # pending|done|parked
    Column("attempts", Integer, nullable=False, default=0),
    _ts("created_at", nullable=False),
    _ts("next_try_at", nullable=False),
    _ts("done_at"),
    Column("last_error", Text),
    Column("crm_id", String(64)),
    _ts("parked_at"),
    Column("leased_by", String(64)),
    _ts("lease_until"),
    Index("ix_outbox_due", "state", "next_try_at"),
    # Per-lead ordering: a change is only leased when no older one for the lead is pending.
    Index("ix_outbox_lead", "crm", "lead_id", "id"),
)

timers = Table(
    "timers",
    metadata,
    Column("id", _pk, primary_key=True, autoincrement=True),
    Column("crm", String(16), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),  # lock_expiry | escalation | sla | ...
    _ts("due_at", nullable=False),
    Column("payload", JSON, nullable=False, default=dict),
    Column("leased_by", String(64)),
    _ts("lease_until"),
    UniqueConstraint("crm", "lead_id", "kind", name="uq_timers_lead_kind"),
    Index("ix_timers_due", "due_at"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("crm", String(16), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("kind", String(24), nullable=False),  # sla | claim | manager | notice
    Column("subject", Text, nullable=False),
    _ts("due_at", nullable=False),
    Column("crm_task_id", String(64)),
    Column("state", String(12), nullable=False, default="open"),  # open | completed
    Index("ix_tasks_lead", "crm", "lead_id"),
)

# Rotation cursors and smooth-weighted state, keyed by rotation name (team, pool).
rotations = Table(
    "rotations",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1),
)

# The built-in sandbox CRM keeps its records here, beside leadpool's own tables.
sandbox_leads = Table(
    "sandbox_leads",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(64)),
    Column("fields", JSON, nullable=False),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
)

sandbox_tasks = Table(
    "sandbox_tasks",
    metadata,
    Column("id", _pk, primary_key=True, autoincrement=True),
    Column("lead_id", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    _ts("due_at", nullable=False),
    Column("status", String(16), nullable=False, default="Open"),
    _ts("created_at", nullable=False),
)

sandbox_users = Table(
    "sandbox_users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("active", Integer, nullable=False, default=1),
)
