"""The `dashboard` blueprint: pool health, speed, fairness per rep, parked writes, timelines."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from connector.dashboard import auth, queries
from connector.dashboard.snapshots import Snapshots
from connector.dashboard.timeline import lead_timeline
from connector.health import runtime
from connector.logs import redact_secrets
from connector.runtime import Runtime
from connector.store import outbox
from connector.store.engine import reading

SNAPSHOTS = "dashboard_snapshots"

dashboard = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)
_OPEN_ENDPOINTS = {"dashboard.login", "dashboard.static"}
_MAX_DAYS = 366
_PARKED_SHOWN = 200
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
)


def install_dashboard(app: Flask, rt: Runtime) -> None:
    """Register the dashboard on app; raises ConfigError when its secrets are missing."""
    settings = rt.connector.dashboard
    access = auth.load_access(settings)
    auth.configure_session(app, settings, access)
    app.extensions["leadpool_dashboard"] = access
    redact_secrets(
        [*access.password_hashes.values(), access.token or "", app.secret_key or ""]  # type: ignore[list-item]
    )
    if not isinstance(rt.extras.get(SNAPSHOTS), Snapshots):
        snapshots = Snapshots()
        rt.extras[SNAPSHOTS] = snapshots

        def refresh() -> None:
            snapshots.refresh(rt)

        rt.background.append(refresh)
    app.register_blueprint(dashboard)


def _access() -> auth.DashboardAccess:
    access = current_app.extensions["leadpool_dashboard"]
    assert isinstance(access, auth.DashboardAccess)
    return access


def _is_api() -> bool:
    return request.path.startswith("/dashboard/api/")


@dashboard.before_request
def _require_sign_in() -> ResponseReturnValue | None:
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    access = _access()
    if not access.enabled:
        return jsonify(error="Unauthorized", message="no dashboard users or token configured"), 401
    if auth.signed_in_user() is not None:
        return None
    if _is_api() and access.check_bearer(request.headers.get("Authorization")):
        return None
    if _is_api() or request.method != "GET":
        return jsonify(error="Unauthorized", message="sign in or send a bearer token"), 401
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


@dashboard.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Only local dashboard paths: a login link must not send the admin elsewhere."""
    default = url_for("dashboard.overview")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard"):
        return default
    return target


@dashboard.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form; a wrong name or password is refused with 401."""
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next_url=next_url, error=None)
    user = request.form.get("username", "")
    password = request.form.get("password", "")
    if not _access().check_password(user, password):
        error = "Wrong user name or password."
        return render_template("login.html", next_url=next_url, error=error), 401
    auth.sign_in(user)
    return redirect(next_url)


@dashboard.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session."""
    auth.require_csrf()
    session.clear()
    return redirect(url_for("dashboard.login"))


def _period() -> tuple[datetime, datetime, int]:
    raw = request.args.get("days", "7")
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_DAYS:
        abort(400, f"days must be a whole number from 1 to {_MAX_DAYS}, got {raw!r}")
    days = int(raw)
    now = runtime().clock.now()
    return queries.default_since(now, days), now, days


def _snapshots() -> Snapshots:
    found = runtime().extras.get(SNAPSHOTS)
    assert isinstance(found, Snapshots)
    return found


def _overview() -> tuple[queries.Overview, int]:
    """The figures for the period asked: the worker's fresh snapshot, or computed now."""
    _since, _now, days = _period()
    snapshots = _snapshots()
    snapshot = snapshots.get(days) or snapshots.compute(runtime(), days)
    return snapshot.view, days


def _chart_data(view: queries.Overview) -> dict[str, Any]:
    labels = [label for _limit, label in queries.AGE_BUCKETS] + [queries.OLDEST_BUCKET]
    return {
        "pools": {
            "names": [p.pool for p in view.pools],
            "buckets": labels,
            "ages": {label: [p.ages.get(label, 0) for p in view.pools] for label in labels},
        },
        "speed": {name: [asdict(d) for d in days] for name, days in view.speed.items()},
        "reps": {
            "names": [r.rep for r in view.reps],
            "pushes": [r.pushes for r in view.reps],
            "claims": [r.claims for r in view.reps],
            "escalations": [r.escalations for r in view.reps],
        },
        "sources": [
            {
                "source": s.source,
                "conversion": s.conversion_rate,
                "contact_p50": s.contact_p50,
            }
            for s in view.sources
        ],
    }


