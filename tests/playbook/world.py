"""A playbook world: one CRM, leadpool's endpoints in front of it, a manual clock and a worker.

Every world offers the same verbs (new_lead, take, contact, convert, advance) and reads back
what the CRM itself holds (crm_owner, crm_fields, crm_tasks) in CRM-neutral terms, so each
scenario is written once and runs on Salesforce, HubSpot and the sandbox. The CRM-specific
parts live in the subclasses (crm_worlds.py and SandboxWorld below).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, select

from connector.adapters.base import CRMAdapter
from connector.adapters.sandbox import SandboxCRM
from connector.app import create_app
from connector.clock import ManualClock
from connector.config import load_config
from connector.config.holder import ConfigHolder
from connector.config.routing_models import RoutingConfig
from connector.reporting import Report, build_report
from connector.runtime import Runtime
from connector.service import Service
from connector.store import journal, leads
from connector.store.rows import AuditRow, LeadRow
from connector.store.tables import assignments, rejections, sandbox_users
from connector.worker import Worker
from tests.conftest import make_migrated_engine

REPO = Path(__file__).resolve().parents[2]
# Monday 2026-01-05 15:00 UTC = 10:00 in New York: the example's reps are at work.
MONDAY_10_NY = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
REPS = ("ana", "ben", "cara", "dev", "erin", "finn", "gia", "hugo")
MANAGERS = {"maria": "005A000000M0001", "ed": "005A000000M0002", "hana": "005A000000M0003"}
STRANGER = "zed"  # a CRM user the routing config does not know
QUEUES = {"inbound-smb": "00GA0000001SMB1", "inbound-hc": "00GA0000001HC01"}
# The crm_user ids the example routing.yaml gives its reps.
EXAMPLE_USERS = {rep: f"005A0000001{rep[0].upper() * 4}" for rep in REPS}


@dataclass(frozen=True)
class Task:
    """A CRM task on a lead, as the CRM holds it: owner is a person's name."""

    subject: str
    owner: str
    due: datetime
    done: bool


