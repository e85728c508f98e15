"""Structured JSON logs: one object per line, carrying lead and event ids when given."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON with its `extra=` fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_AUTH_HEADER = re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(\w+\s+)?[^\s\"',}]+")
MASK = "***"


class RedactSecrets(logging.Filter):
    """Masks known secret values and Authorization header values in a record's text and extras."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Short values would mask ordinary words; real secrets are long.
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) or "") + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        record.msg = self._clean(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not key.startswith("_"):
                cleaned = self._clean(
                    value if isinstance(value, str) else json.dumps(value, default=str)
                )
                if cleaned != (value if isinstance(value, str) else json.dumps(value, default=str)):
                    setattr(record, key, cleaned)
        return True


def redact_secrets(secrets: Iterable[str]) -> None:
    """Mask these values (and any Authorization header) in every log line from now on."""
    for handler in logging.getLogger().handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactSecrets)]
        handler.addFilter(RedactSecrets(secrets))


def configure_logging(level: str = "INFO") -> None:
    """Send JSON logs to stderr at the given level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    handler.addFilter(RedactSecrets())
    root.handlers[:] = [handler]
    root.setLevel(level)
