"""Packing Salesforce record writes into API calls, and reading per-record results back.

Limits used (REST API developer guide):
- sObject Collections: ≤200 records per request, results in request order; a failed
  record has no `id`, only `errors` [{statusCode, message, fields}].
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
- Composite: ≤25 subrequests, of which ≤5 may be sObject Collections or queries; the whole
  call counts once against the API limit.
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from connector.errors import CRMError, Permanent, Transient

COLLECTION_LIMIT = 200
COMPOSITE_COLLECTIONS_LIMIT = 5
TRANSIENT_RECORD_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}
)

Outcome = tuple[int, str | None, CRMError | None]


@dataclass(frozen=True)
class SaveTarget:
    """One record write: PATCH (record_id set) or POST (record_id None), for change `index`."""

    method: str
    sobject: str
    record_id: str | None
    fields: Mapping[str, Any]
    index: int = -1

    def at(self, index: int) -> SaveTarget:
        """The same write, tagged with the position of its change."""
        return replace(self, index=index)


@dataclass
class _Record:
    sobject: str
    record_id: str | None
    fields: dict[str, Any]
    indexes: list[int] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        head: dict[str, Any] = {"attributes": {"type": self.sobject}}
        if self.record_id is not None:
            head["Id"] = self.record_id
        return {**head, **self.fields}


@dataclass
class _Collection:
    method: str
    records: list[_Record]
    reference: str

    def body(self) -> dict[str, Any]:
        return {"allOrNone": False, "records": [r.payload() for r in self.records]}


@dataclass
class PlannedCall:
    """One REST call: a single collection request, or a Composite carrying several."""

    method: str
    path: str
    body: dict[str, Any]
    collections: list[_Collection]

    def indexes(self) -> list[int]:
        """Positions of every change this call carries."""
        return [i for c in self.collections for r in c.records for i in r.indexes]

    def outcomes(self, response: Any) -> Iterator[Outcome]:
        """(change index, saved record id, error) for every change, from the response."""
        if self.path == "composite":
            subs = response.get("compositeResponse") if isinstance(response, dict) else None
            by_ref = {s.get("referenceId"): s for s in subs or [] if isinstance(s, dict)}
            for collection in self.collections:
                sub = by_ref.get(collection.reference)
                if sub is None:
                    yield from _all_failed(collection, _unexpected(response))
                elif int(sub.get("httpStatusCode", 500)) >= 300:
                    yield from _all_failed(collection, _sub_error(sub))
                else:
                    yield from _save_results(collection, sub.get("body"))
        else:
            yield from _save_results(self.collections[0], response)


def plan_calls(
    targets: Sequence[SaveTarget], api_version: str, sub_headers: Mapping[str, str]
) -> list[PlannedCall]:
    """Merge writes to the same record (last value wins per field) and pack them into calls.

    Updates and creates go in separate collections (≤200 records each); an update chunk and
    a create chunk share one Composite call when both exist, saving a call.
    """
    updates: dict[tuple[str, str], _Record] = {}
    creates: list[_Record] = []
    for t in targets:
        if t.record_id is None:
            creates.append(_Record(t.sobject, None, dict(t.fields), [t.index]))
            continue
        record = updates.setdefault((t.sobject, t.record_id), _Record(t.sobject, t.record_id, {}))
        record.fields.update(t.fields)
        record.indexes.append(t.index)
    patch = _chunks("PATCH", sorted(updates.values(), key=lambda r: r.sobject != "Lead"), "upd")
    post = _chunks("POST", creates, "new")
    calls: list[PlannedCall] = []
    while patch and post:
        pair = [patch.pop(0), post.pop(0)]
        calls.append(_composite(pair, api_version, sub_headers))
    for collection in patch + post:
        calls.append(
            PlannedCall(collection.method, "composite/sobjects", collection.body(), [collection])
        )
    return calls


def record_error(errors: Sequence[Mapping[str, Any]]) -> CRMError:
    """The error of one failed record: Transient for row locks and the like, else Permanent."""
    code = str(errors[0].get("statusCode") or errors[0].get("errorCode") or "UNKNOWN")
    message = "; ".join(
        f"{e.get('statusCode') or e.get('errorCode')}: {e.get('message', '')}" for e in errors
    )
    if code in TRANSIENT_RECORD_CODES:
        return Transient(message, code=code)
    return Permanent(message, code=code)


def _chunks(method: str, records: list[_Record], prefix: str) -> list[_Collection]:
    return [
        _Collection(method, records[i : i + COLLECTION_LIMIT], f"{prefix}{i // COLLECTION_LIMIT}")
        for i in range(0, len(records), COLLECTION_LIMIT)
    ]


def _composite(
    collections: list[_Collection], api_version: str, sub_headers: Mapping[str, str]
) -> PlannedCall:
    assert len(collections) <= COMPOSITE_COLLECTIONS_LIMIT
    subrequests = [
        {
            "method": c.method,
            "url": f"/services/data/v{api_version}/composite/sobjects",
            "referenceId": c.reference,
            "body": c.body(),
            "httpHeaders": dict(sub_headers),
        }
        for c in collections
    ]
    body = {"allOrNone": False, "compositeRequest": subrequests}
    return PlannedCall("POST", "composite", body, collections)


def _save_results(collection: _Collection, results: Any) -> Iterator[Outcome]:
    if not isinstance(results, list) or len(results) != len(collection.records):
        yield from _all_failed(collection, _unexpected(results))
        return
    for record, result in zip(collection.records, results, strict=True):
        if isinstance(result, dict) and result.get("success"):
            saved = result.get("id")
            for index in record.indexes:
                yield index, str(saved) if saved else None, None
            continue
        errors = result.get("errors") if isinstance(result, dict) else None
        error = record_error(errors) if errors else _unexpected(result)
        for index in record.indexes:
            yield index, None, error


def _sub_error(sub: Mapping[str, Any]) -> CRMError:
    status = int(sub.get("httpStatusCode", 500))
    body = sub.get("body")
    errors = body if isinstance(body, list) and body and isinstance(body[0], dict) else None
    if errors is None:
        return Transient(f"composite subrequest failed with {status}", status=status)
    error = record_error(errors)
    if status >= 500 and isinstance(error, Permanent):
        return Transient(str(error), code=error.code, status=status)
    error.status = status
    return error


def _unexpected(response: Any) -> CRMError:
    return Transient(f"unexpected Salesforce response: {str(response)[:200]}", code="UNEXPECTED")


def _all_failed(collection: _Collection, error: CRMError) -> Iterator[Outcome]:
    for record in collection.records:
        for index in record.indexes:
            yield index, None, error
