"""Shared by the endpoint tests: a configured app on a real store, signed senders, snapshots.

No tests here; the test_views_* modules import these helpers.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from werkzeug.test import TestResponse

from connector.adapters.base import BatchLimits, Change, ChangeResult, CRMUser, LeadRecord
from connector.app import create_app
from connector.clock import ManualClock
from connector.events import Crm
from connector.runtime import Runtime, build_runtime
from connector.store.tables import assignments, audit, events_seen, leads, metadata, outbox, tasks

from .payloads import ORG_ID
from .signers import hubspot_v3_headers, leadpool_json_headers

REPO = Path(__file__).parents[2]
NOW = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York: reps at work

OUTBOUND_TOKEN = "om-token-7d1f0c2b9a"
EVENTS_SECRET = "flow-secret-5e2a91"
HUBSPOT_SECRET = "hs-client-secret-0b8c"
BASIC_USER = "salesforce-om"
BASIC_PASSWORD = "basic-pass-4417"
PUBLIC_BASE_URL = "https://leadpool.example.com"

ENV = {
    "LP_TEST_SF_OUTBOUND_TOKEN": OUTBOUND_TOKEN,
    "LP_TEST_SF_EVENTS_SECRET": EVENTS_SECRET,
    "LP_TEST_HS_CLIENT_SECRET": HUBSPOT_SECRET,
    "LP_TEST_SF_BASIC_USER": BASIC_USER,
    "LP_TEST_SF_BASIC_PASSWORD": BASIC_PASSWORD,
}

SALESFORCE_YAML = f"""\
crm: salesforce
salesforce:
  org_id: {ORG_ID}
  outbound_token_env: LP_TEST_SF_OUTBOUND_TOKEN
  events_secret_env: LP_TEST_SF_EVENTS_SECRET
  basic_auth_user_env: LP_TEST_SF_BASIC_USER
  basic_auth_password_env: LP_TEST_SF_BASIC_PASSWORD
worker:
  in_server: false
"""

HUBSPOT_YAML = f"""\
crm: hubspot
hubspot:
  client_secret_env: LP_TEST_HS_CLIENT_SECRET
  public_base_url: {PUBLIC_BASE_URL}
worker:
  in_server: false
"""

# routing.yaml names Salesforce fields; a HubSpot portal calls them by its property names.
HUBSPOT_FIELDS = {
    "score: Lead_Score__c": "score: hubspotscore",
    "status: Status": "status: hs_lead_status",
    "email: Email": "email: email",
    "company: Company": "company: company",
    "last_contacted: LastActivityDate": "last_contacted: notes_last_contacted",
}


def write_config(directory: Path, crm: str, *, webhooks: Mapping[str, int] | None = None) -> Path:
    """A config dir with the example routing.yaml and a connector.yaml for `crm`."""
    directory.mkdir(parents=True, exist_ok=True)
    routing = (REPO / "config" / "routing.yaml").read_text()
    connector = SALESFORCE_YAML if crm == "salesforce" else HUBSPOT_YAML
    if crm == "hubspot":
        for old, new in HUBSPOT_FIELDS.items():
            assert old in routing, old
            routing = routing.replace(old, new)
    if webhooks:
        connector += "webhooks:\n" + "".join(f"  {k}: {v}\n" for k, v in webhooks.items())
    (directory / "routing.yaml").write_text(routing)
    (directory / "connector.yaml").write_text(connector)
    return directory


def copy_routing(directory: Path) -> None:
    """Copy the example routing.yaml unchanged into directory."""
    shutil.copy(REPO / "config" / "routing.yaml", directory / "routing.yaml")


class SeededCRM:
    """In-process CRM for `fetch_lead` only: returns the records a test seeded."""

    limits = BatchLimits(lead_updates=200, task_creates=200, task_completes=200)

    def __init__(self, crm: Crm) -> None:
        self.crm = crm
        self.records: dict[str, LeadRecord] = {}
        self.fetched: list[str] = []
        self.batch_reads = 0

    def seed(self, lead_id: str, fields: Mapping[str, Any], owner: str | None = None) -> None:
        """Make the CRM know a lead."""
        self.records[lead_id] = LeadRecord(lead_id, owner, dict(fields), NOW)

    def fetch_lead(self, lead_id: str) -> LeadRecord | None:
        """The seeded record, or None."""
        self.fetched.append(lead_id)
        return self.records.get(lead_id)

    def fetch_leads(self, lead_ids: Sequence[str]) -> dict[str, LeadRecord]:
        """The seeded records among lead_ids (one batch read)."""
        self.fetched.extend(lead_ids)
        self.batch_reads += 1
        return {i: self.records[i] for i in lead_ids if i in self.records}

    def owner_of_user(self, user_id: str) -> str | None:
        """Users here own records under their own ids."""
        return user_id

    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Webhook requests never apply changes; the outbox keeps them."""
        raise AssertionError("a webhook request called the CRM's apply()")

    def list_users(self) -> list[CRMUser]:
        """No users needed."""
        return []


