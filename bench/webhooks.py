"""Webhook throughput: signed deliveries to a real `leadpool serve` process over HTTP.

Run as `python bench/webhooks.py [--events N] [--clients C] [--stores sqlite,postgres]`.
For each store it starts `leadpool serve` on 127.0.0.1 (werkzeug, threaded, no worker) and
posts, from C client threads:
  - HubSpot batches of 100 `contact.creation` events, v3-signed; creation events carry no
    properties, so each delivery's new contacts are read from a fake HubSpot (one batch read
    a delivery, over HTTP on 127.0.0.1) before they are routed;
  - Salesforce Outbound Messages of 50 Lead notifications, with the URL token.
Each event is a new lead routed in its own transaction. It prints accepted events/s and the
p50/p99 time until the CRM gets its acknowledgement (after the last commit).
PostgreSQL: LEADPOOL_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
a private schema is created and dropped. Unreachable PostgreSQL is reported and skipped.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from connector.store.engine import open_engine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fake HubSpot lives with the tests

from tests.fakecrm.hubspot import FakeHubSpot  # noqa: E402

ORG_ID = "00D5e000000KQ2eEAG"
PUBLIC_BASE_URL = "https://leadpool.example.com"
SECRETS = {
    "BENCH_SF_OUTBOUND_TOKEN": "bench-outbound-token",
    "BENCH_HS_CLIENT_SECRET": "bench-client-secret",
    "BENCH_HS_TOKEN": "bench-hubspot-token",
    # The Salesforce adapter wants credentials present; Outbound Messages carry the fields,
    # so the server never calls Salesforce here.
    "LEADPOOL_SF_USERNAME": "bench@example.com",
    "LEADPOOL_SF_PASSWORD": "unused",
    "LEADPOOL_SF_TOKEN": "unused",
    "LEADPOOL_HUBSPOT_TOKEN": "unused",
}
CONNECTOR_YAML = {
    "salesforce": f"""\
crm: salesforce
salesforce:
  org_id: {ORG_ID}
  outbound_token_env: BENCH_SF_OUTBOUND_TOKEN
worker:
  in_server: false
log_level: WARNING
""",
    "hubspot": f"""\
crm: hubspot
hubspot:
  client_secret_env: BENCH_HS_CLIENT_SECRET
  token_env: BENCH_HS_TOKEN
  host: "{{HOST}}"
  public_base_url: {PUBLIC_BASE_URL}
worker:
  in_server: false
log_level: WARNING
""",
}
HUBSPOT_FIELDS = {"score: Lead_Score__c": "score: hubspotscore"}


@dataclass
class Figures:
    """One run's results."""

    events: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int

    def line(self, label: str) -> str:
        """A printable summary."""
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (
            f"{label:<44} {self.events / self.seconds:8.0f} events/s  "
            f"ack p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
            f"({self.requests} requests, {self.events} events, {self.failures} failed)"
        )


# -- payloads ---------------------------------------------------------------------------------


def hubspot_batches(contact_ids: list[str], size: int) -> list[bytes]:
    """Batches of contact.creation events for the given contacts, in HubSpot's JSON shape."""
    start = int(datetime.now(UTC).timestamp() * 1000)
    events = [
        {
            "eventId": n,
            "subscriptionId": 4849549,
            "portalId": 50687303,
            "appId": 25681700,
            "occurredAt": start + n,
            "subscriptionType": "contact.creation",
            "attemptNumber": 0,
            "objectId": int(contact_id),
            "changeSource": "CRM_UI",
        }
        for n, contact_id in enumerate(contact_ids)
    ]
    return [
        json.dumps(events[i : i + size], separators=(",", ":")).encode()
        for i in range(0, len(events), size)
    ]


