"""Small routing configs, leads and states built in code for the routing tests."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from connector.config import RoutingConfig, load_config
from connector.routing.state import LeadFacts, RepLoad, RoutingState

# Monday 2026-01-05 15:00 UTC is 10:00 in New York: inside everyone's weekday hours.
MONDAY_10AM_NY = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@cache
def example() -> RoutingConfig:
    """The example routing.yaml shipped in config/."""
    return load_config(CONFIG_DIR).routing


def rep(rep_id: str, **extra: Any) -> dict[str, Any]:
    """A rep entry with a unique CRM user id."""
    return {"id": rep_id, "crm_user": f"005{rep_id.upper():0>12}", **extra}


def config(reps: list[dict[str, Any]], **extra: Any) -> RoutingConfig:
    """A config with teams smb (fallback ent) and ent, and a catch-all pool route by default."""
    data: dict[str, Any] = {
        "teams": {
            "smb": {"manager": {"name": "Maria", "crm_user": "005M1"}, "fallback": "ent"},
            "ent": {"manager": {"name": "Ed", "crm_user": "005M2"}},
        },
        "pools": {"inbound": {"team": "smb", "members": {"teams": ["smb"]}}},
        "routes": [{"name": "rest", "pool": "inbound"}],
        "reps": reps,
    }
    data.update(extra)
    return RoutingConfig.model_validate(data)


def lead(score: float | None = None, **fields: Any) -> LeadFacts:
    """A lead created at MONDAY_10AM_NY."""
    return LeadFacts("00Q000000000001", fields, score, MONDAY_10AM_NY)


def state(
    now: datetime = MONDAY_10AM_NY,
    loads: dict[str, RepLoad] | None = None,
    rotations: dict[str, Any] | None = None,
    **extra: Any,
) -> RoutingState:
    """A routing state with empty loads and rotations unless given."""
    return RoutingState(now=now, loads=loads or {}, rotations=rotations or {}, **extra)
