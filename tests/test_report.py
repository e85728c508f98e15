"""`leadpool report` over a known history: every figure is worked out by hand below."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from connector.report_text import render_report
from connector.reporting import build_report
from tests.service.harness import Harness


@pytest.fixture
def history(engine: Engine) -> Harness:
    h = Harness(engine)  # Monday 15:00 UTC
    hot = h.new_lead(score=86)  # pushed to ana
    b = h.new_lead(score=40)  # pooled, ben claims at +10
    h.new_lead(score=30)  # pooled; dev (tier new) tries and is refused
    d = h.new_lead(score=60)  # pooled; cara claims at +2, lets the lock run out
    h.advance(2)
    h.take(d, "cara")
    h.advance(1)
    h.contact(hot)  # 3 minutes after the push
    h.advance(7)
    h.take(b, "ben")  # waited 10 minutes
    h.take(h.lead_ids_in_pool()[0], "dev")
    h.advance(5)
    h.contact(b)  # 5 minutes after claiming
    h.advance(13)  # 15:28: cara's lock (15:17) has expired
    h.deliver(h.crm.update_fields(b, {"IsConverted": True}))
    return h


def test_report_figures(history: Harness) -> None:
    h = history
    now = h.clock.now()
    with h.engine.connect() as conn:
        report = build_report(conn, h.cfg, now - timedelta(days=7), now)
    ana, ben, cara, dev = (report.reps[r] for r in ("ana", "ben", "cara", "dev"))
    assert (ana.pushes, ana.claims, ana.minutes_to_contact) == (1, 0, [3.0])
    assert (ben.claims, ben.claim_scores, ben.minutes_to_claim, ben.conversions) == (
        1,
        [40.0],
        [10.0],
        1,
    )
    assert ben.pool_scores == [35.0]  # B (40) and C (30) were waiting
    assert (cara.claims, cara.releases, cara.minutes_to_claim) == (1, 1, [2.0])
    assert cara.pool_scores == [pytest.approx(130 / 3)]  # B, C, D waiting
    assert dict(dev.rejections) == {"tier": 1}
    smb = report.pools["inbound-smb"]
    assert (smb.waiting, smb.oldest_minutes, smb.escalations) == (2, 28.0, 0)
    assert sorted(report.minutes_to_assignment) == [0.0, 2.0, 10.0]
    assert sorted(report.minutes_to_claim) == [2.0, 10.0]
    assert sorted(report.minutes_to_contact) == [3.0, 5.0]
    assert report.by_source == {"push": (1, 0), "pull": (2, 1)}
    # floor 5 claims a day; dev's tier may claim nowhere, so dev is not behind
    assert report.under_floor == [
        ("ana", 0, 5),
        ("ben", 1, 5),
        ("cara", 1, 5),
        ("gia", 0, 5),
        ("hugo", 0, 5),
    ]


def test_report_text(history: Harness) -> None:
    h = history
    now = h.clock.now()
    with h.engine.connect() as conn:
        text = render_report(build_report(conn, h.cfg, now - timedelta(days=7), now), h.cfg)
    lines = text.splitlines()
    assert (
        lines[2] == "speed (minutes, p50/p90): assignment 2.0/8.4  claim 6.0/9.2  contact 4.0/4.8"
    )
    rows = {line.split()[0]: line.split() for line in lines[4:13] if line.strip()}
    assert rows["ana"][:4] == ["ana", "1", "0", "0"]
    assert rows["ben"][1:3] == ["0", "1"] and rows["ben"][5:8] == ["40.0", "35.0", "1.14"]
    assert rows["cara"][8] == "1"  # one release
    assert rows["dev"][-2:] == ["tier", "1"]
    assert "inbound-smb            2        28.0            0" in text
    assert "  pull            2     1  50%" in text
    assert "under the daily claim floor (5) today: ana 0, ben 1, cara 1, gia 0, hugo 0" in text
    assert "  they go first in tomorrow's escalation assignments" in text
