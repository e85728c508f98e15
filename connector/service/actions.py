"""Applying routing decisions to a lead: new state, assignment history, CRM writes, timers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import connector.routing.timers as routing_timers
from connector import metrics
from connector.adapters.base import CompleteTask
from connector.config.durations import format_duration
from connector.config.routing_models import Manager, RoutingConfig, SlaPolicy
from connector.lifecycle import END_REASSIGNED, LeadState, Source, TaskKind, TimerKind
from connector.routing.state import Decision
from connector.service.context import LEADPOOL, Tx
from connector.store import journal, leads, timers
from connector.store.rows import LeadRow

UNSAVED = 0  # the version of a lead row not yet inserted


def update(tx: Tx, lead: LeadRow, **values: Any) -> LeadRow:
    """Compare-and-set the lead row (ConcurrentUpdate makes the service retry the event).

    A lead seen for the first time (version 0) is inserted with its first decision applied,
    which saves a write on the busiest path.
    """
    if lead.version == UNSAVED:
        row = replace(lead, **values, version=1, updated_at=tx.now)
        leads.insert_lead(tx.conn, row)
        return row
    return leads.cas_update_lead(tx.conn, lead.crm, lead.lead_id, lead.version, **values)


def manager_of(cfg: RoutingConfig, team: str | None) -> Manager | None:
    """The manager of a team, or of the first team that has one."""
    if team and team in cfg.teams:
        return cfg.teams[team].manager
    return next((t.manager for t in cfg.teams.values()), None)


def team_of_lead(cfg: RoutingConfig, lead: LeadRow) -> str | None:
    """The team accountable for a lead: its pool's team, or its owner's first team."""
    if lead.pool and lead.pool in cfg.pools:
        pool = cfg.pools[lead.pool]
        if pool.team or pool.members.teams:
            return pool.team or pool.members.teams[0]
    rep = cfg.rep(lead.owner) if lead.owner else None
    return rep.teams[0] if rep and rep.teams else None


def close_tasks(tx: Tx, lead: LeadRow, *kinds: TaskKind) -> None:
    """Complete leadpool's open tasks of these kinds on the lead."""
    for task in journal.open_tasks(tx.conn, lead.crm, lead.lead_id):
        if task.kind in kinds:
            journal.close_task(tx.conn, task.key)
            tx.write(CompleteTask(task.key, task.crm_task_id or ""), lead.lead_id)


def clear_hold(tx: Tx, lead: LeadRow, end_reason: str | None) -> None:
    """Drop what the lead's previous hold left: timers, open SLA/claim tasks, the assignment."""
    if lead.state == LeadState.NEW:  # nothing was ever set for a lead seen for the first time
        return
    if end_reason is not None:
        journal.end_open_assignment(tx.conn, lead.crm, lead.lead_id, tx.now, end_reason)
    close_tasks(tx, lead, TaskKind.SLA, TaskKind.CLAIM)
    timers.cancel_lead_timers(tx.conn, lead.crm, lead.lead_id)


def apply_decision(tx: Tx, lead: LeadRow, decision: Decision, actor: str = LEADPOOL) -> LeadRow:
    """Carry out an assign / pool / manager decision and record why."""
    metrics.decision_applied(decision.route, decision.strategy or decision.action)
    tx.save_rotations(decision.rotation_updates)
    if decision.action == "assign" and decision.rep:
        return assign(tx, lead, decision.rep, decision, actor)
    if decision.action == "pool" and decision.pool:
        return to_pool(tx, lead, decision.pool, decision.reason, actor, route=decision.route)
    return to_manager(tx, lead, decision.team, decision.reason, actor)


