"""HubSpot adapter: applies leadpool changes through hubspot-api-client's CRM v3 batch APIs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

from hubspot import HubSpot
from hubspot.crm import objects as hs_objects
from hubspot.crm.objects import tasks as hs_tasks
from urllib3.util.retry import Retry

from connector.adapters.base import (
    BatchLimits,
    Change,
    ChangeResult,
    CreateTask,
    UpdateLead,
)
from connector.adapters.hubspot_calls import HubSpotCaller
from connector.adapters.hubspot_reads import HubSpotReads
from connector.adapters.rate_limit import RollingWindowLimiter
from connector.clock import Clock
from connector.errors import ConfigError, CRMError, Permanent, Transient
from connector.events import Crm

# Batch endpoints take at most 100 inputs:
# https://developers.hubspot.com/docs/guides/api/crm/objects/contacts#limits
MAX_BATCH = 100
# A property error is the same for every input, so splitting the batch cannot isolate it.
_SYSTEMIC_CODES = frozenset({"PROPERTY_DOESNT_EXIST"})


@dataclass(frozen=True)
class HubSpotSettings:
    """How the adapter reaches one HubSpot portal and which properties it writes."""

    token_env: str = "LEADPOOL_HUBSPOT_TOKEN"
    host: str = "https://api.hubapi.com"
    object_type: Literal["contacts", "leads"] = "contacts"
    owner_property: str = "hubspot_owner_id"
    pool_property: str = "leadpool_pool"
    status_property: str = "leadpool_status"
    reason_property: str = "leadpool_reason"
    source_property: str = "leadpool_source"
    lock_expires_property: str = "leadpool_lock_expires"
    extra_properties: tuple[str, ...] = ()
    # task_to_contact; leads need the portal's task-to-lead type id (v4 associations labels API).
    task_association_type_id: int = 204
    task_priority: Literal["NONE", "LOW", "MEDIUM", "HIGH"] = "HIGH"
    requests_per_10s: int = 90
    rate_window_seconds: float = 10.0
    retry_horizon_seconds: float = 20.0
    max_attempts: int = 5
    timeout_seconds: float = 10.0
    batch_size: int = MAX_BATCH

    def __post_init__(self) -> None:
        problems = []
        if self.object_type not in ("contacts", "leads"):
            problems.append(f"hubspot.object_type: {self.object_type!r} is not contacts or leads")
        if self.requests_per_10s < 1:
            problems.append("hubspot.requests_per_10s: must be at least 1")
        if not 1 <= self.batch_size <= MAX_BATCH:
            problems.append(f"hubspot.batch_size: must be between 1 and {MAX_BATCH}")
        for name in ("rate_window_seconds", "timeout_seconds"):
            if getattr(self, name) <= 0:
                problems.append(f"hubspot.{name}: must be positive")
        if self.max_attempts < 1 or self.retry_horizon_seconds < 0:
            problems.append("hubspot.max_attempts/retry_horizon_seconds: must be >= 1 / >= 0")
        if problems:
            raise ConfigError(problems)

    @property
    def lead_properties(self) -> list[str]:
        """The properties fetch_lead reads."""
        names = [
            self.owner_property,
            self.pool_property,
            self.status_property,
            self.reason_property,
            self.source_property,
            self.lock_expires_property,
        ]
        return names + [p for p in self.extra_properties if p not in names]


def hubspot_datetime(value: datetime) -> str:
    """Format an aware datetime as HubSpot datetime properties accept it (ISO 8601, UTC)."""
    # Datetime properties take epoch milliseconds or ISO 8601:
    # https://developers.hubspot.com/docs/guides/api/crm/properties#date-and-datetime-properties
    if value.tzinfo is None:
        raise ValueError(f"datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Write:
    """One batch input and the positions of the changes it carries."""

    key: str
    payload: dict[str, Any]
    indexes: list[int] = field(default_factory=list)


@dataclass
class _Outcomes:
    """Per-change results of one apply, and the Transient that stopped further calls."""

    changes: Sequence[Change]
    results: list[ChangeResult | None]
    halted: Transient | None = None

    def settle(self, write: _Write, error: CRMError | None, crm_id: str | None = None) -> None:
        for index in write.indexes:
            self.results[index] = ChangeResult(
                self.changes[index], ok=error is None, crm_id=crm_id, error=error
            )


class HubSpotAdapter(HubSpotReads):
    """CRMAdapter for HubSpot: contacts (or leads) ownership, leadpool properties, SLA tasks."""

    crm = Crm.HUBSPOT

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        token = (os.environ if environ is None else environ).get(settings.token_env, "")
        if not token.strip():
            raise ConfigError(
                [
                    f"hubspot.token_env: environment variable {settings.token_env} "
                    "is not set (it must hold the private app access token)"
                ]
            )
        self.settings = settings
        self.limits = BatchLimits(settings.batch_size, settings.batch_size, settings.batch_size)
        now = time.monotonic if clock is None else (lambda: clock.now().timestamp())
        limiter = RollingWindowLimiter(
            settings.requests_per_10s, settings.rate_window_seconds, now=now, sleep=sleep
        )
        self._caller = HubSpotCaller(
            limiter, settings.retry_horizon_seconds, settings.max_attempts, sleep=sleep
        )
        # Retries belong to crm_retry: urllib3's own would hide attempts from the limiter.
        client = HubSpot(access_token=token, host=settings.host.rstrip("/"), retry=Retry(0))
        # Each attribute access builds a new ApiClient and connection pool: keep them.
        self._objects_basic = client.crm.objects.basic_api
        self._objects_batch = client.crm.objects.batch_api
        self._tasks_batch = client.crm.objects.tasks.batch_api
        self._owners = client.crm.owners.owners_api

    @property
    def api_calls(self) -> int:
        """HTTP requests sent so far, retries included (benchmarks read it)."""
        return self._caller.api_calls

    # -- CRMAdapter -------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply changes in as few calls as the limits allow; one result per change, in order."""
        out = _Outcomes(changes, [None] * len(changes))
        leads: dict[str, _Write] = {}
        creates: list[_Write] = []
        completes: list[_Write] = []
        for index, change in enumerate(changes):
            try:
                self._plan(index, change, leads, creates, completes)
            except (ValueError, Permanent) as exc:
                error = exc if isinstance(exc, Permanent) else Permanent(str(exc), code="INVALID")
                out.settle(_Write("", {}, [index]), error)
        for chunk in _chunks([w for w in leads.values() if w.payload], self.settings.batch_size):
            self._send(self._update_leads, chunk, out)
        for chunk in _chunks(creates, self.settings.batch_size):
            self._send(self._create_tasks, chunk, out)
        for chunk in _chunks(completes, self.settings.batch_size):
            self._send(self._complete_tasks, chunk, out)
        for write in leads.values():
            if not write.payload:
                out.settle(write, None)
        unsettled = Transient("change was not sent", code="NOT_SENT")
        return [
            r if r is not None else ChangeResult(c, ok=False, error=unsettled)
            for c, r in zip(changes, out.results, strict=True)
        ]

    # -- planning ---------------------------------------------------------------------------

    def _plan(
        self,
        index: int,
        change: Change,
        leads: dict[str, _Write],
        creates: list[_Write],
        completes: list[_Write],
    ) -> None:
        if isinstance(change, UpdateLead):
            _require(change.lead_id, "lead id")
            write = leads.setdefault(change.lead_id, _Write(change.lead_id, {}))
            # Several updates of one lead in one apply: last value wins per property.
            write.payload.update(self._lead_properties(change))
            write.indexes.append(index)
        elif isinstance(change, CreateTask):
            for value, what in (
                (change.key, "task key"),
                (change.lead_id, "lead id"),
                (change.owner, "task owner"),
                (change.subject, "task subject"),
            ):
                _require(value, what)
            creates.append(_Write(change.key, self._task_input(change), [index]))
        else:
            _require(change.crm_task_id, "HubSpot task id")
            props = {"hs_task_status": "COMPLETED"}
            completes.append(_Write(change.crm_task_id, props, [index]))

    def _lead_properties(self, change: UpdateLead) -> dict[str, str]:
        s = self.settings
        if change.owner is not None and change.pool is not None:
            raise ValueError(f"lead {change.lead_id}: owner and pool are exclusive")
        props: dict[str, str] = {}
        if change.owner is not None:
            props[s.owner_property] = _require(change.owner, "owner id")
        if change.pool is not None:
            # A pooled lead has no owner; an empty string clears a HubSpot property.
            props[s.owner_property] = ""
            props[s.pool_property] = _require(change.pool, "pool name")
        if change.leadpool is not None:
            fields = change.leadpool
            props[s.status_property] = fields.status
            props[s.reason_property] = fields.reason
            # No source (a pooled lead) clears it, as on Salesforce.
            props[s.source_property] = fields.source or ""
            expires = fields.lock_expires
            props[s.lock_expires_property] = "" if expires is None else hubspot_datetime(expires)
        return props

    def _task_input(self, change: CreateTask) -> dict[str, Any]:
        properties = {
            "hs_task_subject": change.subject,
            "hs_task_body": change.description,
            "hs_timestamp": hubspot_datetime(change.due),
            "hubspot_owner_id": change.owner,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": self.settings.task_priority,
            "hs_task_type": "TODO",
        }
        association = {
            "associationCategory": "HUBSPOT_DEFINED",
            "associationTypeId": self.settings.task_association_type_id,
        }
        return {
            "properties": properties,
            "associations": [{"to": {"id": change.lead_id}, "types": [association]}],
        }

    # -- sending ----------------------------------------------------------------------------

    def _send(
        self, send: Callable[[list[_Write], _Outcomes], None], writes: list[_Write], out: _Outcomes
    ) -> None:
        """Send one batch; a whole-batch 4xx is split in halves to isolate the bad inputs."""
        if out.halted is not None:
            for write in writes:
                out.settle(write, out.halted)
            return
        try:
            send(writes, out)
        except Transient as exc:
            out.halted = exc
            for write in writes:
                out.settle(write, exc)
        except Permanent as exc:
            if len(writes) > 1 and exc.code not in _SYSTEMIC_CODES:
                middle = len(writes) // 2
                self._send(send, writes[:middle], out)
                self._send(send, writes[middle:], out)
                return
            for write in writes:
                out.settle(write, exc)

    def _update_leads(self, writes: list[_Write], out: _Outcomes) -> None:
        self._update(writes, out, tasks=False)

    def _complete_tasks(self, writes: list[_Write], out: _Outcomes) -> None:
        self._update(writes, out, tasks=True)

    def _update(self, writes: list[_Write], out: _Outcomes, *, tasks: bool) -> None:
        models = hs_tasks if tasks else hs_objects
        body = models.BatchInputSimplePublicObjectBatchInput(
            inputs=[
                models.SimplePublicObjectBatchInput(id=w.key, properties=w.payload) for w in writes
            ]
        )
        update = (
            self._tasks_batch.update
            if tasks
            else partial(self._objects_batch.update, self.settings.object_type)
        )
        call = partial(update, body, _request_timeout=self.settings.timeout_seconds)
        response = self._caller.run(call, safe_to_repeat=True)
        # A 207 lists the failed ids in errors[].context.ids; every other input was applied:
        # https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-update
        failed: dict[str, Permanent] = {}
        for error in getattr(response, "errors", None) or []:
            for record_id in (error.context or {}).get("ids", []):
                failed[str(record_id)] = Permanent(error.message, code=error.category or "")
        for write in writes:
            out.settle(write, failed.get(write.key))

    def _create_tasks(self, writes: list[_Write], out: _Outcomes) -> None:
        body = hs_tasks.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                hs_tasks.SimplePublicObjectBatchInputForCreate(
                    properties=w.payload["properties"],
                    associations=w.payload["associations"],
                    object_write_trace_id=w.key,
                )
                for w in writes
            ]
        )
        call = partial(
            self._tasks_batch.create, body, _request_timeout=self.settings.timeout_seconds
        )
        response = self._caller.run(call, safe_to_repeat=False)
        # Batch results are not in input order: match on objectWriteTraceId (our task key),
        # falling back on the properties we sent when HubSpot leaves the trace id out.
        results = list(response.results or [])
        by_trace = {r.object_write_trace_id: r for r in results if r.object_write_trace_id}
        loose = [r for r in results if not r.object_write_trace_id]
        errors = "; ".join(e.message for e in getattr(response, "errors", None) or [])
        for write in writes:
            match = by_trace.get(write.key) or _pop_matching(loose, write.payload["properties"])
            if match is not None:
                out.settle(write, None, crm_id=str(match.id))
            else:
                # Not re-sent: the task may exist, and a retry could create a duplicate.
                message = errors or "HubSpot did not confirm the task; not re-sent"
                out.settle(write, Permanent(message, code="TASK_NOT_CONFIRMED"))


def _require(value: str, what: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"empty {what}")
    return value


def _chunks(writes: list[_Write], size: int) -> list[list[_Write]]:
    return [writes[i : i + size] for i in range(0, len(writes), size)]


def _pop_matching(results: list[Any], sent: Mapping[str, str]) -> Any:
    for index, result in enumerate(results):
        got = result.properties or {}
        if all(
            _same(got.get(k), sent[k])
            for k in ("hs_task_subject", "hubspot_owner_id", "hs_timestamp")
        ):
            return results.pop(index)
    return None


def _same(got: str | None, sent: str) -> bool:
    if got == sent:
        return True
    try:
        return got is not None and datetime.fromisoformat(got) == datetime.fromisoformat(sent)
    except ValueError:
        return False
