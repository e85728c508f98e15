"""A dashboard app over a store with a known history (the `leadpool report` scenario)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from werkzeug.security import generate_password_hash

from connector.app import create_app
from connector.config import load_config
from connector.config.holder import ConfigHolder
from connector.runtime import Runtime
from connector.store.tables import outbox
from tests.service.harness import EXAMPLE, Harness

PASSWORD = "correct horse battery staple"
TOKEN = "dashboard-test-token-0123456789"
# scrypt is slow on purpose; one hash for the whole session keeps the tests quick.
PASSWORD_HASH = generate_password_hash(PASSWORD)
ENV = {
    "LP_TEST_SECRET_KEY": "test-signing-key-" + "x" * 32,
    "LP_TEST_ADMIN_HASH": PASSWORD_HASH,
    "LP_TEST_DASHBOARD_TOKEN": TOKEN,
}
DASHBOARD_YAML = """
dashboard:
  secret_key_env: LP_TEST_SECRET_KEY
  users: [{name: olga, password_hash_env: LP_TEST_ADMIN_HASH}]
  token_env: LP_TEST_DASHBOARD_TOKEN
"""


def dashboard_config(tmp_path: Path, yaml: str = DASHBOARD_YAML) -> Path:
    """The example config with a dashboard section of our own."""
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    connector_yaml = target / "connector.yaml"
    text = connector_yaml.read_text()
    head = text.split("\ndashboard:", 1)[0]
    connector_yaml.write_text(head + yaml)
    return target


@dataclass
class Dash:
    """The harness that made the history, and the app and client over the same store."""

    h: Harness
    app: Flask
    client: FlaskClient
    parked_id: int

    def login(self, user: str = "olga", password: str = PASSWORD) -> int:
        """Sign in through the form; returns the status code."""
        reply = self.client.post(
            "/dashboard/login", data={"username": user, "password": password, "next": ""}
        )
        return reply.status_code


def build_history(h: Harness) -> None:
    """The same day as tests/test_report.py: a push, claims, a refused claim, a lapsed lock."""
    hot = h.new_lead(score=86)
    b = h.new_lead(score=40)
    h.new_lead(score=30)
    d = h.new_lead(score=60)
    h.advance(2)
    h.take(d, "cara")
    h.advance(1)
    h.contact(hot)
    h.advance(7)
    h.take(b, "ben")
    h.take(h.lead_ids_in_pool()[0], "dev")
    h.advance(5)
    h.contact(b)
    h.advance(13)
    h.deliver(h.crm.update_fields(b, {"IsConverted": True}))


def park_one(engine: Engine, h: Harness) -> int:
    """Mark the newest CRM write as refused for good by the CRM; returns its outbox id."""
    with engine.begin() as conn:
        row_id = int(conn.execute(select(func.max(outbox.c.id))).scalar_one())
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(
                state="parked",
                parked_at=h.clock.now() - timedelta(minutes=1),
                last_error="INVALID_CROSS_REFERENCE_KEY: Owner ID: owner cannot be blank",
            )
        )
    return row_id


@pytest.fixture
def dash(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dash]:
    """A signed-out client on a store that holds the known history and one parked write."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config_dir = dashboard_config(tmp_path)
    h = Harness(engine, config_dir=config_dir)
    build_history(h)
    parked_id = park_one(engine, h)
    holder = ConfigHolder(load_config(config_dir))
    runtime = Runtime(holder, engine, h.crm, h.service, h.clock, h.crm)
    app = create_app(runtime)
    yield Dash(h, app, app.test_client(), parked_id)
