"""The exception tree: one root, with Transient / Permanent markers for CRM failures."""

from __future__ import annotations


class ConnectorError(Exception):
    """Root of every error leadpool raises on purpose."""


class ConfigError(ConnectorError):
    """A config file failed to load or validate; each problem names file, line and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class WebhookRejected(ConnectorError):
    """A webhook did not come from the CRM (bad signature, stale timestamp, wrong org/token)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class MalformedPayload(ConnectorError):
    """A webhook body could not be parsed or misses a required field."""


class UnknownLead(ConnectorError):
    """A lead id that neither the store nor the CRM knows."""


class CRMError(ConnectorError):
    """A failed CRM call, wrapped at the adapter boundary."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        self.code = code
        self.status = status
        super().__init__(message)


class Transient(CRMError):
    """A CRM failure worth retrying (429, 5xx, row lock, timeout)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, code=code, status=status)


class Permanent(CRMError):
    """A CRM failure that retrying cannot fix (bad id, missing field)."""