def parse_time(value: Any) -> datetime | None:
    """A CRM timestamp (ISO 8601, Salesforce's +0000 form, or epoch ms) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    text = text.replace("Z", "+00:00")
    if text.endswith("+0000"):
        text = text[:-5] + "+00:00"
    return datetime.fromisoformat(text)


class World:
    """Shared machinery; a subclass provides the CRM, its config and the CRM-side verbs."""

    crm = "base"
    connector_yaml = "crm: sandbox\nworker:\n  in_server: false\n"

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.clock = ManualClock(MONDAY_10_NY)
        self.users: dict[str, str] = {}  # person -> CRM user id
        self.queues: dict[str, str] = {}  # pool -> what the CRM shows as owner of a pooled lead
        self._edits: dict[str, str] = {}
        self._runtime: Runtime | None = None
        self._client: FlaskClient | None = None
        self._worker: Worker | None = None

    # -- set-up ------------------------------------------------------------------------------
    def configure(self, *, at: datetime | None = None, **edits: str) -> None:
        """Before the first lead: start the clock elsewhere, or edit routing.yaml (old=new)."""
        assert self._runtime is None, "configure() must come before the world is used"
        if at is not None:
            self.clock.set(at)
        self._edits.update(edits)

    def routing_yaml(self) -> str:
        """The example routing.yaml with this CRM's user and queue ids (and test edits)."""
        text = (REPO / "config" / "routing.yaml").read_text()
        for person, example_id in {**EXAMPLE_USERS, **MANAGERS}.items():
            assert example_id in text, example_id
            text = text.replace(example_id, f'"{self.users[person]}"')  # HubSpot ids are digits
        for pool, example_id in QUEUES.items():
            text = text.replace(f"crm_queue: {example_id}", f'crm_queue: "{self.queues[pool]}"')
        for old, new in self._edits.items():
            assert old in text, old
            text = text.replace(old, new)
        return text

    def make_adapter(self, engine: Engine, cfg: RoutingConfig) -> CRMAdapter:
        """The adapter leadpool writes through."""
        raise NotImplementedError

    @property
    def runtime(self) -> Runtime:
        """The wired runtime (built on first use)."""
        if self._runtime is None:
            self._start()
        assert self._runtime is not None
        return self._runtime

    @property
    def client(self) -> FlaskClient:
        """A test client of leadpool's app."""
        self.runtime  # noqa: B018  (builds the app)
        assert self._client is not None
        return self._client

    def _start(self) -> None:
        config_dir = self.tmp_path / f"config-{self.crm}"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "routing.yaml").write_text(self.routing_yaml())
        (config_dir / "connector.yaml").write_text(self.connector_yaml)
        holder = ConfigHolder(load_config(config_dir))
        engine = make_migrated_engine(f"sqlite:///{self.tmp_path / f'{self.crm}.db'}")
        adapter = self.make_adapter(engine, holder.routing())
        service = Service(engine, holder.routing, adapter, self.clock)
        sandbox = adapter if isinstance(adapter, SandboxCRM) else None
        self._runtime = Runtime(holder, engine, adapter, service, self.clock, sandbox)
        self._client = create_app(self._runtime).test_client()
        self._worker = Worker(self._runtime, ident=f"playbook-{self.crm}")

    def close(self) -> None:
        """Release the store."""
        if self._runtime is not None:
            self._runtime.engine.dispose()

    # -- the playbook's verbs -------------------------------------------------------------------
    def new_lead(self, score: float | None = 50, **fields: Any) -> str:
        """A lead arrives in the CRM and the CRM tells leadpool; returns its id."""
        values: dict[str, Any] = {"Email": "pat@smallco.example", "Company": "Small Co", **fields}
        if score is not None:
            values["Lead_Score__c"] = score
        lead_id = self.create_in_crm(values)
        self.flush()
        return lead_id

    def take(self, lead_id: str, rep: str, by: str | None = None) -> None:
        """A rep (or `by`, e.g. a manager) sets the owner in the CRM; leadpool hears of it."""
        self.set_owner_in_crm(lead_id, self.users[rep], self.users[by] if by else None)
        self.flush()

    def race(self, lead_id: str, first: str, second: str, *, delivered_first: str) -> None:
        """Two reps take the lead a second apart; their changes reach leadpool in either order."""
        self.race_in_crm(lead_id, self.users[first], self.users[second], delivered_first == first)
        self.flush()

    def contact(self, lead_id: str) -> None:
        """The owner logs contact with the lead."""
        self.contact_in_crm(lead_id)
        self.flush()

    def convert(self, lead_id: str) -> None:
        """The lead is converted in the CRM."""
        self.convert_in_crm(lead_id)
        self.flush()

    def advance(self, minutes: float) -> None:
        """Move the clock; the worker fires due timers and flushes the outbox to the CRM."""
        self.clock.advance(timedelta(minutes=minutes))
        self.flush()

    def travel_to(self, when: datetime) -> None:
        """Jump the clock to a later time, then let the worker run."""
        assert when >= self.clock.now()
        self.clock.set(when)
        self.flush()

    def flush(self) -> None:
        """One worker pass: timers due now fire, queued CRM writes are sent."""
        self.runtime  # noqa: B018
        assert self._worker is not None
        report = self._worker.run_pass().outbox
        assert (report.parked, report.retried) == (0, 0), report

    # -- CRM side, CRM-specific ------------------------------------------------------------------
    def create_in_crm(self, values: dict[str, Any]) -> str:
        """Create the lead in the CRM and deliver its creation; returns the id."""
        raise NotImplementedError

    def set_owner_in_crm(self, lead_id: str, owner: str, by: str | None) -> None:
        """Change the owner in the CRM and deliver the change."""
        raise NotImplementedError

    def race_in_crm(self, lead_id: str, first: str, second: str, first_delivered: bool) -> None:
        """Two owner changes a second apart, delivered in the given order."""
        raise NotImplementedError

    def contact_in_crm(self, lead_id: str) -> None:
        """Log contact in the CRM and deliver the change."""
        raise NotImplementedError

    def convert_in_crm(self, lead_id: str) -> None:
        """Convert the lead in the CRM and deliver the change."""
        raise NotImplementedError

    def raw_owner(self, lead_id: str) -> str | None:
        """The owner id the CRM holds."""
        raise NotImplementedError

    def raw_fields(self, lead_id: str) -> dict[str, Any]:
        """leadpool's fields as the CRM holds them: status, reason, source, lock_expires, pool."""
        raise NotImplementedError

    def crm_tasks(self, lead_id: str) -> list[Task]:
        """Tasks on the lead in the CRM, oldest first."""
        raise NotImplementedError

    # -- read-back, CRM-neutral --------------------------------------------------------------------
    def person(self, crm_id: str | None) -> str | None:
        """A CRM owner id as a name: the person, the pool (queue), or the id itself."""
        if crm_id is None:
            return None
        for name, user in self.users.items():
            if user == crm_id:
                return name
        for pool, queue in self.queues.items():
            if queue == crm_id:
                return pool
        return crm_id

    def crm_owner(self, lead_id: str) -> str | None:
        """Who owns the lead in the CRM (person, pool name for a queue, None for nobody)."""
        return self.person(self.raw_owner(lead_id))

    def pool_owner_value(self, pool: str) -> str | None:
        """What crm_owner shows for a lead waiting in the pool."""
        return pool

    def pool_view(self, pool: str) -> list[str] | None:
        """The columns of the pool's view as `leadpool setup` leaves it (None: no views)."""
        return None

    def crm_fields(self, lead_id: str) -> dict[str, Any]:
        """leadpool's status/reason/source/lock_expires/pool as the CRM holds them."""
        fields = self.raw_fields(lead_id)
        fields["lock_expires"] = parse_time(fields.get("lock_expires"))
        return fields

    def notices(self, lead_id: str, person: str) -> list[str]:
        """Subjects of the tasks a person got about the lead."""
        return [t.subject for t in self.crm_tasks(lead_id) if t.owner == person]

    # -- leadpool's own records (for what the CRM cannot show) -------------------------------------
    def lead(self, lead_id: str) -> LeadRow:
        """leadpool's row for the lead."""
        with self.runtime.engine.connect() as conn:
            row = leads.get_lead(conn, self.runtime.service.crm, lead_id)
        assert row is not None, lead_id
        return row

    def timeline(self, lead_id: str) -> list[AuditRow]:
        """The lead's audit trail."""
        with self.runtime.engine.connect() as conn:
            return journal.lead_timeline(conn, self.runtime.service.crm, lead_id)

    def assignment_rows(self, lead_id: str) -> list[Any]:
        """The lead's assignment history, oldest first."""
        query = select(assignments).where(assignments.c.lead_id == lead_id)
        with self.runtime.engine.connect() as conn:
            return list(conn.execute(query.order_by(assignments.c.id)).all())

    def rejection_rules(self, person: str) -> list[str]:
        """Rules that undid a person's claims (unknown users are recorded by CRM id)."""
        rep = person if person in REPS else self.users[person]
        query = select(rejections.c.rule).where(rejections.c.rep == rep)
        with self.runtime.engine.connect() as conn:
            return list(conn.execute(query.order_by(rejections.c.id)).scalars())

    def report(self, since: timedelta = timedelta(days=1)) -> Report:
        """What `leadpool report --since` computes now."""
        now = self.clock.now()
        with self.runtime.engine.connect() as conn:
            return build_report(conn, self.runtime.config.routing(), now - since, now)


