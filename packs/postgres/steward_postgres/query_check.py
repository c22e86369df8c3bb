"""``pg.query_below``: a read-only SQL check against a threshold.

The SQL runs in a READ ONLY transaction with a ``statement_timeout`` and is rolled back. It
must be one statement returning one row whose first column is a number; the check passes
when that number is below ``threshold``. A second statement is refused twice: by the
parameter schema (a scan that knows quotes, comments and dollar quoting) and by the server,
since the query is sent with the extended protocol, which carries exactly one statement.

READ ONLY stops writes to tables and sequences, not administrative functions such as
``pg_terminate_backend``; point the target at a role with no more rights than the checks need
(``pg_monitor`` is usually enough).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import psycopg
from pydantic import BaseModel, ConfigDict, Field, field_validator
from steward_postgres.targets import TARGET_PATTERN, connect

from activities.actuators.registry import ActuatorContext, Check, CheckResult, check

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def statement_count(sql: str) -> int:
    """Count the non-empty statements in ``sql``, ignoring ``;`` in literals and comments.

    Knows single-quoted strings (with ``''``), double-quoted identifiers, ``--`` and nested
    ``/* */`` comments and dollar quoting (``$$ ... $$``, ``$tag$ ... $tag$``).
    """
    count, has_text, i, n = 0, False, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:
                end = sql.find(ch, end + 2)
            i, has_text = (n if end == -1 else end + 1), True
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif ch == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
            end = sql.find(tag.group(0), tag.end())
            i, has_text = (n if end == -1 else end + len(tag.group(0))), True
        elif ch == ";":
            count, has_text, i = count + has_text, False, i + 1
        else:
            has_text = has_text or not ch.isspace()
            i += 1
    return count + has_text


class QueryBelowParams(BaseModel):
    """Run ``sql`` on ``target``; healthy when its one numeric value is below ``threshold``."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    target: str = Field(pattern=TARGET_PATTERN, description="A name in STEWARD_PG_TARGETS")
    sql: str = Field(min_length=1, max_length=10_000, description="One read-only statement")
    threshold: float = Field(ge=-1e15, le=1e15, description="Passes when the value is below")
    timeout_ms: int = Field(default=5_000, ge=10, le=60_000, description="statement_timeout")

    @field_validator("sql")
    @classmethod
    def _one_statement(cls, sql: str) -> str:
        count = statement_count(sql)
        if count != 1:
            raise ValueError(f"must be exactly one SQL statement, found {count}")
        return sql


def _number(value: Any) -> float | None:
    """The value as a float, or None when it is not a number (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


async def read_value(*, p: QueryBelowParams) -> tuple[Any, int]:
    """Run the query read-only and rolled back; return the first column of the first row.

    Returns:
        The value and how many rows came back (0, 1, or 2 meaning "more than one").
    """
    async with await connect(target=p.target, autocommit=False) as conn:
        await conn.set_read_only(True)
        async with conn.cursor() as cursor:
            # SET LOCAL lasts until the transaction ends; the value is an int from the schema.
            await cursor.execute(f"SET LOCAL statement_timeout = {int(p.timeout_ms)}")
            # binary=True forces the extended protocol: the server refuses a second statement.
            await cursor.execute(p.sql, binary=True)
            rows = await cursor.fetchmany(2)
        await conn.rollback()
    return (rows[0][0] if rows and rows[0] else None), len(rows)


@check("pg.query_below", params=QueryBelowParams)
class QueryBelow(Check[QueryBelowParams]):
    """A read-only SQL query's one numeric value is below a threshold."""

    async def run(self, ctx: ActuatorContext, p: QueryBelowParams) -> CheckResult:
        """Run the query once and compare; errors and non-numbers fail the check."""
        try:
            value, rows = await read_value(p=p)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return CheckResult(False, {"error": type(exc).__name__}, f"query failed: {first}")
        if rows != 1:
            what = "no row" if rows == 0 else "more than one row"
            return CheckResult(False, {"rows": rows}, f"query returned {what}, expected one")
        number = _number(value)
        if number is None:
            return CheckResult(False, {"value": repr(value)[:100]}, "query value is not a number")
        ok = number < p.threshold
        observed = {"value": number, "threshold": p.threshold}
        return CheckResult(ok, observed, f"value {number:g} vs threshold {p.threshold:g}")
