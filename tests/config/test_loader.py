"""Config loading: the example validates; each kind of breakage names file:line and field."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from connector.config import load_config
from connector.config.conditions import Between, Compare, Equals, Matches, OneOf, Present
from connector.config.routing_models import Assign
from connector.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config"


def broken_copy(tmp_path: Path, old: str, new: str, file: str = "routing.yaml") -> Path:
    """Copy the example config with one textual edit (which must apply exactly once)."""
    target = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, target)
    text = (target / file).read_text()
    assert text.count(old) == 1, f"edit {old!r} must match exactly once"
    (target / file).write_text(text.replace(old, new))
    return target


def line_of(directory: Path, needle: str, file: str = "routing.yaml") -> int:
    lines = (directory / file).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    return info.value.problems


def test_example_config_loads() -> None:
    cfg = load_config(EXAMPLE)
    routing = cfg.routing
    assert [r.id for r in routing.reps][:3] == ["ana", "ben", "cara"]
    assert set(routing.pools) == {"inbound-smb", "inbound-hc"}
    assert routing.claims.lock == timedelta(minutes=15)
    assert routing.pools["inbound-smb"].escalation[1].to == "manager"
    assert routing.routes[3].when["score"] == Compare(">=", 80.0)
    assert cfg.connector.crm == "sandbox"
    assert len(cfg.fingerprint) == 16


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "words"),
    [
        (
            "    pool: inbound-smb\n",
            "    pool: inbound-xx\n",
            "pool: inbound-xx",
            "routes[4].pool",
            "unknown pool 'inbound-xx' (known: inbound-hc, inbound-smb)",
        ),
        (
            "weight: 2, tier: top,",
            "weight: -2, tier: top,",
            "weight: -2",
            "reps[0].weight",
            "greater than or equal to 0",
        ),
        ("lock: 15m", "lock: 15x", "lock: 15x", "claims.lock", "bad duration '15x'"),
        (
            "queue_order: true",
            "queue_ordr: true",
            "queue_ordr",
            "claims.queue_ordr",
            "unknown key 'queue_ordr' (allowed: lock, max_open",
        ),
        (
            "America/Chicago",
            "America/Chicagoo",
            "America/Chicagoo",
            "reps[2].hours",
            "unknown time zone 'America/Chicagoo'",
        ),
        (
            "crm_user: 005A0000001CCCC, teams: [smb]",
            "crm_user: 005A0000001CCCC, teams: [smbb]",
            "smbb",
            "reps[2].teams[0]",
            "unknown team 'smbb'",
        ),
        ("tier: new,", "tier: junior,", "tier: junior", "reps[3].tier", "unknown tier 'junior'"),
        (
            "{after: 60m, to: manager}",
            "{after: 20m, to: manager}",
            "escalation:",
            "pools.inbound-smb.escalation",
            "strictly increasing",
        ),
        (
            "    sla: hot\n",
            "    sla: warm\n",
            "sla: warm",
            "routes[3].sla",
            "unknown SLA policy 'warm'",
        ),
        (
            "sla: escalated}",
            "sla: escalatd}",
            "sla: escalatd",
            "pools.inbound-smb.escalation[0].sla",
            "unknown SLA policy 'escalatd'",
        ),
    ],
)
def test_broken_copies_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, needle: str, path: str, words: str
) -> None:
    directory = broken_copy(tmp_path, old, new)
    found = problems(directory)
    assert len(found) == 1, found
    expected_line = line_of(directory, needle)
    match = re.match(r"^routing\.yaml:(\d+) (\S+): (.*)$", found[0])
    assert match, found[0]
    assert int(match.group(1)) == expected_line
    assert match.group(2) == path
    assert words in match.group(3)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    directory = broken_copy(tmp_path, "teams:\n  smb:", "teams: [\n  smb:")
    (problem,) = problems(directory)
    assert problem.startswith("routing.yaml:")
    assert "YAML syntax error" in problem
    line = int(problem.split(":")[1].split()[0])
    assert line_of(directory, "teams: [") <= line <= line_of(directory, "teams: [") + 3


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    directory = broken_copy(tmp_path, "  max_open: 10 ", "  max_open: 12\n  max_open: 10 ")
    (problem,) = problems(directory)
    assert (
        problem == f"routing.yaml:{line_of(directory, 'max_open: 10')} "
        "YAML syntax error: duplicate key 'max_open'"
    )


def test_missing_required_field(tmp_path: Path) -> None:
    directory = broken_copy(tmp_path, "crm_user: 005A0000001BBBB, ", "")
    (problem,) = problems(directory)
    assert (
        problem == f"routing.yaml:{line_of(directory, 'id: ben')} "
        "reps[1].crm_user: missing required field 'crm_user'"
    )


def test_connector_yaml_errors_are_reported_too(tmp_path: Path) -> None:
    directory = broken_copy(tmp_path, "crm: sandbox", "crm: zoho", file="connector.yaml")
    (problem,) = problems(directory)
    assert problem.startswith(
        f"connector.yaml:{line_of(directory, 'crm: zoho', 'connector.yaml')} crm:"
    )
    assert "'sandbox', 'salesforce' or 'hubspot'" in problem


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    directory = broken_copy(tmp_path, "lock: 15m", "lock: soon")
    text = (directory / "routing.yaml").read_text().replace("weight: 3,", "weight: x,")
    (directory / "routing.yaml").write_text(text)
    found = problems(directory)
    assert {p.split()[1] for p in found} == {"claims.lock:", "reps[4].weight:"}


def test_missing_routing_file(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path)
    assert "routing.yaml: file not found" in problem


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (">= 80", Compare(">=", 80.0)),
        ("< 50", Compare("<", 50.0)),
        ("50..79", Between(50.0, 79.0)),
        (["US", "CA"], OneOf(("US", "CA"))),
        ("present", Present(True)),
        ({"present": False}, Present(False)),
        ("Healthcare", Equals("Healthcare")),
    ],
)
def test_condition_forms(raw: object, expected: object) -> None:
    from connector.config.conditions import parse_condition

    assert parse_condition(raw) == expected


def test_regex_condition_and_bad_regex() -> None:
    from connector.config.conditions import parse_condition

    cond = parse_condition({"regex": r"\.edu$"})
    assert isinstance(cond, Matches) and cond.pattern.search("bob@MIT.EDU")
    with pytest.raises(ValueError, match="bad regex"):
        parse_condition({"regex": "("})


def test_assign_short_forms() -> None:
    assert Assign.model_validate("round_robin").strategy == "round_robin"
    weighted = Assign.model_validate({"weighted": {"team": "smb"}})
    assert (weighted.strategy, weighted.team) == ("weighted", "smb")
    fixed = Assign.model_validate({"rep": "ana"})
    assert (fixed.strategy, fixed.rep) == ("manual", "ana")


def test_numeric_crm_ids_are_read_as_text() -> None:
    from connector.config.routing_models import RoutingConfig

    cfg = RoutingConfig.model_validate(
        {
            "teams": {"s": {"manager": {"name": "Mo", "crm_user": 7001}}},
            "reps": [{"id": "ana", "crm_user": 1001, "teams": ["s"]}],
            "routes": [{"name": "r", "assign": "round_robin"}],
        }
    )
    assert cfg.reps[0].crm_user == "1001"
    assert cfg.teams["s"].manager.crm_user == "7001"
    assert cfg.rep_by_crm_user("1001") is cfg.reps[0]
