"""Simulate mode plans every action of the pack and never signals a session."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.core.settings import Settings
from tests.workflows.helpers import incident_input, running_worker, start, steps

from .conftest import TARGET, Start
from .planning import PgEveryAction


async def test_simulate_mode_plans_cancel_and_terminate_and_signals_nothing(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    pg_dsn: str,
    sleepers: Start,
) -> None:
    victim = await sleepers()
    incident = incident_input(
        "pg_simulated", target=TARGET, application_name=victim.application_name
    )
    incident.mode = "simulate"
    async with running_worker(
        temporal_env.client, settings, engine, extra_workflows=[PgEveryAction]
    ):
        handle = await start(temporal_env.client, settings, "pg_every_action", incident)
        outcome = await asyncio.wait_for(handle.result(), 60)
    assert outcome.status == "resolved", outcome
    assert [p["actuator"] for p in outcome.plan] == ["pg.cancel_backend", "pg.terminate_backend"]
    assert [(s.name, s.status) for s in steps(engine, handle.id)] == [
        ("pg.cancel_backend", "planned"),
        ("pg.terminate_backend", "planned"),
    ]
    # The matching session was neither cancelled nor terminated: its query still runs.
    await asyncio.sleep(0.5)
    assert not victim.query.done()
