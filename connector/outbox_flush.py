"""Flushing the outbox: leased rows become as few CRM calls as the adapter's limits allow."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from connector import metrics
from connector.adapters.base import Change, CompleteTask, CreateTask, CRMAdapter
from connector.adapters.change_codec import decode_change
from connector.clock import Clock
from connector.errors import Permanent, Transient
from connector.store import journal, outbox
from connector.store.engine import reading
from connector.store.rows import OutboxRow

log = logging.getLogger(__name__)
Pending = tuple[OutboxRow, Change]
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=10)


@dataclass
class FlushReport:
    """What one flush round did."""

    applied: int = 0
    retried: int = 0
    parked: int = 0
    calls: int = 0


class OutboxFlusher:
    """Takes due outbox rows under a lease, applies them through the adapter, records results."""

    def __init__(
        self,
        engine: Engine,
        adapter: CRMAdapter,
        clock: Clock,
        *,
        worker_id: str,
        batch_size: int = 200,
        lease: timedelta = timedelta(minutes=2),
        retry_horizon: timedelta = timedelta(hours=24),
    ) -> None:
        self.engine = engine
        self.adapter = adapter
        self.clock = clock
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.lease = lease
        self.retry_horizon = retry_horizon

    def flush_once(self) -> FlushReport:
        """Lease one batch of due rows and apply it; an empty report means nothing was due."""
        report = FlushReport()
        rows = outbox.lease_due(
            self.engine,
            self.adapter.crm,
            self.clock.now(),
            self.batch_size,
            self.worker_id,
            self.lease,
        )
        if not rows:
            return report
        decoded = [(row, decode_change(row.kind, dict(row.payload))) for row in rows]
        ready, later = self._resolve(decoded)
        self._apply(ready, report)
        # Completions of tasks created in this very batch know their CRM id only now.
        if later:
            resolved, unresolved = self._resolve(later)
            self._apply(resolved, report)
            for row, _change in unresolved:
                self._settle_failure(
                    row, Permanent("the task to complete was never created"), report
                )
        return report

    def flush_all(self, max_rounds: int = 10_000) -> FlushReport:
        """Flush until nothing is due (bounded), summing the reports."""
        total = FlushReport()
        for _ in range(max_rounds):
            report = self.flush_once()
            if report.applied + report.retried + report.parked == 0:
                break
            for name in ("applied", "retried", "parked", "calls"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
        return total

    def _resolve(self, pending: list[Pending]) -> tuple[list[Pending], list[Pending]]:
        """Fill in CRM task ids for completions; those whose task has none yet wait."""
        unknown = [c.key for _r, c in pending if isinstance(c, CompleteTask) and not c.crm_task_id]
        task_ids: dict[str, str] = {}
        if unknown:  # most batches hold no completion, and need no read
            with reading(self.engine) as conn:
                for key in unknown:
                    task = journal.get_task(conn, key)
                    if task is not None and task.crm_task_id:
                        task_ids[key] = task.crm_task_id
        ready: list[Pending] = []
        later: list[Pending] = []
        for row, change in pending:
            if isinstance(change, CompleteTask) and not change.crm_task_id:
                if change.key not in task_ids:
                    later.append((row, change))
                    continue
                change = CompleteTask(change.key, task_ids[change.key])
            ready.append((row, change))
        return ready, later

    def _apply(self, batch: list[Pending], report: FlushReport) -> None:
        if not batch:
            return
        calls_before = getattr(self.adapter, "api_calls", 0)
        started = time.perf_counter()
        results = self.adapter.apply([change for _row, change in batch])
        metrics.crm_call(str(self.adapter.crm), time.perf_counter() - started)
        report.calls += getattr(self.adapter, "api_calls", 0) - calls_before
        done: dict[int, str | None] = {}
        with self.engine.begin() as conn:
            for (row, _change), result in zip(batch, results, strict=True):
                if result.ok:
                    done[row.id] = result.crm_id
                    if isinstance(result.change, CreateTask) and result.crm_id:
                        journal.set_task_crm_id(conn, result.change.key, result.crm_id)
            refused = outbox.mark_done(conn, done, self.clock.now(), worker_id=self.worker_id)
        if refused:
            log.warning("outbox lease lost before bookkeeping", extra={"rows": sorted(refused)})
        report.applied += len(done) - len(refused)
        for (row, _change), result in zip(batch, results, strict=True):
            if not result.ok:
                kind = "permanent" if isinstance(result.error, Permanent) else "transient"
                metrics.crm_error(str(self.adapter.crm), kind)
                self._settle_failure(row, result.error or Transient("no result"), report)

    def _settle_failure(self, row: OutboxRow, error: Exception, report: FlushReport) -> None:
        now = self.clock.now()
        message = f"{getattr(error, 'code', '') or type(error).__name__}: {error}"
        with self.engine.begin() as conn:
            if isinstance(error, Transient) and now - row.created_at < self.retry_horizon:
                outbox.reschedule(
                    conn, row.id, self._next_try(row, error, now), message, worker_id=self.worker_id
                )
                report.retried += 1
                return
            if isinstance(error, Transient):
                message = f"gave up after {self.retry_horizon}: {message}"
            outbox.park(conn, row.id, message, now, worker_id=self.worker_id)
            report.parked += 1
        log.warning("CRM change parked", extra={"outbox_id": row.id, "lead_id": row.lead_id})

    @staticmethod
    def _next_try(row: OutboxRow, error: Transient, now: datetime) -> datetime:
        backoff: timedelta = min(BASE_BACKOFF * (2 ** min(row.attempts, 10)), MAX_BACKOFF)
        wait: timedelta = backoff * (0.5 + random.random() / 2)
        if error.retry_after is not None:
            wait = max(wait, timedelta(seconds=error.retry_after))
        return now + wait
