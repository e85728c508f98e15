"""`leadpool setup` against the fake CRMs and `leadpool outbox parked|retry` on a store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.adapters import factory
from connector.adapters.base import CRMAdapter
from connector.adapters.salesforce import SalesforceAdapter, SalesforceSettings
from connector.cli import main
from connector.clock import Clock
from connector.config.connector_models import ConnectorConfig
from connector.events import Crm
from connector.store import outbox
from connector.store.tables import outbox as outbox_table
from tests.conftest import make_migrated_engine
from tests.fakecrm.hubspot import FakeHubSpot
from tests.fakecrm.salesforce import FakeSalesforce, running_fake_salesforce
from tests.fakecrm.tls import ThrowawayCA

CONFIG = Path(__file__).resolve().parents[1] / "config"
SF_ENV = {
    "LEADPOOL_SF_USERNAME": "integration@acme.test",
    "LEADPOOL_SF_PASSWORD": "s3cret-pass",
    "LEADPOOL_SF_TOKEN": "tok3n",
}
PARKED_AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def config_dir(tmp_path: Path, connector_yaml: str) -> Path:
    """The example routing with the given connector.yaml."""
    directory = tmp_path / "cfg"
    directory.mkdir()
    shutil.copy(CONFIG / "routing.yaml", directory / "routing.yaml")
    (directory / "connector.yaml").write_text(connector_yaml)
    return directory


@pytest.fixture
def bare_salesforce(tmp_path: Path) -> Iterator[FakeSalesforce]:
    """A fake org without leadpool's fields and an integration user."""
    (tmp_path / "tls").mkdir()
    with running_fake_salesforce(ThrowawayCA(tmp_path / "tls"), leadpool_fields=False) as fake:
        fake.add_user("Integration", SF_ENV["LEADPOOL_SF_USERNAME"], password="s3cret-pass",
                      security_token="tok3n")  # fmt: skip
        yield fake


