"""RollingWindowLimiter on a virtual clock: no real waiting, exact timings."""

from __future__ import annotations

import threading

import pytest

from connector.adapters.rate_limit import RollingWindowLimiter


class VirtualTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(limit: int, window: float, time: VirtualTime) -> RollingWindowLimiter:
    return RollingWindowLimiter(limit, window, now=lambda: time.now, sleep=time.sleep)


def test_calls_within_the_limit_do_not_wait() -> None:
    time = VirtualTime()
    gate = limiter(3, 10.0, time)

    assert [gate.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert time.sleeps == []


def test_the_next_call_waits_until_the_oldest_leaves_the_window() -> None:
    time = VirtualTime()
    gate = limiter(2, 10.0, time)
    gate.acquire()
    time.now = 4.0
    gate.acquire()

    assert gate.acquire() == pytest.approx(6.0)  # first call at 0 leaves the window at 10
    assert gate.acquire() == pytest.approx(4.0)  # second call at 4 leaves at 14
    assert time.now == pytest.approx(14.0)


def test_no_window_ever_holds_more_than_the_limit() -> None:
    time = VirtualTime()
    gate = limiter(5, 10.0, time)
    starts = []
    for _ in range(37):
        gate.acquire()
        starts.append(time.now)
        time.now += 0.7  # callers keep coming faster than the quota allows

    assert max(sum(1 for s in starts if t <= s < t + 10.0) for t in starts) == 5


def test_pause_holds_callers_back() -> None:
    time = VirtualTime()
    gate = limiter(10, 10.0, time)
    gate.pause(7.5)

    assert gate.acquire() == pytest.approx(7.5)
    assert gate.acquire() == 0.0


def test_threads_share_the_quota() -> None:
    time = VirtualTime()
    gate = limiter(4, 10.0, time)
    waits: list[float] = []

    def worker() -> None:
        for _ in range(3):
            waits.append(gate.acquire())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 12 calls at 4 per 10 s: four start at 0, four at 10, the last four at 20.
    assert len(waits) == 12
    assert time.now == pytest.approx(20.0)
    assert sum(waits) == pytest.approx(20.0)  # sleeps happen one at a time, under the lock


@pytest.mark.parametrize(("limit", "window"), [(0, 10.0), (5, 0.0)])
def test_bad_settings_are_rejected(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        RollingWindowLimiter(limit, window)
