"""Workflows measured by the throughput benchmark (kept apart: the sandbox re-imports them)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

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


@activity.defn(name="bench.noop")
async def noop(n: int) -> int:
    return n


@workflow.defn(name="bench_bare")
class Bare:
    """The baseline: a bare workflow running three no-op activities."""

    @workflow.run
    async def run(self, _: IncidentInput) -> str:
        for n in range(3):
            await workflow.execute_activity(noop, n, start_to_close_timeout=timedelta(seconds=30))
        return "done"
