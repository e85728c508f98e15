"""Packing Salesforce writes into calls and reading results back (pure, no I/O)."""

from __future__ import annotations

from typing import Any

from connector.adapters.salesforce_batch import SaveTarget, plan_calls, record_error
from connector.errors import Permanent, Transient

HEADERS = {"Sforce-Auto-Assign": "FALSE"}


def lead(n: int, index: int, **fields: Any) -> SaveTarget:
    return SaveTarget("PATCH", "Lead", f"00Q{n:015d}", fields or {"OwnerId": "005A"}).at(index)


def task(index: int) -> SaveTarget:
    return SaveTarget("POST", "Task", None, {"Subject": f"t{index}"}).at(index)


def test_updates_alone_use_plain_collections_of_200() -> None:
    calls = plan_calls([lead(n, n) for n in range(401)], "59.0", HEADERS)

    assert [(c.method, c.path) for c in calls] == [("PATCH", "composite/sobjects")] * 3
    assert [len(c.body["records"]) for c in calls] == [200, 200, 1]
    assert calls[0].body["allOrNone"] is False
    assert calls[0].body["records"][0] == {
        "attributes": {"type": "Lead"},
        "Id": "00Q000000000000000",
        "OwnerId": "005A",
    }


def test_updates_and_creates_share_composite_calls_while_both_remain() -> None:
    targets = [lead(n, n) for n in range(450)] + [task(450 + n) for n in range(10)]

    calls = plan_calls(targets, "61.0", HEADERS)

    assert [c.path for c in calls] == ["composite", "composite/sobjects", "composite/sobjects"]
    subs = calls[0].body["compositeRequest"]
    assert [(s["method"], s["url"]) for s in subs] == [
        ("PATCH", "/services/data/v61.0/composite/sobjects"),
        ("POST", "/services/data/v61.0/composite/sobjects"),
    ]
    assert all(s["httpHeaders"] == HEADERS for s in subs)
    assert sorted(i for c in calls for i in c.indexes()) == list(range(460))


def test_same_record_merges_last_value_wins_and_answers_every_change() -> None:
    targets = [
        lead(1, 0, OwnerId="005A", Leadpool_Reason__c="first"),
        lead(2, 1),
        lead(1, 2, OwnerId="00GQ"),
    ]

    [call] = plan_calls(targets, "59.0", HEADERS)

    records = call.body["records"]
    assert len(records) == 2
    assert records[0]["OwnerId"] == "00GQ" and records[0]["Leadpool_Reason__c"] == "first"
    ok = [{"id": "00Q1", "success": True, "errors": []}, {"success": False, "errors": [
        {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
    ]}]  # fmt: skip
    outcomes = sorted(call.outcomes(ok), key=lambda o: o[0])
    assert [(i, e is None) for i, _, e in outcomes] == [(0, True), (1, False), (2, True)]
    assert isinstance(outcomes[1][2], Permanent) and outcomes[1][2].code == "ENTITY_IS_DELETED"


def test_a_short_or_garbled_response_fails_every_change_transiently() -> None:
    [call] = plan_calls([lead(1, 0), lead(2, 1)], "59.0", HEADERS)

    for response in ([{"id": "x", "success": True, "errors": []}], {"oops": 1}, None):
        outcomes = list(call.outcomes(response))
        assert len(outcomes) == 2
        assert all(isinstance(e, Transient) and e.code == "UNEXPECTED" for _, _, e in outcomes)


def test_composite_subrequest_failures_map_by_status() -> None:
    [call] = plan_calls([lead(1, 0), task(1)], "59.0", HEADERS)
    upd, new = (s["referenceId"] for s in call.body["compositeRequest"])
    response = {
        "compositeResponse": [
            {"referenceId": new, "httpStatusCode": 503, "body": [
                {"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}]},
            {"referenceId": upd, "httpStatusCode": 400, "body": [
                {"errorCode": "INVALID_FIELD", "message": "No such column 'X__c'"}]},
        ]
    }  # fmt: skip

    outcomes = dict((i, e) for i, _, e in call.outcomes(response))

    assert isinstance(outcomes[0], Permanent) and outcomes[0].status == 400
    assert isinstance(outcomes[1], Transient) and outcomes[1].status == 503


def test_record_error_codes() -> None:
    lock = record_error([{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}])
    both = record_error(
        [
            {"statusCode": "REQUIRED_FIELD_MISSING", "message": "LastName"},
            {"statusCode": "STRING_TOO_LONG", "message": "too long"},
        ]
    )

    assert isinstance(lock, Transient) and lock.code == "UNABLE_TO_LOCK_ROW"
    assert isinstance(both, Permanent) and both.code == "REQUIRED_FIELD_MISSING"
    assert str(both) == "REQUIRED_FIELD_MISSING: LastName; STRING_TOO_LONG: too long"
