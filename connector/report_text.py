"""Plain-text rendering of a Report, for `leadpool report` and `leadpool simulate`."""

from __future__ import annotations

from connector.config.routing_models import RoutingConfig
from connector.reporting import Report, percentile


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(values: list[float]) -> str:
    return f"{_fmt(percentile(values, 50))}/{_fmt(percentile(values, 90))}"


def render_report(report: Report, cfg: RoutingConfig) -> str:
    """Per-rep and per-pool tables plus speed percentiles, as fixed-width text."""
    limit = cfg.claims.max_open
    lines = [
        f"leadpool report {report.since:%Y-%m-%d %H:%M} .. {report.until:%Y-%m-%d %H:%M} UTC",
        "",
        "speed (minutes, p50/p90): "
        f"assignment {_p(report.minutes_to_assignment)}  claim {_p(report.minutes_to_claim)}  "
        f"contact {_p(report.minutes_to_contact)}",
        "",
        f"{'rep':<10}{'push':>5}{'claim':>6}{'esc':>5}{'man':>5}{'score':>7}{'pool':>7}"
        f"{'pick':>6}{'rel':>5}{'open':>7}{'claim p50/90':>14}{'contact p50/90':>16}"
        f"{'sla':>5}{'conv':>5}  rejected",
    ]
    for stats in sorted(report.reps.values(), key=lambda s: s.rep):
        pool_mean = sum(stats.pool_scores) / len(stats.pool_scores) if stats.pool_scores else None
        rejected = ", ".join(f"{rule} {n}" for rule, n in sorted(stats.rejections.items())) or "-"
        open_claims = f"{stats.open_claims}/{limit}" if limit else str(stats.open_claims)
        lines.append(
            f"{stats.rep:<10}{stats.pushes:>5}{stats.claims:>6}{stats.escalations:>5}"
            f"{stats.manual:>5}{_fmt(stats.claim_score_mean):>7}{_fmt(pool_mean):>7}"
            f"{_fmt(stats.cherry_pick_index, 2):>6}{stats.releases:>5}{open_claims:>7}"
            f"{_p(stats.minutes_to_claim):>14}{_p(stats.minutes_to_contact):>16}"
            f"{stats.sla_breaches:>5}{stats.conversions:>5}  {rejected}"
        )
    lines += ["", f"{'pool':<16}{'waiting':>8}{'oldest min':>12}{'escalations':>13}"]
    for pool in sorted(report.pools.values(), key=lambda p: p.pool):
        lines.append(
            f"{pool.pool:<16}{pool.waiting:>8}{_fmt(pool.oldest_minutes):>12}{pool.escalations:>13}"
        )
    floor = cfg.claims.min_daily
    if floor is not None:
        behind = ", ".join(f"{rep} {n}" for rep, n, _ in report.under_floor) or "nobody"
        lines += ["", f"under the daily claim floor ({floor.claims}) today: {behind}"]
        if floor.priority_next_day and report.under_floor:
            lines.append("  they go first in tomorrow's escalation assignments")
    lines += ["", "conversion by claim source (held / converted):"]
    for source, (held, converted) in sorted(report.by_source.items()):
        rate = f"{100 * converted / held:.0f}%" if held else "-"
        lines.append(f"  {source:<11}{held:>6}{converted:>6}  {rate}")
    lines.append("")
    lines.append(
        "columns: score = mean claimed score, pool = pool mean at claim time, "
        "pick = cherry-pick index (score/pool), rel = releases, open = open claims/limit"
    )
    return "\n".join(lines)
