"""Salesforce and HubSpot playbook worlds: the real adapters over HTTP to the fake CRMs.

A person's action is first made in the fake CRM's own store (as the CRM's UI would), then
the CRM's notification of it is delivered to leadpool's webhook endpoint: a Salesforce
Outbound Message carrying the lead's fields, or a signed HubSpot event batch.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.adapters.base import CRMAdapter
from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings
from connector.adapters.salesforce import SalesforceAdapter, SalesforceSettings
from connector.adapters.salesforce_views import setup_pool_views
from connector.cli import hubspot_pool_views
from connector.clock import ManualClock
from connector.config.routing_models import RoutingConfig
from tests.fakecrm.hubspot import FakeHubSpot
from tests.fakecrm.salesforce import FakeSalesforce
from tests.fakecrm.tls import ThrowawayCA
from tests.playbook.world import MANAGERS, QUEUES, REPS, STRANGER, Task, World, parse_time
from tests.webhooks.endpoint_harness import (
    ENV,
    HUBSPOT_SECRET,
    HUBSPOT_YAML,
    OUTBOUND_TOKEN,
    PUBLIC_BASE_URL,
    SALESFORCE_YAML,
)
from tests.webhooks.payloads import notification, outbound_message
from tests.webhooks.signers import hubspot_v3_headers

SF_ROUTING_FIELDS = {
    "Lead_Score__c", "Industry", "State", "LastActivityDate", "NumberOfEmployees",
    "LastModifiedById",
}  # fmt: skip
SF_LOGIN = {
    "LEADPOOL_SF_USERNAME": "integration@acme.test",
    "LEADPOOL_SF_PASSWORD": "s3cret-pass",
    "LEADPOOL_SF_TOKEN": "tok3n",
}
# routing.yaml names Salesforce fields; a HubSpot portal has its own property names, and
# its lead status options (hs_lead_status) are CONNECTED, OPEN_DEAL, ...
# https://knowledge.hubspot.com/records/set-up-lead-status-property
HUBSPOT_EDITS = {
    "score: Lead_Score__c": "score: hubspotscore",
    "status: Status": "status: hs_lead_status",
    "email: Email": "email: email",
    "company: Company": "company: company",
    "last_contacted: LastActivityDate": "last_contacted: notes_last_contacted",
    "converted: IsConverted": "converted: null",
    "when: {Industry:": "when: {industry:",
    "when: {NumberOfEmployees:": "when: {numemployees:",
    "preview_fields: [Company, Lead_Score__c, LeadSource, State]": (
        "preview_fields: [company, hubspotscore, hs_analytics_source, state]"
    ),
    "status: [Working - Contacted]": "status: [CONNECTED]",
    "status: [Closed - Converted]": "status: [OPEN_DEAL]",
    "flag: true": "flag: false",
}
HUBSPOT_NAMES = {
    "Email": "email", "Company": "company", "Lead_Score__c": "hubspotscore",
    "Industry": "industry", "NumberOfEmployees": "numemployees", "State": "state",
}  # fmt: skip
HUBSPOT_TOKEN_ENV = "LP_TEST_HS_TOKEN"


def _sf_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class SalesforceWorld(World):
    """A fake org over TLS; leads, queues and users are its records."""

    crm = "salesforce"
    connector_yaml = SALESFORCE_YAML

    def __init__(self, tmp_path: Path, ca: ThrowawayCA, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(tmp_path)
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        self.fake = FakeSalesforce(ca, extra_lead_fields=SF_ROUTING_FIELDS, timeout_hold=2.0)
        self.fake.start()
        self.integration = self.fake.add_user(
            "Integration", SF_LOGIN["LEADPOOL_SF_USERNAME"],
            password=SF_LOGIN["LEADPOOL_SF_PASSWORD"], security_token=SF_LOGIN["LEADPOOL_SF_TOKEN"],
        )  # fmt: skip
        people = (*REPS, *MANAGERS, STRANGER)
        self.users = {p: self.fake.add_user(p.title(), f"{p}@acme.test") for p in people}
        self.queues = {
            pool: self.fake.add_queue(pool.title().replace("-", "_"), pool) for pool in QUEUES
        }
        self._notices = itertools.count(1)

    def make_adapter(self, engine: Engine, cfg: RoutingConfig) -> CRMAdapter:
        return SalesforceAdapter(
            SalesforceSettings(timeout=2.0),
            session=self.fake.session(),
            clock=self.clock,
            environ=SF_LOGIN,
            sleep=lambda _s: None,
            jitter=lambda: 0.5,
        )

    def close(self) -> None:
        super().close()
        self.fake.stop()

    def _lead(self, lead_id: str) -> dict[str, Any]:
        return self.fake.org.objects["Lead"][lead_id]

    def _change(self, lead_id: str, by: str, **fields: Any) -> str:
        """Make a change in the org as a user would; returns its Outbound Message notification."""
        record = self._lead(lead_id)
        with self.fake.org.lock:
            record.update(fields, LastModifiedDate=_sf_time(self.clock.now()), LastModifiedById=by)
            snapshot = {k: _text(v) for k, v in record.items()}
        return notification(f"04l5e{next(self._notices):010d}AAA", snapshot)

    def _deliver(self, *notes: str) -> None:
        response = self.client.post(
            f"/webhooks/salesforce/outbound/{OUTBOUND_TOKEN}",
            data=outbound_message(list(notes)),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        )
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "<Ack>true</Ack>" in body, body

    def create_in_crm(self, values: dict[str, Any]) -> str:
        now = _sf_time(self.clock.now())
        lead_id = self.fake.add_lead(
            LastName="Lee", Status="Open - Not Contacted", OwnerId=self.integration,
            IsConverted=False, CreatedDate=now, **values,
        )  # fmt: skip
        self._deliver(self._change(lead_id, self.integration))
        return lead_id

    def set_owner_in_crm(self, lead_id: str, owner: str, by: str | None) -> None:
        self._deliver(self._change(lead_id, by or owner, OwnerId=owner))

    def race_in_crm(self, lead_id: str, first: str, second: str, first_delivered: bool) -> None:
        one = self._change(lead_id, first, OwnerId=first)
        self.clock.advance(timedelta(seconds=1))
        two = self._change(lead_id, second, OwnerId=second)  # the org now shows `second`
        for note in (one, two) if first_delivered else (two, one):
            self._deliver(note)

    def contact_in_crm(self, lead_id: str) -> None:
        owner = str(self._lead(lead_id)["OwnerId"])
        today = self.clock.now().date().isoformat()
        self._deliver(
            self._change(lead_id, owner, Status="Working - Contacted", LastActivityDate=today)
        )

    def convert_in_crm(self, lead_id: str) -> None:
        owner = str(self._lead(lead_id)["OwnerId"])
        self._deliver(self._change(lead_id, owner, IsConverted=True, Status="Closed - Converted"))

    def pool_view(self, pool: str) -> list[str] | None:
        adapter = self.runtime.adapter
        assert isinstance(adapter, SalesforceAdapter)
        steps = setup_pool_views(adapter, self.runtime.config.routing(), apply=True)
        assert {s.action for s in steps} <= {"created", "ok"}, [s.line() for s in steps]
        (view,) = [
            v for v in self.fake.metadata.list_views.values() if v["label"].split()[1] == pool
        ]
        assert (view["filterScope"], view["queue"]) == ("Queue", pool.title().replace("-", "_"))
        return list(view["columns"])

    def raw_owner(self, lead_id: str) -> str | None:
        owner = self.fake.record("Lead", lead_id).get("OwnerId")
        return str(owner) if owner else None

    def raw_fields(self, lead_id: str) -> dict[str, Any]:
        rec = self.fake.record("Lead", lead_id)
        owner = rec.get("OwnerId")
        return {
            "status": rec.get("Leadpool_Status__c"),
            "reason": rec.get("Leadpool_Reason__c"),
            "source": rec.get("Leadpool_Source__c"),
            "lock_expires": rec.get("Leadpool_Lock_Expires__c"),
            "pool": next((p for p, q in self.queues.items() if q == owner), None),
        }

    def crm_tasks(self, lead_id: str) -> list[Task]:
        with self.fake.org.lock:
            rows = [t for t in self.fake.org.objects["Task"].values() if t.get("WhoId") == lead_id]
        return [
            Task(
                t["Subject"],
                self.person(t["OwnerId"]) or "",
                parse_time(t["ReminderDateTime"]) or datetime.min.replace(tzinfo=UTC),
                t["Status"] == "Completed",
            )
            for t in rows
        ]


class HubSpotWorld(World):
    """A fake portal: contacts are leads, owners are users, a pool is a property value."""

    crm = "hubspot"
    connector_yaml = HUBSPOT_YAML

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(tmp_path)
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        self.fake = FakeHubSpot(now=lambda: self.clock.now().timestamp()).start()
        portal = self.fake.portal
        people = (*REPS, *MANAGERS, STRANGER)
        self.users = {p: portal.add_owner(f"{p}@acme.test", p.title()) for p in people}
        self.queues = {pool: pool for pool in QUEUES}
        self._edits.update(HUBSPOT_EDITS)
        self._event_ids = itertools.count(1)

    def make_adapter(self, engine: Engine, cfg: RoutingConfig) -> CRMAdapter:
        settings = HubSpotSettings(
            token_env=HUBSPOT_TOKEN_ENV,
            host=self.fake.url,
            timeout_seconds=2.0,
            extra_properties=cfg.read_fields(),
        )
        # The adapter's rate limiter waits on its own clock, moved by its sleeps: a scenario
        # making more than the allowed calls per 10 s neither sleeps nor moves the world's time.
        limiter_clock = ManualClock(self.clock.now())
        return HubSpotAdapter(
            settings,
            clock=limiter_clock,
            sleep=lambda seconds: limiter_clock.advance(timedelta(seconds=seconds)),
            environ={HUBSPOT_TOKEN_ENV: self.fake.token},
        )

    def close(self) -> None:
        super().close()
        self.fake.stop()
        assert self.fake.response_problems == []

    def pool_owner_value(self, pool: str) -> str | None:
        return None  # a pooled contact has no owner; leadpool_pool names the pool

    def pool_view(self, pool: str) -> list[str] | None:
        lines = hubspot_pool_views(self.runtime.config.routing())
        (line,) = [text for text in lines if text.startswith(f"  view 'Pool {pool}'")]
        assert f"filters leadpool_pool is {pool} AND Contact owner is unknown" in line
        return line.split("columns: ", 1)[1].split(", ")

    def _props(self, lead_id: str) -> dict[str, str]:
        return self.fake.portal.records["contacts"][lead_id].properties

    def _event(
        self, lead_id: str, kind: str, by: str | None = None, **change: str
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "eventId": next(self._event_ids),
            "subscriptionId": 4849549,
            "portalId": 50687303,
            "appId": 25681700,
            "occurredAt": int(self.clock.now().timestamp() * 1000),
            "subscriptionType": kind,
            "attemptNumber": 0,
            "objectId": int(lead_id),
            "changeSource": "CRM_UI",
        }
        if by is not None:
            # Webhooks name the HubSpot *user* who made a change, not the owner.
            owner = self.fake.portal.owners.get(by)
            event["sourceId"] = f"userId:{owner['userId'] if owner else by}"
        for name, value in change.items():
            event.update(propertyName=name, propertyValue=value)
        return event

    def _change(self, lead_id: str, by: str | None, name: str, value: str) -> dict[str, Any]:
        with self.fake.portal.lock:
            self._props(lead_id)[name] = value
        return self._event(lead_id, "contact.propertyChange", by, **{name: value})

    def _deliver(self, *events: dict[str, Any]) -> None:
        body = json.dumps(list(events), separators=(",", ":")).encode()
        sent_at = int(self.clock.now().timestamp() * 1000)
        headers = hubspot_v3_headers(
            HUBSPOT_SECRET, "POST", f"{PUBLIC_BASE_URL}/webhooks/hubspot", body, sent_at
        )
        response = self.client.post(
            "/webhooks/hubspot",
            data=body,
            headers={"Content-Type": "application/json", **headers},
        )
        assert response.status_code == 200, response.get_data(as_text=True)

    def create_in_crm(self, values: dict[str, Any]) -> str:
        props = {HUBSPOT_NAMES.get(k, k): _text(v) or "" for k, v in values.items()}
        portal = self.fake.portal
        lead_id = portal.add_record("contacts", lastname="Lee", **props)
        with portal.lock:
            record = portal.records["contacts"][lead_id]
            record.created_at = record.updated_at = self.clock.now()
        self._deliver(self._event(lead_id, "contact.creation"))
        return lead_id

    def set_owner_in_crm(self, lead_id: str, owner: str, by: str | None) -> None:
        self._deliver(self._change(lead_id, by or owner, "hubspot_owner_id", owner))

    def race_in_crm(self, lead_id: str, first: str, second: str, first_delivered: bool) -> None:
        one = self._change(lead_id, first, "hubspot_owner_id", first)
        self.clock.advance(timedelta(seconds=1))
        two = self._change(lead_id, second, "hubspot_owner_id", second)
        for event in (one, two) if first_delivered else (two, one):
            self._deliver(event)

    def contact_in_crm(self, lead_id: str) -> None:
        owner = self._props(lead_id).get("hubspot_owner_id") or None
        stamp = str(int(self.clock.now().timestamp() * 1000))
        self._deliver(self._change(lead_id, owner, "notes_last_contacted", stamp))

    def convert_in_crm(self, lead_id: str) -> None:
        owner = self._props(lead_id).get("hubspot_owner_id") or None
        self._deliver(
            self._change(lead_id, owner, "lifecyclestage", "opportunity"),
            self._change(lead_id, owner, "hs_lead_status", "OPEN_DEAL"),
        )

    def raw_owner(self, lead_id: str) -> str | None:
        return self._props(lead_id).get("hubspot_owner_id") or None

    def raw_fields(self, lead_id: str) -> dict[str, Any]:
        props = self._props(lead_id)
        return {
            "status": props.get("leadpool_status") or None,
            "reason": props.get("leadpool_reason") or None,
            "source": props.get("leadpool_source") or None,
            "lock_expires": props.get("leadpool_lock_expires") or None,
            "pool": props.get("leadpool_pool") or None,
        }

    def crm_tasks(self, lead_id: str) -> list[Task]:
        with self.fake.portal.lock:
            tasks = [
                t
                for t in self.fake.portal.records["tasks"].values()
                if any(a["to"]["id"] == lead_id for a in t.associations)
            ]
        tasks.sort(key=lambda t: int(t.id))
        return [
            Task(
                t.properties["hs_task_subject"],
                self.person(t.properties["hubspot_owner_id"]) or "",
                parse_time(t.properties["hs_timestamp"]) or datetime.min.replace(tzinfo=UTC),
                t.properties["hs_task_status"] == "COMPLETED",
            )
            for t in tasks
        ]
