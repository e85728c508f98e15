"""Shared fixtures: a migrated store `engine` on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from connector.store.engine import migrate, open_engine
from connector.store.tables import metadata

PG_URL_ENV = "LEADPOOL_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def make_migrated_engine(url: str) -> Engine:
    """Open the store at url and bring its schema up to date (also usable in child processes)."""
    engine = open_engine(url)
    migrate(engine)
    return engine


def engine_url(engine: Engine) -> str:
    """The engine's URL with its password, to hand to a child process."""
    return engine.url.render_as_string(hide_password=False)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a PostgreSQL schema private to this test session (xdist workers get one each).

    Skips when PostgreSQL is unreachable, except in CI, where that is a failure.
    """
    base = make_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))
    admin = open_engine(base.update_query_dict({"connect_timeout": "5"}).render_as_string(False))
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL at {base.render_as_string()} unreachable ({PG_URL_ENV}): {exc}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    schema = f"lp_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_migrated_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store: a fresh SQLite file, or the session's PostgreSQL schema."""
    if request.param == "sqlite":
        sqlite_engine = make_migrated_engine(f"sqlite:///{tmp_path / 'store.db'}")
        yield sqlite_engine
        sqlite_engine.dispose()
        return
    pg_engine: Engine = request.getfixturevalue("_pg_engine")
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield pg_engine
