"""The sandbox CRM's own small HTTP API: create leads, take ownership, log contact.

These calls stand for what a person does in a real CRM; each one feeds the resulting event to
the service exactly as a webhook would.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from connector.adapters.sandbox import SandboxCRM
from connector.errors import Permanent
from connector.events import LeadEvent
from connector.health import runtime

sandbox = Blueprint("sandbox", __name__, url_prefix="/sandbox")


def _crm() -> SandboxCRM:
    rt = runtime()
    if rt.sandbox is None:
        abort(404, "the sandbox CRM is only available when connector.yaml says crm: sandbox")
    return rt.sandbox


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "expected a JSON object body")
    return data


def _deliver(event: LeadEvent) -> ResponseReturnValue:
    outcome = runtime().service.ingest_one(event)
    return jsonify(
        lead_id=outcome.lead_id, action=outcome.action, state=outcome.state, reason=outcome.reason
    )


@sandbox.post("/leads")
def create_lead() -> ResponseReturnValue:
    """Create a lead: {"fields": {...}, "id": optional}."""
    body = _body()
    fields = body.get("fields")
    if not isinstance(fields, dict):
        abort(400, "'fields' must be an object of CRM field values")
    return _deliver(_crm().create_lead(fields, body.get("id")))


@sandbox.post("/leads/<lead_id>/owner")
def set_owner(lead_id: str) -> ResponseReturnValue:
    """Take or give ownership: {"owner": "005...", "by": optional user id}."""
    body = _body()
    owner = body.get("owner")
    if not isinstance(owner, str) or not owner:
        abort(400, "'owner' must be a CRM user or queue id")
    try:
        return _deliver(_crm().set_owner(lead_id, owner, body.get("by")))
    except Permanent as exc:
        abort(404, str(exc))


@sandbox.post("/leads/<lead_id>/fields")
def update_fields(lead_id: str) -> ResponseReturnValue:
    """Edit fields (status, activity, conversion): {"fields": {...}}."""
    fields = _body().get("fields")
    if not isinstance(fields, dict):
        abort(400, "'fields' must be an object of CRM field values")
    try:
        return _deliver(_crm().update_fields(lead_id, fields))
    except Permanent as exc:
        abort(404, str(exc))


@sandbox.get("/leads/<lead_id>")
def get_lead(lead_id: str) -> ResponseReturnValue:
    """The lead as the sandbox CRM holds it, with its tasks."""
    crm = _crm()
    try:
        record = crm.lead(lead_id)
    except Permanent as exc:
        abort(404, str(exc))
    return jsonify(
        id=record.lead_id,
        owner=record.owner,
        fields=dict(record.fields),
        tasks=[{k: str(v) for k, v in t.items()} for t in crm.tasks(lead_id)],
    )
