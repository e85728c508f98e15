"""The webhook endpoints: Salesforce Outbound Messages and JSON events, HubSpot webhooks.

Each request is checked in this order, and nothing is stored unless every check passes:
the CRM is the configured one (404), the secret's environment variable is set (500), the
token or Basic credentials (401), the content type (415), the body size (413), the signature
and timestamp (401), the body itself (400; a wrong Salesforce org is 401). The events are then
applied one transaction each and the CRM gets its 2xx only after the last commit; a failing
store answers 503 so the CRM retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from connector import metrics
from connector.config.connector_models import HubSpotSettings, SalesforceSettings
from connector.errors import ConnectorError, MalformedPayload, WebhookRejected
from connector.events import Crm
from connector.health import runtime
from connector.webhooks import hubspot, salesforce
from connector.webhooks.receiver import (
    MissingSecret,
    Tally,
    Unrouted,
    ingest_delivery,
    redact_path,
    secret_from_env,
)
from connector.webhooks.signing import digests_match

log = logging.getLogger(__name__)

webhooks = Blueprint("webhooks", __name__, url_prefix="/webhooks")

SOAP_TYPES = ("text/xml", "application/soap+xml")
JSON_TYPES = ("application/json",)


class Refused(Exception):
    """A request answered with an error status before anything was stored."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Replies:
    """How one endpoint words its answers (SOAP for Outbound Messages, JSON elsewhere)."""

    name: str
    ok: Callable[[Tally], Response]
    error: Callable[[int, str], Response]


def _json_error(status: int, message: str) -> Response:
    response = jsonify(error=HTTPStatus(status).phrase, message=message)
    response.status_code = status
    return response


def _json_ok(tally: Tally) -> Response:
    return jsonify(tally.as_reply())


def _soap_error(status: int, message: str) -> Response:
    # Salesforce shows the faultstring in Setup > Outbound Messages and retries the message.
    code = "Server" if status >= 500 else "Client"
    return Response(salesforce.soap_fault(message, code=code), status, mimetype="text/xml")


def _soap_ok(_tally: Tally) -> Response:
    return Response(salesforce.ACK_RESPONSE, 200, mimetype="text/xml")


OUTBOUND = Replies("salesforce.outbound", _soap_ok, _soap_error)
SF_JSON = Replies("salesforce.events", _json_ok, _json_error)
HUBSPOT = Replies("hubspot", _json_ok, _json_error)


def _handle(replies: Replies, work: Callable[[Tally], None]) -> Response:
    """Run one delivery, turning every failure into the status the CRM should see."""
    started = time.perf_counter()
    tally = Tally()
    try:
        work(tally)
    except Refused as exc:
        return _refused(replies, tally, exc.status, exc.message, started)
    except RequestEntityTooLarge:
        limit = runtime().connector.webhooks.max_body_bytes
        return _refused(replies, tally, 413, f"body exceeds {limit} bytes", started)
    except WebhookRejected as exc:
        return _refused(replies, tally, 401, exc.reason, started)
    except MalformedPayload as exc:
        return _refused(replies, tally, 400, str(exc), started)
    except MissingSecret as exc:
        log.error(str(exc), extra=_fields(replies, tally, 500, started))
        return replies.error(500, "this endpoint is not configured on the leadpool server")
    except (SQLAlchemyError, ConnectorError) as exc:
        # The store (or the CRM, for a lead fetched on first sight) failed: what committed
        # stays committed, and the CRM's retry is deduplicated against it.
        log.exception(
            "webhook delivery failed; the CRM will retry",
            extra=_fields(replies, tally, 503, started, error=type(exc).__name__),
        )
        return replies.error(503, f"temporarily unable to store events ({type(exc).__name__})")
    except Exception as exc:
        log.exception("webhook delivery crashed", extra=_fields(replies, tally, 500, started))
        return replies.error(500, f"internal error ({type(exc).__name__})")
    log.info("webhook accepted", extra=_fields(replies, tally, 200, started))
    return replies.ok(tally)


_REJECTION_KINDS = {
    400: "malformed",
    401: "unauthorized",
    404: "wrong_crm",
    413: "too_large",
    415: "content_type",
    500: "misconfigured",
    503: "store_unavailable",
}


def _refused(replies: Replies, tally: Tally, status: int, reason: str, started: float) -> Response:
    metrics.webhook_rejected(_REJECTION_KINDS.get(status, str(status)))
    log.warning("webhook refused", extra=_fields(replies, tally, status, started, reason=reason))
    return replies.error(status, reason)


def _fields(
    replies: Replies, tally: Tally, status: int, started: float, **more: str
) -> dict[str, object]:
    return {
        "endpoint": replies.name,
        "path": redact_path(request.path),
        "status": status,
        "remote": request.remote_addr,
        "accepted": tally.accepted,
        "duplicates": tally.duplicates,
        "unrouted": tally.unrouted,
        "actions": dict(tally.actions),
        "event_keys": list(tally.event_keys),
        "ms": round((time.perf_counter() - started) * 1000, 1),
        **more,
    }


def _require_crm(crm: Crm) -> None:
    configured = runtime().service.crm
    if configured != crm:
        raise Refused(404, f"this leadpool connects to {configured}, not {crm}")


def _salesforce_settings() -> SalesforceSettings:
    _require_crm(Crm.SALESFORCE)
    settings = runtime().connector.salesforce
    if settings is None:  # the config validator makes crm: salesforce carry this section
        raise Refused(404, "connector.yaml has no salesforce section")
    return settings


