"""The pack's playbook on a real Steward worker and Temporal, acting over real SSH."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from ssh_world import SshWorld
from temporalio.testing import WorkflowEnvironment

from api.core.settings import Settings
from tests.workflows.helpers import incident_input, running_worker, start, steps
from workflows.types import PlaybookOutcome


async def run_playbook(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine, **params: object
) -> tuple[str, PlaybookOutcome]:
    """Run ``ssh_unit_restart`` on an in-process worker; return its workflow id and outcome."""
    async with running_worker(temporal_env.client, settings, engine):
        incident = incident_input("ssh_unit_restart", **params)
        handle = await start(temporal_env.client, settings, "ssh_unit_restart", incident)
        return handle.id, await asyncio.wait_for(handle.result(), 90)


async def test_the_playbook_restarts_the_unit_and_verifies_it(
    world: SshWorld, temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """Restart over SSH, verify active: the incident resolves and the ledger shows both."""
    world.set_unit("web.service", "active")
    run_id, outcome = await run_playbook(
        temporal_env, settings, engine, host="box", unit="web.service"
    )
    assert outcome.status == "resolved", outcome
    recorded = [(s.kind, s.name, s.status) for s in steps(engine, run_id)]
    assert recorded == [
        ("act", "ssh.systemctl", "applied"),
        ("verify", "ssh.unit_active", "passed"),
    ]
    assert world.unit_log("web.service") == ["restart"]
    assert world.unit_state("web.service") == "active"


async def test_a_unit_that_dies_after_the_restart_is_compensated(
    world: SshWorld, temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """A failed verification undoes the restart: the unit is started again, as it was."""
    world.set_unit("api.service", "active")
    (world.units / "api.service.dies").write_text("")
    run_id, outcome = await run_playbook(
        temporal_env, settings, engine, host="box", unit="api.service", verify_within_seconds=2
    )
    assert (outcome.status, outcome.compensated) == ("rolled_back", [1]), outcome
    assert "api.service is failed, expected active" in outcome.reason
    recorded = [(s.kind, s.name, s.status) for s in steps(engine, run_id)]
    assert ("verify", "ssh.unit_active", "failed") in recorded, recorded
    assert world.unit_log("api.service") == ["restart", "start"]
    assert world.unit_state("api.service") == "active"
