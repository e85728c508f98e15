"""The CRMAdapter contract, run on Salesforce, HubSpot (real clients, fake servers) and sandbox.

Each CRM is wrapped in a `World` that seeds leads and reads them back from the CRM's own side,
so every case below states the behaviour once and checks it on all three.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import insert

from connector.adapters.base import (
    CompleteTask,
    CreateTask,
    CRMAdapter,
    LeadpoolFields,
    UpdateLead,
)
from connector.adapters.hubspot import HubSpotSettings
from connector.adapters.sandbox import SandboxCRM
from connector.clock import ManualClock
from connector.errors import Permanent, Transient
from connector.store.tables import sandbox_users
from tests.adapters.conftest import SalesforceWorld
from tests.conftest import make_migrated_engine
from tests.fakecrm.hubspot import FakeHubSpot

DUE = datetime(2026, 1, 5, 14, 5, tzinfo=UTC)
LOCK = datetime(2026, 1, 5, 14, 20, tzinfo=UTC)


@dataclass(frozen=True)
class LeadView:
    """A lead read back from the CRM side, in CRM-neutral terms."""

    owner: str | None
    status: str | None
    reason: str | None
    lock_expires: datetime | None
    pool: str | None


@dataclass(frozen=True)
class TaskView:
    """A task read back from the CRM side."""

    subject: str
    owner: str
    done: bool


class World(Protocol):
    """One CRM under the contract: its adapter, seeding, read-back and fault injection."""

    adapter: CRMAdapter
    rep: str
    other_rep: str
    pool: str  # what UpdateLead.pool is given
    pooled_owner: str | None  # the owner the CRM shows for a pooled lead
    unknown_lead: str

    def new_lead(self, owner: str | None = None) -> str: ...
    def lead(self, lead_id: str) -> LeadView: ...
    def tasks(self, lead_id: str) -> list[TaskView]: ...
    def rate_limit_once(self) -> None: ...
    def outage(self) -> None: ...


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class SalesforceContract:
    """Salesforce: the fake org, queues as pool owners, Task records on WhoId."""

    unknown_lead = "00Q5g0000099999AAA"

    def __init__(self, world: SalesforceWorld) -> None:
        self.world = world
        self.fake = world.fake
        self.rep = world.rep_ana
        self.other_rep = self.fake.add_user("Cara Diaz", "cara@acme.test")
        self.pool = "inbound-smb"
        self.pooled_owner: str | None = world.queue
        self.adapter: CRMAdapter = world.adapter(queues={"inbound-smb": world.queue})

    def new_lead(self, owner: str | None = None) -> str:
        return self.fake.add_lead(OwnerId=owner) if owner else self.fake.add_lead()

    def lead(self, lead_id: str) -> LeadView:
        rec = self.fake.record("Lead", lead_id)
        owner = rec.get("OwnerId")
        return LeadView(
            owner=owner,
            status=rec.get("Leadpool_Status__c"),
            reason=rec.get("Leadpool_Reason__c"),
            lock_expires=_when(rec.get("Leadpool_Lock_Expires__c")),
            pool="inbound-smb" if owner == self.world.queue else None,
        )

    def tasks(self, lead_id: str) -> list[TaskView]:
        return [
            TaskView(t["Subject"], t["OwnerId"], t["Status"] == "Completed")
            for t in self.fake.org.objects["Task"].values()
            if t.get("WhoId") == lead_id
        ]

    def rate_limit_once(self) -> None:
        self.fake.fail_next(1, 429, retry_after=3)

    def outage(self) -> None:
        # The adapter's waits are recorded, not slept, so this window outlasts every retry.
        self.fake.fail_for(600, 503)


class HubSpotContract:
    """HubSpot: owners cleared for pools, `leadpool_pool` set, tasks associated to contacts."""

    unknown_lead = "999999"

    def __init__(self, fake: FakeHubSpot, adapter: CRMAdapter) -> None:
        self.fake = fake
        self.rep = fake.portal.add_owner("ana@acme.test", "Ana", "Silva")
        self.other_rep = fake.portal.add_owner("cara@acme.test", "Cara", "Diaz")
        self.pool = "inbound-smb"
        self.pooled_owner: str | None = None
        self.adapter = adapter

    def new_lead(self, owner: str | None = None) -> str:
        extra = {"hubspot_owner_id": owner} if owner else {}
        return self.fake.portal.add_record("contacts", email="lee@example.com", **extra)

    def lead(self, lead_id: str) -> LeadView:
        props = self.fake.portal.records["contacts"][lead_id].properties
        return LeadView(
            owner=props.get("hubspot_owner_id") or None,
            status=props.get("leadpool_status") or None,
            reason=props.get("leadpool_reason") or None,
            lock_expires=_when(props.get("leadpool_lock_expires")),
            pool=props.get("leadpool_pool") or None,
        )

    def tasks(self, lead_id: str) -> list[TaskView]:
        found = []
        for task in self.fake.portal.records["tasks"].values():
            if any(a["to"]["id"] == lead_id for a in task.associations):
                p = task.properties
                found.append(
                    TaskView(
                        p["hs_task_subject"],
                        p["hubspot_owner_id"],
                        p["hs_task_status"] == "COMPLETED",
                    )
                )
        return found

    def rate_limit_once(self) -> None:
        self.fake.fail_next(1, 429, retry_after=3)

    def outage(self) -> None:
        # The fake reads the manual clock the adapter's sleeps advance: 600 s outlasts retries.
        self.fake.fail_for(600, 503)


class SandboxContract:
    """The built-in sandbox: leads and tasks in leadpool's own database."""

    unknown_lead = "00Qnosuchlead000"

    def __init__(self, tmp_path: Path) -> None:
        engine = make_migrated_engine(f"sqlite:///{tmp_path / 'sandbox.db'}")
        self.crm = SandboxCRM(engine, ManualClock(DUE))
        self.rep, self.other_rep = "005A0000001AAAA", "005A0000001CCCC"
        with engine.begin() as conn:
            for user_id, email in ((self.rep, "ana@acme.test"), (self.other_rep, "cara@a.test")):
                conn.execute(
                    insert(sandbox_users).values(id=user_id, email=email, name=email, active=True)
                )
        self.pool = "00GA0000001SMB1"
        self.pooled_owner: str | None = self.pool
        self.adapter: CRMAdapter = self.crm

    def new_lead(self, owner: str | None = None) -> str:
        lead_id = self.crm.create_lead({"Company": "Small Co"}).lead_id
        if owner:
            self.crm.set_owner(lead_id, owner)
        return lead_id

    def lead(self, lead_id: str) -> LeadView:
        rec = self.crm.lead(lead_id)
        f = rec.fields
        return LeadView(
            owner=rec.owner,
            status=f.get("Leadpool_Status__c"),
            reason=f.get("Leadpool_Reason__c"),
            lock_expires=_when(f.get("Leadpool_Lock_Expires__c")),
            pool=self.pool if rec.owner == self.pool else None,
        )

    def tasks(self, lead_id: str) -> list[TaskView]:
        return [
            TaskView(t["subject"], t["owner"], t["status"] == "Completed")
            for t in self.crm.tasks(lead_id)
        ]

    def rate_limit_once(self) -> None:
        pytest.skip("the sandbox CRM has no rate limit")

    def outage(self) -> None:
        pytest.skip("the sandbox CRM lives in leadpool's database and has no outages")


