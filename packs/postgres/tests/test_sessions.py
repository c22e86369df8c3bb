"""pg.cancel_backend and pg.terminate_backend against the machine's real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from steward_postgres.targets import APPLICATION_NAME

from activities.actuators.registry import (
    ActuatorContext,
    InvalidParametersError,
    IrreversibleError,
    get_actuator,
    parse_params,
)

from .conftest import TARGET, Start


def params(name: str, **values: Any) -> Any:
    """Parse ``values`` through the registered actuator's schema, as the activity does."""
    return parse_params(get_actuator(name).params_model, {"target": TARGET, **values}, name)


async def test_cancel_ends_the_query_and_keeps_the_session(
    ctx: ActuatorContext, sleepers: Start
) -> None:
    sleeper = await sleepers()
    cancel = get_actuator("pg.cancel_backend")
    p = params("pg.cancel_backend", application_name=sleeper.application_name)

    before = await cancel.snapshot(ctx, p)
    assert [s["pid"] for s in before["sessions"]] == [sleeper.pid]
    assert before["sessions"][0]["state"] == "active"
    result = await cancel.apply(ctx, p)

    assert result["cancelled"] == [sleeper.pid] and result["not_signalled"] == []
    assert isinstance(await sleeper.outcome(), psycopg.errors.QueryCanceled)
    # Only the query ended: the same connection still answers.
    cursor = await sleeper.conn.execute("SELECT 41 + 1")
    assert await cursor.fetchone() == (42,)


async def test_terminate_ends_the_session(ctx: ActuatorContext, sleepers: Start) -> None:
    sleeper = await sleepers()
    terminate = get_actuator("pg.terminate_backend")
    p = params("pg.terminate_backend", application_name=sleeper.application_name)

    result = await terminate.apply(ctx, p)

    assert result["terminated"] == [sleeper.pid]
    assert isinstance(await sleeper.outcome(), psycopg.OperationalError)
    assert sleeper.conn.closed or sleeper.conn.broken
    # Nothing of it is left to select.
    assert (await terminate.snapshot(ctx, p))["sessions"] == []


async def test_max_count_is_respected_longest_first(ctx: ActuatorContext, sleepers: Start) -> None:
    first = await sleepers()
    await asyncio.sleep(0.2)
    second = await sleepers(first.application_name)
    await asyncio.sleep(0.2)
    third = await sleepers(first.application_name)
    p = params("pg.cancel_backend", application_name=first.application_name, max_count=2)

    result = await get_actuator("pg.cancel_backend").apply(ctx, p)

    assert result["cancelled"] == [first.pid, second.pid]
    assert isinstance(await first.outcome(), psycopg.errors.QueryCanceled)
    assert isinstance(await second.outcome(), psycopg.errors.QueryCanceled)
    assert not third.query.done()
    await asyncio.sleep(0.3)
    assert not third.query.done()


async def test_filters_narrow_the_selection(ctx: ActuatorContext, sleepers: Start) -> None:
    sleeper = await sleepers()
    cancel = get_actuator("pg.cancel_backend")
    app = sleeper.application_name
    misses = [
        params("pg.cancel_backend", application_name=app, usename="nobody_here"),
        params("pg.cancel_backend", application_name=app, min_duration_seconds=3600),
        params("pg.cancel_backend", application_name=app, state="idle"),
    ]
    for p in misses:
        assert (await cancel.apply(ctx, p))["cancelled"] == []
    assert not sleeper.query.done()

    await asyncio.sleep(0.6)
    p = params("pg.cancel_backend", application_name=app, usename="postgres")
    older = params("pg.cancel_backend", application_name=app, min_duration_seconds=0.5)
    assert [s["pid"] for s in (await cancel.snapshot(ctx, p))["sessions"]] == [sleeper.pid]
    assert (await cancel.snapshot(ctx, older))["sessions"][0]["seconds"] >= 0.5
    assert (await cancel.apply(ctx, older))["cancelled"] == [sleeper.pid]


async def test_the_actuators_own_backend_is_never_selected(
    ctx: ActuatorContext, pg_dsn: str
) -> None:
    # The actuator's connection carries this application name and is active while it selects.
    p = params("pg.terminate_backend", application_name=APPLICATION_NAME, state=None)
    result = await get_actuator("pg.terminate_backend").apply(ctx, p)
    assert result["terminated"] == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"application_name": "x", "state": "sleeping"}, "state"),
        ({"application_name": "x", "max_count": 0}, "max_count"),
        ({"application_name": "x", "max_count": 51}, "max_count"),
        ({"application_name": "x", "max_count": "2"}, "max_count"),
        ({"application_name": "x", "min_duration_seconds": -1}, "min_duration_seconds"),
        ({"application_name": "x'; DROP TABLE t; --"}, "application_name"),
        ({"usename": ""}, "usename"),
        ({"application_name": "x", "pid": 1}, "pid"),
        ({"state": "active"}, "give at least one of"),
        ({"application_name": "x", "target": "../etc"}, "target"),
    ],
)
def test_selection_parameters_are_strict(values: dict[str, Any], field: str) -> None:
    for name in ("pg.cancel_backend", "pg.terminate_backend"):
        with pytest.raises(InvalidParametersError, match="invalid parameters") as refused:
            params(name, **values)
        assert field in str(refused.value)


async def test_an_unknown_target_is_refused(ctx: ActuatorContext, pg_dsn: str) -> None:
    p = parse_params(
        get_actuator("pg.cancel_backend").params_model,
        {"target": "elsewhere", "application_name": "x"},
        "pg.cancel_backend",
    )
    with pytest.raises(InvalidParametersError, match="unknown PostgreSQL target 'elsewhere'"):
        await get_actuator("pg.cancel_backend").apply(ctx, p)


async def test_both_are_irreversible_and_tiered(ctx: ActuatorContext) -> None:
    cancel, terminate = get_actuator("pg.cancel_backend"), get_actuator("pg.terminate_backend")
    assert (cancel.tier, terminate.tier) == ("warn", "critical")
    p = params("pg.cancel_backend", application_name="x", max_count=3)
    for actuator in (cancel, terminate):
        assert actuator.irreversible
        with pytest.raises(IrreversibleError):
            await actuator.undo(ctx, p, {"sessions": []})
    assert cancel.target(ctx.settings, p) == TARGET
    assert cancel.plan(p) == (
        "cancel up to 3 session(s) on testdb matching {'state': 'active', 'application_name': 'x'}"
    )
