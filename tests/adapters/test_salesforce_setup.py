"""`setup salesforce`: leadpool custom fields through the Metadata API of the fake org."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.adapters.base import LeadpoolFields, UpdateLead
from connector.adapters.salesforce import LeadpoolFieldNames
from connector.adapters.salesforce_setup import FieldStep, setup_leadpool_fields
from tests.adapters.conftest import SalesforceWorld
from tests.fakecrm.salesforce import FakeSalesforce, running_fake_salesforce
from tests.fakecrm.tls import ThrowawayCA


@pytest.fixture
def bare_world(throwaway_ca: ThrowawayCA) -> Iterator[SalesforceWorld]:
    """Like sf_world, but the org has no leadpool fields yet."""
    with running_fake_salesforce(throwaway_ca, leadpool_fields=False) as fake:
        fake.add_user("Integration", "integration@acme.test", password="s3cret-pass",
                      security_token="tok3n")  # fmt: skip
        yield SalesforceWorld(
            fake=fake,
            env={
                "LEADPOOL_SF_USERNAME": "integration@acme.test",
                "LEADPOOL_SF_PASSWORD": "s3cret-pass",
                "LEADPOOL_SF_TOKEN": "tok3n",
            },
            rep_ana=fake.add_user("Ana Silva", "ana@acme.test"),
            rep_ben=fake.add_user("Ben Okafor", "ben@acme.test"),
            queue=fake.add_queue("Inbound_SMB"),
        )


def actions(steps: list[FieldStep]) -> dict[str, str]:
    return {s.spec.name: s.action for s in steps}


def test_dry_run_reports_and_changes_nothing(bare_world: SalesforceWorld) -> None:
    steps = setup_leadpool_fields(bare_world.adapter(), apply=False)

    assert set(actions(steps).values()) == {"create"}
    assert "Lead.Leadpool_Reason__c Text(255): create" in [s.line() for s in steps]
    assert bare_world.fake.metadata.calls == ["readMetadata"]
    assert bare_world.fake.metadata.custom_fields == {}


def test_apply_creates_the_fields_then_a_second_run_is_a_no_op(
    bare_world: SalesforceWorld,
) -> None:
    adapter = bare_world.adapter()
    lead = bare_world.fake.add_lead()
    lock = LeadpoolFields(status="POOLED", reason="new lead", source="route")
    [before] = adapter.apply([UpdateLead(lead, leadpool=lock)])

    first = setup_leadpool_fields(adapter, apply=True)
    second = setup_leadpool_fields(adapter, apply=True)
    [after] = adapter.apply([UpdateLead(lead, leadpool=lock)])

    assert before.error is not None and before.error.code == "INVALID_FIELD"
    assert set(actions(first).values()) == {"created"}
    assert set(actions(second).values()) == {"ok"}
    fields = bare_world.fake.metadata.custom_fields
    assert fields["Lead.Leadpool_Lock_Expires__c"]["type"] == "DateTime"
    assert fields["Lead.Leadpool_Source__c"]["length"] == "20"
    assert bare_world.fake.metadata.calls.count("createMetadata") == 4
    assert after.ok and bare_world.fake.record("Lead", lead)["Leadpool_Status__c"] == "POOLED"


def test_existing_field_of_another_shape_is_reported_not_changed(
    bare_world: SalesforceWorld,
) -> None:
    bare_world.fake.metadata.custom_fields["Lead.Leadpool_Reason__c"] = {
        "fullName": "Lead.Leadpool_Reason__c", "label": "Reason", "type": "Text", "length": "80",
    }  # fmt: skip

    steps = setup_leadpool_fields(bare_world.adapter(), apply=True)

    reason = next(s for s in steps if s.spec.name == "Leadpool_Reason__c")
    assert reason.action == "mismatch" and "exists as Text(80)" in reason.line()
    assert actions(steps)["Leadpool_Status__c"] == "created"
    assert bare_world.fake.metadata.custom_fields["Lead.Leadpool_Reason__c"]["length"] == "80"


def test_failed_create_names_the_field_and_the_reason(bare_world: SalesforceWorld) -> None:
    fake: FakeSalesforce = bare_world.fake
    adapter = bare_world.adapter(
        fields=LeadpoolFieldNames(status="Leadpool Status__c")  # a space is no valid API name
    )

    steps = setup_leadpool_fields(adapter, apply=True)

    status = next(s for s in steps if s.spec.name == "Leadpool Status__c")
    assert status.action == "failed" and "FIELD_INTEGRITY_EXCEPTION" in status.detail
    assert "Lead.Leadpool_Reason__c" in fake.metadata.custom_fields
