"""Simulate mode plans every action of the pack and never writes to the host."""

from __future__ import annotations

import asyncio
from pathlib import Path

from planning import SshEveryAction
from sqlalchemy import Engine
from ssh_world import SshWorld
from temporalio.testing import WorkflowEnvironment

from api.core.settings import Settings
from tests.workflows.helpers import incident_input, running_worker, start, steps


async def test_simulate_mode_plans_systemctl_and_run_and_touches_nothing(
    world: SshWorld,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
) -> None:
    world.set_unit("web.service", "active")
    incident = incident_input("ssh_simulated")
    incident.mode = "simulate"
    async with running_worker(
        temporal_env.client, settings, engine, extra_workflows=[SshEveryAction]
    ):
        handle = await start(temporal_env.client, settings, "ssh_every_action", incident)
        outcome = await asyncio.wait_for(handle.result(), 60)
    assert outcome.status == "resolved", outcome
    assert [p["actuator"] for p in outcome.plan] == ["ssh.systemctl", "ssh.run"]
    assert [(s.name, s.status) for s in steps(engine, handle.id)] == [
        ("ssh.systemctl", "planned"),
        ("ssh.run", "planned"),
    ]
    # Nothing reached the host: the unit was never touched and the command never ran.
    assert world.unit_log("web.service") == []
    assert world.unit_state("web.service") == "active"
    assert not (tmp_path / "marker").exists()
