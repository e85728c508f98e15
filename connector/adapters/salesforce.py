"""The Salesforce adapter: leadpool's changes as sObject Collections / Composite calls.

Writes go through `simple_salesforce.Salesforce.restful(...)`: lead updates and task
completes are PATCHed as sObject Collections, task creates POSTed as collections (each
≤200 records); when one apply needs both, they travel as subrequests of one Composite call.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connector.adapters.base import (
    BatchLimits,
    Change,
    ChangeResult,
    CompleteTask,
    CreateTask,
    CRMUser,
    LeadRecord,
    UpdateLead,
)
from connector.adapters.retry import crm_retry, parse_retry_after
from connector.adapters.salesforce_auth import (
    AuthMode,
    SalesforceAuth,
    SalesforceSession,
    login,
)
from connector.adapters.salesforce_batch import SaveTarget, plan_calls
from connector.clock import Clock, SystemClock
from connector.errors import CRMError, Permanent, Transient
from connector.events import Crm

log = logging.getLogger(__name__)

# Assignment rules run on every API create/update of a Lead unless this header says FALSE,
# and they would overwrite the owner leadpool just set.
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_autoassign.htm
AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}

# Whole-call errorCodes worth retrying besides 429 / 5xx (the daily API limit answers 403).
TRANSIENT_CALL_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"})
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_DEVELOPER_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_)){0,79}$")


@dataclass(frozen=True)
class LeadpoolFieldNames:
    """API names of the leadpool custom fields on Lead."""

    status: str = "Leadpool_Status__c"
    reason: str = "Leadpool_Reason__c"
    source: str = "Leadpool_Source__c"
    lock_expires: str = "Leadpool_Lock_Expires__c"
    reason_max_length: int = 255


@dataclass(frozen=True)
class SalesforceSettings:
    """Connection and mapping settings; secrets are referenced by env-var name only."""

    domain: str = "login"  # login | test | My Domain prefix such as "acme.my"
    api_version: str = "59.0"
    auth: SalesforceAuth = field(default_factory=SalesforceAuth)
    queues: Mapping[str, str] = field(default_factory=dict)  # pool name -> queue id (00G…)
    fields: LeadpoolFieldNames = field(default_factory=LeadpoolFieldNames)
    timeout: float = 10.0  # seconds per HTTP request
    retry_max_wait: float = 30.0  # total seconds one call may spend retrying
    retry_max_attempts: int = 4
    task_status_open: str = "Not Started"
    task_status_completed: str = "Completed"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{2,3}\.0", self.api_version):
            raise ValueError(f"api_version must look like '59.0', got {self.api_version!r}")
        if not self.domain or "/" in self.domain or self.domain.endswith(".salesforce.com"):
            raise ValueError(f"domain must be 'login', 'test' or 'name.my', got {self.domain!r}")
        if self.timeout <= 0 or self.retry_max_wait < 0 or self.retry_max_attempts < 1:
            raise ValueError("timeout must be > 0, retry_max_wait >= 0, retry_max_attempts >= 1")


class _SessionExpired(Exception):
    """401 INVALID_SESSION_ID: handled by logging in again, never retried as is."""


class SalesforceAdapter:
    """CRMAdapter for Salesforce on simple-salesforce; counts its REST calls in `api_calls`."""

    crm = Crm.SALESFORCE
    limits = BatchLimits(lead_updates=200, task_creates=200, task_completes=200)

    def __init__(
        self,
        settings: SalesforceSettings,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.clock = clock or SystemClock()
        self._environ = os.environ if environ is None else environ
        settings.auth.check(self._environ)
        self._sleep = sleep
        self._jitter = jitter
        self._lock = threading.Lock()
        self._login: SalesforceSession | None = None
        self._sf: Salesforce | None = None
        self.api_calls = 0
        self.logins = 0

    # -- CRMAdapter ------------------------------------------------------------------------
    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply changes in as few calls as the limits allow; one result per change, in order."""
        results: list[ChangeResult | None] = [None] * len(changes)
        targets: list[SaveTarget] = []
        for index, change in enumerate(changes):
            try:
                target = self._target(change)
            except Permanent as err:
                results[index] = ChangeResult(change, ok=False, error=err)
                continue
            if target is None:
                results[index] = ChangeResult(change, ok=True)
            else:
                targets.append(target.at(index))
        for call in plan_calls(targets, self.settings.api_version, AUTO_ASSIGN_OFF):
            try:
                outcome = self._call(call.method, call.path, json=call.body)
            except CRMError as err:
                for index in call.indexes():
                    results[index] = ChangeResult(changes[index], ok=False, error=err)
                continue
            for index, saved_id, error in call.outcomes(outcome):
                crm_id = saved_id if isinstance(changes[index], CreateTask) else None
                results[index] = ChangeResult(
                    changes[index], ok=error is None, crm_id=crm_id, error=error
                )
        missing = Transient(
            "Salesforce answered without a result for this change", code="UNEXPECTED"
        )
        return [
            r if r is not None else ChangeResult(changes[i], ok=False, error=missing)
            for i, r in enumerate(results)
        ]

    def fetch_lead(self, lead_id: str) -> LeadRecord | None:
        """Return the lead as Salesforce holds it, or None when the id is unknown (404)."""
        if not _ID_RE.match(lead_id):
            raise ValueError(f"not a Salesforce record id: {lead_id!r}")
        try:
            record = self._call("GET", f"sobjects/Lead/{lead_id}")
        except Permanent as err:
            if err.status == 404:
                return None
            raise
        fields = {k: v for k, v in dict(record).items() if k != "attributes"}
        return LeadRecord(
            lead_id=str(fields.get("Id", lead_id)),
            owner=fields.get("OwnerId"),
            fields=fields,
            created_at=_parse_datetime(fields.get("CreatedDate")),
        )

    def fetch_leads(self, lead_ids: Sequence[str]) -> dict[str, LeadRecord]:
        """Return the leads Salesforce knows among lead_ids, one read each (rarely needed)."""
        found = {i: self.fetch_lead(i) for i in dict.fromkeys(lead_ids)}
        return {i: record for i, record in found.items() if record is not None}

    def owner_of_user(self, user_id: str) -> str | None:
        """A Salesforce User id is the OwnerId it gives the records it owns."""
        return user_id

    def list_users(self) -> list[CRMUser]:
        """Return the standard (licensed) users reps can map to."""
        rows = self._query("SELECT Id, Name, Email, IsActive FROM User WHERE UserType = 'Standard'")
        return [
            CRMUser(id=r["Id"], email=r.get("Email") or "", name=r.get("Name") or "",
                    active=bool(r.get("IsActive", True)))
            for r in rows
        ]  # fmt: skip

    def queue_id(self, developer_name: str) -> str | None:
        """Return the id of the Lead queue with this DeveloperName, or None."""
        if not _DEVELOPER_NAME_RE.match(developer_name):
            raise ValueError(f"not a queue DeveloperName: {developer_name!r}")
        rows = self._query(
            "SELECT Id FROM Group WHERE Type = 'Queue' "
            f"AND DeveloperName = '{developer_name}'"  # safe: checked against the pattern above
        )
        return str(rows[0]["Id"]) if rows else None

    def org_limits(self) -> dict[str, Any]:
        """Return the org's REST limits (`/limits`), e.g. DailyApiRequests Max/Remaining."""
        return dict(self._call("GET", "limits"))

    def client(self) -> Salesforce:
        """The logged-in simple-salesforce client (setup tasks use its Metadata API)."""
        return self._client()

    # -- change -> record --------------------------------------------------------------------
    def _target(self, change: Change) -> SaveTarget | None:
        if isinstance(change, UpdateLead):
            fields = self._lead_fields(change)
            return SaveTarget("PATCH", "Lead", change.lead_id, fields) if fields else None
        if isinstance(change, CompleteTask):
            _require(change.crm_task_id, "crm_task_id")
            status = {"Status": self.settings.task_status_completed}
            return SaveTarget("PATCH", "Task", change.crm_task_id, status)
        _require(change.lead_id, "lead_id")
        _require(change.owner, "owner")
        due = _utc(change.due, "due")
        return SaveTarget(
            "POST",
            "Task",
            None,
            {
                "WhoId": change.lead_id,
                "OwnerId": change.owner,
                "Subject": change.subject[:255],
                # ActivityDate is date-only; the exact due time travels as the reminder.
                "ActivityDate": due.date().isoformat(),
                "ReminderDateTime": _sf_datetime(due),
                "IsReminderSet": True,
                "Description": change.description,
                "Status": self.settings.task_status_open,
            },
        )

    def _lead_fields(self, change: UpdateLead) -> dict[str, Any]:
        _require(change.lead_id, "lead_id")
        if change.owner is not None and change.pool is not None:
            raise Permanent(
                f"lead {change.lead_id}: owner and pool are both set; a lead has one owner",
                code="INVALID_CHANGE",
            )
        fields: dict[str, Any] = {}
        if change.owner is not None:
            fields["OwnerId"] = _require(change.owner, "owner")
        elif change.pool is not None:
            pool = _require(change.pool, "pool")
            fields["OwnerId"] = self.settings.queues.get(pool, pool)
        if change.leadpool is not None:
            names, lp = self.settings.fields, change.leadpool
            fields[names.status] = lp.status
            fields[names.reason] = _truncate(lp.reason, names.reason_max_length)
            fields[names.source] = lp.source
            fields[names.lock_expires] = (
                _sf_datetime(_utc(lp.lock_expires, "lock_expires")) if lp.lock_expires else None
            )
        return fields

    # -- HTTP ----------------------------------------------------------------------------------
    def _query(self, soql: str) -> list[dict[str, Any]]:
        page = self._call("GET", "query", params={"q": soql})
        records = list(page["records"])
        marker = f"/v{self.settings.api_version}/"
        while not page.get("done", True):
            page = self._call("GET", str(page["nextRecordsUrl"]).split(marker, 1)[1])
            records.extend(page["records"])
        return records

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call with retries; logs in again once on INVALID_SESSION_ID."""
        relogged = False
        while True:
            sf = self._client(fresh=relogged)
            try:
                for attempt in crm_retry(
                    self.settings.retry_max_wait,
                    self.settings.retry_max_attempts,
                    sleep=self._sleep,
                    rng=self._jitter,
                ):
                    with attempt:
                        return self._send(sf, method, path, **kwargs)
            except _SessionExpired:
                if relogged:
                    raise Transient(
                        "Salesforce rejected a fresh session (INVALID_SESSION_ID)",
                        code="INVALID_SESSION_ID",
                        status=401,
                    ) from None
                relogged = True

    def _send(self, sf: Salesforce, method: str, path: str, **kwargs: Any) -> Any:
        seen: dict[str, requests.Response] = {}

        def keep(response: requests.Response, *_: Any, **__: Any) -> requests.Response:
            seen["response"] = response
            return response

        with self._lock:
            self.api_calls += 1
        try:
            return sf.restful(
                path,
                method=method,
                headers=dict(AUTO_ASSIGN_OFF),
                timeout=self.settings.timeout,
                hooks={"response": [keep]},
                **kwargs,
            )
        except SalesforceError as exc:
            code, message = _first_error(exc.content)
            if exc.status == 401 and code == "INVALID_SESSION_ID":
                raise _SessionExpired() from None
            retry_after = None
            if "response" in seen:
                header = seen["response"].headers.get("Retry-After")
                retry_after = parse_retry_after(header, now=self.clock.now().timestamp())
            text = f"Salesforce {method} {path.split('?')[0]}: {exc.status} {code}: {message}"
            log.warning("%s", text)
            if exc.status == 429 or exc.status >= 500 or code in TRANSIENT_CALL_CODES:
                raise Transient(
                    text, code=code, status=exc.status, retry_after=retry_after
                ) from None
            raise Permanent(text, code=code, status=exc.status) from None
        except ValueError:  # a 2xx whose body is not JSON (e.g. a proxy's HTML page)
            raise Transient(
                f"Salesforce {method} {path}: answer was not JSON", code="UNEXPECTED"
            ) from None
        except requests.Timeout:
            raise Transient(
                f"Salesforce {method} {path}: no answer within {self.settings.timeout}s",
                code="TIMEOUT",
            ) from None
        except requests.ConnectionError as exc:
            raise Transient(
                f"Salesforce {method} {path}: connection failed ({type(exc).__name__})",
                code="CONNECTION_ERROR",
            ) from None

    def _client(self, *, fresh: bool = False) -> Salesforce:
        """The logged-in client; `fresh` logs in again (after INVALID_SESSION_ID)."""
        with self._lock:
            if self._sf is not None and not fresh:
                return self._sf
            previous = self._login
        settings = self.settings
        new = login(
            settings.auth,
            domain=settings.domain,
            api_version=settings.api_version,
            session=self.session,
            environ=self._environ,
            timeout=settings.timeout,
        )
        if fresh and settings.auth.mode is AuthMode.SESSION and new == previous:
            raise Transient(
                "Salesforce session expired and the configured session id has not changed",
                code="INVALID_SESSION_ID",
                status=401,
            )
        client = Salesforce(
            session_id=new.session_id,
            instance=new.instance,
            version=settings.api_version,
            session=self.session,
        )
        with self._lock:
            self.logins += 1
            self._login, self._sf = new, client
        return client


def _first_error(content: Any) -> tuple[str, str]:
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        first = content[0]
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    return "", str(content)[:500]


def _require(value: str | None, name: str) -> str:
    if not value or not value.strip():
        raise Permanent(f"{name} must not be empty", code="INVALID_CHANGE")
    return value


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise Permanent(
            f"{name} must be timezone-aware, got {value.isoformat()}", code="INVALID_CHANGE"
        )
    return value.astimezone(UTC)


def _sf_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
