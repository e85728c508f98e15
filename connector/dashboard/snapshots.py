"""The main page's figures, computed off the request path and served while fresh.

The overview scans every assignment of the period (about a second at 100,000 leads on
SQLite). The worker recomputes the periods people looked at recently, so a page request
almost always finds fresh figures and only renders them; a request that finds none (no
worker in this process, or a period nobody asked for lately) computes them itself once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from connector.dashboard import queries
from connector.runtime import Runtime
from connector.store.engine import reading

FRESH_SECONDS = 60.0  # figures older than this are not served
REFRESH_SECONDS = 30.0  # the worker recomputes figures older than this
WANTED_SECONDS = 900.0  # periods nobody asked for in this long are no longer kept fresh
DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Snapshot:
    """An overview and when (monotonic seconds) and how fast it was computed."""

    view: queries.Overview
    taken: float
    compute_seconds: float


class Snapshots:
    """Overviews by period length (days), shared by requests and the worker thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_days: dict[int, Snapshot] = {}
        self._wanted: dict[int, float] = {DEFAULT_DAYS: clock()}

    def get(self, days: int) -> Snapshot | None:
        """The fresh snapshot for a period, or None; asking keeps the period refreshed."""
        now = self._clock()
        with self._lock:
            self._wanted[days] = now
            found = self._by_days.get(days)
        return found if found is not None and now - found.taken < FRESH_SECONDS else None

    def compute(self, rt: Runtime, days: int) -> Snapshot:
        """Compute a period's overview now and keep it."""
        started = self._clock()
        now = rt.clock.now()
        with reading(rt.engine) as conn:
            view = queries.overview(
                conn, rt.config.routing(), queries.default_since(now, days), now
            )
        snapshot = Snapshot(view, self._clock(), self._clock() - started)
        with self._lock:
            self._by_days[days] = snapshot
        return snapshot

    def refresh(self, rt: Runtime) -> int:
        """Recompute the stale periods people asked for lately; returns how many."""
        now = self._clock()
        with self._lock:
            due = [
                days
                for days, asked in self._wanted.items()
                if now - asked < WANTED_SECONDS
                and (
                    days not in self._by_days or now - self._by_days[days].taken >= REFRESH_SECONDS
                )
            ]
        for days in due:
            self.compute(rt, days)
        return len(due)

    def clear(self) -> None:
        """Forget every snapshot (after a change the page must show at once)."""
        with self._lock:
            self._by_days.clear()
