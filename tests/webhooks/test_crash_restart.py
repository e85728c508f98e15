"""Real processes: a server killed with SIGKILL mid-stream loses nothing and routes nothing twice;
two workers sharing PostgreSQL apply every outbox change exactly once.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import Engine, func, insert, select, text

from connector.adapters.base import CreateTask
from connector.adapters.change_codec import encode_change
from connector.store import journal
from connector.store import outbox as outbox_store
from connector.store.tables import (
    assignments,
    audit,
    events_seen,
    leads,
    metadata,
    outbox,
    sandbox_leads,
    sandbox_tasks,
)
from tests.conftest import make_migrated_engine
from tests.fakecrm.hubspot import FakeHubSpot

from .endpoint_harness import ENV, HUBSPOT_SECRET, PUBLIC_BASE_URL, copy_routing, write_config
from .payloads import hubspot_event, json_body
from .signers import hubspot_v3_headers

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
HOOK_URL = f"{PUBLIC_BASE_URL}/webhooks/hubspot"
LEADS = 1000
BATCH = 20
KILL_AFTER_BATCHES = 15
HUBSPOT_TOKEN = "crash-test-token"


def child_env() -> dict[str, str]:
    """The environment a leadpool process gets: the test secrets, no store override."""
    env = {k: v for k, v in os.environ.items() if k != "LEADPOOL_STORE_URL"}
    env.update(ENV)
    env["LEADPOOL_HUBSPOT_TOKEN"] = HUBSPOT_TOKEN
    env["PYTHONUNBUFFERED"] = "1"
    return env


def leadpool(*args: str, stderr: int | IO[bytes] | None = None) -> subprocess.Popen[str]:
    """Start the `leadpool` command in a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", *args],
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


@dataclass
class Server:
    """`leadpool serve` on an ephemeral port; restartable."""

    config_dir: Path
    store_url: str
    log: IO[bytes]
    process: subprocess.Popen[str] | None = None
    port: int | None = None

    def start(self) -> int:
        """Start the server and return the port it listens on."""
        self.process = leadpool(
            "serve", "--config", str(self.config_dir), "--store", self.store_url,
            "--host", "127.0.0.1", "--port", "0", "--no-worker", stderr=self.log,
        )  # fmt: skip
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        assert "leadpool serving on http://127.0.0.1:" in banner, banner
        self.port = int(banner.rsplit(":", 1)[1].split()[0])
        return self.port

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing, whatever was in flight is lost."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Ctrl-C and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Sender:
    """Posts the batches one after another, retrying each until it gets a 2xx, as CRMs do."""

    batches: list[bytes]
    port: int | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[int] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    progress: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def retarget(self, port: int | None) -> None:
        """Point the sender at a (restarted) server; None while it is down."""
        with self.lock:
            self.port = port

    def run(self) -> None:
        """Send everything; each batch is retried until acknowledged."""
        try:
            for number, body in enumerate(self.batches):
                while not self.post(body):
                    self.done.wait(0.02)  # back off a little, like a CRM's retry
                self.acked.append(number)
                if len(self.acked) >= KILL_AFTER_BATCHES:
                    self.progress.set()
        finally:
            self.progress.set()
            self.done.set()

    def post(self, body: bytes) -> bool:
        with self.lock:
            port = self.port
        if port is None:
            self.failures["server down"] += 1
            return False
        stamp = int(datetime.now(UTC).timestamp() * 1000)
        headers = {"Content-Type": "application/json"}
        headers.update(hubspot_v3_headers(HUBSPOT_SECRET, "POST", HOOK_URL, body, stamp))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/webhooks/hubspot", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.failures[type(exc).__name__] += 1
            return False
        finally:
            conn.close()
        if 200 <= response.status < 300:
            return True
        self.failures[f"HTTP {response.status}"] += 1
        return False


def contact_batches(hubspot: FakeHubSpot, now: datetime) -> tuple[list[bytes], list[str]]:
    """LEADS contacts created in HubSpot, and their creation events in batches of BATCH."""
    contact_ids = [
        hubspot.portal.add_record("contacts", email=f"lead{n}@example.com") for n in range(LEADS)
    ]
    events = [
        hubspot_event(
            eventId=500_000 + number,
            objectId=int(contact_id),
            subscriptionType="contact.creation",
            occurredAt=int((now + timedelta(milliseconds=number)).timestamp() * 1000),
            changeFlag="CREATED",
        )
        for number, contact_id in enumerate(contact_ids)
    ]
    for event in events:  # creation events carry no property
        del event["propertyName"], event["propertyValue"]
    bodies = [json_body(events[start : start + BATCH]) for start in range(0, LEADS, BATCH)]
    return bodies, contact_ids


