"""The shared inline retry policy (pure: sleeps and jitter are injected)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from connector.adapters.retry import crm_retry, parse_retry_after
from connector.errors import Permanent, Transient


class Flaky:
    """Raises the given errors in turn, then returns 'done'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def run(flaky: Flaky, sleeps: list[float], **kwargs: float) -> str:
    for attempt in crm_retry(sleep=sleeps.append, rng=lambda: 1.0, **kwargs):  # type: ignore[arg-type]
        with attempt:
            return flaky()
    raise AssertionError("unreachable")


def test_transient_failures_are_retried_with_growing_backoff() -> None:
    sleeps: list[float] = []
    flaky = Flaky(Transient("a"), Transient("b"), Transient("c"))

    assert run(flaky, sleeps, max_wait=30, max_attempts=5) == "done"
    assert flaky.calls == 4 and sleeps == [0.5, 1.0, 2.0]


def test_permanent_failures_are_not_retried() -> None:
    sleeps: list[float] = []
    flaky = Flaky(Permanent("bad id"))

    with pytest.raises(Permanent, match="bad id"):
        run(flaky, sleeps)
    assert flaky.calls == 1 and sleeps == []


def test_retry_after_replaces_the_backoff() -> None:
    sleeps: list[float] = []

    assert run(Flaky(Transient("slow down", retry_after=7)), sleeps) == "done"
    assert sleeps == [7.0]


def test_attempts_and_budget_bound_the_retries() -> None:
    sleeps: list[float] = []
    flaky = Flaky(*[Transient(str(n), status=503) for n in range(10)])

    with pytest.raises(Transient, match="2"):
        run(flaky, sleeps, max_wait=30, max_attempts=3)
    assert flaky.calls == 3 and sleeps == [0.5, 1.0]

    sleeps.clear()
    budget = Flaky(*[Transient(str(n)) for n in range(10)])
    with pytest.raises(Transient):
        run(budget, sleeps, max_wait=3.0, max_attempts=10)
    assert sleeps == [0.5, 1.0] and sum(sleeps) <= 3.0  # the next 2.0 s would overrun


def test_bad_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        crm_retry(max_attempts=0)
    with pytest.raises(ValueError, match="max_wait"):
        crm_retry(max_wait=-1)


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 1, 5, 14, 0, 42, tzinfo=UTC), usegmt=True)

    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(later, now=now.timestamp()) == 42.0
    assert parse_retry_after(later, now=now.timestamp() + 100) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
