"""HubSpotAdapter against the fake HubSpot, through the real hubspot-api-client over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import urllib3

from connector.adapters.base import (
    CompleteTask,
    CreateTask,
    LeadpoolFields,
    UpdateLead,
)
from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings, hubspot_datetime
from connector.errors import ConfigError, Permanent
from tests.adapters.conftest_hubspot import HUBSPOT_TOKEN_ENV
from tests.fakecrm.hubspot import FakeHubSpot

UPDATE = r"/crm/v3/objects/contacts/batch/update"
CREATE_TASKS = r"/crm/v3/objects/tasks/batch/create"
DUE = datetime(2026, 1, 5, 14, 5, tzinfo=UTC)
Build = Callable[[HubSpotSettings], HubSpotAdapter]


def props(fake: FakeHubSpot, record_id: str, kind: str = "contacts") -> dict[str, str]:
    return fake.portal.records[kind][record_id].properties


def test_push_writes_owner_and_leadpool_fields(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    expires = datetime(2026, 1, 5, 14, 15, tzinfo=UTC)
    fields = LeadpoolFields("CLAIMED", "claimed by ana", "web", expires)

    [result] = hubspot_adapter.apply([UpdateLead(lead, owner=ana, leadpool=fields)])

    assert result.ok and result.error is None
    stored = props(fake_hubspot, lead)
    assert stored["hubspot_owner_id"] == ana
    assert stored["leadpool_status"] == "CLAIMED"
    assert stored["leadpool_reason"] == "claimed by ana"
    assert stored["leadpool_source"] == "web"
    assert stored["leadpool_lock_expires"] == "2026-01-05T14:15:00.000Z"
    assert hubspot_adapter.api_calls == 1


def test_pool_clears_owner_and_sets_pool_property(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str
) -> None:
    lead = fake_hubspot.portal.add_record("contacts", hubspot_owner_id=ana)

    [result] = hubspot_adapter.apply([UpdateLead(lead, pool="inbound-smb")])

    assert result.ok
    assert props(fake_hubspot, lead)["hubspot_owner_id"] == ""
    assert props(fake_hubspot, lead)["leadpool_pool"] == "inbound-smb"
    [call] = fake_hubspot.requests("POST", UPDATE)
    assert call.body == {
        "inputs": [
            {"id": lead, "properties": {"hubspot_owner_id": "", "leadpool_pool": "inbound-smb"}}
        ]
    }


def test_tasks_are_created_associated_and_matched_to_their_keys(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    other = fake_hubspot.portal.add_record("contacts")
    changes = [
        CreateTask("sla-1", lead, ana, "Call Lee within 5 minutes", DUE, "hot lead"),
        CreateTask("sla-2", other, ana, "Call the other lead", DUE + timedelta(hours=1)),
    ]

    results = hubspot_adapter.apply(changes)

    assert [r.ok for r in results] == [True, True]
    tasks = fake_hubspot.portal.records["tasks"]
    first, second = (tasks[r.crm_id or ""] for r in results)
    # The fake answers batch creates in reverse order: the ids still land on the right task.
    assert first.properties["hs_task_subject"] == "Call Lee within 5 minutes"
    assert first.properties["hs_task_body"] == "hot lead"
    assert first.properties["hs_timestamp"] == "2026-01-05T14:05:00.000Z"
    assert first.properties["hs_task_status"] == "NOT_STARTED"
    assert first.properties["hubspot_owner_id"] == ana
    assert second.properties["hs_task_subject"] == "Call the other lead"
    [call] = fake_hubspot.requests("POST", CREATE_TASKS)
    sent = call.body["inputs"][0]["associations"]
    assert sent == [
        {
            "to": {"id": lead},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
        }
    ]
    assert first.associations == sent

    done = hubspot_adapter.apply([CompleteTask("sla-1", results[0].crm_id or "")])

    assert done[0].ok
    assert first.properties["hs_task_status"] == "COMPLETED"
    assert second.properties["hs_task_status"] == "NOT_STARTED"


def test_250_updates_go_out_in_3_batches(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot
) -> None:
    leads = [fake_hubspot.portal.add_record("contacts") for _ in range(250)]

    results = hubspot_adapter.apply([UpdateLead(i, pool="inbound-smb") for i in leads])

    assert all(r.ok for r in results) and len(results) == 250
    sizes = [len(c.body["inputs"]) for c in fake_hubspot.requests("POST", UPDATE)]
    assert sizes == [100, 100, 50]
    assert hubspot_adapter.api_calls == 3
    assert all(props(fake_hubspot, i)["leadpool_pool"] == "inbound-smb" for i in leads)


def test_updates_of_one_lead_are_merged_last_value_wins(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    changes = [
        UpdateLead(lead, pool="inbound-smb", leadpool=LeadpoolFields("POOLED", "no match")),
        UpdateLead(lead, owner=ana, leadpool=LeadpoolFields("ASSIGNED", "escalated")),
    ]

    results = hubspot_adapter.apply(changes)

    assert [r.ok for r in results] == [True, True]
    assert [r.change for r in results] == changes
    [call] = fake_hubspot.requests("POST", UPDATE)
    assert len(call.body["inputs"]) == 1
    stored = props(fake_hubspot, lead)
    assert stored["hubspot_owner_id"] == ana
    assert stored["leadpool_pool"] == "inbound-smb"
    assert stored["leadpool_status"] == "ASSIGNED"
    assert stored["leadpool_reason"] == "escalated"


def test_unknown_lead_fails_only_its_own_change(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    results = hubspot_adapter.apply([UpdateLead("999999", owner=ana), UpdateLead(lead, owner=ana)])

    assert not results[0].ok
    assert isinstance(results[0].error, Permanent)
    assert results[0].error.code == "OBJECT_NOT_FOUND"
    assert "may be deleted or not exist" in str(results[0].error)
    assert results[1].ok
    assert props(fake_hubspot, lead)["hubspot_owner_id"] == ana
    assert [c.status for c in fake_hubspot.calls] == [207]


def test_record_level_error_maps_to_the_right_change(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str
) -> None:
    leads = [fake_hubspot.portal.add_record("contacts") for _ in range(3)]
    fake_hubspot.record_errors({leads[1]: "Record is locked by a workflow"})

    results = hubspot_adapter.apply([UpdateLead(i, owner=ana) for i in leads])

    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, Permanent)
    assert "locked by a workflow" in str(results[1].error)
    assert props(fake_hubspot, leads[1]).get("hubspot_owner_id") is None


def test_invalid_value_rejecting_the_batch_is_isolated_to_its_change(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str
) -> None:
    leads = [fake_hubspot.portal.add_record("contacts") for _ in range(4)]
    changes = [UpdateLead(i, owner=ana) for i in leads]
    changes[2] = UpdateLead(leads[2], owner="31337")  # not an owner of this portal

    results = hubspot_adapter.apply(changes)

    assert [r.ok for r in results] == [True, True, False, True]
    assert isinstance(results[2].error, Permanent)
    assert results[2].error.status == 400
    assert "INVALID_OWNER_ID" in str(results[2].error)
    assert props(fake_hubspot, leads[3])["hubspot_owner_id"] == ana


def test_missing_leadpool_property_fails_all_without_splitting() -> None:
    fake = FakeHubSpot(leadpool_properties=False).start()
    try:
        settings = HubSpotSettings(token_env=HUBSPOT_TOKEN_ENV, host=fake.url)
        adapter = HubSpotAdapter(settings, environ={HUBSPOT_TOKEN_ENV: fake.token})
        leads = [fake.portal.add_record("contacts") for _ in range(3)]

        results = adapter.apply([UpdateLead(i, pool="inbound-smb") for i in leads])
    finally:
        fake.stop()

    assert fake.response_problems == []
    assert not any(r.ok for r in results)
    assert {r.error.code for r in results if r.error} == {"PROPERTY_DOESNT_EXIST"}
    assert "leadpool_pool" in str(results[0].error)
    assert adapter.api_calls == 1


def test_bad_changes_are_rejected_before_any_call(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str, lead: str
) -> None:
    naive_due = datetime(2026, 1, 5, 14, 5)
    changes = [
        UpdateLead(" ", owner=ana),
        UpdateLead(lead, owner=ana, pool="inbound-smb"),
        CreateTask("sla-1", lead, ana, "Call", naive_due),
        CompleteTask("sla-2", ""),
    ]

    results = hubspot_adapter.apply(changes)

    assert not any(r.ok for r in results)
    assert all(isinstance(r.error, Permanent) and r.error.code == "INVALID" for r in results)
    assert "exclusive" in str(results[1].error) and "time zone" in str(results[2].error)
    assert fake_hubspot.calls == []


def test_fetch_lead_reads_owner_and_leadpool_properties(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot, ana: str
) -> None:
    lead = fake_hubspot.portal.add_record(
        "contacts", hubspot_owner_id=ana, leadpool_status="CLAIMED", firstname="Lee"
    )

    record = hubspot_adapter.fetch_lead(lead)

    assert record is not None
    assert (record.lead_id, record.owner) == (lead, ana)
    assert record.fields["leadpool_status"] == "CLAIMED"
    assert "firstname" not in record.fields
    assert record.created_at is not None and record.created_at.tzinfo is not None
    assert hubspot_adapter.fetch_lead("424242") is None


def test_list_users_pages_through_active_and_archived_owners(
    hubspot_adapter: HubSpotAdapter, fake_hubspot: FakeHubSpot
) -> None:
    for n in range(120):
        fake_hubspot.portal.add_owner(f"rep{n}@acme.test", f"Rep{n}", "Acme")
    gone = fake_hubspot.portal.add_owner("gone@acme.test", "Gone", "Rep", archived=True)

    users = hubspot_adapter.list_users()

    assert len(users) == 121
    assert [u for u in users if not u.active] == [
        type(users[0])(gone, "gone@acme.test", "Gone Rep", active=False)
    ]
    assert len(fake_hubspot.requests("GET", r"/crm/v3/owners/?")) == 3


def test_missing_token_is_a_config_error(hubspot_settings: HubSpotSettings) -> None:
    with pytest.raises(ConfigError, match=HUBSPOT_TOKEN_ENV):
        HubSpotAdapter(hubspot_settings, environ={})


def test_settings_reject_bad_values() -> None:
    with pytest.raises(ConfigError) as caught:
        HubSpotSettings(requests_per_10s=0, batch_size=101, timeout_seconds=0)
    assert len(caught.value.problems) == 3


def test_datetimes_are_sent_as_utc_iso() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert (
        hubspot_datetime(datetime(2026, 1, 5, 9, 5, tzinfo=new_york)) == "2026-01-05T14:05:00.000Z"
    )
    with pytest.raises(ValueError, match="time zone"):
        hubspot_datetime(datetime(2026, 1, 5, 9, 5))


def test_fake_rejects_requests_that_violate_the_published_spec(
    fake_hubspot: FakeHubSpot, lead: str
) -> None:
    http = urllib3.PoolManager()
    headers = {"Authorization": f"Bearer {fake_hubspot.token}", "Content-Type": "application/json"}
    url = fake_hubspot.url + "/crm/v3/objects/contacts/batch/update"
    bad = {"inputs": [{"properties": {"firstname": 7}}]}  # no id, and a number not a string
    good = {"inputs": [{"id": lead, "properties": {"firstname": "Seven"}}]}

    rejected = http.request("POST", url, body=json.dumps(bad), headers=headers)
    accepted = http.request("POST", url, body=json.dumps(good), headers=headers)

    assert rejected.status == 400
    error = json.loads(rejected.data)
    assert error["category"] == "VALIDATION_ERROR"
    assert "'id' is a required property" in error["message"]
    assert "7 is not of type 'string'" in error["message"]
    assert accepted.status == 200
    assert props(fake_hubspot, lead)["firstname"] == "Seven"


def test_leads_object_is_written_and_read_through_the_leads_api(
    make_hubspot_adapter: Build,
    hubspot_settings: HubSpotSettings,
    fake_hubspot: FakeHubSpot,
    ana: str,
) -> None:
    fake_hubspot.portal.install_leadpool("leads")
    lead = fake_hubspot.portal.add_record("leads", hs_lead_name="Lee at Acme")
    adapter = make_hubspot_adapter(replace(hubspot_settings, object_type="leads"))

    [result] = adapter.apply(
        [UpdateLead(lead, owner=ana, leadpool=LeadpoolFields("ASSIGNED", "hot"))]
    )
    record = adapter.fetch_lead(lead)

    assert result.ok
    assert record is not None and record.owner == ana
    assert record.fields["leadpool_status"] == "ASSIGNED"
    assert [c.path for c in fake_hubspot.calls] == [
        "/crm/v3/objects/leads/batch/update",
        f"/crm/v3/objects/leads/{lead}",
    ]


def test_owner_of_user_maps_webhook_users_to_owners(
    fake_hubspot: FakeHubSpot, hubspot_adapter: HubSpotAdapter
) -> None:
    owner = fake_hubspot.portal.add_owner("olga@acme.test")
    user = str(fake_hubspot.portal.owners[owner]["userId"])
    assert user != owner  # webhooks name users; records name owners
    assert hubspot_adapter.owner_of_user(user) == owner
    calls = len(fake_hubspot.calls)
    assert hubspot_adapter.owner_of_user(user) == owner  # from the map, no call
    assert len(fake_hubspot.calls) == calls
    assert hubspot_adapter.owner_of_user("123") is None  # an app or a deleted user
    late = fake_hubspot.portal.add_owner("late@acme.test")
    late_user = str(fake_hubspot.portal.owners[late]["userId"])
    hubspot_adapter._owner_map_at -= 301  # the map is older than five minutes: reload on a miss
    assert hubspot_adapter.owner_of_user(late_user) == late
