"""In-memory Salesforce org for the fake server: records, field validation, collections, SOQL.

Error shapes follow the REST API: whole-request errors are `[{"message", "errorCode"}]`,
per-record SaveResults are `{"id", "success", "errors": [{"statusCode", "message", "fields"}]}`
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm).
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PREFIX = {"Lead": "00Q", "User": "005", "Group": "00G", "Task": "00T"}
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")

LEAD_FIELDS = {
    "Id", "FirstName", "LastName", "Company", "Email", "Status", "OwnerId", "LeadSource",
    "CreatedDate", "LastModifiedDate", "IsConverted",
    "Leadpool_Status__c", "Leadpool_Reason__c", "Leadpool_Source__c", "Leadpool_Lock_Expires__c",
}  # fmt: skip
TASK_FIELDS = {
    "Id", "WhoId", "WhatId", "OwnerId", "Subject", "ActivityDate", "ReminderDateTime",
    "IsReminderSet", "Description", "Status", "Priority", "CreatedDate",
}  # fmt: skip
LEADPOOL_FIELDS = {
    "Leadpool_Status__c", "Leadpool_Reason__c", "Leadpool_Source__c", "Leadpool_Lock_Expires__c",
}  # fmt: skip
USER_FIELDS = {"Id", "Name", "Email", "Username", "IsActive", "UserType"}
GROUP_FIELDS = {"Id", "Name", "DeveloperName", "Type"}
MAX_LENGTH = {"Leadpool_Reason__c": 255, "Leadpool_Source__c": 20, "Subject": 255}
DATETIME_FIELDS = {"Leadpool_Lock_Expires__c", "ReminderDateTime"}
COLLECTION_LIMIT = 200


class ApiError(Exception):
    """A whole-request failure: HTTP status plus the REST error list."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = [{"message": message, "errorCode": code}]


