"""The `leadpool` command: check, explain and simulate on the example config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"


def test_check_passes_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(CONFIG)]) == 0
    assert capsys.readouterr().out.startswith(f"ok: {CONFIG}: 8 reps, 3 teams, 2 pools, 5 routes")


def test_check_fails_with_exit_1_and_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "cfg"
    shutil.copytree(CONFIG, broken)
    text = (broken / "routing.yaml").read_text().replace("lock: 15m", "lock: 15 minutes")
    (broken / "routing.yaml").write_text(text)
    assert main(["check", str(broken)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err[0].startswith("routing.yaml:") and " claims.lock: bad duration '15 minutes'" in err[0]
    )
    assert err[1] == f"1 problem(s) in {broken}"


def test_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("leadpool")  # installed by pyproject's scripts
    done = subprocess.run([str(script), "check", str(CONFIG)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ok: {CONFIG}: 8 reps")


def test_explain_names_the_route_the_skips_and_the_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lead = tmp_path / "lead.json"
    lead.write_text(
        json.dumps(
            {
                "Id": "00Q1",
                "Lead_Score__c": 91,
                "Email": "a@b.example",
                "Industry": "Retail",
                "NumberOfEmployees": 20,
            }
        )
    )
    # Monday 2026-12-28 10:00 New York: ben is out of office, dev's tier doesn't matter to pushes.
    assert (
        main(["explain", str(lead), "--config", str(CONFIG), "--at", "2026-12-28T15:00:00+00:00"])
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "lead 00Q1 (score 91) at 2026-12-28T15:00:00+00:00"
    assert out[1].startswith("  route 'named accounts': no match")
    assert "  route 'hot smb': matched: score 91 ≥ 80" in out
    assert "  eligible: ana, cara, dev" in out
    assert "  skipped ben: out of office until 2026-12-31" in out
    assert out[-2] == "decision: assign to ana (push, weighted), contact within 5m"
    assert out[-1].startswith("reason: score 91 ≥ 80: hot smb, weighted rotation → ana")


def test_explain_rejects_a_bad_lead_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lead = tmp_path / "lead.json"
    lead.write_text("[1, 2")
    assert main(["explain", str(lead), "--config", str(CONFIG)]) == 1
    assert "cannot read the lead" in capsys.readouterr().err


def test_simulate_reports_figures_consistent_with_its_store(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'sim.db'}"
    args = ["simulate", "--config", str(CONFIG), "--count", "40", "--day", "2026-01-05", "--json"]
    first = subprocess.run(
        [sys.executable, "-m", "connector.cli", *args, "--store", store],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(first.stdout)
    assert figures["leads"] == 40 and figures["day"] == "2026-01-05"
    claims = sum(r["claims"] for r in figures["reps"].values())
    pushes = sum(r["pushes"] for r in figures["reps"].values())
    assert claims > 0 and pushes > 0
    assert figures["minutes_to_assignment"]["p50"] is not None
    from sqlalchemy import create_engine, func, select

    from connector.store.tables import assignments, leads

    engine = create_engine(store)
    with engine.connect() as conn:
        stored_claims = conn.execute(
            select(func.count()).where(assignments.c.source == "pull")
        ).scalar_one()
        pooled = conn.execute(select(func.count()).where(leads.c.state == "POOLED")).scalar_one()
        total = conn.execute(select(func.count()).select_from(leads)).scalar_one()
    assert stored_claims == claims
    assert pooled == figures["unclaimed"]
    assert total == 40
    again = subprocess.run(
        [sys.executable, "-m", "connector.cli", *args], capture_output=True, text=True, check=True
    )
    assert json.loads(again.stdout) == figures  # same seed, same day: the same figures


def test_simulate_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--config", str(CONFIG), "--count", "20", "--day", "2026-01-05"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("simulated 2026-01-05 (20 leads, ")
    assert "speed (minutes, p50/p90): assignment " in out
    assert "\ninbound-smb " in out and "conversion by claim source" in out
