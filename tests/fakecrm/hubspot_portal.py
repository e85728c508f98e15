"""In-memory HubSpot portal behind the fake server: records, owners, properties, batch rules.

Shapes follow CRM v3: whole-request errors are `{"status": "error", "message", "correlationId",
"category"}` (https://developers.hubspot.com/docs/api/error-handling); a batch update that
names missing records answers 207 with `errors[].context.ids` and applies the rest
(https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-update);
invalid property names or values reject the whole batch with 400 `VALIDATION_ERROR`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OBJECT_TYPES = {
    "contacts": "contacts",
    "0-1": "contacts",
    "leads": "leads",
    "0-136": "leads",
    "tasks": "tasks",
    "0-27": "tasks",
}
LABEL = {"contacts": "CONTACT", "leads": "LEAD", "tasks": "TASK"}
TASK_TO_CONTACT = ("HUBSPOT_DEFINED", 204)
TASK_STATUSES = {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"}
MAX_BATCH = 100

# fmt: off
_BUILTIN = {
    "contacts": {"firstname": "string", "lastname": "string", "email": "string",
                 "hubspot_owner_id": "enumeration", "hs_lead_status": "enumeration",
                 "lifecyclestage": "enumeration", "createdate": "datetime",
                 "lastmodifieddate": "datetime", "hs_object_id": "number"},
    "leads": {"hs_lead_name": "string", "hubspot_owner_id": "enumeration",
              "hs_pipeline_stage": "enumeration", "hs_createdate": "datetime",
              "hs_object_id": "number"},
    "tasks": {"hs_task_subject": "string", "hs_task_body": "string", "hs_timestamp": "datetime",
              "hubspot_owner_id": "enumeration", "hs_task_status": "enumeration",
              "hs_task_priority": "enumeration", "hs_task_type": "enumeration",
              "hs_object_id": "number"},
}
LEADPOOL_PROPERTIES = {"leadpool_pool": "string", "leadpool_status": "string",
                       "leadpool_reason": "string", "leadpool_source": "string",
                       "leadpool_lock_expires": "datetime"}
# fmt: on
_READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate", "hs_createdate"}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$")


class HubSpotError(Exception):
    """An error answer of the fake portal: HTTP status and HubSpot's error body."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = error_body(message, category, **extra)


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's whole-request error body."""
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def iso(when: datetime) -> str:
    """HubSpot's timestamp format in responses."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Record:
    """One CRM object (contact, lead or task) and its associations."""

    id: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    associations: list[dict[str, Any]] = field(default_factory=list)
    trace_id: str | None = None

    def public(self, names: list[str] | None = None) -> dict[str, Any]:
        props = (
            self.properties
            if names is None
            else {n: self.properties[n] for n in names if n in self.properties}
        )
        body = {
            "id": self.id,
            "properties": dict(props),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": False,
        }
        if self.trace_id is not None:
            body["objectWriteTraceId"] = self.trace_id
        return body


class Portal:
    """State of one HubSpot account; every method is safe to call from server threads."""

    def __init__(self, *, leadpool_properties: bool = True) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Record]] = {t: {} for t in LABEL}
        self.owners: dict[str, dict[str, Any]] = {}
        self.properties: dict[str, dict[str, dict[str, Any]]] = {}
        self.groups: dict[str, dict[str, dict[str, Any]]] = {}
        self._ids = itertools.count(1001)
        for object_type, builtin in _BUILTIN.items():
            self.groups[object_type] = {}
            self._add_group(
                object_type, {"name": f"{object_type[:-1]}information", "label": "Information"}
            )
            self.properties[object_type] = {}
            for name, kind in builtin.items():
                self._add_property(object_type, name, kind, f"{object_type[:-1]}information", True)
        if leadpool_properties:
            self.install_leadpool("contacts")

    def install_leadpool(self, object_type: str) -> None:
        """Add the leadpool property group and properties, as `leadpool setup` would."""
        with self.lock:
            self._add_group(object_type, {"name": "leadpool", "label": "leadpool"})
            for name, kind in LEADPOOL_PROPERTIES.items():
                self._add_property(object_type, name, kind, "leadpool", False)

    # -- seeding ----------------------------------------------------------------------------

    def add_owner(self, email: str, first: str = "", last: str = "", archived: bool = False) -> str:
        """Add an owner (a HubSpot user) and return its id."""
        with self.lock:
            owner_id = str(next(self._ids))
            now = iso(datetime.now(UTC))
            self.owners[owner_id] = {
                "id": owner_id,
                "email": email,
                "firstName": first,
                "lastName": last,
                "archived": archived,
                "type": "PERSON",
                # A HubSpot user id is not the owner id (webhooks name users, records owners).
                "userId": 7_000_000 + int(owner_id),
                "createdAt": now,
                "updatedAt": now,
            }
            return owner_id

    def add_record(self, object_type: str, **properties: str) -> str:
        """Add a contact or lead with the given property values and return its id."""
        with self.lock:
            record_id = str(next(self._ids))
            now = datetime.now(UTC)
            props = {"hs_object_id": record_id, **properties}
            self.records[OBJECT_TYPES[object_type]][record_id] = Record(record_id, props, now, now)
            return record_id

    # -- objects ----------------------------------------------------------------------------

    def get(self, object_type: str, record_id: str, names: list[str] | None) -> dict[str, Any]:
        with self.lock:
            record = self.records[object_type].get(record_id)
            if record is None:
                raise HubSpotError(
                    404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND"
                )
            return record.public(names or ["hs_object_id", "createdate", "lastmodifieddate"])

    def batch_read(
        self, object_type: str, ids: list[str], names: list[str] | None
    ) -> tuple[int, dict[str, Any]]:
        """Read several records; unknown ids are reported in a 207 error, like HubSpot."""
        started = datetime.now(UTC)
        with self.lock:
            table = self.records[object_type]
            found = [table[i].public(names) for i in ids if i in table]
            missing = [i for i in ids if i not in table]
        errors = [self._not_found(object_type, missing)] if missing else []
        return self._batch_response(found, errors, started)

    def batch_update(
        self, object_type: str, inputs: list[dict[str, Any]], failing: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Validate every input first (400, nothing written), then apply; missing ids → 207."""
        started = datetime.now(UTC)
        with self.lock:
            self._check_batch(inputs)
            ids = [str(i["id"]) for i in inputs]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise HubSpotError(
                    400,
                    f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
                    "VALIDATION_ERROR",
                )
            for item in inputs:
                self._check_values(object_type, item["properties"])
            table = self.records[object_type]
            missing = [i for i in ids if i not in table]
            refused = {i: m for i, m in failing.items() if i in ids and i not in missing}
            results = []
            for item in inputs:
                record = table.get(str(item["id"]))
                if record is None or record.id in refused:
                    continue
                record.properties.update(item["properties"])
                record.updated_at = datetime.now(UTC)
                results.append(record.public(sorted(item["properties"])))
            errors = []
            if missing:
                errors.append(self._not_found(object_type, missing))
            for record_id, message in refused.items():
                errors.append(self._batch_error(message, "VALIDATION_ERROR", [record_id]))
            return self._batch_response(results[::-1], errors, started)

    def create_tasks(self, inputs: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """Create tasks with their associations; all inputs are validated before any is created."""
        started = datetime.now(UTC)
        with self.lock:
            self._check_batch(inputs)
            for item in inputs:
                self._check_values("tasks", item["properties"])
                if "hs_timestamp" not in item["properties"]:
                    raise HubSpotError(
                        400,
                        "Property values were not valid: hs_timestamp is required",
                        "VALIDATION_ERROR",
                    )
                for association in item.get("associations", []):
                    self._check_association(association)
            results = []
            for item in inputs:
                task_id = str(next(self._ids))
                now = datetime.now(UTC)
                task = Record(
                    task_id,
                    {"hs_object_id": task_id, **item["properties"]},
                    now,
                    now,
                    list(item.get("associations", [])),
                    item.get("objectWriteTraceId"),
                )
                self.records["tasks"][task_id] = task
                results.append(task.public(sorted(item["properties"])))
            # Real batch results come back in no particular order; reversing keeps clients honest.
            return self._batch_response(results[::-1], [], started, created=True)

    def _check_association(self, association: dict[str, Any]) -> None:
        target = str(association["to"]["id"])
        for spec in association["types"]:
            if (spec["associationCategory"], spec["associationTypeId"]) != TASK_TO_CONTACT:
                raise HubSpotError(
                    400,
                    f"association type {spec} is not valid between tasks and contacts",
                    "VALIDATION_ERROR",
                )
        if target not in self.records["contacts"]:
            raise HubSpotError(
                400,
                f"One or more associations are invalid: CONTACT {target} does not exist",
                "VALIDATION_ERROR",
            )

    def _check_batch(self, inputs: list[dict[str, Any]]) -> None:
        if not inputs or len(inputs) > MAX_BATCH:
            raise HubSpotError(
                400,
                f"Batch input must hold 1 to {MAX_BATCH} inputs, got {len(inputs)}",
                "VALIDATION_ERROR",
            )

    def _check_values(self, object_type: str, values: dict[str, str]) -> None:
        known = self.properties[object_type]
        problems = []
        for name, value in values.items():
            if name not in known:
                problems.append(
                    (name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
            elif name in _READ_ONLY:
                problems.append((name, "READ_ONLY_VALUE", f"{name} is a read only property"))
            elif name == "hubspot_owner_id" and value and value not in self.owners:
                problems.append((name, "INVALID_OWNER_ID", f"{value} is not a valid owner id"))
            elif (
                known[name]["type"] == "datetime"
                and value
                and not (value.isdigit() or _ISO.match(value))
            ):
                problems.append((name, "INVALID_DATETIME", f"{value} is not a valid datetime"))
            elif name == "hs_task_status" and value not in TASK_STATUSES:
                problems.append(
                    (name, "INVALID_OPTION", f"{value} was not one of the allowed options")
                )
        if problems:
            detail = [
                {"isValid": False, "message": m, "error": e, "name": n} for n, e, m in problems
            ]
            raise HubSpotError(
                400, f"Property values were not valid: {json.dumps(detail)}", "VALIDATION_ERROR"
            )

    @classmethod
    def _not_found(cls, object_type: str, ids: list[str]) -> dict[str, Any]:
        message = (
            f"Could not get some {LABEL[object_type]} objects, they may be deleted or not exist. "
            "Check that ids are valid."
        )
        return cls._batch_error(message, "OBJECT_NOT_FOUND", ids)

    @staticmethod
    def _batch_error(message: str, category: str, ids: list[str]) -> dict[str, Any]:
        return {
            "status": "error",
            "category": category,
            "message": message,
            "context": {"ids": ids},
            "errors": [],
            "links": {},
        }

    @staticmethod
    def _batch_response(
        results: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        started: datetime,
        created: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": iso(started),
            "completedAt": iso(datetime.now(UTC)),
        }
        if errors:
            body["errors"] = errors
            body["numErrors"] = len(errors)
            return 207, body
        return (201 if created else 200), body

    # -- owners -----------------------------------------------------------------------------

    def owners_page(self, limit: int, after: str | None, archived: bool) -> dict[str, Any]:
        with self.lock:
            rows = sorted(
                (o for o in self.owners.values() if o["archived"] == archived),
                key=lambda o: int(o["id"]),
            )
        start = int(after) if after and after.isdigit() else 0
        page: dict[str, Any] = {"results": rows[start : start + limit]}
        if start + limit < len(rows):
            page["paging"] = {"next": {"after": str(start + limit)}}
        return page

    # -- properties -------------------------------------------------------------------------

    def property(self, object_type: str, name: str) -> dict[str, Any]:
        with self.lock:
            found = self.properties[object_type].get(name)
        if found is None:
            raise HubSpotError(
                404, f"Unable to find property {name} on {object_type}", "OBJECT_NOT_FOUND"
            )
        return found

    def create_property(self, object_type: str, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if spec["name"] in self.properties[object_type]:
                raise HubSpotError(
                    409, f"Property named '{spec['name']}' already exists.", "OBJECT_ALREADY_EXISTS"
                )
            if spec["groupName"] not in self.groups[object_type]:
                raise HubSpotError(
                    400, f"group {spec['groupName']} does not exist", "VALIDATION_ERROR"
                )
            return self._add_property(
                object_type, spec["name"], spec["type"], spec["groupName"], False, spec
            )

    def group(self, object_type: str, name: str) -> dict[str, Any]:
        with self.lock:
            found = self.groups[object_type].get(name)
        if found is None:
            raise HubSpotError(404, f"Unable to find property group {name}", "OBJECT_NOT_FOUND")
        return found

    def create_group(self, object_type: str, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if spec["name"] in self.groups[object_type]:
                raise HubSpotError(
                    409, f"Property group '{spec['name']}' already exists.", "OBJECT_ALREADY_EXISTS"
                )
            return self._add_group(object_type, spec)

    def _add_group(self, object_type: str, spec: dict[str, Any]) -> dict[str, Any]:
        group = {
            "name": spec["name"],
            "label": spec["label"],
            "archived": False,
            "displayOrder": spec.get("displayOrder", -1),
        }
        self.groups[object_type][spec["name"]] = group
        return group

    def _add_property(
        self,
        object_type: str,
        name: str,
        kind: str,
        group: str,
        builtin: bool,
        spec: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        spec = spec or {}
        now = iso(datetime.now(UTC))
        prop = {
            "name": name,
            "label": spec.get("label", name),
            "type": kind,
            "fieldType": spec.get("fieldType", "text"),
            "groupName": group,
            "description": spec.get("description", ""),
            "options": spec.get("options", []),
            "hubspotDefined": builtin,
            "hidden": False,
            "formField": False,
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
        }
        self.properties[object_type][name] = prop
        return prop