@dataclass
class RecordError(Exception):
    """A per-record failure inside a collection."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The error as it appears in a SaveResult."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


def now_iso() -> str:
    """Salesforce's datetime format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class SalesforceOrg:
    """The records of one fake org and the rules the real API enforces on them."""

    def __init__(
        self,
        api_version: str = "59.0",
        extra_lead_fields: set[str] | None = None,
        *,
        leadpool_fields: bool = True,
    ) -> None:
        self.api_version = api_version
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in PREFIX}
        lead_fields = LEAD_FIELDS if leadpool_fields else LEAD_FIELDS - LEADPOOL_FIELDS
        self.fields = {
            "Lead": lead_fields | (extra_lead_fields or set()),
            "Task": TASK_FIELDS,
            "User": USER_FIELDS,
            "Group": GROUP_FIELDS,
        }
        self.record_errors: dict[str, str] = {}
        self.query_page_size = 2000
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    # -- seeding -------------------------------------------------------------------------
    def new_id(self, sobject: str) -> str:
        """An 18-character id with the object's key prefix."""
        return f"{PREFIX[sobject]}5g{next(self._ids):010d}AAA"

    def insert(self, sobject: str, fields: dict[str, Any]) -> str:
        """Store a record as-is (test seeding) and return its id."""
        with self.lock:
            record_id = fields.get("Id") or self.new_id(sobject)
            self.objects[sobject][record_id] = {"Id": record_id, "CreatedDate": now_iso(), **fields}
            return str(record_id)

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """A deep copy of every record, for rollbacks."""
        with self.lock:
            return copy.deepcopy(self.objects)

    def restore(self, snapshot: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Put back a snapshot taken earlier."""
        with self.lock:
            self.objects = snapshot

    # -- single records --------------------------------------------------------------------
    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        """GET /sobjects/{type}/{id}."""
        self._check_type(sobject)
        with self.lock:
            record = self.objects[sobject].get(record_id)
            if record is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return self._with_attributes(sobject, record)

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        """POST /sobjects/{type}; raises RecordError on a bad record."""
        self._check_type(sobject)
        with self.lock:
            self._check_columns(sobject, fields)
            self._validate(sobject, None, fields)
            values = {"Status": "Not Started"} if sobject == "Task" else {}
            values.update(fields)
            return self.insert(sobject, values)

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """PATCH /sobjects/{type}/{id}; raises RecordError on a bad record."""
        self._check_type(sobject)
        with self.lock:
            self._check_columns(sobject, fields)
            self._validate(sobject, record_id, fields)
            self.objects[sobject][record_id].update(fields, LastModifiedDate=now_iso())

    # -- sObject Collections ------------------------------------------------------------------
    def collection(self, method: str, body: Any) -> list[dict[str, Any]]:
        """PATCH/POST /composite/sobjects: per-record SaveResults, in request order."""
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "records is required")
        records: list[Any] = body["records"]
        all_or_none = bool(body.get("allOrNone", False))
        if len(records) > COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        with self.lock:
            prepared = [self._prepare(method, rec) for rec in records]
            ids = [p[1] for p in prepared if p[1]]
            dupes = {i for i in ids if ids.count(i) > 1}
            outcomes: list[RecordError | None] = []
            for sobject, record_id, fields in prepared:
                try:
                    if record_id in dupes:
                        raise RecordError(
                            "INVALID_FIELD",
                            f"Attempt to update Id more than once in this Api call: {record_id}",
                        )
                    self._validate(sobject, record_id, fields)
                    outcomes.append(None)
                except RecordError as err:
                    outcomes.append(err)
            failed = any(outcomes)
            results = []
            for (sobject, record_id, fields), outcome in zip(prepared, outcomes, strict=True):
                if outcome is None and all_or_none and failed:
                    outcome = RecordError(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request "
                        "was using AllOrNone header",
                    )
                if outcome is not None:
                    results.append({"success": False, "errors": [outcome.as_json()]})
                    continue
                if method == "POST":
                    record_id = self.create(sobject, fields)
                else:
                    self.update(sobject, str(record_id), fields)
                results.append({"id": record_id, "success": True, "errors": []})
            return results

    def _prepare(self, method: str, record: Any) -> tuple[str, str | None, dict[str, Any]]:
        if not isinstance(record, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "each record must be an object")
        fields = dict(record)
        sobject = (fields.pop("attributes", None) or {}).get("type")
        if sobject not in PREFIX:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        self._check_columns(sobject, fields)
        record_id = fields.pop("Id", fields.pop("id", None))
        if method == "POST" and record_id:
            raise ApiError(400, "INVALID_FIELD", "Can't specify an ID for a create call")
        if method == "PATCH" and not record_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
        return sobject, None if record_id is None else str(record_id), fields

    # -- validation -------------------------------------------------------------------------
    def _check_type(self, sobject: str) -> None:
        if sobject not in PREFIX:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _check_columns(self, sobject: str, fields: dict[str, Any]) -> None:
        for name in fields:
            if name not in self.fields[sobject] and name not in ("Id", "id", "attributes"):
                raise ApiError(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}"
                )

    def _validate(self, sobject: str, record_id: str | None, fields: dict[str, Any]) -> None:
        if record_id is not None:
            if not ID_RE.match(record_id) or not record_id.startswith(PREFIX[sobject]):
                raise RecordError(
                    "MALFORMED_ID",
                    f"{sobject} ID: id value of incorrect type: {record_id}",
                    ("Id",),
                )
            if record_id not in self.objects[sobject]:
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            forced = self.record_errors.get(record_id)
            if forced:
                raise RecordError(forced, _FORCED_MESSAGES.get(forced, forced))
        if "OwnerId" in fields:
            self._check_owner(sobject, fields["OwnerId"])
        if "WhoId" in fields and fields["WhoId"] not in self.objects["Lead"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("WhoId",)
            )
        for name, limit in MAX_LENGTH.items():
            value = fields.get(name)
            if isinstance(value, str) and len(value) > limit:
                raise RecordError(
                    "STRING_TOO_LONG", f"data value too large (max length={limit})", (name,)
                )
        for name in DATETIME_FIELDS & fields.keys():
            if fields[name] is not None and not _is_datetime(fields[name]):
                raise ApiError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of datetime from VALUE_STRING value "
                    f"{fields[name]}",
                )

    def _check_owner(self, sobject: str, owner: Any) -> None:
        owner = str(owner or "")
        allowed = ("User", "Group") if sobject == "Lead" else ("User",)
        if not ID_RE.match(owner) or not any(owner.startswith(PREFIX[t]) for t in allowed):
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Owner ID: id value of incorrect type: {owner}",
                ("OwnerId",),
            )
        if not any(owner in self.objects[t] for t in allowed):
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("OwnerId",)
            )

    def _with_attributes(self, sobject: str, record: dict[str, Any]) -> dict[str, Any]:
        url = f"/services/data/v{self.api_version}/sobjects/{sobject}/{record['Id']}"
        return {"attributes": {"type": sobject, "url": url}, **copy.deepcopy(record)}

    # -- SOQL -------------------------------------------------------------------------------
    def query(self, soql: str) -> dict[str, Any]:
        """The few SOQL shapes leadpool issues: SELECT f, ... FROM T [WHERE a = 'v' AND ...]."""
        match = _SOQL_RE.match(soql.strip())
        if not match:
            raise ApiError(400, "MALFORMED_QUERY", f"unexpected token in query: {soql[:60]}")
        columns = [c.strip() for c in match["fields"].split(",")]
        sobject = match["object"]
        if sobject not in PREFIX:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        conditions = _parse_where(match["where"] or "")
        for name in [*columns, *conditions]:
            if name not in self.fields[sobject]:
                raise ApiError(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'."
                )
        with self.lock:
            rows = [
                r
                for r in self.objects[sobject].values()
                if all(r.get(k) == v for k, v in conditions.items())
            ]
            records = [
                {
                    **self._with_attributes(sobject, {"Id": r["Id"]}),
                    **{c: r.get(c) for c in columns},
                }
                for r in rows
            ]
        if match["limit"]:
            records = records[: int(match["limit"])]
        return self._page(records, 0, len(records))

    def query_more(self, cursor: str) -> dict[str, Any]:
        """GET /query/{cursor}: the next page of an earlier query."""
        key, _, offset = cursor.rpartition("-")
        with self.lock:
            records = self._cursors.get(key)
        if records is None or not offset.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(records, int(offset), len(records))

    def _page(self, records: list[dict[str, Any]], start: int, total: int) -> dict[str, Any]:
        """One page of `query_page_size` records, with nextRecordsUrl while more remain."""
        end = start + self.query_page_size
        page: dict[str, Any] = {"totalSize": total, "done": end >= total}
        if end < total:
            with self.lock:
                key = f"01g5g{next(self._ids):010d}"
                self._cursors[key] = records
            page["nextRecordsUrl"] = f"/services/data/v{self.api_version}/query/{key}-{end}"
        page["records"] = records[start:end]
        return page


_FORCED_MESSAGES = {
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record",
    "ENTITY_IS_DELETED": "entity is deleted",
}
_SOQL_RE = re.compile(
    r"^SELECT\s+(?P<fields>[\w\s,]+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+[\w\s,]+?)?(?:\s+LIMIT\s+(?P<limit>\d+))?$",
    re.IGNORECASE,
)
_COND_RE = re.compile(r"^(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(true|false))$", re.IGNORECASE)


def _parse_where(where: str) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    for part in re.split(r"\s+AND\s+", where.strip(), flags=re.IGNORECASE) if where else []:
        cond = _COND_RE.match(part.strip())
        if not cond:
            raise ApiError(400, "MALFORMED_QUERY", f"unexpected condition: {part}")
        name, text, boolean = cond.groups()
        if boolean is not None:
            conditions[name] = boolean.lower() == "true"
        else:
            conditions[name] = re.sub(r"\\(.)", r"\1", text)
    return conditions


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
