"""Owner changes made in the CRM: claims from a pool view, races, releases, manual sets."""

from __future__ import annotations

from statistics import fmean

import connector.routing.claims as claim_rules
import connector.routing.timers as routing_timers
from connector import metrics
from connector.config.routing_models import Rep
from connector.lifecycle import END_REASSIGNED, END_RELEASED, LeadState, Source, TaskKind, TimerKind
from connector.routing.claims import Accept, ClaimContext, ClaimLead, Reject
from connector.routing.state import RepLoad
from connector.service.actions import clear_hold, close_tasks, to_pool, update
from connector.service.context import LEADPOOL, Tx, same_crm_id
from connector.store import journal, leads, timers
from connector.store.rows import LeadRow

CLAIMABLE = (LeadState.POOLED,)


def owner_changed(
    tx: Tx, lead: LeadRow, new_owner: str | None, changed_by: str | None, stale: bool
) -> LeadRow:
    """React to an owner the CRM reports that differs from the one leadpool expects.

    A stale report (older than the owner leadpool holds) only matters as the losing side of
    a claim race; anything else in it is history and is ignored.
    """
    cfg = tx.cfg
    if stale:
        rep = cfg.rep_by_crm_user(new_owner) if new_owner else None
        racing = lead.state == LeadState.CLAIMED and rep is not None and rep.id != lead.owner
        if not racing or (changed_by is not None and not same_crm_id(changed_by, new_owner)):
            return lead
        assert new_owner is not None and rep is not None
        reason = (
            f"{lead.lead_id} was already claimed by {lead.owner}; {rep.label}'s claim came second"
        )
        return _reject(tx, lead, new_owner, rep, "race", reason)
    back_to_pool = new_owner is None or tx.pool_of_owner(new_owner) is not None
    if back_to_pool:
        if lead.state == LeadState.CLAIMED and lead.pool:
            return release(tx, lead, f"returned to {lead.pool} by {lead.owner}", actor=lead.owner)
        return _restore(tx, lead, None, "only leadpool moves leads into a pool")
    assert new_owner is not None
    rep = cfg.rep_by_crm_user(new_owner)
    by_someone_else = (
        changed_by is not None
        and not same_crm_id(changed_by, new_owner)
        and cfg.rep_by_crm_user(changed_by) is None
    )
    if by_someone_else or (rep is not None and _is_manager(tx, changed_by)):
        return manual(tx, lead, new_owner, rep, changed_by)
    if lead.state in CLAIMABLE:
        return claim(tx, lead, new_owner, rep)
    if lead.state == LeadState.CLAIMED and lead.owner != (rep.id if rep else None):
        who = rep.label if rep else new_owner
        reason = f"{lead.lead_id} was already claimed by {lead.owner}; {who}'s claim came second"
        return _reject(tx, lead, new_owner, rep, "race", reason)
    if rep is None:
        return _restore(tx, lead, new_owner, f"CRM user {new_owner} is not a leadpool rep")
    return manual(tx, lead, new_owner, rep, changed_by)


def _is_manager(tx: Tx, user: str | None) -> bool:
    return user is not None and any(
        same_crm_id(t.manager.crm_user, user) for t in tx.cfg.teams.values()
    )


def claim(tx: Tx, lead: LeadRow, new_owner: str, rep: Rep | None) -> LeadRow:
    """A rep took a pooled lead: check the claim rules, then lock it or undo it."""
    assert lead.pool is not None
    waiting = leads.pool_waiting(tx.conn, lead.crm, lead.pool)
    scores = [w.score for w in waiting if w.score is not None]
    mean = fmean(scores) if scores else None
    load = tx.loads([rep.id])[rep.id] if rep else RepLoad()
    ctx = ClaimContext(
        now=tx.now,
        load=load,
        waiting=[
            ClaimLead(w.lead_id, lead.pool, w.score, w.pooled_at or w.created_at) for w in waiting
        ],
        pool_mean_score=mean,
    )
    this = ClaimLead(lead.lead_id, lead.pool, lead.score, lead.pooled_at or lead.created_at)
    verdict = claim_rules.check_claim(tx.cfg, rep, this, ctx)
    if isinstance(verdict, Reject):
        return _reject(tx, lead, new_owner, rep, verdict.rule, verdict.reason)
    assert rep is not None and isinstance(verdict, Accept)
    expires = routing_timers.lock_expires_at(tx.cfg, tx.now)
    journal.add_assignment(
        tx.conn,
        lead.crm,
        lead.lead_id,
        rep.id,
        Source.PULL,
        tx.now,
        route=lead.route,
        pool=lead.pool,
        score=lead.score,
        pool_mean_score=mean,
    )
    timers.cancel_lead_timers(tx.conn, lead.crm, lead.lead_id)
    timers.set_timer(tx.conn, lead.crm, lead.lead_id, TimerKind.LOCK, expires, {"rep": rep.id})
    reason = f"{verdict.reason}; locked until {expires:%H:%M} UTC unless contacted"
    tx.mark(lead.lead_id, LeadState.CLAIMED, reason, source=Source.PULL, lock_expires=expires)
    tx.task(
        lead.lead_id,
        rep.crm_user,
        TaskKind.CLAIM,
        f"Contact this lead before {expires:%H:%M} UTC or it returns to {lead.pool}",
        expires,
    )
    tx.audit(lead.lead_id, rep.id, "claimed", reason, pool=lead.pool, score=lead.score)
    metrics.claim_accepted()
    return update(
        tx,
        lead,
        state=LeadState.CLAIMED,
        owner=rep.id,
        owner_crm=new_owner,
        owner_at=tx.now,
        source=Source.PULL,
        claimed_at=tx.now,
        lock_expires_at=expires,
    )


