"""Simulate mode plans every action of the pack and never writes to the host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from planning import SshEveryAction
from sqlalchemy import Engine
from ssh_world import SshWorld
from temporalio.testing import WorkflowEnvironment

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings
from tests.workflows.helpers import incident_input, start, steps
from workers.worker import build_worker


async def test_simulate_mode_plans_systemctl_and_run_and_touches_nothing(
    world: SshWorld,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
) -> None:
    world.set_unit("web.service", "active")
    async with httpx.AsyncClient(timeout=10) as http:
        worker = build_worker(
            temporal_env.client,
            settings,
            engine,
            http,
            EmbeddedPolicyEngine(),
            extra_workflows=[SshEveryAction],
        )
        async with worker:
            incident = incident_input("ssh_simulated")
            incident.mode = "simulate"
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
