"""Alembic environment for Steward's app database, configured without an ini file.

``api.core.db.migrate`` passes an open connection in ``config.attributes["connection"]`` so that
engine settings (a PostgreSQL ``search_path``, SQLite pragmas and locks) apply to the migration.
Without one, the URL comes from the ``sqlalchemy.url`` option or the Steward settings.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from api.core.db import make_engine, normalize_url
from api.core.settings import get_settings
from api.models import UTCDateTime  # importing api.models registers the tables

config = context.config
target_metadata = SQLModel.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()
    return normalize_url(url)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions must not import app code that may change later; both types are stored as plain
    # SQL types (a timezone-aware timestamp, a VARCHAR).
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    return False


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        # Every revision must also run on SQLite, which can only alter a table by copying it;
        # batch operations do that there and plain ALTERs on PostgreSQL.
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_database_url())
    try:
        with engine.begin() as new_connection:
            _run_on(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