@pytest.fixture
def fake_hubspot() -> Iterator[FakeHubSpot]:
    """A fake HubSpot API on 127.0.0.1 the server reads new contacts from."""
    server = FakeHubSpot(token=HUBSPOT_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A migrated SQLite store file, and an engine the test reads it with."""
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = make_migrated_engine(url)
    yield url, engine
    engine.dispose()


def test_server_killed_mid_stream_loses_nothing_and_routes_nothing_twice(
    tmp_path: Path, sqlite_store: tuple[str, Engine], fake_hubspot: FakeHubSpot
) -> None:
    url, engine = sqlite_store
    config_dir = write_config(tmp_path / "config", "hubspot")
    connector_yaml = config_dir / "connector.yaml"
    connector_yaml.write_text(
        connector_yaml.read_text().replace(
            "hubspot:\n", f"hubspot:\n  host: {fake_hubspot.url}\n  requests_per_10s: 100000\n"
        )
    )
    bodies, lead_ids = contact_batches(fake_hubspot, datetime.now(UTC))
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = Server(config_dir, url, log)
        sender = Sender(bodies, server.start())
        thread = threading.Thread(target=sender.run, daemon=True)
        try:
            thread.start()
            assert sender.progress.wait(timeout=120)
            server.kill()
            sender.retarget(None)
            sender.retarget(server.start())
            assert sender.done.wait(timeout=120)
            thread.join(timeout=10)
        finally:
            server.stop()

    assert sender.acked == list(range(len(bodies)))
    assert sender.failures, "the kill did not interrupt any delivery"
    with engine.connect() as conn:
        seen = set(conn.execute(select(events_seen.c.event_key)).scalars())
        per_lead = dict(
            conn.execute(select(leads.c.lead_id, func.count()).group_by(leads.c.lead_id)).all()
        )
        decisions = Counter(
            conn.execute(
                select(audit.c.lead_id).where(audit.c.action.in_(("assigned", "pooled")))
            ).scalars()
        )
        received = Counter(
            conn.execute(select(audit.c.lead_id).where(audit.c.action == "received")).scalars()
        )
        held = Counter(conn.execute(select(assignments.c.lead_id)).scalars())
        writes = Counter(
            conn.execute(select(outbox.c.lead_id).where(outbox.c.kind == "update_lead")).scalars()
        )
    assert seen == {f"hs:{500_000 + number}" for number in range(LEADS)}
    assert per_lead == dict.fromkeys(lead_ids, 1)
    assert received == Counter(lead_ids)
    assert decisions == Counter(lead_ids)  # each lead routed exactly once
    assert all(count == 1 for count in held.values())  # no lead handed out twice
    assert writes == Counter(lead_ids)  # one owner/pool write per lead for the CRM
    server_log = log_path.read_text(errors="replace")
    for secret in ENV.values():
        assert secret not in server_log


# -- two workers on PostgreSQL ------------------------------------------------------------------

CHANGES = 5000
CHANGES_PER_LEAD = 5


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Engine]:
    """The session's PostgreSQL schema, migrated and emptied."""
    engine = make_migrated_engine(pg_url)
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_two_workers_drain_the_outbox_applying_each_change_once(
    tmp_path: Path, pg_store: Engine, pg_url: str
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    copy_routing(config_dir)
    (config_dir / "connector.yaml").write_text("crm: sandbox\nworker:\n  batch_size: 100\n")
    now = datetime.now(UTC)
    lead_count = CHANGES // CHANGES_PER_LEAD
    with pg_store.begin() as conn:
        conn.execute(
            insert(sandbox_leads),
            [
                {"id": f"00QW{n:06d}", "owner": None, "fields": {}, "created_at": now,
                 "updated_at": now}
                for n in range(lead_count)
            ],
        )  # fmt: skip
        for step in range(CHANGES_PER_LEAD):
            for n in range(lead_count):
                change = CreateTask(
                    key=f"w-{n}-{step}",
                    lead_id=f"00QW{n:06d}",
                    owner="005A0000001AAAA",
                    subject=f"change {n}/{step}",
                    due=now,
                )
                # As the service does: the task is remembered, and its creation queued.
                journal.add_task(
                    conn, change.key, "sandbox", change.lead_id, change.owner, "sla",
                    change.subject, now,
                )  # fmt: skip
                kind, payload = encode_change(change)
                outbox_store.enqueue(conn, "sandbox", change.lead_id, kind, payload, now)

    workers = [
        leadpool("worker", "--config", str(config_dir), "--store", pg_url, "--until-idle",
                 stderr=subprocess.PIPE)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [worker.communicate(timeout=240) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    with pg_store.connect() as conn:
        states = Counter(conn.execute(select(outbox.c.state)).scalars())
        applied = Counter(conn.execute(select(sandbox_tasks.c.subject)).scalars())
        order = conn.execute(
            select(sandbox_tasks.c.lead_id, sandbox_tasks.c.subject).order_by(sandbox_tasks.c.id)
        ).all()
    assert states == {"done": CHANGES}
    assert len(applied) == CHANGES
    assert set(applied.values()) == {1}  # no change applied twice
    # Changes to one lead reached the CRM in the order they were queued, whichever worker ran.
    by_lead: dict[str, list[str]] = {}
    for lead_id, subject in order:
        by_lead.setdefault(lead_id, []).append(subject)
    for lead_id, subjects in by_lead.items():
        n = int(lead_id.removeprefix("00QW"))
        assert subjects == [f"change {n}/{step}" for step in range(CHANGES_PER_LEAD)]
