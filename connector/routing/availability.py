"""Whether a rep can take a lead right now: active, in office, in hours, under caps."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from connector.config.routing_models import Rep, RoutingConfig
from connector.routing.roster import RepCard, roster
from connector.routing.state import RepLoad


def why_unavailable(cfg: RoutingConfig, rep: Rep, now: datetime, load: RepLoad) -> str | None:
    """Say why the rep cannot take a lead at `now` (None when the rep can)."""
    card = roster(cfg).cards.get(rep.id)
    if card is None or card.rep is not rep:
        card = RepCard(
            rep,
            0,
            rep.hours.zone if rep.hours else ZoneInfo(cfg.timezone),
            rep.hours,
            rep.out_of_office,
        )
    return card_unavailable(card, now, load, {})


def card_unavailable(
    card: RepCard, now: datetime, load: RepLoad, local_times: dict[ZoneInfo, datetime]
) -> str | None:
    """why_unavailable on a parsed rep; `local_times` caches `now` per zone within one decision."""
    rep = card.rep
    if not rep.active:
        return "inactive"
    local = local_times.get(card.zone)
    if local is None:
        local = local_times[card.zone] = now.astimezone(card.zone)
    if card.out_of_office:
        day = local.date()
        for days in card.out_of_office:
            if days.first <= day <= days.last:
                return f"out of office until {days.last.isoformat()}"
    hours = card.hours
    if hours is not None and not (
        local.weekday() in hours.days and hours.start <= local.time() < hours.end
    ):
        return f"outside hours ({hours.text})"
    if rep.daily_cap is not None and load.assigned_today >= rep.daily_cap:
        return f"at daily cap {load.assigned_today}/{rep.daily_cap}"
    if rep.weekly_cap is not None and load.assigned_week >= rep.weekly_cap:
        return f"at weekly cap {load.assigned_week}/{rep.weekly_cap}"
    return None
