"""The inline retry policy every CRM adapter shares: exponential backoff, jitter, Retry-After.

Adapters raise `Transient` for a failed call that is worth repeating (429, 5xx, timeouts,
row locks); `crm_retry` repeats it within a small time budget suitable for a request path,
then lets the last `Transient` through so the outbox can schedule a later attempt.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from connector.errors import Transient

DEFAULT_MAX_WAIT = 30.0
DEFAULT_MAX_ATTEMPTS = 5


class _Backoff:
    """Wait and stop strategy in one: full-jitter exponential backoff under a time budget."""

    def __init__(
        self,
        *,
        max_wait: float,
        max_attempts: int,
        base_delay: float,
        max_delay: float,
        rng: Callable[[], float],
    ) -> None:
        self.max_wait = max_wait
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.rng = rng

    def wait(self, state: RetryCallState) -> float:
        """Seconds to sleep before the next attempt; the server's Retry-After wins."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return max(0.0, float(exc.retry_after))
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (state.attempt_number - 1))
        return ceiling * self.rng()

    def stop(self, state: RetryCallState) -> bool:
        """Stop after max_attempts, or when the next sleep would overrun the time budget."""
        if state.attempt_number >= self.max_attempts:
            return True
        spent = max(state.idle_for, state.seconds_since_start or 0.0)
        return spent + state.upcoming_sleep > self.max_wait


def crm_retry(
    max_wait: float = DEFAULT_MAX_WAIT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    *,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> Retrying:
    """Return a tenacity `Retrying` that repeats `Transient` failures, then re-raises the last.

    `max_wait` bounds the total time (sleeps plus time spent in attempts) one call may take;
    `sleep` and `rng` are injectable so tests run without real waiting.
    Use: `for attempt in crm_retry(...): with attempt: do_call()`.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    if max_wait < 0:
        raise ValueError(f"max_wait must not be negative, got {max_wait}")
    backoff = _Backoff(
        max_wait=max_wait,
        max_attempts=max_attempts,
        base_delay=base_delay,
        max_delay=max_delay,
        rng=rng,
    )
    return Retrying(
        retry=retry_if_exception_type(Transient),
        wait=backoff.wait,
        stop=backoff.stop,
        sleep=sleep,
        reraise=True,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None when absent/bad.

    See https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
