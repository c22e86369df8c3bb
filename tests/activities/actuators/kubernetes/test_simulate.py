"""Simulate mode plans every Kubernetes action on a real worker and writes nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.activities.actuators.kubernetes.conftest import KubeWorld
from tests.activities.actuators.kubernetes.planning import ACTIONS, KubeEveryAction
from tests.workflows.helpers import incident_input, running_worker, start, steps


async def test_simulate_mode_plans_every_action_and_writes_nothing(
    kube: KubeWorld, temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    incident = incident_input("k8s_simulated")
    incident.mode = "simulate"
    settings = kube.ctx.settings
    async with running_worker(
        temporal_env.client, settings, engine, extra_workflows=[KubeEveryAction]
    ):
        handle = await start(temporal_env.client, settings, "k8s_every_action", incident)
        outcome = await asyncio.wait_for(handle.result(), 60)
    assert outcome.status == "resolved", outcome
    assert [p["actuator"] for p in outcome.plan] == [name for name, _ in ACTIONS]
    assert {s.status for s in steps(engine, handle.id)} == {"planned"}
    assert kube.store.writes == []
    # Only reads, and the server-side dry runs of the previews (which store nothing).
    assert not [r for r in kube.store.requests if r[0] != "GET" and "dryRun=All" not in r[2]]
    scale = next(p for p in outcome.plan if p["actuator"] == "k8s.scale")
    assert scale["diff"]["changes"] == [{"path": "spec.replicas", "before": 3, "after": 8}]
