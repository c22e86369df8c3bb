"""Workflows measured by the throughput benchmark (kept apart: the sandbox re-imports them)."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="bench_three_actions")
class ThreeActions(Playbook):
    """An auto-allowed playbook of three gated, snapshotted, applied and recorded actions."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        for n in range(3):
            await self.act("notify.log", {"message": f"bench step {n}", "level": "info"})
