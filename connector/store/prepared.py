"""Statements built once and run with parameters.

Building a SQLAlchemy construct with literal values on every call (and hashing it for the
compiled cache) costs more than running it; the hot paths prepare theirs once, keyed by
dialect and shape, and pass values as parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

S = TypeVar("S")
_statements: dict[Hashable, object] = {}


def prepared(key: Hashable, build: Callable[[], S]) -> S:
    """The statement cached under key, built by `build` the first time."""
    found = _statements.get(key)
    if found is None:
        found = _statements.setdefault(key, build())
    return found  # type: ignore[return-value]
