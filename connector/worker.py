"""The worker: drains the outbox, fires due timers, reloads config; one or many per store."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

from connector import metrics
from connector.outbox_flush import FlushReport, OutboxFlusher
from connector.runtime import Runtime
from connector.store import timers

log = logging.getLogger(__name__)


@dataclass
class Pass:
    """What one pass of the worker did."""

    outbox: FlushReport
    timers_fired: int
    config_reloaded: bool


def worker_id() -> str:
    """A name unique to this process (host, pid, random), used on leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs passes until stopped; safe to run several against one PostgreSQL store."""

    def __init__(self, runtime: Runtime, ident: str | None = None) -> None:
        self.runtime = runtime
        self.ident = ident or worker_id()
        self.stop_event = threading.Event()
        self.reload_requested = threading.Event()
        settings = runtime.connector.worker
        self.flusher = OutboxFlusher(
            runtime.engine,
            runtime.adapter,
            runtime.clock,
            worker_id=self.ident,
            batch_size=settings.batch_size,
            lease=settings.lease,
            retry_horizon=settings.retry_horizon,
        )

    def fire_due_timers(self, limit: int = 200) -> int:
        """Fire timers that are due now; returns how many changed a lead."""
        rt = self.runtime
        fired = 0
        while True:
            due = timers.lease_due_timers(
                rt.engine, rt.clock.now(), limit, self.ident, rt.connector.worker.lease
            )
            for timer in due:
                try:
                    outcome = rt.service.fire_timer(timer)
                except Exception:
                    log.exception("timer failed", extra={"lead_id": timer.lead_id})
                    continue
                if outcome.action == "fired":
                    fired += 1
                    metrics.timer_fired(timer.kind)
            if len(due) < limit:
                return fired

    def run_pass(self) -> Pass:
        """Reload config if asked or changed, fire due timers, then flush the outbox."""
        reloaded = self.runtime.config.reload(force=self.reload_requested.is_set())
        self.reload_requested.clear()
        fired = self.fire_due_timers()
        report = self.flusher.flush_all()
        for task in list(self.runtime.background):
            try:
                task()
            except Exception:
                log.exception("background task failed")
        return Pass(report, fired, reloaded)

    def run_forever(self) -> None:
        """Run passes every `worker.poll` until stop() is called."""
        log.info("worker started", extra={"worker": self.ident})
        while not self.stop_event.is_set():
            try:
                self.run_pass()
            except Exception:
                log.exception("worker pass failed; retrying after the poll interval")
            self.stop_event.wait(self.runtime.connector.worker.poll.total_seconds())
        log.info("worker stopped", extra={"worker": self.ident})

    def start_thread(self) -> threading.Thread:
        """Run the worker in a daemon thread (inside `leadpool serve`)."""
        thread = threading.Thread(target=self.run_forever, name="leadpool-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the loop to finish its pass and exit."""
        self.stop_event.set()
