"""Prometheus metrics: routing decisions, claims, CRM calls, webhooks, timers, outbox backlog."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from connector.store import outbox
from connector.store.engine import reading

REGISTRY = CollectorRegistry(auto_describe=True)

DECISIONS = Counter(
    "leadpool_decisions",
    "Routing decisions applied to leads, by route and strategy.",
    ["route", "strategy"],
    registry=REGISTRY,
)
CLAIMS = Counter(
    "leadpool_claims",
    "Claims on pooled leads: accepted, or rejected by the rule that refused them.",
    ["outcome", "rule"],
    registry=REGISTRY,
)
CRM_LATENCY = Histogram(
    "leadpool_crm_call_seconds",
    "Time spent applying one batch of changes to the CRM.",
    ["crm"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
CRM_ERRORS = Counter(
    "leadpool_crm_errors",
    "CRM changes that failed, by CRM and kind (transient, permanent).",
    ["crm", "kind"],
    registry=REGISTRY,
)
WEBHOOK_REJECTIONS = Counter(
    "leadpool_webhook_rejections",
    "Webhook requests refused, by reason.",
    ["reason"],
    registry=REGISTRY,
)
TIMERS_FIRED = Counter(
    "leadpool_timers_fired",
    "Timers (lock expiry, escalation, SLA) that changed a lead, by kind.",
    ["kind"],
    registry=REGISTRY,
)
OUTBOX_PENDING = Gauge(
    "leadpool_outbox_pending", "CRM changes waiting to be written.", registry=REGISTRY
)
OUTBOX_PARKED = Gauge(
    "leadpool_outbox_parked", "CRM changes parked after a permanent error.", registry=REGISTRY
)
OUTBOX_OLDEST_AGE = Gauge(
    "leadpool_outbox_oldest_pending_seconds",
    "Age of the oldest pending CRM change (0 when none).",
    registry=REGISTRY,
)


def decision_applied(route: str | None, strategy: str | None) -> None:
    """Count one applied routing decision."""
    DECISIONS.labels(route=route or "none", strategy=strategy or "none").inc()


def claim_accepted() -> None:
    """Count one accepted claim."""
    CLAIMS.labels(outcome="accepted", rule="").inc()


def claim_rejected(rule: str) -> None:
    """Count one claim refused by `rule`."""
    CLAIMS.labels(outcome="rejected", rule=rule).inc()


def crm_call(crm: str, seconds: float) -> None:
    """Record the duration of one CRM batch call."""
    CRM_LATENCY.labels(crm=crm).observe(seconds)


def crm_error(crm: str, kind: str) -> None:
    """Count one failed CRM change of the given kind."""
    CRM_ERRORS.labels(crm=crm, kind=kind).inc()


def webhook_rejected(reason: str) -> None:
    """Count one refused webhook request (bad signature, stale timestamp, malformed, ...)."""
    WEBHOOK_REJECTIONS.labels(reason=reason).inc()


def timer_fired(kind: str) -> None:
    """Count one timer that changed a lead."""
    TIMERS_FIRED.labels(kind=kind).inc()


metrics = Blueprint("metrics", __name__)


@metrics.get("/metrics")
def scrape() -> Response:
    """The Prometheus text exposition, with the outbox backlog read from the store now."""
    from connector.health import runtime  # the app module imports the service, which imports us

    rt = runtime()
    with reading(rt.engine) as conn:
        backlog = outbox.backlog(conn)
    OUTBOX_PENDING.set(backlog.pending)
    OUTBOX_PARKED.set(backlog.parked)
    oldest = backlog.oldest_pending_at
    OUTBOX_OLDEST_AGE.set(max((rt.clock.now() - oldest).total_seconds(), 0.0) if oldest else 0.0)
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
