"""Route conditions as written in routing.yaml, parsed into small typed values."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_COMPARE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_OP_WORDS = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}


@dataclass(frozen=True)
class Equals:
    """The field equals a value (strings compare case-insensitively)."""

    value: Any

    def describe(self) -> str:
        """Say the condition in words."""
        return f"= {self.value!r}"


@dataclass(frozen=True)
class OneOf:
    """The field is one of a list of values."""

    values: tuple[Any, ...]

    def describe(self) -> str:
        """Say the condition in words."""
        return "in [" + ", ".join(str(v) for v in self.values) + "]"


@dataclass(frozen=True)
class Compare:
    """A numeric comparison: `>= 80`."""

    op: str
    number: float

    def test(self, value: float) -> bool:
        """Apply the comparison."""
        return _OPS[self.op](value, self.number)

    def describe(self) -> str:
        """Say the condition in words."""
        return f"{_OP_WORDS.get(self.op, self.op)} {self.number:g}"


@dataclass(frozen=True)
class Between:
    """A numeric range, both ends included: `50..79`."""

    low: float
    high: float

    def describe(self) -> str:
        """Say the condition in words."""
        return f"in {self.low:g}..{self.high:g}"


@dataclass(frozen=True)
class Matches:
    """The field matches a regular expression (search, case-insensitive)."""

    pattern: re.Pattern[str]

    def describe(self) -> str:
        """Say the condition in words."""
        return f"matches /{self.pattern.pattern}/"


@dataclass(frozen=True)
class Present:
    """The field is present and non-empty (or absent, when `wanted` is False)."""

    wanted: bool

    def describe(self) -> str:
        """Say the condition in words."""
        return "present" if self.wanted else "absent"


Condition = Equals | OneOf | Compare | Between | Matches | Present


def parse_condition(raw: object) -> Condition:
    """Turn a YAML condition value into a Condition, or raise ValueError saying what is allowed."""
    if isinstance(raw, Equals | OneOf | Compare | Between | Matches | Present):
        return raw
    if isinstance(raw, list):
        if not raw:
            raise ValueError("an empty list matches nothing; give at least one value")
        return OneOf(tuple(raw))
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise ValueError("a condition map takes exactly one of: regex, present, in")
        ((key, value),) = raw.items()
        if key == "regex":
            try:
                return Matches(re.compile(str(value), re.IGNORECASE))
            except re.error as exc:
                raise ValueError(f"bad regex {value!r}: {exc}") from None
        if key == "present":
            return Present(bool(value))
        if key == "in" and isinstance(value, list):
            return OneOf(tuple(value))
        raise ValueError(f"unknown condition {key!r} (allowed: regex, present, in)")
    if isinstance(raw, str):
        if raw.strip() in ("present", "absent"):
            return Present(raw.strip() == "present")
        if m := _COMPARE.match(raw):
            return Compare(m.group(1), float(m.group(2)))
        if m := _RANGE.match(raw):
            low, high = float(m.group(1)), float(m.group(2))
            if high < low:
                raise ValueError(f"bad range {raw!r}: the high end is below the low end")
            return Between(low, high)
    if raw is None:
        raise ValueError("a condition needs a value (use present/absent to test for emptiness)")
    return Equals(raw)
