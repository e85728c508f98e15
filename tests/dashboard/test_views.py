"""Dashboard pages and JSON: the figures agree with `leadpool report` over the same history."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from connector.dashboard import queries
from connector.reporting import build_report, percentile
from connector.store.tables import outbox
from tests.dashboard.conftest import TOKEN, Dash

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def _cell(page: str, row_attr: str, figure: str) -> str:
    row = page.split(row_attr, 1)[1].split("</tr>", 1)[0]
    match = re.search(rf'data-figure="{figure}"[^>]*>\s*([^<]*?)\s*<', row)
    assert match, (row_attr, figure)
    return match.group(1)


def test_sql_figures_match_the_report(dash: Dash) -> None:
    h = dash.h
    now = h.clock.now()
    since = now - timedelta(days=7)
    with h.engine.connect() as conn:
        report = build_report(conn, h.cfg, since, now)
        view = queries.overview(conn, h.cfg, since, now)
    reps = {r.rep: r for r in view.reps}
    for name, stats in report.reps.items():
        row = reps[name]
        assert (row.pushes, row.claims, row.escalations, row.releases) == (
            stats.pushes,
            stats.claims,
            stats.escalations,
            stats.releases,
        ), name
        assert (row.sla_breaches, row.conversions, row.rejections) == (
            stats.sla_breaches,
            stats.conversions,
            dict(stats.rejections),
        ), name
        assert row.cherry_pick_index == stats.cherry_pick_index, name
    assert reps["ben"].claim_score_mean == 40.0 and reps["ben"].pool_score_mean == 35.0
    assert reps["dev"].rejections == {"tier": 1}
    pools = {p.pool: p for p in view.pools}
    smb = report.pools["inbound-smb"]
    assert pools["inbound-smb"].waiting == smb.waiting == 2
    assert pools["inbound-smb"].oldest_minutes == smb.oldest_minutes
    assert sum(pools["inbound-smb"].ages.values()) == 2
    assert pools["inbound-smb"].ages == {"15-30m": 2}  # both have waited 28 minutes
    for name, values in (
        ("assignment", report.minutes_to_assignment),
        ("claim", report.minutes_to_claim),
        ("contact", report.minutes_to_contact),
    ):
        (day,) = view.speed[name]
        assert day.n == len(values)
        assert day.p50 == percentile(values, 50)
        assert day.p90 == percentile(values, 90)
    sources = {s.source: (s.held, s.converted) for s in view.sources}
    assert sources == report.by_source
    assert view.leads_total == 4


def test_overview_page_shows_the_figures(dash: Dash) -> None:
    dash.login()
    page = dash.client.get("/dashboard/?days=7").get_data(as_text=True)
    assert _cell(page, 'data-pool="inbound-smb"', "pool-waiting") == "2"
    assert _cell(page, 'data-pool="inbound-smb"', "pool-oldest") == "28.0"
    assert _cell(page, 'data-rep="ben"', "claims") == "1"
    assert _cell(page, 'data-rep="ben"', "cherry") == "1.14"
    assert _cell(page, 'data-rep="ana"', "pushes") == "1"
    assert _cell(page, 'data-rep="dev"', "rejections") == "tier 1"
    assert _cell(page, 'data-source="pull"', "held") == "2"
    assert _cell(page, 'data-source="pull"', "converted") == "1"
    assert 'data-figure="outbox-parked">1<' in page
    assert "chart.umd.js" in page and 'id="chart-data"' in page


def test_bad_period_is_a_clear_400(dash: Dash) -> None:
    for days in ("0", "abc", "9999"):
        reply = dash.client.get(f"/dashboard/api/overview?days={days}", headers=BEARER)
        assert reply.status_code == 400
        assert "days must be a whole number" in reply.get_json()["message"]


def test_api_overview_carries_the_derived_figures(dash: Dash) -> None:
    body = dash.client.get("/dashboard/api/overview", headers=BEARER).get_json()
    ben = next(r for r in body["reps"] if r["rep"] == "ben")
    assert ben["cherry_pick_index"] == 40 / 35
    assert ben["conversion_rate"] == 1.0
    assert body["days"] == 7


def test_timeline_shows_decisions_with_reasons_and_crm_writes(dash: Dash) -> None:
    h = dash.h
    dev_lead = h.lead_ids_in_pool()[0]  # the lead dev tried to claim
    dash.login()
    page = dash.client.get(f"/dashboard/leads/sandbox/{dev_lead}").get_data(as_text=True)
    for entry in h.timeline(dev_lead):
        assert entry.action in page
    assert "queued update_lead" in page and "update_lead done" in page
    body = dash.client.get(f"/dashboard/api/leads/sandbox/{dev_lead}", headers=BEARER).get_json()
    actions = [e["action"] for e in body["entries"]]
    assert actions.index("received") < actions.index("pooled")
    assert body["lead"]["lead_id"] == dev_lead


def test_unknown_lead_is_404(dash: Dash) -> None:
    dash.login()
    assert dash.client.get("/dashboard/leads/sandbox/nope").status_code == 404
    reply = dash.client.get("/dashboard/lead?id=nope")
    assert reply.headers["Location"] == "/dashboard/leads/sandbox/nope"


def test_parked_write_is_shown_and_retried(dash: Dash) -> None:
    dash.login()
    page = dash.client.get("/dashboard/parked").get_data(as_text=True)
    assert "INVALID_CROSS_REFERENCE_KEY: Owner ID: owner cannot be blank" in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    bad = dash.client.post("/dashboard/parked/retry", data={"csrf_token": token, "id": "x1"})
    assert bad.status_code == 400
    reply = dash.client.post(
        "/dashboard/parked/retry", data={"csrf_token": token, "id": str(dash.parked_id)}
    )
    assert reply.headers["Location"] == "/dashboard/parked?retried=1"
    with dash.h.engine.connect() as conn:
        state = conn.scalar(select(outbox.c.state).where(outbox.c.id == dash.parked_id))
    assert state == "pending"
    assert dash.client.get("/dashboard/api/parked", headers=BEARER).get_json() == {"parked": []}
