"""Framework-free half of the webhook endpoints: secrets from the environment, batch ingestion.

The views in `connector.webhooks.views` verify and parse a request, then hand the batch here.
Every event gets its own transaction in the service; the reply is sent only after the whole
batch is through, so a crash midway makes the CRM resend it and the dedupe keys absorb the
part already applied.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from connector.errors import ConnectorError
from connector.events import LeadEvent
from connector.service import Service

# The secret path segment of the Outbound Message endpoint; access logs must not show it.
_OUTBOUND_TOKEN_PATH = re.compile(r"(/webhooks/salesforce/outbound/)[^/?#]+")


class MissingSecret(ConnectorError):
    """An environment variable that connector.yaml names for a webhook secret is not set."""

    def __init__(self, env_name: str, setting: str) -> None:
        self.env_name = env_name
        self.setting = setting
        super().__init__(
            f"environment variable {env_name} (named by connector.yaml {setting}) is not set; "
            "every request to this endpoint is refused until it is"
        )


@dataclass(frozen=True)
class Unrouted:
    """An event about something leadpool does not route: acknowledged with an audit note."""

    object_type: str
    record_id: str
    event_key: str
    reason: str


@dataclass
class Tally:
    """What a delivery did so far: counts per outcome and the event keys it carried."""

    accepted: int = 0
    duplicates: int = 0
    unrouted: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    event_keys: list[str] = field(default_factory=list)

    def as_reply(self) -> dict[str, int]:
        """The JSON body acknowledging a delivery."""
        return {"accepted": self.accepted, "duplicates": self.duplicates}


def secret_from_env(env_name: str | None, setting: str) -> str:
    """Read a webhook secret from the environment variable named in config (read per request)."""
    if not env_name:
        raise MissingSecret("(none)", setting)
    value = os.environ.get(env_name, "")
    if not value:
        raise MissingSecret(env_name, setting)
    return value


def in_delivery_order(events: Sequence[LeadEvent]) -> list[LeadEvent]:
    """Events sorted by when they happened; ties keep the order the CRM sent them in."""
    return sorted(events, key=lambda event: event.occurred_at)


def ingest_delivery(
    service: Service, events: Sequence[LeadEvent], unrouted: Sequence[Unrouted], tally: Tally
) -> Tally:
    """Apply a delivery's events (oldest first) and audit its unrouted ones, updating `tally`.

    HubSpot and Salesforce both deliver batches unordered, so the events are applied in the
    order they happened: a shuffled batch decides exactly what the same batch in order would.
    """
    tally.event_keys.extend(event.event_key for event in events)
    tally.event_keys.extend(item.event_key for item in unrouted)
    for outcome in service.ingest(in_delivery_order(events)):
        tally.actions[outcome.action] = tally.actions.get(outcome.action, 0) + 1
        if outcome.action == "duplicate":
            tally.duplicates += 1
        else:
            tally.accepted += 1
    for item in unrouted:
        if service.note_unrouted(item.object_type, item.record_id, item.event_key, item.reason):
            tally.unrouted += 1
            tally.accepted += 1
        else:
            tally.duplicates += 1
    return tally


def redact_path(path: str) -> str:
    """A request path fit for logs: the Outbound Message URL token is replaced by `***`."""
    return _OUTBOUND_TOKEN_PATH.sub(r"\1***", path)
