"""Evaluating route conditions against a lead, with the reason each one matched or didn't.

Conditions are compiled once per config into `Check`s (a test function plus cached wording), so
matching a lead costs a few dict lookups and comparisons per route.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connector.config.conditions import Between, Compare, Condition, Equals, Matches, OneOf, Present
from connector.config.routing_models import Route
from connector.routing.state import LeadFacts

if TYPE_CHECKING:
    from connector.routing.roster import Roster

# Condition keys with a meaning of their own; every other key is a CRM field name.
SCORE = "score"
EMAIL_DOMAIN = "email_domain"
ACCOUNT_OWNER = "account_owner"
_LABELS = {EMAIL_DOMAIN: "email domain", ACCOUNT_OWNER: "named-account owner"}


def as_number(value: object) -> float | None:
    """Read a CRM value as a number: ints, floats, decimals and numeric strings ('1,000')."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def email_domain(value: object) -> str:
    """The lower-case domain of an email address (`Ana <ana@Acme.com>` → `acme.com`), or ''."""
    if not isinstance(value, str) or "@" not in value:
        return ""
    return value.rpartition("@")[2].strip().strip(">").strip().lower()


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text_key(value: object) -> str:
    return str(value).strip().casefold()


def _equals_test(expected: object) -> Callable[[object], bool]:
    if isinstance(expected, bool):
        word = "true" if expected else "false"
        return lambda v: v is expected or (isinstance(v, str) and v.strip().lower() == word)
    if isinstance(expected, int | float):
        number = float(expected)
        return lambda v: as_number(v) == number
    if isinstance(expected, str):
        key = _text_key(expected)
        return lambda v: _text_key(v) == key
    return lambda v: bool(v == expected)


def _one_of_test(values: tuple[Any, ...]) -> Callable[[object], bool]:
    texts = frozenset(_text_key(v) for v in values if isinstance(v, str))
    others = tuple(_equals_test(v) for v in values if not isinstance(v, str))
    if not others:
        return lambda v: _text_key(v) in texts
    return lambda v: _text_key(v) in texts or any(test(v) for test in others)


def _numeric_test(cond: Compare | Between) -> Callable[[object], bool]:
    if isinstance(cond, Compare):
        return lambda v: (n := as_number(v)) is not None and cond.test(n)
    low, high = cond.low, cond.high
    return lambda v: (n := as_number(v)) is not None and low <= n <= high


@dataclass(frozen=True, slots=True)
class Check:
    """One compiled condition: the key it reads, a test, and its wording."""

    key: str
    label: str
    cond: Condition
    words: str
    test: Callable[[object], bool]


def compile_check(key: str, cond: Condition) -> Check:
    """Compile a condition on a key (`score`, `email_domain`, `account_owner` or a CRM field)."""
    test: Callable[[object], bool]
    if isinstance(cond, Present):
        wanted = cond.wanted
        test = lambda v: _is_missing(v) != wanted  # noqa: E731
    elif isinstance(cond, Compare | Between):
        test = _numeric_test(cond)
    elif isinstance(cond, Equals):
        test = _equals_test(cond.value)
    elif isinstance(cond, OneOf):
        test = _one_of_test(cond.values)
    else:
        pattern = cond.pattern
        test = lambda v: pattern.search(str(v)) is not None  # noqa: E731
    return Check(key, _LABELS.get(key, key), cond, cond.describe(), test)


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    number = as_number(value)
    return f"{number:g}" if number is not None else str(value)


def run_check(check: Check, value: object) -> tuple[bool, str]:
    """Test a compiled condition on a value; the text says why it matched or didn't."""
    cond, label = check.cond, check.label
    if isinstance(cond, Present):
        missing = _is_missing(value)
        if cond.wanted:
            return (not missing, f"{label} is missing" if missing else f"{label} is present")
        return (missing, f"{label} is absent" if missing else f"{label} is set ({_shown(value)})")
    if _is_missing(value):
        return False, f"{label} is missing, so not {check.words}"
    ok = check.test(value)
    if isinstance(cond, Compare | Between):
        number = as_number(value)
        if number is None:
            return False, f"{label} {_shown(value)} is not a number, so not {check.words}"
        return ok, f"{label} {number:g} {'' if ok else 'is not '}{check.words}"
    if isinstance(cond, Equals):
        if ok:
            return True, f"{label} is {_shown(value)}"
        return False, f"{label} is {_shown(value)}, not {cond.value!r}"
    if isinstance(cond, OneOf):
        return ok, f"{label} {_shown(value)} is {'' if ok else 'not '}{check.words}"
    assert isinstance(cond, Matches)
    verb = "matches" if ok else "does not match"
    return ok, f"{label} {_shown(value)} {verb} /{cond.pattern.pattern}/"


def evaluate(cond: Condition, label: str, value: object) -> tuple[bool, str]:
    """Test one condition on a value labelled `label` (uncompiled; for tools and tests)."""
    return run_check(compile_check(label, cond), value)


def compile_route(route: Route) -> tuple[Check, ...]:
    """Compile every condition of a route, in the order written."""
    return tuple(compile_check(key, cond) for key, cond in route.when.items())


def lookup(roster: Roster, lead: LeadFacts, key: str) -> object:
    """The value a condition key reads from a lead."""
    if key == SCORE:
        return lead.score
    if key == EMAIL_DOMAIN:
        return email_domain(lead.fields.get(roster.cfg.fields.email)) or None
    if key == ACCOUNT_OWNER:
        account = roster.account_for(lead.fields)
        return account.owner if account else None
    return lead.fields.get(key)


def match_route(roster: Roster, route: Route, lead: LeadFacts) -> tuple[bool, str]:
    """Whether every condition of a route holds (first failure stops), with the reason."""
    checks = roster.checks.get(route.name)
    if checks is None or roster.routes.get(route.name) is not route:
        checks = compile_route(route)
    if not checks:
        return True, "no conditions (catch-all)"
    reasons = []
    for check in checks:
        if check.key == ACCOUNT_OWNER and isinstance(check.cond, Present):
            ok, why = _account_words(roster, lead.fields, check.cond.wanted)
        else:
            ok, why = run_check(check, lookup(roster, lead, check.key))
        if not ok:
            return False, why
        reasons.append(why)
    return True, " and ".join(reasons)


def _account_words(roster: Roster, fields: Mapping[str, Any], wanted: bool) -> tuple[bool, str]:
    account = roster.account_for(fields)
    if account is not None:
        return wanted, f"named account {account.name} (owner {account.owner})"
    cfg_fields = roster.cfg.fields
    domain = email_domain(fields.get(cfg_fields.email))
    company = fields.get(cfg_fields.company)
    seen = [
        f"email domain {domain}" if domain else "no email",
        f"company {company!r}" if not _is_missing(company) else "no company",
    ]
    return not wanted, f"no named account matches ({', '.join(seen)})"
