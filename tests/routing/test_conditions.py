"""Route conditions: every form, on present, missing and wrongly typed values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.config.conditions import parse_condition
from connector.routing.conditions import as_number, email_domain, evaluate, match_route
from connector.routing.roster import roster
from tests.routing.builders import config, example, lead, rep


@pytest.mark.parametrize(
    ("raw", "value", "matched", "why"),
    [
        (">= 80", 86, True, "score 86 ≥ 80"),
        (">= 80", 80.0, True, "score 80 ≥ 80"),
        (">= 80", "79.5", False, "score 79.5 is not ≥ 80"),
        ("> 80", 80, False, "score 80 is not > 80"),
        ("< 10", "1,000", False, "score 1000 is not < 10"),
        ("<= 10", Decimal("10"), True, "score 10 ≤ 10"),
        ("== 5", 5, True, "score 5 = 5"),
        ("!= 5", 6, True, "score 6 ≠ 5"),
        (">= 80", None, False, "score is missing, so not ≥ 80"),
        (">= 80", "  ", False, "score is missing, so not ≥ 80"),
        (">= 80", "hot", False, "score 'hot' is not a number, so not ≥ 80"),
        (">= 80", True, False, "score True is not a number, so not ≥ 80"),
        (">= 80", "nan", False, "score 'nan' is not a number, so not ≥ 80"),
        ("50..79", 50, True, "score 50 in 50..79"),
        ("50..79", 79, True, "score 79 in 50..79"),
        ("50..79", 80, False, "score 80 is not in 50..79"),
        ("50..79", [], False, "score [] is not a number, so not in 50..79"),
    ],
)
def test_numeric_conditions(raw: str, value: object, matched: bool, why: str) -> None:
    assert evaluate(parse_condition(raw), "score", value) == (matched, why)


@pytest.mark.parametrize(
    ("raw", "value", "matched", "why"),
    [
        ("Web", "web ", True, "LeadSource is 'web '"),
        ("Web", "Email", False, "LeadSource is 'Email', not 'Web'"),
        ("Web", None, False, "LeadSource is missing, so not = 'Web'"),
        (True, "true", True, "LeadSource is 'true'"),
        (True, False, False, "LeadSource is False, not True"),
        (5, "5.0", True, "LeadSource is '5.0'"),
        (
            ["Healthcare", "Pharma"],
            "HEALTHCARE",
            True,
            "LeadSource 'HEALTHCARE' is in [Healthcare, Pharma]",
        ),
        (["Healthcare", 3], "3", True, "LeadSource '3' is in [Healthcare, 3]"),
        (
            ["Healthcare", "Pharma"],
            "Retail",
            False,
            "LeadSource 'Retail' is not in [Healthcare, Pharma]",
        ),
        ({"in": ["a"]}, "", False, "LeadSource is missing, so not in [a]"),
        ({"regex": "^vp"}, "VP Sales", True, "LeadSource 'VP Sales' matches /^vp/"),
        ({"regex": "^vp"}, "SVP", False, "LeadSource 'SVP' does not match /^vp/"),
        ({"regex": "^vp"}, None, False, "LeadSource is missing, so not matches /^vp/"),
        ("present", "x", True, "LeadSource is present"),
        ("present", "", False, "LeadSource is missing"),
        ("absent", None, True, "LeadSource is absent"),
        ({"present": False}, 7, False, "LeadSource is set (7)"),
    ],
)
def test_value_conditions(raw: object, value: object, matched: bool, why: str) -> None:
    assert evaluate(parse_condition(raw), "LeadSource", value) == (matched, why)


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (3, 3.0),
        ("4.5", 4.5),
        (" 1,200 ", 1200.0),
        ("x", None),
        (None, None),
        (False, None),
        (float("inf"), None),
        ([1], None),
    ],
)
def test_as_number(value: object, number: float | None) -> None:
    assert as_number(value) == number


@pytest.mark.parametrize(
    ("value", "domain"),
    [("ana@Acme.COM", "acme.com"), ("Ana <ana@acme.com>", "acme.com"), ("nobody", ""), (None, "")],
)
def test_email_domain(value: object, domain: str) -> None:
    assert email_domain(value) == domain


def _route_cfg(when: dict[str, object]):  # type: ignore[no-untyped-def]
    return config(
        [rep("erin", teams=["ent"]), rep("ana", teams=["smb"])],
        accounts=[
            {
                "name": "Acme",
                "owner": "erin",
                "domains": ["acme.com"],
                "companies": ["Acme Holdings"],
            }
        ],
        routes=[{"name": "r", "when": when, "pool": "inbound"}],
    )


@pytest.mark.parametrize(
    ("when", "fields", "score", "matched", "why"),
    [
        ({"score": ">= 80"}, {}, 86, True, "score 86 ≥ 80"),
        ({"score": ">= 80"}, {"Lead_Score__c": 99}, None, False, "score is missing, so not ≥ 80"),
        (
            {"email_domain": "acme.com"},
            {"Email": "x@ACME.com"},
            None,
            True,
            "email domain is 'acme.com'",
        ),
        (
            {"email_domain": "present"},
            {"Email": "no-at-sign"},
            None,
            False,
            "email domain is missing",
        ),
        (
            {"account_owner": "present"},
            {"Email": "x@eu.acme.com"},
            None,
            True,
            "named account Acme (owner erin)",
        ),
        (
            {"account_owner": "present"},
            {"Company": "ACME holdings "},
            None,
            True,
            "named account Acme (owner erin)",
        ),
        (
            {"account_owner": "present"},
            {"Email": "x@other.com", "Company": "Other"},
            None,
            False,
            "no named account matches (email domain other.com, company 'Other')",
        ),
        (
            {"account_owner": "absent"},
            {},
            None,
            True,
            "no named account matches (no email, no company)",
        ),
        (
            {"account_owner": "erin"},
            {"Email": "a@acme.com"},
            None,
            True,
            "named-account owner is 'erin'",
        ),
        (
            {"Country": "US", "score": ">= 50"},
            {"Country": "us"},
            60,
            True,
            "Country is 'us' and score 60 ≥ 50",
        ),
        ({"Country": "US", "score": ">= 50"}, {"Country": "us"}, 40, False, "score 40 is not ≥ 50"),
        ({}, {}, None, True, "no conditions (catch-all)"),
    ],
)
def test_route_keys(
    when: dict[str, object], fields: dict[str, object], score: float | None, matched: bool, why: str
) -> None:
    cfg = _route_cfg(when)
    assert match_route(roster(cfg), cfg.routes[0], lead(score, **fields)) == (matched, why)


def test_example_config_routes_compile() -> None:
    cfg = example()
    assert set(roster(cfg).checks) == {r.name for r in cfg.routes}
