"""The connector-side lead states and claim sources (DESIGN §3)."""

from __future__ import annotations

from enum import StrEnum


class LeadState(StrEnum):
    """Where a lead is in leadpool's state machine."""

    NEW = "NEW"
    ASSIGNED = "ASSIGNED"
    POOLED = "POOLED"
    CLAIMED = "CLAIMED"
    WORKING = "WORKING"
    MANAGER_REVIEW = "MANAGER_REVIEW"
    CONVERTED = "CONVERTED"


class Source(StrEnum):
    """How a rep came to hold a lead; conversion is reported by source."""

    PUSH = "push"
    ACCOUNT = "account"
    PULL = "pull"
    ESCALATION = "escalation"
    MANUAL = "manual"


class TimerKind(StrEnum):
    """The timers the worker fires."""

    LOCK = "lock_expiry"
    ESCALATION = "escalation"
    SLA = "sla"


class TaskKind(StrEnum):
    """Why leadpool created a CRM task."""

    SLA = "sla"
    CLAIM = "claim"
    MANAGER = "manager"
    NOTICE = "notice"


# Assignment end reasons, as stored in assignments.end_reason.
END_RELEASED = "released"
END_REJECTED = "rejected"
END_REASSIGNED = "reassigned"
END_CONVERTED = "converted"
END_SLA_BREACH = "sla_breach"
