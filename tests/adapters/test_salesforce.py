"""SalesforceAdapter writes, reads and failure handling, through simple-salesforce over TLS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.adapters.base import (
    Change,
    CompleteTask,
    CreateTask,
    LeadpoolFields,
    UpdateLead,
)
from connector.adapters.salesforce import LeadpoolFieldNames
from connector.errors import Permanent, Transient
from tests.adapters.conftest import SalesforceWorld

DUE = datetime(2026, 1, 5, 14, 5, tzinfo=UTC)
UNKNOWN_LEAD = "00Q5g0000099999AAA"


def claimed(reason: str = "claimed by ana", expires: datetime | None = DUE) -> LeadpoolFields:
    return LeadpoolFields(status="CLAIMED", reason=reason, source="pool", lock_expires=expires)


def collection_sizes(world: SalesforceWorld) -> list[int]:
    """Records per sObject Collection, over every write (top-level or inside composite)."""
    sizes = []
    for req in world.fake.writes():
        if req.path.endswith("/composite"):
            sizes += [len(s["body"]["records"]) for s in req.body["compositeRequest"]]
        else:
            sizes.append(len(req.body["records"]))
    return sizes


def test_push_sets_owner_and_leadpool_fields(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead(OwnerId=sf_world.queue)
    adapter = sf_world.adapter()
    change = UpdateLead(lead, owner=sf_world.rep_ana, leadpool=claimed())

    [result] = adapter.apply([change])

    assert result.ok and result.change == change and result.error is None
    stored = sf_world.fake.record("Lead", lead)
    assert stored["OwnerId"] == sf_world.rep_ana
    assert stored["Leadpool_Status__c"] == "CLAIMED"
    assert stored["Leadpool_Reason__c"] == "claimed by ana"
    assert stored["Leadpool_Source__c"] == "pool"
    assert stored["Leadpool_Lock_Expires__c"] == "2026-01-05T14:05:00.000Z"
    assert adapter.api_calls == 1


def test_return_to_pool_makes_the_queue_the_owner_and_clears_the_lock(
    sf_world: SalesforceWorld,
) -> None:
    lead = sf_world.fake.add_lead(OwnerId=sf_world.rep_ana, Leadpool_Lock_Expires__c="x")
    adapter = sf_world.adapter(queues={"inbound-smb": sf_world.queue})
    released = LeadpoolFields(status="POOLED", reason="lock expired", lock_expires=None)

    by_id, by_name = adapter.apply(
        [
            UpdateLead(lead, pool=sf_world.queue, leadpool=released),
            UpdateLead(sf_world.fake.add_lead(), pool="inbound-smb"),
        ]
    )

    assert by_id.ok and by_name.ok
    stored = sf_world.fake.record("Lead", lead)
    assert stored["OwnerId"] == sf_world.queue
    assert stored["Leadpool_Lock_Expires__c"] is None
    other = sf_world.fake.record("Lead", by_name.change.lead_id)  # type: ignore[union-attr]
    assert other["OwnerId"] == sf_world.queue


def test_task_create_then_complete(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter()
    create = CreateTask("sla-1", lead, sf_world.rep_ana, "Call within 5 minutes", DUE, "hot lead")

    [created] = adapter.apply([create])

    assert created.ok and created.crm_id
    task = sf_world.fake.record("Task", created.crm_id)
    assert task["WhoId"] == lead
    assert task["OwnerId"] == sf_world.rep_ana
    assert task["Subject"] == "Call within 5 minutes"
    assert task["ActivityDate"] == "2026-01-05"
    assert task["ReminderDateTime"] == "2026-01-05T14:05:00.000Z"
    assert task["IsReminderSet"] is True
    assert task["Description"] == "hot lead"
    assert task["Status"] == "Not Started"

    [completed] = adapter.apply([CompleteTask("sla-1", created.crm_id)])

    assert completed.ok
    assert sf_world.fake.record("Task", created.crm_id)["Status"] == "Completed"


def test_450_updates_take_three_collection_calls(sf_world: SalesforceWorld) -> None:
    leads = [sf_world.fake.add_lead() for _ in range(450)]
    adapter = sf_world.adapter()

    results = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana) for lead in leads])

    assert [r.ok for r in results] == [True] * 450
    assert [r.change.lead_id for r in results] == leads  # type: ignore[union-attr]
    assert adapter.api_calls == 3
    assert collection_sizes(sf_world) == [200, 200, 50]
    assert all(sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.rep_ana for lead in leads)


def test_30_mixed_changes_travel_in_one_composite_call(sf_world: SalesforceWorld) -> None:
    leads = [sf_world.fake.add_lead() for _ in range(10)]
    tasks = [
        sf_world.fake.org.insert("Task", {"WhoId": lead, "Status": "Not Started"}) for lead in leads
    ]
    adapter = sf_world.adapter()
    changes: list[Change] = []
    for n, lead in enumerate(leads):
        changes.append(UpdateLead(lead, owner=sf_world.rep_ana, leadpool=claimed()))
        changes.append(CreateTask(f"sla-{n}", lead, sf_world.rep_ana, "Follow up", DUE))
        changes.append(CompleteTask(f"old-{n}", tasks[n]))

    results = adapter.apply(changes)

    assert [r.change for r in results] == changes and all(r.ok for r in results)
    [call] = sf_world.fake.writes()
    assert call.path.endswith("/composite") and adapter.api_calls == 1
    subrequests = call.body["compositeRequest"]
    assert len(subrequests) <= 25
    assert sum("/composite/sobjects" in s["url"] for s in subrequests) <= 5
    assert max(collection_sizes(sf_world)) <= 200
    created = [r.crm_id for r in results if isinstance(r.change, CreateTask)]
    assert len(set(created)) == 10 and None not in created
    assert [sf_world.fake.record("Task", t)["WhoId"] for t in created] == leads  # type: ignore[arg-type]
    assert all(sf_world.fake.record("Task", t)["Status"] == "Completed" for t in tasks)


def test_updates_of_one_lead_merge_into_one_record_last_value_wins(
    sf_world: SalesforceWorld,
) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter()
    changes = [
        UpdateLead(lead, owner=sf_world.rep_ana, leadpool=claimed("first")),
        UpdateLead(lead, pool=sf_world.queue),
        UpdateLead(lead, leadpool=claimed("last", expires=None)),
    ]

    results = adapter.apply(changes)

    assert [r.ok for r in results] == [True, True, True]
    [call] = sf_world.fake.writes()
    [record] = call.body["records"]
    assert record["Id"] == lead and record["OwnerId"] == sf_world.queue
    stored = sf_world.fake.record("Lead", lead)
    assert stored["OwnerId"] == sf_world.queue
    assert stored["Leadpool_Reason__c"] == "last"
    assert stored["Leadpool_Lock_Expires__c"] is None


def test_unknown_lead_fails_only_its_own_change(sf_world: SalesforceWorld) -> None:
    good = [sf_world.fake.add_lead(), sf_world.fake.add_lead()]
    adapter = sf_world.adapter()

    first, missing, last = adapter.apply(
        [
            UpdateLead(good[0], owner=sf_world.rep_ana),
            UpdateLead(UNKNOWN_LEAD, owner=sf_world.rep_ana),
            UpdateLead(good[1], owner=sf_world.rep_ana),
        ]
    )

    assert first.ok and last.ok and not missing.ok
    assert isinstance(missing.error, Permanent)
    assert missing.error.code == "INVALID_CROSS_REFERENCE_KEY"
    assert "invalid cross reference id" in str(missing.error)
    assert all(sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.rep_ana for lead in good)


@pytest.mark.parametrize(
    ("owner", "code"),
    [("001000000000001AAA", "FIELD_INTEGRITY_EXCEPTION"), ("0055g0000077777AAA", None)],
)
def test_owner_that_is_no_user_or_queue_is_permanent(
    sf_world: SalesforceWorld, owner: str, code: str | None
) -> None:
    lead = sf_world.fake.add_lead(OwnerId=sf_world.queue)

    [result] = sf_world.adapter().apply([UpdateLead(lead, owner=owner)])

    assert isinstance(result.error, Permanent)
    assert result.error.code == (code or "INVALID_CROSS_REFERENCE_KEY")
    assert sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.queue


def test_row_lock_is_transient_for_that_record_only(sf_world: SalesforceWorld) -> None:
    locked, free = sf_world.fake.add_lead(), sf_world.fake.add_lead()
    sf_world.fake.record_errors({locked: "UNABLE_TO_LOCK_ROW"})
    adapter = sf_world.adapter()

    locked_result, free_result = adapter.apply(
        [UpdateLead(locked, owner=sf_world.rep_ana), UpdateLead(free, owner=sf_world.rep_ana)]
    )

    assert isinstance(locked_result.error, Transient)
    assert locked_result.error.code == "UNABLE_TO_LOCK_ROW"
    assert free_result.ok and sf_world.fake.record("Lead", free)["OwnerId"] == sf_world.rep_ana
    assert adapter.api_calls == 1  # per-record failures are not retried inline


def test_bad_changes_get_their_own_error_and_block_nothing(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter()
    naive = datetime(2026, 1, 5, 14, 0)

    both, naive_due, fine, empty = adapter.apply(
        [
            UpdateLead(lead, owner=sf_world.rep_ana, pool=sf_world.queue),
            CreateTask("t", lead, sf_world.rep_ana, "Call", naive),
            UpdateLead(lead, owner=sf_world.rep_ana),
            UpdateLead("", owner=sf_world.rep_ana),
        ]
    )

    assert isinstance(both.error, Permanent) and "owner and pool" in str(both.error)
    assert isinstance(naive_due.error, Permanent) and "timezone" in str(naive_due.error)
    assert isinstance(empty.error, Permanent) and "lead_id" in str(empty.error)
    assert fine.ok
    [call] = sf_world.fake.writes()
    assert [r["Id"] for r in call.body["records"]] == [lead]


def test_reason_is_truncated_to_the_field_length(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()

    [result] = sf_world.adapter().apply([UpdateLead(lead, leadpool=claimed("x" * 400))])

    assert result.ok
    assert len(sf_world.fake.record("Lead", lead)["Leadpool_Reason__c"]) == 255


def test_unknown_field_fails_every_change_of_the_call(sf_world: SalesforceWorld) -> None:
    leads = [sf_world.fake.add_lead(), sf_world.fake.add_lead()]
    adapter = sf_world.adapter(fields=LeadpoolFieldNames(status="Foo__c"))

    results = adapter.apply([UpdateLead(lead, leadpool=claimed()) for lead in leads])

    for result in results:
        assert isinstance(result.error, Permanent) and result.error.code == "INVALID_FIELD"
        assert "No such column 'Foo__c'" in str(result.error)
    assert "Leadpool_Status__c" not in sf_world.fake.record("Lead", leads[0])


def test_429_with_retry_after_is_honoured_then_succeeds(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter()
    sf_world.fake.fail_next(1, 429, retry_after=3)

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert result.ok and sf_world.sleeps == [3.0] and adapter.api_calls == 2


def test_daily_limit_403_is_retried_as_transient(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter()
    sf_world.fake.fail_next(1, 403)

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert result.ok and len(sf_world.sleeps) == 1


def test_503_once_is_retried_with_jittered_backoff(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter()
    sf_world.fake.fail_next(1, 503)

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert result.ok
    assert sf_world.sleeps == [0.25]  # first ceiling 0.5 s times the injected jitter 0.5
    assert sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.rep_ana


def test_persistent_5xx_ends_as_transient_results_not_an_exception(
    sf_world: SalesforceWorld,
) -> None:
    leads = [sf_world.fake.add_lead(), sf_world.fake.add_lead()]
    adapter = sf_world.adapter(retry_max_attempts=3)
    sf_world.fake.fail_next(10, 500)

    results = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana) for lead in leads])

    for result in results:
        assert isinstance(result.error, Transient) and result.error.status == 500
    assert adapter.api_calls == 3 and len(sf_world.sleeps) == 2
    assert sf_world.sleeps[1] > sf_world.sleeps[0]


def test_retry_after_beyond_the_budget_gives_up_at_once(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter(retry_max_wait=5.0)
    sf_world.fake.fail_next(1, 429, retry_after=120)

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert isinstance(result.error, Transient) and result.error.retry_after == 120.0
    assert sf_world.sleeps == [] and adapter.api_calls == 1


def test_timeout_is_retried(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter(timeout=0.2)
    sf_world.fake.timeout_next(1)

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert result.ok and adapter.api_calls == 2


def test_timeouts_until_attempts_run_out_are_transient(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead(OwnerId=sf_world.queue)
    adapter = sf_world.adapter(timeout=0.2, retry_max_attempts=2)
    sf_world.fake.timeout_next(2)

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert isinstance(result.error, Transient) and result.error.code == "TIMEOUT"
    assert sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.queue


def test_expired_session_logs_in_again_once(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead()
    adapter = sf_world.adapter()
    assert adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])[0].ok
    sf_world.fake.expire_sessions()

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ben)])

    assert result.ok and adapter.logins == 2
    assert sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.rep_ben
    statuses = [r.path for r in sf_world.fake.requests if "/Soap/u/" in r.path]
    assert len(statuses) == 2


def test_every_write_says_no_auto_assign(sf_world: SalesforceWorld) -> None:
    leads = [sf_world.fake.add_lead() for _ in range(3)]
    adapter = sf_world.adapter()
    adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana) for lead in leads])
    adapter.apply([CreateTask("t", leads[0], sf_world.rep_ana, "Call", DUE)])
    adapter.apply(
        [
            UpdateLead(leads[1], pool=sf_world.queue),
            CreateTask("u", leads[1], sf_world.rep_ana, "x", DUE),
        ]
    )

    writes = sf_world.fake.writes()
    assert len(writes) == 3 and all(w.auto_assign_false for w in writes)
    [composite] = [w for w in writes if w.path.endswith("/composite")]
    for sub in composite.body["compositeRequest"]:
        assert sub["httpHeaders"]["Sforce-Auto-Assign"] == "FALSE"


def test_fetch_lead(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead(OwnerId=sf_world.rep_ana, Company="Initech")
    adapter = sf_world.adapter()

    record = adapter.fetch_lead(lead)

    assert record is not None and record.lead_id == lead and record.owner == sf_world.rep_ana
    assert record.fields["Company"] == "Initech" and "attributes" not in record.fields
    assert record.created_at is not None
    assert datetime.now(UTC) - record.created_at < timedelta(days=1)
    assert adapter.fetch_lead(UNKNOWN_LEAD) is None
    with pytest.raises(ValueError, match="not a Salesforce record id"):
        adapter.fetch_lead("00Q/../../limits")


def test_users_queues_and_limits(sf_world: SalesforceWorld) -> None:
    adapter = sf_world.adapter()

    users = {u.id: u for u in adapter.list_users()}

    assert users[sf_world.rep_ana].email == "ana@acme.test" and users[sf_world.rep_ana].active
    assert users[sf_world.rep_ben].name == "Ben Okafor" and not users[sf_world.rep_ben].active
    assert adapter.queue_id("Inbound_SMB") == sf_world.queue
    assert adapter.queue_id("Inbound_ENT") is None
    with pytest.raises(ValueError, match="DeveloperName"):
        adapter.queue_id("x' OR Name != '")
    limits = adapter.org_limits()
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"]


def test_user_list_follows_query_pages(sf_world: SalesforceWorld) -> None:
    sf_world.fake.org.query_page_size = 2
    extra = {sf_world.fake.add_user(f"Rep {n}", f"rep{n}@acme.test") for n in range(3)}
    adapter = sf_world.adapter()

    users = adapter.list_users()

    assert extra | {sf_world.rep_ana, sf_world.rep_ben} <= {u.id for u in users}
    assert len(users) == len({u.id for u in users}) == 6  # integration user, ana, ben, 3 reps
    assert adapter.api_calls == 3


def test_intermittent_failures_are_absorbed_by_retries(sf_world: SalesforceWorld) -> None:
    leads = [sf_world.fake.add_lead() for _ in range(4)]
    adapter = sf_world.adapter()
    sf_world.fake.fail_every(2, 503)

    results = [adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])[0] for lead in leads]

    assert all(r.ok for r in results)
    # request 1 succeeds; then every even request fails and the odd retry after it succeeds
    assert adapter.api_calls == 7 and len(sf_world.sleeps) == 3


def test_outage_window_exhausts_the_retries(sf_world: SalesforceWorld) -> None:
    lead = sf_world.fake.add_lead(OwnerId=sf_world.queue)
    adapter = sf_world.adapter(retry_max_attempts=4)
    sf_world.fake.fail_for(600, 503)  # waits are recorded, not slept: the window never ends

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert isinstance(result.error, Transient) and result.error.code == "SERVER_UNAVAILABLE"
    assert adapter.api_calls == 4
    assert sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.queue
