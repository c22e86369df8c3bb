"""pg_kill_long_queries end to end: a real worker cancels a real long-running query."""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import Engine
from steward_postgres.playbook_params import KillLongQueriesParams, long_query_count_sql
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from tests.workflows.helpers import incident_input, start, steps

from .conftest import TARGET, Start


async def test_the_playbook_cancels_a_long_query_and_verifies(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    worker: Worker,
    sleepers: Start,
) -> None:
    victim = await sleepers()
    bystander = await sleepers()  # another application: not selected
    await asyncio.sleep(1.2)
    incident = incident_input(
        "long_queries",
        target=TARGET,
        min_duration_seconds=1.0,
        application_name=victim.application_name,
        max_count=2,
        verify_within_seconds=10.0,
    )

    handle = await start(temporal_env.client, settings, "pg_kill_long_queries", incident)
    outcome = await asyncio.wait_for(handle.result(), 60)

    assert outcome.status == "resolved", outcome
    recorded = steps(engine, handle.id)
    assert [(s.kind, s.name, s.status) for s in recorded] == [
        ("act", "pg.cancel_backend", "applied"),
        ("verify", "pg.query_below", "passed"),
    ]
    assert recorded[0].result is not None and recorded[0].result["cancelled"] == [victim.pid]
    assert [s["pid"] for s in (recorded[0].before or {})["sessions"]] == [victim.pid]
    assert isinstance(await victim.outcome(), psycopg.errors.QueryCanceled)
    assert not bystander.query.done()


def test_the_verification_sql_counts_only_what_was_selected() -> None:
    p = KillLongQueriesParams(min_duration_seconds=30, application_name="etl", usename="app")
    sql = long_query_count_sql(p=p)
    assert sql.startswith("SELECT count(*) FROM pg_stat_activity WHERE ")
    assert "make_interval(secs => 30.0)" in sql
    assert "application_name = 'etl'" in sql and "usename = 'app'" in sql
    assert "pid <> pg_backend_pid()" in sql