def outbound_messages(count: int, size: int, run: str) -> list[bytes]:
    """Outbound Messages of `size` Lead notifications each."""
    start = datetime.now(UTC) - timedelta(minutes=1)
    items = []
    for n in range(count):
        modified = (start + timedelta(milliseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        lead_id = f"00Q{run[:5]}{n:07d}AAA"
        items.append(
            f"<Notification><Id>04l{run[:5]}{n:07d}AAJ</Id>"
            '<sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
            f"<sf:Id>{lead_id}</sf:Id><sf:Company>{escape(f'Company {n}')}</sf:Company>"
            f"<sf:LastModifiedDate>{modified}</sf:LastModifiedDate>"
            f"<sf:Lead_Score__c>{(n * 37) % 100}.0</sf:Lead_Score__c>"
            "<sf:OwnerId>00GA0000001SMB1</sf:OwnerId>"
            "<sf:Status>Open - Not Contacted</sf:Status></sObject></Notification>"
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{ORG_ID}</OrganizationId><ActionId>04k5e000000CaRkAAK</ActionId>"
    )
    tail = "</notifications></soapenv:Body></soapenv:Envelope>"
    return [(head + "".join(items[i : i + size]) + tail).encode() for i in range(0, count, size)]


def hubspot_headers(body: bytes) -> dict[str, str]:
    """v3 signature headers for a POST to the public HubSpot webhook URL."""
    stamp = str(int(time.time() * 1000))
    uri = f"{PUBLIC_BASE_URL}/webhooks/hubspot"
    message = b"POST" + uri.encode() + body + stamp.encode()
    secret = SECRETS["BENCH_HS_CLIENT_SECRET"].encode()
    signature = base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": stamp,
    }


# -- server and clients -----------------------------------------------------------------------


@contextmanager
def serve(
    crm: str, store_url: str, workdir: Path, crm_host: str = ""
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Run `leadpool serve` for `crm` on the store; yields the process and its port."""
    config = workdir / f"config-{crm}"
    config.mkdir(parents=True, exist_ok=True)
    routing = (REPO / "config" / "routing.yaml").read_text()
    if crm == "hubspot":
        for old, new in HUBSPOT_FIELDS.items():
            routing = routing.replace(old, new)
    (config / "routing.yaml").write_text(routing)
    (config / "connector.yaml").write_text(CONNECTOR_YAML[crm].replace("{HOST}", crm_host))
    env = {**os.environ, **SECRETS, "PYTHONUNBUFFERED": "1"}
    env.pop("LEADPOOL_STORE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "serve", "--config", str(config),
         "--store", store_url, "--host", "127.0.0.1", "--port", "0", "--no-worker"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        if "serving on" not in banner:
            raise RuntimeError(f"leadpool serve did not start: {banner!r}")
        yield process, int(banner.rsplit(":", 1)[1].split()[0])
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def post_all(
    port: int,
    path: str,
    bodies: list[bytes],
    headers: Callable[[bytes], dict[str, str]],
    clients: int,
    events_per_body: int,
) -> Figures:
    """Post every body (from `clients` threads, one connection each) and time the acks."""
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    latencies: list[float] = []
    failures = [0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop(0)
            sent = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers(body))
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = (time.perf_counter() - sent) * 1000
            with lock:
                latencies.append(elapsed)
                failures[0] += not ok
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return Figures(len(bodies) * events_per_body, len(bodies), seconds, latencies, failures[0])


# -- stores -----------------------------------------------------------------------------------


@contextmanager
def sqlite_store(workdir: Path) -> Iterator[str]:
    """A fresh SQLite file."""
    yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"


@contextmanager
def postgres_store() -> Iterator[str]:
    """A private schema in the PostgreSQL named by LEADPOOL_BENCH_PG_URL, dropped afterwards."""
    base = make_url(
        os.environ.get("LEADPOOL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    admin = open_engine(base.render_as_string(hide_password=False))
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(store: str, events: int, clients: int, workdir: Path) -> None:
    """Both CRMs' deliveries against one kind of store."""
    opener = postgres_store() if store == "postgres" else sqlite_store(workdir)
    with opener as url:
        run_id = uuid.uuid4().hex
        fake = FakeHubSpot(token=SECRETS["BENCH_HS_TOKEN"]).start()
        contacts = [
            fake.portal.add_record(
                "contacts", hubspotscore=str((n * 37) % 100), email=f"c{n}@bench.example"
            )
            for n in range(events)
        ]
        try:
            with serve("hubspot", url, workdir, fake.url) as (_process, port):
                bodies = hubspot_batches(contacts, 100)
                figures = post_all(port, "/webhooks/hubspot", bodies, hubspot_headers, clients, 100)
                print(figures.line(f"{store:<8} HubSpot, batches of 100"), flush=True)
        finally:
            fake.stop()
    second = postgres_store() if store == "postgres" else sqlite_store(workdir)
    with second as url, serve("salesforce", url, workdir) as (_process, port):
        token = SECRETS["BENCH_SF_OUTBOUND_TOKEN"]
        bodies = outbound_messages(events, 50, run_id)
        figures = post_all(
            port,
            f"/webhooks/salesforce/outbound/{token}",
            bodies,
            lambda _body: {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            clients,
            50,
        )
        print(figures.line(f"{store:<8} Salesforce Outbound Messages of 50"), flush=True)


def main() -> int:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="events per CRM and store")
    parser.add_argument("--clients", type=int, default=4, help="concurrent senders")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; {args.events} events per run; {args.clients} clients")
    workdir = Path(tempfile.mkdtemp(prefix="leadpool-bench-"))
    try:
        for store in args.stores.split(","):
            try:
                run(store.strip(), args.events, args.clients, workdir)
            except OperationalError as exc:
                print(f"{store}: skipped, database unreachable ({type(exc).__name__})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
