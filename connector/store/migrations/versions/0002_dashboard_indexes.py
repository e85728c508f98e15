"""Indexes for the dashboard's period queries over a large store.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, table, columns: the same Index objects as connector/store/tables.py
INDEXES = (
    ("ix_assignments_source_at", "assignments", ["source", "at"]),
    ("ix_assignments_open", "assignments", ["source", "contacted_at", "ended_at"]),
    ("ix_audit_action_at", "audit", ["action", "at"]),
    ("ix_leads_state_pool", "leads", ["state", "pool", "pooled_at"]),
    ("ix_leads_updated", "leads", ["updated_at", "id"]),
)


def upgrade() -> None:
    """Apply this revision."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Undo this revision."""
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
