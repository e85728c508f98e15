"""/metrics is scraped over HTTP and its counters move with routed leads, claims and timers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from connector import metrics
from connector.app import create_app
from connector.config import load_config
from connector.config.holder import ConfigHolder
from connector.runtime import Runtime
from tests.service.harness import EXAMPLE, Harness


def scrape(client: FlaskClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of one scrape, keyed by name and labels."""
    reply = client.get("/metrics")
    assert reply.status_code == 200
    assert reply.mimetype == "text/plain"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.get_data(as_text=True))
        for s in family.samples
    }


def total(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """Sum of the samples called name whose labels include the given ones."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= lab)


@pytest.fixture
def setup(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> tuple[Harness, FlaskClient]:
    monkeypatch.delenv("LEADPOOL_DASHBOARD_TOKEN", raising=False)
    h = Harness(engine)
    holder = ConfigHolder(load_config(EXAMPLE))
    app = create_app(Runtime(holder, engine, h.crm, h.service, h.clock, h.crm))
    return h, app.test_client()


def test_counters_move_with_routed_leads(setup: tuple[Harness, FlaskClient]) -> None:
    h, client = setup
    before = scrape(client)
    h.new_lead(score=86)  # hot: pushed by weighted rotation
    pooled = [h.new_lead(score=40), h.new_lead(score=30)]
    after_routing = scrape(client)
    assert (
        total(after_routing, "leadpool_decisions_total") - total(before, "leadpool_decisions_total")
        == 3
    )
    assert (
        total(after_routing, "leadpool_decisions_total", route="hot smb", strategy="weighted")
        - total(before, "leadpool_decisions_total", route="hot smb", strategy="weighted")
        == 1
    )
    h.take(pooled[0], "ben")
    h.take(pooled[1], "dev")  # tier "new" may not claim here
    after_claims = scrape(client)
    accepted = ("leadpool_claims_total", {"outcome": "accepted"})
    assert (
        total(after_claims, accepted[0], **accepted[1]) - total(before, accepted[0], **accepted[1])
        == 1
    )
    assert (
        total(after_claims, "leadpool_claims_total", rule="tier")
        - total(before, "leadpool_claims_total", rule="tier")
        == 1
    )
    calls = "leadpool_crm_call_seconds_count"
    assert total(after_claims, calls, crm="sandbox") > total(before, calls, crm="sandbox")
    h.advance(16)  # ben's 15-minute lock runs out
    h.worker.fire_due_timers()
    after_timers = scrape(client)
    assert total(after_timers, "leadpool_timers_fired_total") > total(
        before, "leadpool_timers_fired_total"
    )


def test_outbox_backlog_and_webhook_rejections(setup: tuple[Harness, FlaskClient]) -> None:
    h, client = setup
    before = scrape(client)
    h.service.ingest_one(h.crm.create_lead({"Email": "a@b.example", "Lead_Score__c": 10}))
    h.clock.advance(timedelta(minutes=3))  # nothing flushes the outbox meanwhile
    metrics.webhook_rejected("bad_signature")
    samples = scrape(client)
    assert samples[("leadpool_outbox_pending", frozenset())] >= 1
    assert samples[("leadpool_outbox_oldest_pending_seconds", frozenset())] == 180.0
    rejected = ("leadpool_webhook_rejections_total", frozenset({("reason", "bad_signature")}))
    assert samples[rejected] - before.get(rejected, 0.0) == 1
