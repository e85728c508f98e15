"""/healthz and /readyz: alive, and ready only with a reachable store and a loaded config."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from connector.app import create_app
from connector.store.engine import open_engine
from tests.service.harness import EXAMPLE, Harness


def test_healthz_and_readyz_report_the_outbox_backlog(engine: Engine) -> None:
    h = Harness(engine)
    runtime = h.worker.runtime
    client = create_app(runtime).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    h.service.ingest_one(h.crm.create_lead({"Lead_Score__c": 40}))  # not flushed yet
    h.clock.advance(timedelta(seconds=90))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready" and body["store"] == "ok"
    assert body["outbox"] == {"pending": 1, "parked": 0, "oldest_age_s": 90.0}
    assert body["config"]["fingerprint"] == runtime.config.config.fingerprint
    assert body["config"]["reload_error"] is None


def test_readyz_is_503_when_the_store_is_unreachable(engine: Engine) -> None:
    h = Harness(engine)
    runtime = h.worker.runtime
    runtime.engine = open_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    client = create_app(runtime).test_client()
    assert client.get("/healthz").status_code == 200  # alive all the same
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["status"] == "unavailable"
    assert ready.get_json()["store"].startswith("unreachable: ")


def test_readyz_shows_a_refused_config_reload(engine: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, directory)
    h = Harness(engine, config_dir=directory)
    runtime = h.worker.runtime
    routing = directory / "routing.yaml"
    routing.write_text(routing.read_text().replace("lock: 15m", "lock: soon"))
    h.worker.run_pass()  # notices the edit, refuses it, keeps serving the last good config
    body = create_app(runtime).test_client().get("/readyz").get_json()
    assert body["status"] == "ready"
    assert "claims.lock: bad duration 'soon'" in body["config"]["reload_error"]
