"""pg.query_below against the machine's real PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from steward_postgres.query_check import QueryBelowParams, statement_count

from activities.actuators.registry import (
    ActuatorContext,
    CheckResult,
    InvalidParametersError,
    get_check,
    parse_params,
)

from .conftest import TARGET


async def run(ctx: ActuatorContext, sql: str, threshold: float, **extra: Any) -> CheckResult:
    """Run the registered check with parameters parsed as the activity parses them."""
    check = get_check("pg.query_below")
    values = {"target": TARGET, "sql": sql, "threshold": threshold, **extra}
    return await check.run(ctx, parse_params(check.params_model, values, check.name))


@pytest_asyncio.fixture(loop_scope="session")
async def table(pg_dsn: str) -> AsyncIterator[str]:
    """A table with one row in a schema of its own, dropped afterwards."""
    schema = f"pgpack_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as admin:
        await admin.execute(f"CREATE SCHEMA {schema}")
        await admin.execute(f"CREATE TABLE {schema}.t (n int)")
        await admin.execute(f"INSERT INTO {schema}.t VALUES (7)")
        try:
            yield f"{schema}.t"
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")


async def test_passes_below_the_threshold_only(
    ctx: ActuatorContext, pg_dsn: str, table: str
) -> None:
    below = await run(ctx, f"SELECT max(n) FROM {table}", 7.5)
    assert below.ok and below.observed == {"value": 7.0, "threshold": 7.5}
    at = await run(ctx, f"SELECT max(n) FROM {table};", 7)
    assert not at.ok and at.detail == "value 7 vs threshold 7"
    numeric = await run(ctx, "SELECT 0.25::numeric", 1)
    assert numeric.ok and numeric.observed["value"] == 0.25


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO {table} VALUES (1) RETURNING 1",
        "WITH gone AS (DELETE FROM {table} RETURNING n) SELECT count(*) FROM gone",
        "UPDATE {table} SET n = 0 RETURNING n",
    ],
)
async def test_a_write_is_refused_and_changes_nothing(
    ctx: ActuatorContext, pg_dsn: str, table: str, write: str
) -> None:
    result = await run(ctx, write.format(table=table), 100)
    assert not result.ok
    assert result.observed == {"error": "ReadOnlySqlTransaction"}
    assert "read-only transaction" in result.detail
    async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
        cursor = await conn.execute(f"SELECT array_agg(n) FROM {table}")
        assert await cursor.fetchone() == ([7],)


async def test_the_statement_timeout_holds(ctx: ActuatorContext, pg_dsn: str) -> None:
    started = time.monotonic()
    result = await run(ctx, "SELECT 1 FROM pg_sleep(30)", 5, timeout_ms=200)
    assert not result.ok and "statement timeout" in result.detail
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("sql", "detail"),
    [
        ("SELECT 'seven'", "query value is not a number"),
        ("SELECT true", "query value is not a number"),
        ("SELECT NULL::int", "query value is not a number"),
        ("SELECT 1 WHERE false", "query returned no row, expected one"),
        ("SELECT * FROM generate_series(1, 3)", "query returned more than one row, expected one"),
        ("SELECT * FROM no_such_table_here", 'query failed: relation "no_such_table_here"'),
    ],
)
async def test_anything_but_one_number_fails(
    ctx: ActuatorContext, pg_dsn: str, sql: str, detail: str
) -> None:
    result = await run(ctx, sql, 100)
    assert not result.ok and result.detail.startswith(detail)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; SELECT 2",
        "SELECT 1; DELETE FROM t",
        "SET statement_timeout = 0; SELECT 1",
        "SELECT $$;$$; SELECT 2",
        ";",
        "  -- only a comment\n",
    ],
)
def test_anything_but_one_statement_is_refused_by_the_schema(sql: str) -> None:
    with pytest.raises(InvalidParametersError, match="sql: Value error, must be exactly one"):
        parse_params(QueryBelowParams, {"target": TARGET, "sql": sql, "threshold": 1}, "x")


def test_semicolons_inside_literals_and_comments_are_one_statement() -> None:
    for sql in [
        "SELECT ';'",
        "SELECT 'it''s; fine';",
        'SELECT 1 AS "a;b"',
        "SELECT 1 -- trailing; comment",
        "SELECT /* a; /* nested; */ b; */ 1",
        "SELECT $tag$ ; $$ ; $tag$",
        "SELECT 1;  \n  ",
    ]:
        assert statement_count(sql) == 1, sql


async def test_the_server_refuses_a_second_statement_that_slipped_past(
    ctx: ActuatorContext, pg_dsn: str
) -> None:
    # model_construct skips validation: this is the server's own refusal (extended protocol).
    p = QueryBelowParams.model_construct(
        target=TARGET, sql="SELECT 1; SELECT 2", threshold=5, timeout_ms=1000
    )
    result = await get_check("pg.query_below").run(ctx, p)
    assert not result.ok and "cannot insert multiple commands" in result.detail


def test_check_parameters_are_strict() -> None:
    base = {"target": TARGET, "sql": "SELECT 1", "threshold": 1}
    for bad, field in [
        ({"threshold": "1"}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"timeout_ms": 0}, "timeout_ms"),
        ({"timeout_ms": 600_000}, "timeout_ms"),
        ({"sql": ""}, "sql"),
        ({"database": "other"}, "database"),
    ]:
        with pytest.raises(InvalidParametersError) as refused:
            parse_params(QueryBelowParams, {**base, **bad}, "pg.query_below")
        assert field in str(refused.value)
