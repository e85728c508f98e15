"""Opening the store, SQLite locking behaviour, migrations and their drift check."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from connector.errors import ConfigError
from connector.store.engine import VERSION_TABLE, is_postgres, migrate, open_engine
from connector.store.tables import metadata
from tests.conftest import engine_url


def test_sqlite_pragmas_and_parent_directory(tmp_path: Path) -> None:
    db = tmp_path / "deeper" / "still" / "leadpool.db"
    engine = open_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
        assert db.parent.is_dir()
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 1,  # NORMAL
            "busy_timeout": 30000,
            "foreign_keys": 1,
        }
        assert not is_postgres(engine)
    finally:
        engine.dispose()


def test_sqlite_transaction_takes_write_lock_at_begin(tmp_path: Path) -> None:
    db = tmp_path / "lock.db"
    engine = open_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()  # a read only; BEGIN IMMEDIATE still locks
            other = sqlite3.connect(db, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # free again after commit
        other.execute("ROLLBACK")
        other.close()
    finally:
        engine.dispose()


def test_in_memory_sqlite_opens() -> None:
    engine = open_engine("sqlite://")
    try:
        migrate(engine)
        assert "leads" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgresql_url_uses_psycopg(scheme: str) -> None:
    engine = open_engine(f"{scheme}://leadpool:secret@db.example:5432/leadpool")
    try:
        assert engine.dialect.driver == "psycopg"
        assert is_postgres(engine)
    finally:
        engine.dispose()


def test_unsupported_database_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError, match="unsupported database 'mysql'") as info:
        open_engine("mysql://leadpool:hunter2@db.example/leadpool")
    assert "hunter2" not in str(info.value)


def test_garbage_url_is_a_config_error_that_does_not_echo_it() -> None:
    with pytest.raises(ConfigError, match="not a database URL") as info:
        open_engine("hunter2 is my password")
    assert "hunter2" not in str(info.value)


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    def snapshot() -> tuple[list[str], list[str]]:
        with engine.connect() as conn:
            versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
            return sorted(inspect(conn).get_table_names()), list(versions)

    before = snapshot()
    migrate(engine)
    assert snapshot() == before
    assert before[1] == ["0002"]
    assert set(metadata.tables) | {VERSION_TABLE} == set(before[0])


def test_migrations_match_tables_py(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []


def test_concurrent_migrate_on_a_fresh_database(engine: Engine, tmp_path: Path) -> None:
    if is_postgres(engine):
        schema = f"lp_mig_{uuid.uuid4().hex[:10]}"
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(engine_url(engine))
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engines = [open_engine(url) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(target: Engine) -> None:
        barrier.wait()
        try:
            migrate(target)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with engines[0].connect() as conn:
            versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
            assert list(versions) == ["0002"]
    finally:
        for e in engines:
            e.dispose()
        if is_postgres(engine):
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
