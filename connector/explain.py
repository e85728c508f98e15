"""`leadpool explain LEAD.json`: read a lead file and explain how routing.yaml would route it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.config.routing_models import RoutingConfig
from connector.errors import MalformedPayload
from connector.routing.explain import explain_lead
from connector.routing.state import LeadFacts, RepLoad, RoutingState
from connector.service.context import parse_score


def lead_from_json(cfg: RoutingConfig, data: Any, now: datetime) -> LeadFacts:
    """A LeadFacts from `{"Id": ..., field: value}` or `{"id": ..., "fields": {...}}`."""
    if not isinstance(data, dict):
        raise MalformedPayload("a lead file holds one JSON object of CRM fields")
    fields = data.get("fields", data)
    if not isinstance(fields, dict):
        raise MalformedPayload("'fields' must be an object of CRM field values")
    lead_id = str(data.get("id") or fields.get("Id") or fields.get("hs_object_id") or "(new lead)")
    return LeadFacts(lead_id, fields, parse_score(fields.get(cfg.fields.score)), now)


def explain_file(
    cfg: RoutingConfig,
    path: Path,
    at: datetime | None = None,
    loads: dict[str, RepLoad] | None = None,
) -> list[str]:
    """Explanation lines for the lead in a JSON file, as of `at` (default: now)."""
    now = (at or datetime.now(UTC)).astimezone(UTC)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"{path}: cannot read the lead: {exc}") from None
    lead = lead_from_json(cfg, data, now)
    state = RoutingState(now=now, loads=loads or {}, rotations={})
    return explain_lead(cfg, lead, state)