def _hubspot_settings() -> HubSpotSettings:
    _require_crm(Crm.HUBSPOT)
    settings = runtime().connector.hubspot
    if settings is None:
        raise Refused(404, "connector.yaml has no hubspot section")
    return settings


def _require_type(allowed: tuple[str, ...]) -> None:
    if request.mimetype not in allowed:
        sent = request.mimetype or "none"
        raise Refused(415, f"Content-Type {sent} not accepted (expected {' or '.join(allowed)})")


def _body() -> bytes:
    """The raw body; Flask raises RequestEntityTooLarge past MAX_CONTENT_LENGTH."""
    return request.get_data(cache=True)


def _check_batch_size(count: int) -> None:
    limit = runtime().connector.webhooks.max_events
    if count > limit:
        raise MalformedPayload(f"batch of {count} events exceeds webhooks.max_events ({limit})")


def _outbound(tally: Tally, settings: SalesforceSettings) -> None:
    _require_type(SOAP_TYPES)
    rt = runtime()
    batch = salesforce.parse_outbound(_body(), settings.org_id, now=rt.clock.now())
    _check_batch_size(len(batch.events) + len(batch.other))
    unrouted = [
        Unrouted(
            other.sobject_type,
            other.record_id,
            other.event_key,
            f"Outbound Message about a {other.sobject_type}; leadpool routes Leads only",
        )
        for other in batch.other
    ]
    ingest_delivery(rt.service, batch.events, unrouted, tally)


@webhooks.post("/salesforce/outbound/<token>")
def salesforce_outbound_token(token: str) -> Response:
    """Outbound Message whose endpoint URL carries the shared token as its last segment."""

    def work(tally: Tally) -> None:
        settings = _salesforce_settings()
        expected = secret_from_env(settings.outbound_token_env, "salesforce.outbound_token_env")
        salesforce.verify_outbound_secret(token, expected)
        _outbound(tally, settings)

    return _handle(OUTBOUND, work)


@webhooks.post("/salesforce/outbound")
def salesforce_outbound_basic() -> Response:
    """Outbound Message authenticated with HTTP Basic credentials (user:password@ in the URL)."""

    def work(tally: Tally) -> None:
        settings = _salesforce_settings()
        if not settings.basic_auth_user_env or not settings.basic_auth_password_env:
            raise WebhookRejected(
                "Basic auth is not enabled (salesforce.basic_auth_user_env / "
                "basic_auth_password_env); use the endpoint URL with the token"
            )
        user = secret_from_env(settings.basic_auth_user_env, "salesforce.basic_auth_user_env")
        password = secret_from_env(
            settings.basic_auth_password_env, "salesforce.basic_auth_password_env"
        )
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise WebhookRejected("missing HTTP Basic credentials")
        # Both compared in full, so the time taken does not tell which one was wrong.
        user_ok = digests_match(user, auth.username or "")
        password_ok = digests_match(password, auth.password or "")
        if not (user_ok and password_ok):
            raise WebhookRejected("wrong HTTP Basic credentials")
        _outbound(tally, settings)

    return _handle(OUTBOUND, work)


@webhooks.post("/salesforce/events")
def salesforce_events() -> Response:
    """Signed JSON lead events from a Flow HTTP callout or Apex (format: webhooks.salesforce)."""

    def work(tally: Tally) -> None:
        settings = _salesforce_settings()
        secret = secret_from_env(settings.events_secret_env, "salesforce.events_secret_env")
        _require_type(JSON_TYPES)
        body = _body()
        rt = runtime()
        salesforce.verify_json_signature(
            secret,
            request.headers.get(salesforce.TIMESTAMP_HEADER),
            request.headers.get(salesforce.SIGNATURE_HEADER),
            body,
            rt.clock.now(),
        )
        events = salesforce.parse_json_events(body)
        _check_batch_size(len(events))
        ingest_delivery(rt.service, events, (), tally)

    return _handle(SF_JSON, work)


@webhooks.post("/hubspot")
def hubspot_webhook() -> Response:
    """HubSpot app webhooks (v3 signature); contacts and leads are routed, the rest audited."""

    def work(tally: Tally) -> None:
        settings = _hubspot_settings()
        secret = secret_from_env(settings.client_secret_env, "hubspot.client_secret_env")
        _require_type(JSON_TYPES)
        body = _body()
        rt = runtime()
        hubspot.verify_v3(
            secret,
            request.method,
            _public_uri(settings),
            body,
            request.headers.get(hubspot.TIMESTAMP_HEADER),
            request.headers.get(hubspot.SIGNATURE_HEADER),
            rt.clock.now(),
        )
        batch = hubspot.parse_batch(body)
        _check_batch_size(len(batch.events) + len(batch.other))
        unrouted = [
            Unrouted(
                f"hubspot:{other.object_type_id or other.event_type.partition('.')[0]}",
                other.object_id or "-",
                other.event_key,
                f"HubSpot {other.event_type} event; leadpool routes contact and lead "
                "creations and property changes only",
            )
            for other in batch.other
        ]
        ingest_delivery(rt.service, batch.events, unrouted, tally)

    return _handle(HUBSPOT, work)


def _public_uri(settings: HubSpotSettings) -> str:
    """The URL HubSpot called: it signs the public URL, not what a proxy forwards to us."""
    uri = settings.public_base_url.rstrip("/") + request.path
    query = request.query_string.decode("latin-1")
    return f"{uri}?{query}" if query else uri