@pytest.fixture(params=["salesforce", "hubspot", "sandbox"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    """The CRM under the contract, seeded with two users."""
    if request.param == "salesforce":
        return SalesforceContract(request.getfixturevalue("sf_world"))
    if request.param == "hubspot":
        build: Callable[[HubSpotSettings], CRMAdapter] = request.getfixturevalue(
            "make_hubspot_adapter"
        )
        settings: HubSpotSettings = request.getfixturevalue("hubspot_settings")
        return HubSpotContract(request.getfixturevalue("fake_hubspot"), build(settings))
    return SandboxContract(tmp_path)


def claimed(lock: datetime | None = LOCK) -> LeadpoolFields:
    return LeadpoolFields(
        status="CLAIMED", reason="claimed by ana", source="pool", lock_expires=lock
    )


def test_push_writes_owner_and_leadpool_fields(world: World) -> None:
    lead = world.new_lead()
    fields = LeadpoolFields("ASSIGNED", "route hot smb", "route")

    [result] = world.adapter.apply([UpdateLead(lead, owner=world.rep, leadpool=fields)])

    assert result.ok and result.error is None
    view = world.lead(lead)
    assert (view.owner, view.status, view.reason) == (world.rep, "ASSIGNED", "route hot smb")


def test_pool_hands_the_lead_to_the_pool(world: World) -> None:
    lead = world.new_lead(owner=world.rep)
    fields = LeadpoolFields("POOLED", "route everything else")

    [result] = world.adapter.apply([UpdateLead(lead, pool=world.pool, leadpool=fields)])

    assert result.ok
    view = world.lead(lead)
    assert view.owner == world.pooled_owner
    assert view.pool is not None and view.status == "POOLED"


def test_claim_confirm_writes_status_and_lock_expiry(world: World) -> None:
    lead = world.new_lead(owner=world.rep)

    [result] = world.adapter.apply([UpdateLead(lead, leadpool=claimed())])

    assert result.ok
    view = world.lead(lead)
    assert (view.owner, view.status, view.lock_expires) == (world.rep, "CLAIMED", LOCK)


def test_claim_revert_restores_the_previous_owner(world: World) -> None:
    lead = world.new_lead(owner=world.other_rep)  # the rep took it against the rules
    undo = LeadpoolFields("ASSIGNED", "claim reverted: over max_open", lock_expires=None)

    [result] = world.adapter.apply([UpdateLead(lead, owner=world.rep, leadpool=undo)])

    assert result.ok
    view = world.lead(lead)
    assert (view.owner, view.status, view.lock_expires) == (world.rep, "ASSIGNED", None)


def test_release_returns_a_claimed_lead_to_the_pool(world: World) -> None:
    lead = world.new_lead()
    world.adapter.apply([UpdateLead(lead, owner=world.rep, leadpool=claimed())])
    released = LeadpoolFields("POOLED", "lock expired", lock_expires=None)

    [result] = world.adapter.apply([UpdateLead(lead, pool=world.pool, leadpool=released)])

    assert result.ok
    view = world.lead(lead)
    assert (view.owner, view.status, view.lock_expires) == (world.pooled_owner, "POOLED", None)


def test_task_is_created_then_completed(world: World) -> None:
    lead, other = world.new_lead(), world.new_lead()

    created = world.adapter.apply(
        [
            CreateTask("sla-1", lead, world.rep, "Call within 5m", DUE),
            CreateTask("sla-2", other, world.rep, "Call the other", DUE),
        ]
    )

    assert all(r.ok and r.crm_id for r in created)
    assert world.tasks(lead) == [TaskView("Call within 5m", world.rep, False)]

    [done] = world.adapter.apply([CompleteTask("sla-1", created[0].crm_id or "")])

    assert done.ok
    assert world.tasks(lead) == [TaskView("Call within 5m", world.rep, True)]
    assert world.tasks(other) == [TaskView("Call the other", world.rep, False)]


def test_unknown_lead_is_permanent_for_its_change_only(world: World) -> None:
    lead = world.new_lead()

    bad, good = world.adapter.apply(
        [UpdateLead(world.unknown_lead, owner=world.rep), UpdateLead(lead, owner=world.rep)]
    )

    assert not bad.ok and isinstance(bad.error, Permanent)
    assert good.ok and world.lead(lead).owner == world.rep


def test_rate_limit_then_success_is_ok(world: World) -> None:
    lead = world.new_lead()
    world.rate_limit_once()

    [result] = world.adapter.apply([UpdateLead(lead, owner=world.rep)])

    assert result.ok and world.lead(lead).owner == world.rep


def test_outage_beyond_the_retry_budget_gives_transient_results(world: World) -> None:
    leads = [world.new_lead(), world.new_lead()]
    world.outage()

    results = world.adapter.apply(
        [UpdateLead(leads[0], owner=world.rep), CreateTask("sla-9", leads[1], world.rep, "x", DUE)]
    )

    assert [type(r.error) for r in results] == [Transient, Transient]
    assert not any(r.ok for r in results)
    assert world.lead(leads[0]).owner is None and world.tasks(leads[1]) == []
