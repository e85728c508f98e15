"""Timers coming due: lock expiry, the pool escalation ladder, SLA breaches."""

from __future__ import annotations

from datetime import timedelta

import connector.routing.timers as routing_timers
from connector.config.durations import format_duration
from connector.config.routing_models import SlaPolicy
from connector.lifecycle import END_SLA_BREACH, LeadState, TaskKind, TimerKind
from connector.service.actions import apply_decision, manager_of, team_of_lead, update
from connector.service.claims import release
from connector.service.context import LEADPOOL, Tx
from connector.store import journal, timers
from connector.store.rows import LeadRow, TimerRow


def fire(tx: Tx, lead: LeadRow, timer: TimerRow) -> LeadRow:
    """Apply a due timer to its lead; a timer that no longer fits the lead's state does nothing."""
    if timer.kind == TimerKind.LOCK:
        return _lock_expired(tx, lead)
    if timer.kind == TimerKind.ESCALATION:
        return _escalate(tx, lead, int(timer.payload.get("step", lead.escalation_step)))
    if timer.kind == TimerKind.SLA:
        return _sla_breached(tx, lead, timer)
    tx.audit(lead.lead_id, LEADPOOL, "timer_ignored", f"unknown timer kind {timer.kind!r}")
    return lead


def _lock_expired(tx: Tx, lead: LeadRow) -> LeadRow:
    if lead.state != LeadState.CLAIMED or lead.pool is None:
        return lead
    if routing_timers.lock_expiry(contacted=lead.contacted_at is not None) == "keep":
        return lead
    held = format_duration(tx.cfg.claims.lock)
    reason = f"lock expired: {lead.owner} made no contact within {held}; back to {lead.pool}"
    return release(tx, lead, reason)


def _escalate(tx: Tx, lead: LeadRow, step: int) -> LeadRow:
    if lead.state != LeadState.POOLED or lead.pool is None:
        return lead
    state = tx.routing_state(escalation=True)
    decision = routing_timers.escalate(tx.cfg, lead.pool, step, tx.facts(lead), state)
    ladder = tx.cfg.pools[lead.pool].escalation
    if decision.action != "assign" and ladder[step].assign is not None and step + 1 < len(ladder):
        # Nobody could take it now: the lead waits in the pool for the next rung.
        nxt = routing_timers.next_escalation(tx.cfg, lead.pool, lead.pooled_at or tx.now, step + 1)
        if nxt is not None:
            timers.set_timer(
                tx.conn,
                lead.crm,
                lead.lead_id,
                TimerKind.ESCALATION,
                max(nxt[1], tx.now),
                {"pool": lead.pool, "step": nxt[0]},
            )
        reason = f"escalation step {step + 1} found nobody eligible; waiting for the next step"
        tx.audit(lead.lead_id, LEADPOOL, "escalation_waiting", reason, pool=lead.pool, step=step)
        return update(tx, lead, escalation_step=step + 1)
    tx.audit(lead.lead_id, LEADPOOL, "escalated", decision.reason, pool=lead.pool, step=step)
    lead = update(tx, lead, escalation_step=step + 1)
    return apply_decision(tx, lead, decision)


def _sla_breached(tx: Tx, lead: LeadRow, timer: TimerRow) -> LeadRow:
    rep_id = str(timer.payload.get("rep", lead.owner))
    if lead.state != LeadState.ASSIGNED or lead.owner != rep_id or lead.contacted_at is not None:
        return lead
    route = next((r for r in tx.cfg.routes if r.name == lead.route), None)
    policy = tx.cfg.sla_for(route) if route else None
    if policy is None:
        seconds = int(timer.payload.get("within", 0)) or 300
        policy = SlaPolicy(contact_within=timedelta(seconds=seconds))
    team = team_of_lead(tx.cfg, lead)
    journal.end_open_assignment(tx.conn, lead.crm, lead.lead_id, tx.now, END_SLA_BREACH)
    within = format_duration(policy.contact_within)
    tx.audit(
        lead.lead_id,
        LEADPOOL,
        "sla_breached",
        f"{rep_id} did not contact the lead within {within}",
        rep=rep_id,
    )
    if "notify_manager" in policy.on_breach:
        manager = manager_of(tx.cfg, team)
        if manager is not None:
            tx.task(
                lead.lead_id,
                manager.crm_user,
                TaskKind.MANAGER,
                f"SLA breach: {rep_id} did not contact {lead.lead_id} within {within}",
                tx.now,
            )
    if "reassign" not in policy.on_breach:
        return update(tx, lead, sla_due_at=None)
    state = tx.routing_state(exclude=frozenset({rep_id}))
    decision = routing_timers.sla_breach(tx.cfg, policy, tx.facts(lead), rep_id, team, route, state)
    return apply_decision(tx, lead, decision)