class SandboxWorld(World):
    """The built-in sandbox CRM, driven through its /sandbox HTTP endpoints."""

    crm = "sandbox"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.users = {**EXAMPLE_USERS, **MANAGERS, STRANGER: "005A0000009ZZZZ"}
        self.queues = dict(QUEUES)
        self._sandbox: SandboxCRM | None = None

    def make_adapter(self, engine: Engine, cfg: RoutingConfig) -> CRMAdapter:
        with engine.begin() as conn:
            for name, user in self.users.items():
                conn.execute(
                    insert(sandbox_users).values(
                        id=user, email=f"{name}@acme.test", name=name, active=True
                    )
                )
        self._sandbox = SandboxCRM(engine, self.clock)
        return self._sandbox

    @property
    def sandbox(self) -> SandboxCRM:
        """The sandbox CRM's own side."""
        self.runtime  # noqa: B018
        assert self._sandbox is not None
        return self._sandbox

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=dict(body))
        assert response.status_code == 200, response.get_data(as_text=True)
        reply = response.get_json()
        assert isinstance(reply, dict)
        return reply

    def create_in_crm(self, values: dict[str, Any]) -> str:
        return str(self._post("/sandbox/leads", {"fields": values})["lead_id"])

    def set_owner_in_crm(self, lead_id: str, owner: str, by: str | None) -> None:
        body = {"owner": owner, **({"by": by} if by else {})}
        self._post(f"/sandbox/leads/{lead_id}/owner", body)

    def race_in_crm(self, lead_id: str, first: str, second: str, first_delivered: bool) -> None:
        # The sandbox delivers each change as it is made: the first delivered is the first made.
        order = (first, second) if first_delivered else (second, first)
        self.set_owner_in_crm(lead_id, order[0], None)
        self.clock.advance(timedelta(seconds=1))
        self.set_owner_in_crm(lead_id, order[1], None)

    def contact_in_crm(self, lead_id: str) -> None:
        self._post(
            f"/sandbox/leads/{lead_id}/fields", {"fields": {"Status": "Working - Contacted"}}
        )

    def convert_in_crm(self, lead_id: str) -> None:
        self._post(
            f"/sandbox/leads/{lead_id}/fields",
            {"fields": {"IsConverted": True, "Status": "Closed - Converted"}},
        )

    def _read(self, lead_id: str) -> dict[str, Any]:
        response = self.client.get(f"/sandbox/leads/{lead_id}")
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert isinstance(body, dict)
        return body

    def raw_owner(self, lead_id: str) -> str | None:
        owner = self._read(lead_id)["owner"]
        return str(owner) if owner else None

    def raw_fields(self, lead_id: str) -> dict[str, Any]:
        body = self._read(lead_id)
        f = body["fields"]
        owner = body["owner"]
        return {
            "status": f.get("Leadpool_Status__c"),
            "reason": f.get("Leadpool_Reason__c"),
            "source": f.get("Leadpool_Source__c"),
            "lock_expires": f.get("Leadpool_Lock_Expires__c"),
            "pool": next((p for p, q in self.queues.items() if q == owner), None),
        }

    def crm_tasks(self, lead_id: str) -> list[Task]:
        return [
            Task(
                str(t["subject"]),
                self.person(str(t["owner"])) or "",
                parse_time(t["due_at"]) or datetime.min.replace(tzinfo=UTC),
                t["status"] == "Completed",
            )
            for t in self.sandbox.tasks(lead_id)
        ]