def assign(tx: Tx, lead: LeadRow, rep_id: str, decision: Decision, actor: str) -> LeadRow:
    """Give the lead to a rep (push, account, escalation or manual), with its SLA if any."""
    rep = tx.cfg.rep(rep_id)
    assert rep is not None, f"decision names unknown rep {rep_id}"
    source = decision.source or Source.PUSH
    clear_hold(tx, lead, END_REASSIGNED)
    journal.add_assignment(
        tx.conn,
        lead.crm,
        lead.lead_id,
        rep.id,
        source,
        tx.now,
        route=decision.route,
        pool=lead.pool,
        score=lead.score,
    )
    sla_due = _start_sla(tx, lead, rep.crm_user, rep.id, decision.sla, decision.route)
    tx.mark(lead.lead_id, LeadState.ASSIGNED, decision.reason, owner=rep.crm_user, source=source)
    tx.audit(
        lead.lead_id,
        actor,
        "assigned",
        decision.reason,
        rep=rep.id,
        source=source,
        route=decision.route,
        strategy=decision.strategy,
        skipped=[[s.rep, s.why] for s in decision.skipped],
    )
    return update(
        tx,
        lead,
        state=LeadState.ASSIGNED,
        owner=rep.id,
        owner_crm=rep.crm_user,
        owner_at=tx.now,
        source=source,
        route=decision.route or lead.route,
        routed_at=tx.now,
        claimed_at=None,
        lock_expires_at=None,
        sla_due_at=sla_due,
    )


def _start_sla(
    tx: Tx, lead: LeadRow, user: str, rep_id: str, policy: SlaPolicy | None, route: str | None
) -> datetime | None:
    if policy is None:
        return None
    due = routing_timers.sla_due_at(policy, tx.now)
    within = format_duration(policy.contact_within)
    subject = policy.task_subject.format(within=within)
    tx.task(
        lead.lead_id, user, TaskKind.SLA, subject, due, f"leadpool SLA: contact by {due:%H:%M} UTC"
    )
    payload = {"rep": rep_id, "route": route, "within": int(policy.contact_within.total_seconds())}
    timers.set_timer(tx.conn, lead.crm, lead.lead_id, TimerKind.SLA, due, payload)
    return due


def to_pool(
    tx: Tx,
    lead: LeadRow,
    pool: str,
    reason: str,
    actor: str,
    *,
    route: str | None = None,
    keep_age: bool = False,
) -> LeadRow:
    """Put the lead in a pool (owner = the pool's queue) and start its escalation ladder."""
    pooled_at = lead.pooled_at if keep_age and lead.pooled_at else tx.now
    steps_done = lead.escalation_step if keep_age else 0
    clear_hold(tx, lead, None)
    nxt = routing_timers.next_escalation(tx.cfg, pool, pooled_at, steps_done)
    if nxt is not None:
        step, due = nxt
        timers.set_timer(
            tx.conn,
            lead.crm,
            lead.lead_id,
            TimerKind.ESCALATION,
            max(due, tx.now),
            {"pool": pool, "step": step},
        )
    tx.mark(lead.lead_id, LeadState.POOLED, reason, pool=tx.pool_ref(pool))
    tx.audit(lead.lead_id, actor, "pooled", reason, pool=pool)
    return update(
        tx,
        lead,
        state=LeadState.POOLED,
        owner=None,
        owner_crm=tx.pool_owner(pool),
        owner_at=tx.now,
        pool=pool,
        pooled_at=pooled_at,
        escalation_step=steps_done,
        route=route or lead.route,
        routed_at=lead.routed_at or tx.now,
        claimed_at=None,
        lock_expires_at=None,
        sla_due_at=None,
        source=None,
    )


def to_manager(tx: Tx, lead: LeadRow, team: str | None, reason: str, actor: str) -> LeadRow:
    """Hand the lead to a manager for review, with a task saying why."""
    manager = manager_of(tx.cfg, team)
    clear_hold(tx, lead, END_REASSIGNED)
    owner_crm = manager.crm_user if manager else lead.owner_crm
    if manager is not None:
        tx.mark(lead.lead_id, LeadState.MANAGER_REVIEW, reason, owner=manager.crm_user)
        tx.task(
            lead.lead_id,
            manager.crm_user,
            TaskKind.MANAGER,
            f"Review lead: {reason}"[:255],
            tx.now,
            reason,
        )
    else:
        tx.mark(lead.lead_id, LeadState.MANAGER_REVIEW, reason)
    tx.audit(
        lead.lead_id,
        actor,
        "manager_review",
        reason,
        team=team,
        manager=manager.name if manager else None,
    )
    return update(
        tx,
        lead,
        state=LeadState.MANAGER_REVIEW,
        owner=None,
        owner_crm=owner_crm,
        owner_at=tx.now,
        routed_at=lead.routed_at or tx.now,
        claimed_at=None,
        lock_expires_at=None,
        sla_due_at=None,
    )