def _reject(
    tx: Tx, lead: LeadRow, new_owner: str, rep: Rep | None, rule: str, reason: str
) -> LeadRow:
    """Undo a claim in the CRM (owner restored) and tell the rep why."""
    rep_id = rep.id if rep else new_owner
    journal.add_rejection(tx.conn, lead.crm, lead.lead_id, rep_id, rule, reason, tx.now)
    metrics.claim_rejected(rule)
    tx.audit(lead.lead_id, rep_id, "claim_rejected", reason, rule=rule)
    subject = f"Claim undone ({rule.replace('_', ' ')}): {reason}"[:255]
    tx.task(lead.lead_id, new_owner, TaskKind.NOTICE, subject, tx.now, reason)
    return _restore(tx, lead, new_owner, reason, audit=False)


def _restore(
    tx: Tx, lead: LeadRow, seen_owner: str | None, reason: str, audit: bool = True
) -> LeadRow:
    """Write back the owner leadpool holds for the lead, undoing a CRM-side change."""
    status = lead.state
    if lead.state == LeadState.POOLED and lead.pool:
        tx.mark(lead.lead_id, status, f"claim undone: {reason}", pool=tx.pool_ref(lead.pool))
    elif lead.owner_crm:
        tx.mark(
            lead.lead_id,
            status,
            f"change undone: {reason}",
            owner=lead.owner_crm,
            source=lead.source,
            lock_expires=lead.lock_expires_at,
        )
    if audit:
        tx.audit(lead.lead_id, LEADPOOL, "owner_restored", reason, seen_owner=seen_owner)
    return update(tx, lead, owner_at=tx.now)


def release(tx: Tx, lead: LeadRow, reason: str, actor: str | None = None) -> LeadRow:
    """Send a claimed lead back to its pool (lock expired or the rep let go)."""
    assert lead.pool is not None
    journal.end_open_assignment(tx.conn, lead.crm, lead.lead_id, tx.now, END_RELEASED)
    close_tasks(tx, lead, TaskKind.CLAIM)
    tx.audit(lead.lead_id, actor or LEADPOOL, "released", reason, rep=lead.owner)
    return to_pool(tx, lead, lead.pool, reason, actor or LEADPOOL, keep_age=True)


def manual(
    tx: Tx, lead: LeadRow, new_owner: str, rep: Rep | None, changed_by: str | None
) -> LeadRow:
    """Someone other than the new owner set it by hand: keep it and audit it as manual."""
    by = changed_by or "a CRM user"
    who = rep.label if rep else new_owner
    reason = f"owner set by hand to {who} by {by}: kept as a manual assignment"
    clear_hold(tx, lead, END_REASSIGNED)
    if rep is not None:
        journal.add_assignment(
            tx.conn,
            lead.crm,
            lead.lead_id,
            rep.id,
            Source.MANUAL,
            tx.now,
            pool=lead.pool,
            score=lead.score,
        )
    tx.mark(lead.lead_id, LeadState.ASSIGNED, reason, source=Source.MANUAL)
    tx.audit(lead.lead_id, by, "manual_assignment", reason, rep=rep.id if rep else None)
    return update(
        tx,
        lead,
        state=LeadState.ASSIGNED,
        owner=rep.id if rep else None,
        owner_crm=new_owner,
        owner_at=tx.now,
        source=Source.MANUAL,
        claimed_at=None,
        lock_expires_at=None,
        sla_due_at=None,
    )
