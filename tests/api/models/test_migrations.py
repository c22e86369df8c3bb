"""The migrations are the schema: they match the models on both backends and are re-runnable."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect, text
from sqlmodel import SQLModel

from api.core.db import (
    alembic_config,
    get_engine,
    make_engine,
    migrate,
    normalize_url,
    reset_engine,
)
from api.core.settings import get_settings

# Fixtures are found by module attribute (see tests/support/db.py).

APP_TABLES = {
    "incident",
    "incident_step",
    "approval",
    "approval_vote",
    "refused_approval",
    "api_key",
    "refusal_count",
    "slack_user_link",
    "slack_message",
    "slack_request_nonce",
    "ledger_entry",
    "policy_bundle",
    "simulation_quota",
}


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def schema_differences(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@pytest.fixture
def empty_engine(empty_db_url: str) -> Iterator[Engine]:
    built = make_engine(empty_db_url)
    yield built
    built.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u:p@h/db?sslmode=require", "postgresql+psycopg://u:p@h/db?sslmode=require"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///tmp/steward.db", "sqlite:///tmp/steward.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_migrated_schema_matches_the_models(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    migrate(empty_engine)

    assert schema_differences(empty_engine, SQLModel.metadata) == []
    assert set(inspect(empty_engine).get_table_names()) >= APP_TABLES
    assert current_revision(empty_engine) == head_revision()


def test_schema_comparison_notices_a_missing_table(empty_engine: Engine) -> None:
    # Guards the test above: an empty difference list must mean "compared and equal".
    migrate(empty_engine)
    extended = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(extended)
    Table("not_migrated", extended, Column("id", Integer, primary_key=True))

    differences = schema_differences(empty_engine, extended)

    assert [(kind, table.name) for kind, table, *_ in differences] == [
        ("add_table", "not_migrated")
    ]


def test_migrate_twice_is_a_no_op(empty_db_url: str, empty_engine: Engine) -> None:
    migrate(empty_db_url)
    migrate(empty_db_url)
    migrate(empty_engine)

    assert current_revision(empty_engine) == head_revision()
    assert schema_differences(empty_engine, SQLModel.metadata) == []


def test_downgrade_to_base_removes_every_app_table(empty_engine: Engine) -> None:
    migrate(empty_engine)
    config = alembic_config()
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    assert not APP_TABLES & set(inspect(empty_engine).get_table_names())
    assert current_revision(empty_engine) is None
    migrate(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_concurrent_first_migrations_take_turns(empty_db_url: str) -> None:
    # Two processes starting at once (API and worker) must not both create the tables.
    engines = [make_engine(empty_db_url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        start.wait()
        try:
            migrate(engine)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(engine,), daemon=True) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [], "".join(
        line for error in errors for line in traceback.format_exception(error)
    )
    assert current_revision(engines[0]) == head_revision()
    for engine in engines:
        engine.dispose()


def test_alembic_config_finds_the_migrations_without_an_ini_file() -> None:
    config = alembic_config("postgresql://u@h/db?options=-csearch_path%3Dx")

    assert Path(config.get_main_option("script_location") or "").joinpath("env.py").is_file()
    # The "%" of the encoded option survives ConfigParser interpolation.
    assert config.get_main_option("sqlalchemy.url") == (
        "postgresql+psycopg://u@h/db?options=-csearch_path%3Dx"
    )
    assert head_revision() == "0010"


def test_get_engine_migrates_the_configured_database_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "app.db"
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STEWARD_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    reset_engine()
    try:
        first = get_engine()
        assert get_engine() is first
        assert database.is_file()
        assert current_revision(first) == head_revision()
        assert set(inspect(first).get_table_names()) >= APP_TABLES

        reset_engine()
        assert get_engine() is not first
    finally:
        reset_engine()
        get_settings.cache_clear()


def test_get_engine_is_shared_by_racing_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STEWARD_DATABASE_URL", f"sqlite:///{tmp_path / 'race.db'}")
    get_settings.cache_clear()
    reset_engine()
    start = threading.Barrier(6)
    seen: list[Engine] = []

    def grab() -> None:
        start.wait()
        seen.append(get_engine())

    try:
        threads = [threading.Thread(target=grab, daemon=True) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(seen) == 6
        assert len({id(engine) for engine in seen}) == 1
    finally:
        reset_engine()
        get_settings.cache_clear()


def test_policy_facts_migration_copies_existing_history(empty_engine: Engine) -> None:
    """0006 fills the facts tables from the steps and incidents already stored."""
    config = alembic_config()
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    at = "2026-11-23 10:00:00+00:00"
    incident = (
        "INSERT INTO incident (id, service, signal, severity, playbook, mode, status, opened_by,"
        " window_start, created_at, updated_at) VALUES (:id, 'demo', 's', 'high', 'p', 'apply',"
        " :status, 'ada', :at, :at, :at)"
    )
    step = (
        "INSERT INTO incident_step (incident_id, step, kind, name, params, status, created_at,"
        " updated_at) VALUES (:id, :step, :kind, :name, '{}', :status, :at, :at)"
    )
    with empty_engine.begin() as connection:
        for ident, status, verify in (("a", "resolved", "passed"), ("b", "rolled_back", None)):
            connection.execute(text(incident), {"id": ident, "status": status, "at": at})
            connection.execute(
                text(step),
                {"id": ident, "step": 1, "kind": "act", "name": "demo.scale", "status": "applied"}
                | {"at": at},
            )
            if verify:
                connection.execute(
                    text(step),
                    {"id": ident, "step": 2, "kind": "verify", "name": "c", "status": verify}
                    | {"at": at},
                )
    migrate(empty_engine)
    with empty_engine.connect() as connection:
        applied = connection.execute(text("SELECT incident_id, target FROM fact_applied")).all()
        outcomes = connection.execute(
            text("SELECT incident_id, action, verified FROM fact_outcome ORDER BY incident_id")
        ).all()
    assert sorted(tuple(r) for r in applied) == [("a", "demo"), ("b", "demo")]
    assert [tuple(r) for r in outcomes] == [("a", "demo.scale", 1), ("b", "demo.scale", 0)]


def test_refusal_counts_migration_folds_refused_requests_per_minute(empty_engine: Engine) -> None:
    """0008 turns refused_request rows into counts per minute and kind, and back on downgrade."""
    config = alembic_config()
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    insert = text(
        "INSERT INTO refused_request (principal, key_id, method, route, status, reason, client,"
        " created_at) VALUES (:principal, NULL, 'GET', '/api/v1/incidents', :status, :reason,"
        " '10.0.0.1', :at)"
    )
    rows = [
        (None, 401, "no API key", "2026-11-23 10:00:01+00:00"),
        (None, 401, "no API key", "2026-11-23 10:00:59+00:00"),
        (None, 401, "no API key", "2026-11-23 10:01:00+00:00"),
        ("ada", 403, "needs admin", "2026-11-23 10:00:30+00:00"),
    ]
    with empty_engine.begin() as connection:
        for principal, status, reason, at in rows:
            connection.execute(
                insert, {"principal": principal, "status": status, "reason": reason, "at": at}
            )
    migrate(empty_engine)
    with empty_engine.connect() as connection:
        folded = connection.execute(
            text(
                "SELECT principal, status, count, client FROM refusal_count"
                " ORDER BY interval_start, status"
            )
        ).all()
    assert [tuple(r) for r in folded] == [
        ("", 401, 2, "10.0.0.1"),
        ("ada", 403, 1, "10.0.0.1"),
        ("", 401, 1, "10.0.0.1"),
    ]
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    with empty_engine.connect() as connection:
        expanded = connection.execute(text("SELECT count(*) FROM refused_request")).scalar_one()
    assert expanded == 3  # one row per count: the individual times are gone
