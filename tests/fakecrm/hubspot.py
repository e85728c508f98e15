"""A fake HubSpot API on 127.0.0.1 that checks every request against HubSpot's OpenAPI specs.

hubspot-api-client talks to it over real HTTP (`HubSpot(access_token=..., host=fake.url)`).
Requests are checked (path, query, JSON body) with openapi-core against the published specs in
hubspot_openapi/; the fake's own answers are checked too and collected in `response_problems`.
Faults (errors, Retry-After, latency, hangs, rate limits) are injected per call.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.fakecrm.hubspot_portal import OBJECT_TYPES, HubSpotError, Portal, error_body

SPEC_DIR = Path(__file__).with_name("hubspot_openapi")
PUBLIC_HOST = "https://api.hubapi.com"
_SPEC_FOR = [
    (re.compile(r"^/crm/v3/objects/(contacts|0-1)(/|$)"), "contacts.json"),
    (re.compile(r"^/crm/v3/objects/(leads|0-136)(/|$)"), "leads.json"),
    (re.compile(r"^/crm/v3/objects/(tasks|0-27)(/|$)"), "tasks.json"),
    (re.compile(r"^/crm/v3/owners(/|$)"), "owners.json"),
    (re.compile(r"^/crm/v3/properties/"), "properties.json"),
]
_OBJ = r"/crm/v3/objects/(?P<type>contacts|0-1|leads|0-136|tasks|0-27)"
_PROP = r"/crm/v3/properties/(?P<type>contacts|leads|tasks)"


@functools.cache
def load_spec(name: str) -> OpenAPI:
    """Load one published spec; the fake checks the Bearer token itself, so security is dropped.

    The specs declare error answers as `*/*`; HubSpot sends them as JSON, and declaring them so
    lets openapi-core check the fake's error bodies against the `Error` schema.
    """
    spec = json.loads((SPEC_DIR / name).read_text())
    for response in spec.get("components", {}).get("responses", {}).values():
        content = response.get("content", {})
        if "*/*" in content:
            content["application/json"] = content.pop("*/*")
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return OpenAPI.from_dict(spec)


@dataclass(frozen=True)
class Call:
    """One request the fake received and the status it answered (0: held until timeout)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    at: float
    status: int


