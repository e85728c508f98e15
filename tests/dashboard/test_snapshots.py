"""The overview figures are computed by the worker and served while fresh."""

from __future__ import annotations

from connector.dashboard.snapshots import FRESH_SECONDS, REFRESH_SECONDS, Snapshots
from connector.dashboard.views import SNAPSHOTS
from connector.worker import Worker
from tests.dashboard.conftest import Dash


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_worker_keeps_the_figures_fresh_and_pages_serve_them(dash: Dash) -> None:
    runtime = dash.app.extensions["leadpool"]
    ticks = Ticks()
    runtime.extras[SNAPSHOTS] = snapshots = Snapshots(ticks)
    runtime.background[:] = [lambda: snapshots.refresh(runtime) and None]
    assert snapshots.get(7) is None  # nothing computed yet
    Worker(runtime, ident="t").run_pass()  # the worker computes the default period
    first = snapshots.get(7)
    assert first is not None and first.view.leads_total == 4
    assert dash.login() == 302
    assert dash.client.get("/dashboard/api/overview?days=7").get_json()["leads_total"] == 4
    assert snapshots.get(7) is first  # served, not recomputed

    dash.h.new_lead(score=20)  # a fifth lead arrives
    ticks.now += REFRESH_SECONDS - 1
    Worker(runtime, ident="t").run_pass()
    assert snapshots.get(7) is first  # still fresh enough: not recomputed
    ticks.now += 2
    Worker(runtime, ident="t").run_pass()
    second = snapshots.get(7)
    assert second is not None and second is not first and second.view.leads_total == 5


def test_a_request_computes_stale_or_missing_figures_itself(dash: Dash) -> None:
    runtime = dash.app.extensions["leadpool"]
    ticks = Ticks()
    runtime.extras[SNAPSHOTS] = snapshots = Snapshots(ticks)
    assert dash.login() == 302
    assert dash.client.get("/dashboard/api/overview?days=30").status_code == 200
    kept = snapshots.get(30)
    assert kept is not None
    dash.h.new_lead(score=20)
    ticks.now += FRESH_SECONDS + 1  # no worker ran: the figures are too old to serve
    body = dash.client.get("/dashboard/api/overview?days=30").get_json()
    assert body["leads_total"] == 5
    snapshots.clear()
    assert snapshots.get(30) is None
