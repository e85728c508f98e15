"""Speed percentiles ranked in SQL equal `reporting.percentile` over the same minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from connector.dashboard.speed import interpolate, ranks_needed, speed_and_contact_by_source
from connector.reporting import percentile
from connector.store.tables import assignments

DAY = datetime(2026, 1, 12, tzinfo=UTC)

# minutes to contact per (day offset, source); ties, a one-value day, negatives left out
CONTACT = {
    (0, "push"): [3.0, 3.0, 3.0, 7.5],
    (0, "pull"): [3.0, 12.25, 0.0],
    (1, "pull"): [42.0],
    (2, "push"): [5.0, 5.0],
    (2, "escalation"): [1.0, 9.0, 4.0, 4.0, 16.0, 2.5, 30.0],
    (3, "manual"): [-2.0, 6.0],
}


def _rows() -> list[dict[str, object]]:
    rows = []
    for (day, source), minutes in CONTACT.items():
        for i, m in enumerate(minutes):
            at = DAY + timedelta(days=day, hours=9, minutes=i)
            rows.append(
                {
                    "crm": "sandbox",
                    "lead_id": f"L{day}{source}{i}",
                    "rep": "ana",
                    "source": source,
                    "at": at,
                    "contacted_at": at + timedelta(minutes=m),
                }
            )
    return rows


def test_contact_spreads_equal_the_report_percentiles(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(assignments), _rows())
    with engine.connect() as conn:
        speed, by_source = speed_and_contact_by_source(conn, DAY - timedelta(days=1))
    by_day: dict[str, list[float]] = {}
    by_src: dict[str, list[float]] = {}
    for (day, source), minutes in CONTACT.items():
        kept = [m for m in minutes if m >= 0]
        by_day.setdefault((DAY + timedelta(days=day)).date().isoformat(), []).extend(kept)
        by_src.setdefault(source, []).extend(kept)
    assert [d.day for d in speed["contact"]] == sorted(by_day)
    for day in speed["contact"]:
        values = by_day[day.day]
        assert (day.n, day.p50, day.p90) == (
            len(values),
            percentile(values, 50),
            percentile(values, 90),
        ), day.day
    assert speed["contact"][1].n == 1 and speed["contact"][1].p90 == 42.0
    assert set(by_source) == set(by_src)
    for source, spread in by_source.items():
        values = by_src[source]
        assert (spread.n, spread.p50, spread.p90) == (
            len(values),
            percentile(values, 50),
            percentile(values, 90),
        ), source
    assert speed["assignment"] == [] and speed["claim"] == []


@given(st.lists(st.integers(min_value=0, max_value=50).map(lambda m: m / 4), min_size=1))
def test_interpolation_from_the_needed_ranks_is_percentile(values: list[float]) -> None:
    ordered = sorted(values)
    ranked = {r: ordered[r] for r in ranks_needed(len(ordered)) if r < len(ordered)}
    for q in (50, 90):
        assert interpolate(len(ordered), ranked, q) == percentile(values, q)


def test_no_values_give_no_percentile() -> None:
    assert interpolate(0, {}, 50) is None