class FakeHubSpot:
    """The server: `start()`, `url`, seed through `portal`, inspect `calls`, inject faults."""

    def __init__(
        self,
        token: str = "test-token",
        *,
        now: Callable[[], float] = time.monotonic,
        leadpool_properties: bool = True,
        hang_seconds: float = 2.0,
    ) -> None:
        self.token = token
        self.portal = Portal(leadpool_properties=leadpool_properties)
        self.calls: list[Call] = []
        self.response_problems: list[str] = []
        self._now = now
        self._hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._failures: deque[tuple[int, float | None]] = deque()
        self._fail_until: tuple[float, int] | None = None
        self._fail_every: tuple[int, int] | None = None
        self._timeouts = 0
        self._latency = 0.0
        self._record_errors: dict[str, str] = {}
        self._rate: tuple[int, float] | None = None
        self._rate_log: deque[float] = deque()
        self._seen = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeHubSpot:
        """Serve on a free port of 127.0.0.1 in a background thread."""
        for name in {n for _, n in _SPEC_FOR}:
            load_spec(name)
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests and shut the server down."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        """Base URL to give hubspot-api-client as `host`."""
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- fault injection --------------------------------------------------------------------

    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        """Answer the next n requests with `status` (and a Retry-After header if given)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * n)

    def fail_for(self, seconds: float, status: int) -> None:
        """Answer every request with `status` for `seconds` of the fake's clock."""
        with self._lock:
            self._fail_until = (self._now() + seconds, status)

    def fail_every(self, k: int, status: int) -> None:
        """Answer every k-th request from now on with `status`."""
        with self._lock:
            self._fail_every = (k, status)
            self._seen = 0

    def latency(self, seconds: float) -> None:
        """Wait `seconds` before answering each request."""
        self._latency = seconds

    def record_errors(self, errors: dict[str, str]) -> None:
        """Make batch updates of these record ids fail with the given messages (207 answers)."""
        with self._lock:
            self._record_errors.update(errors)

    def timeout_next(self, n: int) -> None:
        """Hold the next n requests without answering (not processed) so the client times out."""
        with self._lock:
            self._timeouts += n

    def rate_limit(self, per_10s: int, window_seconds: float = 10.0) -> None:
        """Answer 429 like HubSpot's TEN_SECONDLY_ROLLING policy once the quota is exceeded."""
        with self._lock:
            self._rate = (per_10s, window_seconds)

    def requests(self, method: str, path_pattern: str) -> list[Call]:
        """Recorded calls whose method matches and whose path matches the regex."""
        return [c for c in self.calls if c.method == method and re.fullmatch(path_pattern, c.path)]

    # -- request handling -------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        status, payload, headers = self._answer(request, raw)
        call = Call(
            request.method,
            request.path,
            request.args.to_dict(flat=False),
            body,
            self._now(),
            status,
        )
        with self._lock:
            self.calls.append(call)
        if status == 0:
            self._released.wait(self._hang_seconds)
            status, payload = 504, error_body("Gateway timeout", "TIMEOUT")
        text = "" if payload is None else json.dumps(payload)
        response = Response(
            text, status=status, headers=headers, content_type="application/json" if text else None
        )
        return response(environ, start_response)

    def _answer(self, request: Request, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        if self._latency:
            time.sleep(self._latency)
        fault = self._fault()
        if fault is not None:
            return fault
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return (
                401,
                error_body(
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at https://developers.hubspot.com/"
                    "docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION",
                ),
                {},
            )
        limited = self._rate_limited()
        if limited is not None:
            return limited
        spec_name = next((n for p, n in _SPEC_FOR if p.match(request.path)), None)
        if spec_name is None:
            return 404, error_body(f"No route for {request.path}", "OBJECT_NOT_FOUND"), {}
        spec = load_spec(spec_name)
        # hubspot-api-client asks for "/crm/v3/owners/" with a trailing slash, which HubSpot
        # serves as "/crm/v3/owners"; the spec would read it as ownerId "".
        path = request.path.rstrip("/")
        checked = MockRequest(
            PUBLIC_HOST,
            request.method.lower(),
            path,
            args=request.args,
            data=raw or None,
            headers=dict(request.headers),
            content_type=request.content_type or "application/json",
        )
        problems = [str(e.__cause__ or e) for e in spec.iter_request_errors(checked)]
        if problems:
            return (
                400,
                error_body(f"Invalid input JSON: {'; '.join(problems)}", "VALIDATION_ERROR"),
                {},
            )
        try:
            status, payload = self._route(request, json.loads(raw) if raw else None)
        except HubSpotError as exc:
            status, payload = exc.status, exc.body
        answer = MockResponse(
            json.dumps(payload).encode() if payload is not None else b"",
            status_code=status,
            content_type="application/json",
        )
        for error in spec.iter_response_errors(checked, answer):
            self.response_problems.append(f"{request.method} {request.path} {status}: {error}")
        return status, payload, {}

    def _fault(self) -> tuple[int, Any, dict[str, str]] | None:
        with self._lock:
            self._seen += 1
            if self._timeouts:
                self._timeouts -= 1
                return 0, None, {}
            status: int | None = None
            retry_after: float | None = None
            if self._failures:
                status, retry_after = self._failures.popleft()
            elif self._fail_until is not None and self._now() < self._fail_until[0]:
                status = self._fail_until[1]
            elif self._fail_every is not None and self._seen % self._fail_every[0] == 0:
                status = self._fail_every[1]
        if status is None:
            return None
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        if status == 429:
            return 429, self._rate_body(), headers
        return status, error_body(f"Injected failure {status}", "INTERNAL_ERROR"), headers

    def _rate_limited(self) -> tuple[int, Any, dict[str, str]] | None:
        if self._rate is None:
            return None
        limit, window = self._rate
        with self._lock:
            now = self._now()
            while self._rate_log and self._rate_log[0] + window <= now:
                self._rate_log.popleft()
            remaining = limit - len(self._rate_log)
            headers = {
                "X-HubSpot-RateLimit-Max": str(limit),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000)),
                "X-HubSpot-RateLimit-Remaining": str(max(0, remaining - 1)),
            }
            if remaining <= 0:
                return 429, self._rate_body(), headers
            self._rate_log.append(now)
        return None

    @staticmethod
    def _rate_body() -> dict[str, Any]:
        # https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details#error-responses
        return error_body(
            "You have reached your ten_secondly_rolling limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        )

    def _route(self, request: Request, body: Any) -> tuple[int, Any]:
        method, path, portal = request.method, request.path, self.portal
        if m := re.fullmatch(_OBJ + r"/batch/update", path):
            with self._lock:
                failing = dict(self._record_errors)
            return portal.batch_update(OBJECT_TYPES[m["type"]], body["inputs"], failing)
        if re.fullmatch(r"/crm/v3/objects/(tasks|0-27)/batch/create", path):
            return portal.create_tasks(body["inputs"])
        if re.fullmatch(r"/crm/v3/objects/(tasks|0-27)", path) and method == "POST":
            status, created = portal.create_tasks([body])
            return status, created["results"][0]
        if m := re.fullmatch(_OBJ + r"/batch/read", path):
            ids = [str(item["id"]) for item in body["inputs"]]
            return portal.batch_read(OBJECT_TYPES[m["type"]], ids, body.get("properties"))
        if m := re.fullmatch(_OBJ + r"/(?P<id>[^/]+)", path):
            names = _split(request.args.getlist("properties"))
            return 200, portal.get(OBJECT_TYPES[m["type"]], m["id"], names)
        if path == "/crm/v3/owners" or path == "/crm/v3/owners/":
            limit = int(request.args.get("limit", "100"))
            archived = request.args.get("archived", "false").lower() == "true"
            return 200, portal.owners_page(limit, request.args.get("after"), archived)
        if m := re.fullmatch(_PROP + r"/groups(/(?P<name>[^/]+))?", path):
            if method == "POST":
                return 201, portal.create_group(m["type"], body)
            if m["name"]:
                return 200, portal.group(m["type"], m["name"])
            return 200, {"results": list(portal.groups[m["type"]].values())}
        if m := re.fullmatch(_PROP + r"(/(?P<name>[^/]+))?", path):
            if method == "POST":
                return 201, portal.create_property(m["type"], body)
            if m["name"]:
                return 200, portal.property(m["type"], m["name"])
            return 200, {"results": list(portal.properties[m["type"]].values())}
        raise HubSpotError(404, f"No fake route for {method} {path}", "OBJECT_NOT_FOUND")


class _QuietHandler(WSGIRequestHandler):
    """Keeps werkzeug from logging every request of the test run."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _split(values: list[str]) -> list[str] | None:
    names = [n for v in values for n in v.split(",") if n]
    return names or None
