"""Client-side rate limiter that keeps CRM calls under a rolling-window quota."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RollingWindowLimiter:
    """Allow at most `limit` calls in any `window_seconds`; callers block until a slot frees.

    HubSpot counts private-app calls per rolling 10-second window (policy
    `TEN_SECONDLY_ROLLING`, https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details),
    so the limiter keeps the start times of the last `limit` calls rather than a token bucket,
    which could let a burst of 2x the limit into one window. Thread-safe: waiters queue on a lock.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"rate limit must be at least 1 call per window, got {limit}")
        if window_seconds <= 0:
            raise ValueError(f"rate window must be positive, got {window_seconds}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._now = now
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._paused_until = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a call may start, record it, and return how long the caller waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._now()
                while self._starts and self._starts[0] + self.window_seconds <= now:
                    self._starts.popleft()
                delay = self._paused_until - now
                if len(self._starts) >= self.limit:
                    delay = max(delay, self._starts[0] + self.window_seconds - now)
                if delay <= 0:
                    self._starts.append(now)
                    return waited
                self._sleep(delay)
                waited += delay

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (the CRM said it is over its own limit)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._now() + seconds)