@dashboard.get("/")
def overview() -> ResponseReturnValue:
    """Pool health, speed, the per-rep fairness table and push versus pull."""
    view, days = _overview()
    rt = runtime()
    with reading(rt.engine) as conn:
        recent = queries.recent_leads(conn)
        backlog = outbox.backlog(conn)
    return render_template(
        "overview.html",
        view=view,
        days=days,
        recent=recent,
        backlog=backlog,
        charts=_chart_data(view),
        csrf_token=auth.csrf_token(),
        user=auth.signed_in_user(),
    )


@dashboard.get("/leads/<crm>/<lead_id>")
def timeline(crm: str, lead_id: str) -> ResponseReturnValue:
    """Everything that happened to one lead, with the reasons."""
    with reading(runtime().engine) as conn:
        story = lead_timeline(conn, crm, lead_id)
    if story is None:
        abort(404, f"no lead {lead_id!r} in {crm!r}")
    return render_template(
        "timeline.html", story=story, csrf_token=auth.csrf_token(), user=auth.signed_in_user()
    )


@dashboard.get("/lead")
def find_lead() -> ResponseReturnValue:
    """The search box: go to a lead's timeline by its CRM id."""
    lead_id = request.args.get("id", "").strip()
    crm = request.args.get("crm", str(runtime().adapter.crm)).strip()
    if not lead_id:
        abort(400, "give a lead id")
    return redirect(url_for("dashboard.timeline", crm=crm, lead_id=lead_id))


@dashboard.get("/parked")
def parked() -> ResponseReturnValue:
    """CRM writes parked after a permanent error, with the CRM's message and a retry button."""
    with reading(runtime().engine) as conn:
        rows = outbox.parked_rows(conn, _PARKED_SHOWN)
        backlog = outbox.backlog(conn)
    return render_template(
        "parked.html",
        rows=rows,
        backlog=backlog,
        retried=request.args.get("retried"),
        csrf_token=auth.csrf_token(),
        user=auth.signed_in_user(),
    )


@dashboard.post("/parked/retry")
def retry() -> ResponseReturnValue:
    """Put parked writes (the ids posted, or all) back in the outbox."""
    auth.require_csrf()
    raw_ids = request.form.getlist("id")
    if not raw_ids and request.form.get("all") != "1":
        abort(400, "choose the parked writes to retry (id=...) or all=1")
    if not all(i.isdigit() for i in raw_ids):
        abort(400, f"outbox ids are whole numbers, got {raw_ids!r}")
    _snapshots().clear()
    with runtime().engine.begin() as conn:
        count = outbox.retry_parked(conn, [int(i) for i in raw_ids] if raw_ids else None)
    return redirect(url_for("dashboard.parked", retried=count))


@dashboard.get("/api/overview")
def api_overview() -> ResponseReturnValue:
    """The main page's figures as JSON."""
    view, days = _overview()
    body = asdict(view)
    for rep_json, rep in zip(body["reps"], view.reps, strict=True):
        rep_json.update(
            cherry_pick_index=rep.cherry_pick_index, conversion_rate=rep.conversion_rate
        )
    for source_json, source in zip(body["sources"], view.sources, strict=True):
        source_json["conversion_rate"] = source.conversion_rate
    body["days"] = days
    return jsonify(body)


@dashboard.get("/api/leads/<crm>/<lead_id>")
def api_timeline(crm: str, lead_id: str) -> ResponseReturnValue:
    """One lead's timeline as JSON."""
    with reading(runtime().engine) as conn:
        story = lead_timeline(conn, crm, lead_id)
    if story is None:
        abort(404, f"no lead {lead_id!r} in {crm!r}")
    return jsonify(lead=asdict(story.lead), entries=[asdict(e) for e in story.entries])


@dashboard.get("/api/parked")
def api_parked() -> ResponseReturnValue:
    """Parked CRM writes as JSON."""
    with reading(runtime().engine) as conn:
        rows = outbox.parked_rows(conn, _PARKED_SHOWN)
    return jsonify(parked=[asdict(r) for r in rows])
