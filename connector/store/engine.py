"""Opening the database (SQLite or PostgreSQL), running migrations, store-level errors."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from connector.errors import ConfigError, ConnectorError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "leadpool_alembic_version"
SQLITE_BUSY_TIMEOUT_S = 30
# Key for pg_advisory_xact_lock: instances starting together migrate one after the other.
_MIGRATION_LOCK_KEY = zlib.crc32(b"leadpool:migrate")


class ConcurrentUpdate(ConnectorError):
    """A compare-and-set lost against another transaction; retry the whole event."""


class MissingRow(ConnectorError, LookupError):
    """A repository function was pointed at a row that does not exist."""


READ_ONLY = "leadpool_read_only"


def reading(engine: Engine) -> Connection:
    """A connection for reads only: on SQLite it does not take the write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    """Tell whether the engine or connection talks to PostgreSQL."""
    return conn_or_engine.dialect.name == "postgresql"


def is_sqlite(conn_or_engine: Connection | Engine) -> bool:
    """Tell whether the engine or connection talks to SQLite."""
    return conn_or_engine.dialect.name == "sqlite"


def open_engine(url: str) -> Engine:
    """Create an engine for a sqlite:/// or postgresql+psycopg:// URL, tuned for leadpool."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The text itself is not echoed: it may hold a password.
        raise ConfigError(
            ["store url: not a database URL (expected sqlite:///path or postgresql://...)"]
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _open_sqlite(url)
    if backend in ("postgresql", "postgres"):
        # Admins write plain postgresql:// (or postgres://); psycopg 3 is the driver shipped.
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    shown = parsed.render_as_string(hide_password=True)
    raise ConfigError(
        [f"store url {shown!r}: unsupported database '{backend}' (known: sqlite, postgresql)"]
    )


def _open_sqlite(url: str) -> Engine:
    parsed = make_url(url)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Stop the sqlite3 module from issuing its own deferred BEGIN; the "begin" hook
        # below emits BEGIN IMMEDIATE instead (SQLAlchemy's documented pysqlite recipe:
        # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#sqlite-transactions).
        assert isinstance(dbapi_conn, sqlite3.Connection)
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY when another writer got in between (busy_timeout cannot
        # help there); IMMEDIATE makes writers queue at BEGIN instead. Read-only work
        # (reading()) begins deferred, so a long report never holds up writers under WAL.
        # https://www.sqlite.org/lang_transaction.html
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        if is_postgres(conn):
            # Held until commit, so a second instance waits and then finds nothing to do.
            conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        # On SQLite the BEGIN IMMEDIATE above already serialises concurrent migrations.
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ON CONFLICT on both engines (sqlite or postgresql flavour)."""
    if is_postgres(conn):
        return postgresql.insert(table)
    return sqlite.insert(table)
