"""HubSpotSetup against a fake portal that starts without leadpool's properties."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.adapters.base import LeadpoolFields, UpdateLead
from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings
from connector.adapters.hubspot_setup import HubSpotSetup
from tests.adapters.conftest_hubspot import HUBSPOT_TOKEN_ENV
from tests.fakecrm.hubspot import FakeHubSpot

PROPERTIES = r"/crm/v3/properties/contacts(/.*)?"


@pytest.fixture
def bare_portal() -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot(leadpool_properties=False).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.response_problems == []


@pytest.fixture
def settings(bare_portal: FakeHubSpot) -> HubSpotSettings:
    return HubSpotSettings(token_env=HUBSPOT_TOKEN_ENV, host=bare_portal.url)


@pytest.fixture
def setup(settings: HubSpotSettings, bare_portal: FakeHubSpot) -> HubSpotSetup:
    return HubSpotSetup(settings, environ={HUBSPOT_TOKEN_ENV: bare_portal.token})


def test_dry_run_reports_what_is_missing_and_writes_nothing(
    setup: HubSpotSetup, bare_portal: FakeHubSpot
) -> None:
    steps = setup.run(apply=False)

    assert [s.action for s in steps] == ["create"] * 6
    assert "property group contacts/leadpool" in steps[0].what
    assert "leadpool_lock_expires (datetime)" in steps[-1].what
    assert bare_portal.requests("POST", PROPERTIES) == []
    assert "leadpool" not in bare_portal.portal.groups["contacts"]


def test_apply_creates_group_and_properties_then_is_idempotent(
    setup: HubSpotSetup, bare_portal: FakeHubSpot
) -> None:
    first = setup.run(apply=True)
    second = setup.run(apply=True)

    assert [s.action for s in first] == ["created"] * 6
    assert [s.action for s in second] == ["exists"] * 6
    created = bare_portal.portal.properties["contacts"]
    assert created["leadpool_lock_expires"]["type"] == "datetime"
    assert created["leadpool_lock_expires"]["fieldType"] == "date"
    assert {created[n]["groupName"] for n in ("leadpool_pool", "leadpool_status")} == {"leadpool"}
    assert len(bare_portal.requests("POST", PROPERTIES)) == 6  # none on the second run


def test_adapter_can_write_once_setup_has_run(
    setup: HubSpotSetup, settings: HubSpotSettings, bare_portal: FakeHubSpot
) -> None:
    lead = bare_portal.portal.add_record("contacts")
    adapter = HubSpotAdapter(settings, environ={HUBSPOT_TOKEN_ENV: bare_portal.token})
    change = UpdateLead(lead, pool="inbound-smb", leadpool=LeadpoolFields("POOLED", "no route"))

    before = adapter.apply([change])
    setup.run(apply=True)
    after = adapter.apply([change])

    assert before[0].error is not None and before[0].error.code == "PROPERTY_DOESNT_EXIST"
    assert after[0].ok
    assert bare_portal.portal.records["contacts"][lead].properties["leadpool_status"] == "POOLED"


def test_property_of_the_wrong_type_is_a_conflict_left_alone(
    setup: HubSpotSetup, bare_portal: FakeHubSpot
) -> None:
    setup.run(apply=True)
    prop = bare_portal.portal.properties["contacts"]["leadpool_lock_expires"]
    prop["type"] = "string"

    steps = setup.run(apply=True)

    [conflict] = [s for s in steps if s.action == "conflict"]
    assert "leadpool_lock_expires" in conflict.what
    assert conflict.detail == "exists with type string"
    assert prop["type"] == "string"
