"""explain_lead: the lines `leadpool explain` prints."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.routing.explain import explain_lead
from connector.routing.state import RepLoad
from tests.routing.builders import example, lead, state


def test_explain_names_routes_eligible_reps_skips_and_decision() -> None:
    loads = {"ben": RepLoad(assigned_today=30)}
    lines = explain_lead(example(), lead(86, Industry="Retail"), state(loads=loads))
    assert lines == [
        "lead 00Q000000000001 (score 86) at 2026-01-05T15:00:00+00:00",
        "  route 'named accounts': no match: no named account matches (no email, no company)",
        "  route 'healthcare': no match: Industry 'Retail' is not in "
        "[Healthcare, Hospital & Health Care, Pharmaceuticals]",
        "  route 'enterprise': no match: NumberOfEmployees is missing, so not ≥ 1000",
        "  route 'hot smb': matched: score 86 ≥ 80",
        "  eligible: ana, cara, dev",
        "  skipped ben: at daily cap 30/30",
        "decision: assign to ana (push, weighted), contact within 5m",
        "reason: score 86 ≥ 80: hot smb, weighted rotation → ana (weight 2)",
    ]


def test_explain_a_pooled_lead_and_a_manager_review() -> None:
    pooled = explain_lead(example(), lead(20), state())
    assert pooled[-2:] == [
        "decision: put in pool inbound-smb",
        "reason: no conditions (catch-all): everything else → pool inbound-smb",
    ]
    assert not any(line.startswith("  eligible") for line in pooled)
    cfg = example().model_copy(
        update={"fallback": example().fallback.model_copy(update={"pool": None})}
    )
    sunday = state(now=datetime(2026, 1, 4, 15, 0, tzinfo=UTC))
    review = explain_lead(cfg, lead(90), sunday)
    assert "  eligible: nobody" in review
    assert review[-2] == "decision: manager review (smb)"
