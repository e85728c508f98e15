"""/healthz (the process is alive) and /readyz (store reachable, config loaded, outbox backlog)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from connector.runtime import Runtime
from connector.store import outbox
from connector.store.engine import reading

health = Blueprint("health", __name__)


def runtime() -> Runtime:
    """The Runtime the app was created with."""
    rt = current_app.extensions["leadpool"]
    assert isinstance(rt, Runtime)
    return rt


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Alive: answers as long as the process serves requests."""
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready: the store answers and the config is loaded; reports the outbox backlog."""
    rt = runtime()
    body: dict[str, object] = {
        "config": {
            "fingerprint": rt.config.config.fingerprint,
            "reload_error": rt.config.last_error,
        },
        "crm": str(rt.adapter.crm),
    }
    try:
        with reading(rt.engine) as conn:
            conn.execute(text("SELECT 1"))
            backlog = outbox.backlog(conn)
    except SQLAlchemyError as exc:
        body.update(status="unavailable", store=f"unreachable: {type(exc).__name__}")
        return jsonify(body), 503
    oldest = backlog.oldest_pending_at
    age = (rt.clock.now() - oldest).total_seconds() if oldest else 0.0
    body.update(
        status="ready",
        store="ok",
        outbox={
            "pending": backlog.pending,
            "parked": backlog.parked,
            "oldest_age_s": round(age, 1),
        },
    )
    return jsonify(body)
