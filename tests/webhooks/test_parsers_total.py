"""Every parser is total: any body either parses or raises MalformedPayload, nothing else."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.errors import MalformedPayload
from connector.webhooks.hubspot import parse_batch
from connector.webhooks.salesforce import parse_json_events, parse_outbound

from .payloads import ORG_ID, hubspot_event, json_body, notification, outbound_message

NOW = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
HUBSPOT_KEYS = [*sorted(hubspot_event()), "objectTypeId", "eventType"]


def parses_or_malformed(parse: Any, body: bytes) -> None:
    with contextlib.suppress(MalformedPayload):
        parse(body)


@FAST
@given(st.binary(max_size=300))
def test_any_bytes(body: bytes) -> None:
    parses_or_malformed(parse_batch, body)
    parses_or_malformed(parse_json_events, body)
    parses_or_malformed(lambda b: parse_outbound(b, ORG_ID, now=NOW), body)


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                key: json_values
                | st.sampled_from(
                    [
                        "0-1",
                        "0-136",
                        "object.propertyChange",
                        "contact.creation",
                        "hubspot_owner_id",
                    ]
                )
                for key in HUBSPOT_KEYS
            },
        ),
        max_size=4,
    )
)
def test_hubspot_event_shapes(events: list[dict[str, Any]]) -> None:
    parses_or_malformed(parse_batch, json_body(events))


@FAST
@given(st.lists(json_values, max_size=3), json_values, json_values, json_values)
def test_json_event_shapes(extra: list[Any], kind: Any, lead_value: Any, occurred: Any) -> None:
    events = [
        {"id": "e1", "kind": kind, "lead": {"Id": "00Q1", "X": lead_value}, "occurredAt": occurred},
        *extra,
    ]
    parses_or_malformed(parse_json_events, json_body({"events": events}))


field_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True)
xml_text = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\t\n"), max_size=20
)


@FAST
@given(
    st.lists(
        st.tuples(
            st.text(max_size=12).map(lambda s: s.replace("<", "").replace("&", "")),
            st.dictionaries(field_names, st.none() | xml_text, max_size=5),
            st.sampled_from(["Lead", "Contact", "Lead", "X"]),
        ),
        max_size=4,
    )
)
def test_outbound_message_shapes(items: list[tuple[str, dict[str, str | None], str]]) -> None:
    body = outbound_message(
        [notification(nid, fields, sobject_type=kind) for nid, fields, kind in items]
    )
    parses_or_malformed(lambda b: parse_outbound(b, ORG_ID, now=NOW), body)
