"""JSON log lines carry extras and never the configured secrets or Authorization values."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import Engine

from connector.logs import JsonFormatter, RedactSecrets
from tests.service.harness import Harness


def _render(record: logging.LogRecord, secrets: list[str]) -> dict[str, object]:
    assert RedactSecrets(secrets).filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert isinstance(line, dict)
    return line


def test_secrets_and_authorization_values_are_masked() -> None:
    record = logging.makeLogRecord(
        {
            "msg": "call failed with token %s; headers Authorization: Bearer abc.def-123",
            "args": ("s3cret-token-value",),
            "lead_id": "00Q1",
            "event_id": "evt-9",
            "headers": {"Authorization": "Basic dXNlcjpwYXNz", "X-Other": "kept"},
        }
    )
    line = _render(record, ["s3cret-token-value", "short"])
    text = json.dumps(line)
    assert "s3cret-token-value" not in text and "abc.def-123" not in text
    assert "dXNlcjpwYXNz" not in text
    assert line["msg"] == "call failed with token ***; headers Authorization: Bearer ***"
    assert (line["lead_id"], line["event_id"]) == ("00Q1", "evt-9")
    assert "kept" in text


def test_the_service_logs_each_event_with_lead_and_event_ids(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(engine)
    with caplog.at_level(logging.INFO, logger="connector.service.core"):
        lead_id = h.new_lead(score=40)
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    (line,) = [x for x in lines if x["msg"] == "lead event applied"]
    assert line["lead_id"] == lead_id and line["event_id"].startswith("sb:")
    assert (line["action"], line["state"]) == ("routed", "POOLED")
