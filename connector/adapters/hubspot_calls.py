"""One HubSpot API call: client-side rate limit, retry within a horizon, error mapping."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import urllib3
from hubspot.crm import objects as hs_objects
from hubspot.crm import owners as hs_owners
from hubspot.crm import properties as hs_properties
from hubspot.crm.objects import tasks as hs_tasks

from connector.adapters.rate_limit import RollingWindowLimiter
from connector.adapters.retry import crm_retry, parse_retry_after
from connector.errors import CRMError, Permanent, Transient

T = TypeVar("T")

# Every API sub-package of hubspot-api-client generates its own ApiException class.
API_EXCEPTIONS = (
    hs_objects.ApiException,
    hs_tasks.ApiException,
    hs_owners.ApiException,
    hs_properties.ApiException,
)


class _GiveUp(Exception):
    """Carries a Transient that must not be repeated within this call."""

    def __init__(self, error: Transient) -> None:
        self.error = error
        super().__init__(str(error))


class HubSpotCaller:
    """Runs hubspot-api-client calls under the limiter and maps failures to Transient/Permanent."""

    def __init__(
        self,
        limiter: RollingWindowLimiter,
        horizon_seconds: float,
        max_attempts: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limiter = limiter
        self.horizon_seconds = horizon_seconds
        self.max_attempts = max_attempts
        self.api_calls = 0
        self._sleep = sleep

    def run(self, call: Callable[[], T], *, safe_to_repeat: bool) -> T:
        """Run one API call; Transient failures are retried within the horizon, then raised.

        `safe_to_repeat=False` (creates) repeats only failures that prove nothing was written
        (429, 503, connection refused), since a repeated create can duplicate a record.
        """
        retrying = crm_retry(self.horizon_seconds, self.max_attempts, sleep=self._sleep)
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(call, safe_to_repeat)
        except _GiveUp as stop:
            raise stop.error from None
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def _once(self, call: Callable[[], T], safe_to_repeat: bool) -> T:
        self.limiter.acquire()
        self.api_calls += 1
        not_sent = False
        try:
            return call()
        except API_EXCEPTIONS as exc:
            error = crm_error(exc.status, exc.body, exc.headers, exc.reason)
        except urllib3.exceptions.HTTPError as exc:
            reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
            not_sent = isinstance(
                reason,
                urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError,
            )
            timed_out = isinstance(reason, urllib3.exceptions.TimeoutError)
            error = Transient(
                f"HubSpot call failed: {reason}", code="TIMEOUT" if timed_out else "CONNECTION"
            )
        if isinstance(error, Transient):
            if error.status == 429 and error.retry_after:
                self.limiter.pause(error.retry_after)
            repeatable = error.status in (429, 503) or not_sent
            if error.code == "UNAUTHORIZED" or not (safe_to_repeat or repeatable):
                raise _GiveUp(error)
        raise error


def crm_error(
    status: int | None, body: bytes | str | None, headers: Mapping[str, str] | None, reason: Any
) -> CRMError:
    """Map a failed HubSpot response to Transient (429, 5xx, auth) or Permanent (other 4xx)."""
    # Error body shape: https://developers.hubspot.com/docs/api/error-handling
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    data: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    message = str(data.get("message") or reason or f"HTTP {status}")
    if data.get("correlationId"):
        message = f"{message} (correlationId {data['correlationId']})"
    category = str(data.get("category") or data.get("errorType") or "")
    head = headers or {}
    status = status or 0
    if status == 429:
        # HubSpot rarely sends Retry-After; the window length comes in its own header:
        # https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details
        interval = head.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        retry_after = parse_retry_after(head.get("Retry-After"))
        if retry_after is None:
            retry_after = int(interval) / 1000 if interval and interval.isdigit() else 10.0
        if data.get("policyName") == "DAILY":
            retry_after = 3600.0  # the daily quota resets at midnight in the portal's time zone
        return Transient(message, code="RATE_LIMIT", status=429, retry_after=retry_after)
    if status == 0 or status >= 500:
        return Transient(message, code=category or "SERVER_ERROR", status=status or None)
    if status in (401, 403):
        # A bad or revoked token: the change itself is fine once the token is fixed.
        return Transient(message, code="UNAUTHORIZED", status=status)
    code = "PROPERTY_DOESNT_EXIST" if "PROPERTY_DOESNT_EXIST" in message else category
    return Permanent(message, code=code, status=status)
