"""A fake Salesforce over TLS on 127.0.0.1: REST data API, composite, SOQL, logins, faults.

It speaks the REST shapes simple-salesforce and leadpool use (sObject rows, sObject
Collections, Composite, Query, Limits), the SOAP partner login and the OAuth JWT bearer
token endpoint. State lives in `SalesforceOrg`; this module adds HTTP, sessions, request
recording and fault injection. Faults apply to REST data requests, never to logins.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import requests
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.fakecrm.salesforce_login import (
    LOGIN_HOSTS,
    ORG_ID,
    json_response,
    oauth_token,
    soap_login,
)
from tests.fakecrm.salesforce_metadata import MetadataEndpoint
from tests.fakecrm.salesforce_org import ApiError, RecordError, SalesforceOrg
from tests.fakecrm.tls import ThrowawayCA, trusting_session

DEFAULT_FAULT_BODIES = {
    429: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId."),
    503: ("SERVER_UNAVAILABLE", "Service temporarily unavailable, please retry."),
}
COMPOSITE_LIMIT = 25
COMPOSITE_COLLECTION_LIMIT = 5


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def auto_assign_false(self) -> bool:
        """Whether the request carried `Sforce-Auto-Assign: FALSE`."""
        return self.headers.get("Sforce-Auto-Assign", "").strip().upper() == "FALSE"


@dataclass
class _Faults:
    queue: list[tuple[int, Any, float | None]] = field(default_factory=list)
    until: float = 0.0
    until_status: int = 503
    every: int = 0
    every_status: int = 503
    latency: float = 0.0
    timeouts: int = 0


class FakeSalesforce:
    """The fake server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        ca: ThrowawayCA,
        *,
        api_version: str = "59.0",
        extra_lead_fields: set[str] | None = None,
        leadpool_fields: bool = True,
        timeout_hold: float = 5.0,
    ) -> None:
        self.ca = ca
        self.api_version = api_version
        self.org = SalesforceOrg(api_version, extra_lead_fields, leadpool_fields=leadpool_fields)
        self.metadata = MetadataEndpoint(lambda sobject, name: self.org.fields[sobject].add(name))
        self.requests: list[RecordedRequest] = []
        self.timeout_hold = timeout_hold
        self._faults = _Faults()
        self._sessions: set[str] = set()
        self._passwords: dict[str, tuple[str, str]] = {}
        self._jwt_apps: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._data_count = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSalesforce:
        """Serve on a free port in a background thread."""
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, ssl_context=self.ca.server_context()
        )
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests and shut the server down."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSalesforce:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """https://127.0.0.1:PORT"""
        assert self._server is not None, "server not started"
        return f"https://127.0.0.1:{self._server.server_port}"

    def session(self) -> requests.Session:
        """A requests.Session that trusts the fake and sends login hosts to it."""
        return trusting_session(self.ca, {host: self.base_url for host in LOGIN_HOSTS})

    # -- seeding -------------------------------------------------------------------------------
    def add_user(
        self,
        name: str,
        email: str,
        *,
        username: str | None = None,
        password: str | None = None,
        security_token: str = "",
        active: bool = True,
    ) -> str:
        """Create a User; with a password it can log in through SOAP."""
        username = username or email
        user_id = self.org.insert(
            "User",
            {"Name": name, "Email": email, "Username": username, "IsActive": active,
             "UserType": "Standard"},
        )  # fmt: skip
        if password is not None:
            self._passwords[username] = (password, security_token)
        return user_id

    def add_queue(self, developer_name: str, name: str | None = None) -> str:
        """Create a Lead queue (Group Type='Queue')."""
        return self.org.insert(
            "Group",
            {"DeveloperName": developer_name, "Name": name or developer_name, "Type": "Queue"},
        )

    def add_lead(self, **fields: Any) -> str:
        """Create a Lead directly in the org."""
        return self.org.insert("Lead", {"LastName": "Lead", "Company": "Acme", **fields})

    def record(self, sobject: str, record_id: str) -> dict[str, Any]:
        """The stored fields of one record."""
        return dict(self.org.objects[sobject][record_id])

    def register_jwt_app(self, consumer_key: str, public_key_pem: bytes) -> None:
        """Accept JWT bearer assertions signed for this connected app."""
        self._jwt_apps[consumer_key] = public_key_pem

    def issue_session(self) -> str:
        """A valid session id, as if obtained elsewhere (session-id auth mode)."""
        token = f"{ORG_ID[:15]}!AQ{secrets.token_urlsafe(24)}"
        with self._lock:
            self._sessions.add(token)
        return token

    # -- faults --------------------------------------------------------------------------------
    def fail_next(
        self, n: int, status: int, body: Any = None, retry_after: float | None = None
    ) -> None:
        """The next n data requests fail with status (and body / Retry-After)."""
        with self._lock:
            self._faults.queue.extend([(status, body, retry_after)] * n)

    def fail_for(self, seconds: float, status: int) -> None:
        """Every data request fails with status for the next `seconds`."""
        with self._lock:
            self._faults.until = time.monotonic() + seconds
            self._faults.until_status = status

    def fail_every(self, k: int, status: int) -> None:
        """Every k-th data request fails with status (0 turns it off)."""
        with self._lock:
            self._faults.every, self._faults.every_status = k, status

    def latency(self, seconds: float) -> None:
        """Delay every data response."""
        self._faults.latency = seconds

    def record_errors(self, errors: dict[str, str]) -> None:
        """Make writes to these record ids fail with the given errorCode (replaces the map)."""
        with self.org.lock:
            self.org.record_errors = dict(errors)

    def expire_sessions(self) -> None:
        """Every session issued so far becomes invalid (401 INVALID_SESSION_ID)."""
        with self._lock:
            self._sessions.clear()

    def timeout_next(self, n: int) -> None:
        """The next n data requests hang (until stop or timeout_hold) and change nothing."""
        with self._lock:
            self._faults.timeouts += n

    # -- inspection ------------------------------------------------------------------------------
    def data_requests(self) -> list[RecordedRequest]:
        """Recorded requests to /services/data."""
        return [r for r in self.requests if r.path.startswith("/services/data/")]

    def writes(self) -> list[RecordedRequest]:
        """Recorded data requests that may change records."""
        return [r for r in self.data_requests() if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # -- HTTP --------------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        try:
            body: Any = json.loads(raw) if raw and request.mimetype == "application/json" else None
        except ValueError:
            body = raw.decode(errors="replace")
        if body is None and raw:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    request.method, request.path, dict(request.args.items()),
                    dict(request.headers.items()), body,
                )
            )  # fmt: skip
        response = self._dispatch(request, body)
        return response(environ, start_response)

    def _dispatch(self, request: Request, body: Any) -> Response:
        path = request.path
        if path == f"/services/Soap/u/{self.api_version}" and request.method == "POST":
            server_url = f"{self.base_url}/services/Soap/u/{self.api_version}/{ORG_ID}"
            return soap_login(request.get_data(), self._passwords, self.issue_session, server_url)
        if path.rstrip("/") == f"/services/Soap/m/{self.api_version}":
            return self.metadata.handle(request.get_data(), self._session_valid)
        if path == "/services/oauth2/token" and request.method == "POST":
            usernames = {str(u.get("Username")) for u in self.org.objects["User"].values()}
            return oauth_token(
                request.get_data(as_text=True),
                self._jwt_apps,
                usernames,
                self.issue_session,
                self.base_url,
            )
        prefix = f"/services/data/v{self.api_version}/"
        if not path.startswith(prefix):
            return json_response(
                404,
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            )
        auth = request.headers.get("Authorization", "")
        if not (auth.startswith("Bearer ") and self._session_valid(auth[7:])):
            return json_response(
                401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        fault = self._take_fault()
        if fault is not None:
            return fault
        status, payload = self._data(request.method, path[len(prefix) :], dict(request.args), body)
        return json_response(status, payload)

    def _session_valid(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._sessions

    def _take_fault(self) -> Response | None:
        with self._lock:
            self._data_count += 1
            f = self._faults
            hang = f.timeouts > 0
            f.timeouts -= 1 if hang else 0
            picked: tuple[int, Any, float | None] | None = None
            if f.queue:
                picked = f.queue.pop(0)
            elif time.monotonic() < f.until:
                picked = (f.until_status, None, None)
            elif f.every and self._data_count % f.every == 0:
                picked = (f.every_status, None, None)
        if hang:
            self._release.wait(self.timeout_hold)
            return json_response(503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "timed out"}])
        if f.latency:
            time.sleep(f.latency)
        if picked is None:
            return None
        status, body, retry_after = picked
        if body is None:
            code, message = DEFAULT_FAULT_BODIES.get(status, ("UNKNOWN_EXCEPTION", "error"))
            body = [{"message": message, "errorCode": code}]
        response = json_response(status, body)
        if retry_after is not None:
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    def _data(self, method: str, rest: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """Route one data API request (also used for composite subrequests)."""
        parts = [p for p in rest.split("?")[0].split("/") if p]
        try:
            if parts == ["limits"] and method == "GET":
                return 200, self._limits()
            if parts == ["query"] and method == "GET":
                return 200, self.org.query(query.get("q", ""))
            if len(parts) == 2 and parts[0] == "query" and method == "GET":
                return 200, self.org.query_more(parts[1])
            if parts == ["composite", "sobjects"] and method in ("PATCH", "POST"):
                return 200, self.org.collection(method, body)
            if parts == ["composite"] and method == "POST":
                return 200, self._composite(body)
            if len(parts) == 2 and parts[0] == "sobjects" and method == "POST":
                new_id = self.org.create(parts[1], _object(body))
                return 201, {"id": new_id, "success": True, "errors": []}
            if len(parts) == 3 and parts[0] == "sobjects" and method == "GET":
                return 200, self.org.get(parts[1], parts[2])
            if len(parts) == 3 and parts[0] == "sobjects" and method == "PATCH":
                if parts[2] not in self.org.objects.get(parts[1], {}):
                    raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
                self.org.update(parts[1], parts[2], _object(body))
                return 204, None
        except ApiError as err:
            return err.status, err.body
        except RecordError as err:
            return 400, [
                {"message": err.message, "errorCode": err.code, "fields": list(err.fields)}
            ]
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    def _composite(self, body: Any) -> dict[str, Any]:
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
        collections = sum(1 for s in subrequests if "/composite/sobjects" in str(s.get("url")))
        if len(subrequests) > COMPOSITE_LIMIT or collections > COMPOSITE_COLLECTION_LIMIT:
            raise ApiError(400, "LIMIT_EXCEEDED", "Composite subrequest limit exceeded")
        all_or_none = bool(body.get("allOrNone", False))
        snapshot = self.org.snapshot() if all_or_none else None
        prefix = f"/services/data/v{self.api_version}/"
        out = []
        for sub in subrequests:
            url = str(sub.get("url", ""))
            if not url.startswith(prefix):
                status, payload = 400, [{"errorCode": "INVALID_API_VERSION", "message": url}]
            else:
                path, _, qs = url[len(prefix) :].partition("?")
                query = {k: v[0] for k, v in parse_qs(qs).items()}
                status, payload = self._data(str(sub.get("method")), path, query, sub.get("body"))
            out.append({"body": payload, "httpHeaders": {}, "httpStatusCode": status,
                        "referenceId": sub.get("referenceId")})  # fmt: skip
        if snapshot is not None and any(r["httpStatusCode"] >= 400 for r in out):
            self.org.restore(snapshot)
            halted = [{"errorCode": "PROCESSING_HALTED",
                       "message": "The transaction was rolled back since another operation in "
                                  "the same transaction failed."}]  # fmt: skip
            for r in out:
                if r["httpStatusCode"] < 400:
                    r.update(body=halted, httpStatusCode=400)
        return {"compositeResponse": out}

    def _limits(self) -> dict[str, Any]:
        used = self._data_count
        return {
            "DailyApiRequests": {"Max": 100000, "Remaining": 100000 - used},
            "ConcurrentPerOrgLongTxn": {"Max": 10, "Remaining": 10},
        }


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "request body must be a JSON object")
    return body


@contextmanager
def running_fake_salesforce(ca: ThrowawayCA, **kwargs: Any) -> Iterator[FakeSalesforce]:
    """Start a FakeSalesforce on a free port for the duration of the block."""
    fake = FakeSalesforce(ca, **kwargs)
    with fake:
        yield fake
