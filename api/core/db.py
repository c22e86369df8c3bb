"""Database engines, sessions and migrations for the app database (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from api.core.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

# Any fixed 64-bit number works; it only has to be the same in every Steward process so that
# concurrent first starts against one PostgreSQL database take turns migrating.
_PG_MIGRATION_LOCK_KEY = 0x5354_4557_4152_4431

_SQLITE_PRAGMAS = (
    # Wait for a competing writer (API vs worker) instead of failing with "database is locked".
    # First: switching a new file to WAL below needs a lock that another connection doing the
    # same may hold, and without a timeout SQLite fails at once instead of waiting.
    "PRAGMA busy_timeout=5000",
    # WAL lets readers proceed while one writer commits; NORMAL is durable enough under WAL.
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    # SQLite ignores foreign keys unless asked, per connection.
    "PRAGMA foreign_keys=ON",
)

_PRAGMA_ATTEMPTS = 20

_engine: Engine | None = None
_engine_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Return ``url`` with bare PostgreSQL schemes pointed at the psycopg (v3) driver.

    Args:
        url: A SQLAlchemy database URL.

    Returns:
        The URL with ``postgresql://`` or ``postgres://`` rewritten to
        ``postgresql+psycopg://``; every other URL unchanged.
    """
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _set_sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            _execute_pragma(cursor, pragma)
    finally:
        cursor.close()


def _execute_pragma(cursor: Any, pragma: str) -> None:
    # Switching a brand-new file to WAL while other connections open it at the same moment can
    # fail with "database is locked" without SQLite's busy handler waiting: try a few times.
    for attempt in range(_PRAGMA_ATTEMPTS):
        try:
            cursor.execute(pragma)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _PRAGMA_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def make_engine(url: str, connect_args: Mapping[str, Any] | None = None) -> Engine:
    """Create an engine tuned for Steward's backends.

    Args:
        url: SQLAlchemy URL; ``postgresql://`` URLs are normalised to psycopg.
        connect_args: Extra DBAPI connect arguments (for example PostgreSQL ``options``).

    Returns:
        A SQLite engine with WAL, ``synchronous=NORMAL``, a busy timeout and foreign keys on
        every connection, or a PostgreSQL engine that pings pooled connections before use.
    """
    url = normalize_url(url)
    extra = dict(connect_args or {})
    if not _is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, connect_args=extra)

    # Sessions move between threads (FastAPI's threadpool, Temporal activity threads).
    extra.setdefault("check_same_thread", False)
    database = make_url(url).database
    if database in (None, "", ":memory:"):
        # Each connection to an in-memory database would be a separate, empty database.
        engine = create_engine(url, connect_args=extra, poolclass=StaticPool)
    else:
        # A fresh state folder: create the database's directory rather than fail to open it.
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=extra)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def alembic_config(url: str | None = None) -> Config:
    """Return an alembic configuration for Steward's migrations, built without an ini file.

    Args:
        url: Database URL used when no connection is passed in ``config.attributes``.

    Returns:
        A config whose ``script_location`` is ``api/migrations``. To autogenerate a revision:
        ``command.revision(alembic_config(url), autogenerate=True, message="...")``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation would choke on "%" in URL-encoded query strings.
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def migrate(url_or_engine: str | Engine) -> None:
    """Upgrade the database to the newest migration; a no-op when it is already there.

    The migration runs on one connection of the engine, so engine-level settings such as a
    PostgreSQL ``search_path`` apply. Concurrent callers take turns: PostgreSQL through an
    advisory lock, SQLite through an immediate (write-locking) transaction.

    Args:
        url_or_engine: A database URL, or an engine to reuse.
    """
    if isinstance(url_or_engine, Engine):
        _migrate_engine(url_or_engine)
        return
    engine = make_engine(url_or_engine)
    try:
        _migrate_engine(engine)
    finally:
        engine.dispose()


# How long a process waits for another one's migration to finish (SQLite).
_MIGRATION_WAIT_MS = 120_000


def _migrate_engine(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # Take the write lock before alembic reads the current revision, so a second
            # process waits and then finds the schema already at head. A first migration
            # takes seconds on a busy machine: wait for it far longer than a write would.
            connection.exec_driver_sql(f"PRAGMA busy_timeout={_MIGRATION_WAIT_MS}")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK_KEY})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def get_engine() -> Engine:
    """Return the process-wide engine for the configured database, migrating it on first use.

    Returns:
        The shared engine for ``get_settings().resolved_database_url()``.
    """
    global _engine
    if _engine is not None:
        return _engine
    with _engine_lock:
        if _engine is None:
            engine = make_engine(get_settings().resolved_database_url())
            try:
                migrate(engine)
            except BaseException:
                engine.dispose()
                raise
            _engine = engine
    return _engine


def reset_engine() -> None:
    """Dispose of the process-wide engine so the next ``get_engine()`` builds a fresh one.

    Tests call this after changing ``STEWARD_DATABASE_URL`` (with ``get_settings.cache_clear()``).
    """
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Open a session that commits when the block succeeds and rolls back when it raises.

    Objects stay readable after the block (``expire_on_commit=False``), so callers can return
    rows they created without a second query.

    Args:
        engine: The engine to bind the session to.

    Yields:
        A SQLModel session.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
