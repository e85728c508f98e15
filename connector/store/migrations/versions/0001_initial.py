"""Initial schema: leads, journal, outbox, timers, tasks, rotations, sandbox CRM.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:54:47.184977
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Integer keys autoincrement on both engines; BigInteger would not on SQLite.
_PK = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "assignments",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("rep", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=120), nullable=True),
        sa.Column("pool", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("pool_mean_score", sa.Float(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=24), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assignments_lead", "assignments", ["crm", "lead_id"])
    op.create_index("ix_assignments_rep_at", "assignments", ["rep", "at"])

    op.create_table(
        "audit",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_lead", "audit", ["crm", "lead_id", "at"])

    op.create_table(
        "events_seen",
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crm", "event_key"),
    )
    op.create_table(
        "leads",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("owner_crm", sa.String(length=64), nullable=True),
        sa.Column("owner_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pool", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("route", sa.String(length=120), nullable=True),
        sa.Column("escalation_step", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pooled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("crm", "lead_id", name="uq_leads_crm_lead"),
    )
    op.create_index("ix_leads_owner_state", "leads", ["owner", "state"])
    op.create_index("ix_leads_pool_state", "leads", ["crm", "pool", "state", "pooled_at"])

    op.create_table(
        "outbox",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("crm_id", sa.String(length=64), nullable=True),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_try_at"])
    op.create_index("ix_outbox_lead", "outbox", ["crm", "lead_id", "id"])

    op.create_table(
        "rejections",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("rep", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rejections_rep_at", "rejections", ["rep", "at"])

    op.create_table(
        "rotations",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sandbox_leads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sandbox_tasks",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sandbox_users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tasks",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("crm_task_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_tasks_lead", "tasks", ["crm", "lead_id"])

    op.create_table(
        "timers",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("crm", "lead_id", "kind", name="uq_timers_lead_kind"),
    )
    op.create_index("ix_timers_due", "timers", ["due_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_timers_due", table_name="timers")

    op.drop_table("timers")
    op.drop_index("ix_tasks_lead", table_name="tasks")

    op.drop_table("tasks")
    op.drop_table("sandbox_users")
    op.drop_table("sandbox_tasks")
    op.drop_table("sandbox_leads")
    op.drop_table("rotations")
    op.drop_index("ix_rejections_rep_at", table_name="rejections")

    op.drop_table("rejections")
    op.drop_index("ix_outbox_lead", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")

    op.drop_table("outbox")
    op.drop_index("ix_leads_pool_state", table_name="leads")
    op.drop_index("ix_leads_owner_state", table_name="leads")

    op.drop_table("leads")
    op.drop_table("events_seen")
    op.drop_index("ix_audit_lead", table_name="audit")
    op.drop_index("ix_audit_at", table_name="audit")

    op.drop_table("audit")
    op.drop_index("ix_assignments_rep_at", table_name="assignments")
    op.drop_index("ix_assignments_lead", table_name="assignments")

    op.drop_table("assignments")