def test_setup_salesforce_dry_run_then_apply_then_nothing_left(
    bare_salesforce: FakeSalesforce,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = config_dir(
        tmp_path,
        "crm: salesforce\nstore: {url: 'sqlite:///var/lp.db'}\n"
        "salesforce: {org_id: 00D5e000000AbCdEAF}\n",
    )
    built: list[ConnectorConfig] = []

    def on_the_fake(settings: ConnectorConfig, clock: Clock) -> CRMAdapter:
        # The real adapter, but trusting the fake's CA and sending login hosts to it.
        built.append(settings)
        return SalesforceAdapter(
            SalesforceSettings(), session=bare_salesforce.session(), environ=SF_ENV
        )

    monkeypatch.setattr(factory, "crm_adapter", on_the_fake)
    for queue_id, name in (("00GA0000001SMB1", "Inbound_SMB"), ("00GA0000001HC01", "Inbound_HC")):
        bare_salesforce.org.insert(
            "Group", {"Id": queue_id, "DeveloperName": name, "Name": name, "Type": "Queue"}
        )  # the example config's pool queues

    assert main(["setup", "salesforce", "--config", str(cfg)]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert "Lead.Leadpool_Reason__c Text(255): create" in dry
    assert "dry run: nothing was changed (run again with --apply)" in dry
    assert dry[-1].endswith("/webhooks/salesforce/outbound/$LEADPOOL_SF_OUTBOUND_TOKEN")
    assert bare_salesforce.metadata.custom_fields == {}

    assert main(["setup", "salesforce", "--apply", "--config", str(cfg)]) == 0
    applied = capsys.readouterr().out
    assert "Lead.Leadpool_Reason__c Text(255): created" in applied
    assert "Lead.Leadpool_inbound_smb (inbound-smb, LEAD.COMPANY, " in applied
    calls = len(bare_salesforce.metadata.calls)

    assert main(["setup", "salesforce", "--apply", "--config", str(cfg)]) == 0
    again = capsys.readouterr().out.splitlines()
    assert all(line.endswith(": ok") for line in again[:-1]) and len(again) > 2
    # fields, then list views: read, nothing created
    assert bare_salesforce.metadata.calls[calls:] == ["readMetadata", "readMetadata"]
    assert built[0].crm == "salesforce"


def test_setup_hubspot_creates_properties_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeHubSpot(leadpool_properties=False).start()
    try:
        monkeypatch.setenv("LEADPOOL_CLI_HUBSPOT_TOKEN", fake.token)
        cfg = config_dir(
            tmp_path,
            "crm: hubspot\nstore: {url: 'sqlite:///var/lp.db'}\n"
            f"hubspot: {{token_env: LEADPOOL_CLI_HUBSPOT_TOKEN, host: '{fake.url}',"
            " public_base_url: 'https://leadpool.example.com'}\n",
        )

        assert main(["setup", "hubspot", "--config", str(cfg)]) == 0
        dry = capsys.readouterr().out.splitlines()
        assert sum(line.endswith(": create") for line in dry) == 6
        assert dry[-1] == (
            "webhook URL to configure in hubspot: https://leadpool.example.com/webhooks/hubspot"
        )
        assert "leadpool" not in fake.portal.groups["contacts"]

        assert main(["setup", "hubspot", "--apply", "--config", str(cfg)]) == 0
        assert capsys.readouterr().out.count(": created") == 6
        assert main(["setup", "hubspot", "--apply", "--config", str(cfg)]) == 0
        again = capsys.readouterr().out
        assert again.count(": exists") == 6 and "created" not in again
    finally:
        fake.stop()
    assert fake.response_problems == []


def test_setup_refuses_a_crm_the_config_does_not_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config_dir(tmp_path, "crm: sandbox\nstore: {url: 'sqlite:///var/lp.db'}\n")

    assert main(["setup", "hubspot", "--config", str(cfg)]) == 1
    assert "crm: is 'sandbox', not 'hubspot'" in capsys.readouterr().err


def test_outbox_parked_lists_and_retry_requeues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_migrated_engine(store)
    with engine.begin() as conn:
        ids = [
            outbox.enqueue(
                conn, "sandbox", f"00Q{n}", "update_lead", {"lead_id": f"00Q{n}"}, PARKED_AT
            )
            for n in range(3)
        ]
    leased = outbox.lease_due(engine, Crm.SANDBOX, PARKED_AT, 2, "w", timedelta(minutes=2))
    assert [row.id for row in leased] == ids[:2]
    with engine.begin() as conn:
        for row_id in ids[:2]:
            assert outbox.park(conn, row_id, "NOT_FOUND: no lead", PARKED_AT, worker_id="w")
    cfg = config_dir(tmp_path, f"crm: sandbox\nstore: {{url: '{store}'}}\n")
    args = ["--config", str(cfg), "--store", store]

    assert main(["outbox", "parked", *args]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[-1] == "2 parked change(s)"
    assert any(line.startswith(f"{ids[0]} sandbox 00Q0 update_lead") for line in listed)
    assert all(line.endswith("NOT_FOUND: no lead") for line in listed[:-1])

    assert main(["outbox", "retry", str(ids[0]), *args]) == 0
    assert capsys.readouterr().out.strip() == "1 parked change(s) queued again"
    assert main(["outbox", "retry", str(ids[2]), *args]) == 1  # pending, not parked
    capsys.readouterr()
    assert main(["outbox", "retry", *args]) == 1  # neither --all nor ids
    assert "either --all or outbox ids" in capsys.readouterr().err
    assert main(["outbox", "retry", "--all", *args]) == 0
    assert capsys.readouterr().out.strip() == "1 parked change(s) queued again"
    with engine.connect() as conn:
        states = conn.execute(select(outbox_table.c.state).order_by(outbox_table.c.id)).scalars()
        assert list(states) == ["pending"] * 3
    engine.dispose()