@dataclass
class Harness:
    """A Flask test client around a runtime on a real store, with signed senders."""

    runtime: Runtime
    app: Flask
    client: FlaskClient
    clock: ManualClock
    crm: SeededCRM

    @property
    def engine(self) -> Engine:
        """The runtime's store."""
        return self.runtime.engine

    def post_outbound(
        self, body: bytes, *, token: str = OUTBOUND_TOKEN, content_type: str = "text/xml"
    ) -> TestResponse:
        """Post an Outbound Message to the token URL."""
        return self.client.post(
            f"/webhooks/salesforce/outbound/{token}",
            data=body,
            headers={"Content-Type": f"{content_type}; charset=utf-8", "SOAPAction": '""'},
        )

    def post_outbound_basic(
        self, body: bytes, user: str = BASIC_USER, password: str = BASIC_PASSWORD
    ) -> TestResponse:
        """Post an Outbound Message with HTTP Basic credentials."""
        creds = base64.b64encode(f"{user}:{password}".encode()).decode()
        return self.client.post(
            "/webhooks/salesforce/outbound",
            data=body,
            headers={"Content-Type": "text/xml; charset=utf-8", "Authorization": f"Basic {creds}"},
        )

    def post_events(
        self,
        body: bytes,
        *,
        secret: str = EVENTS_SECRET,
        timestamp: int | None = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> TestResponse:
        """Post signed Salesforce JSON events."""
        sent_at = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        signed = leadpool_json_headers(secret, body, sent_at)
        return self.client.post(
            "/webhooks/salesforce/events",
            data=body,
            headers={"Content-Type": content_type, **signed, **(headers or {})},
        )

    def post_hubspot(
        self,
        body: bytes,
        *,
        secret: str = HUBSPOT_SECRET,
        timestamp_ms: int | None = None,
        signed_uri: str | None = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> TestResponse:
        """Post a HubSpot webhook batch signed for the public URL."""
        sent_at = int(self.clock.now().timestamp() * 1000) if timestamp_ms is None else timestamp_ms
        uri = signed_uri or f"{PUBLIC_BASE_URL}/webhooks/hubspot"
        signed = hubspot_v3_headers(secret, "POST", uri, body, sent_at)
        return self.client.post(
            "/webhooks/hubspot",
            data=body,
            headers={"Content-Type": content_type, **signed, **(headers or {})},
        )

    def counts(self) -> dict[str, int]:
        """Row counts of the tables a webhook writes."""
        with self.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (leads, events_seen, audit, outbox, assignments, tasks)
            }

    def decisions(self) -> dict[str, list[Any]]:
        """Everything the deliveries decided, in a form two stores can be compared by."""
        keys: dict[str, str] = {}

        def task_key(value: Any) -> Any:
            # Task keys are random per store; number them in order of appearance instead.
            if isinstance(value, str) and value not in keys:
                keys[value] = f"task#{len(keys)}"
            return keys.get(value, value)

        with self.engine.connect() as conn:
            lead_rows = conn.execute(
                select(
                    leads.c.lead_id, leads.c.state, leads.c.owner, leads.c.owner_crm,
                    leads.c.pool, leads.c.route, leads.c.source, leads.c.score,
                ).order_by(leads.c.lead_id)
            ).all()  # fmt: skip
            audit_rows = conn.execute(
                select(
                    audit.c.lead_id, audit.c.actor, audit.c.action, audit.c.reason,
                    audit.c.event_key,
                ).order_by(audit.c.id)
            ).all()  # fmt: skip
            outbox_rows = conn.execute(
                select(outbox.c.lead_id, outbox.c.kind, outbox.c.payload).order_by(outbox.c.id)
            ).all()
            assignment_rows = conn.execute(
                select(assignments.c.lead_id, assignments.c.rep, assignments.c.source)
                .where(assignments.c.ended_at.is_(None))
                .order_by(assignments.c.id)
            ).all()
        outbox_list = []
        for lead_id, kind, payload in outbox_rows:
            fixed = {k: task_key(v) if k == "key" else v for k, v in dict(payload).items()}
            outbox_list.append((lead_id, kind, json.dumps(fixed, sort_keys=True)))
        return {
            "leads": [tuple(r) for r in lead_rows],
            "audit": [tuple(r) for r in audit_rows],
            "outbox": outbox_list,
            "assignments": [tuple(r) for r in assignment_rows],
        }

    def reset_store(self) -> None:
        """Empty every table (to replay a delivery on a fresh store of the same engine)."""
        with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


def make_harness(
    tmp_path: Path,
    store_url: str,
    crm: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    webhooks: Mapping[str, int] | None = None,
) -> Iterator[Harness]:
    """Build the app for `crm` on the store at store_url; yields it, then disposes the engine."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config_dir = write_config(tmp_path / f"config-{crm}", crm, webhooks=webhooks)
    clock = ManualClock(NOW)
    adapter = SeededCRM(Crm(crm))
    runtime = build_runtime(config_dir, clock=clock, adapter=adapter, store=store_url)
    app = create_app(runtime)
    try:
        yield Harness(runtime, app, app.test_client(), clock, adapter)
    finally:
        runtime.engine.dispose()


def refused(h: Harness, send: Callable[[], TestResponse]) -> TestResponse:
    """Send a request that must be refused, and check it stored nothing."""
    before = h.counts()
    response = send()
    assert response.status_code >= 400, response.data[:300]
    assert h.counts() == before
    return response


def error_of(response: TestResponse) -> str:
    """The message of a JSON error reply."""
    body = response.get_json()
    assert isinstance(body, dict), response.data[:200]
    message = body["message"]
    assert isinstance(message, str)
    return message


def fault_of(response: TestResponse) -> str:
    """The faultstring of a SOAP fault reply."""
    assert response.mimetype == "text/xml", response.mimetype
    text = response.get_data(as_text=True)
    assert "<soapenv:Fault>" in text, text[:300]
    return text.split("<faultstring>", 1)[1].split("</faultstring>", 1)[0]


def epoch_ms(when: datetime) -> int:
    """Milliseconds since the epoch (HubSpot's occurredAt)."""
    return int(when.timestamp() * 1000)
