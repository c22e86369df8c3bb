"""Playbooks for audit tests: a changed shipped playbook, and one with an irreversible step."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="high_latency")
class VerifyFirst(Playbook):
    """high_latency changed to verify before it scales: old histories no longer replay."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.verify("demo.p95_below", {"threshold_ms": 200})
        await self.act("demo.scale", {"replicas": 8})


@workflow.defn(name="test_scale_and_purge")
class ScaleAndPurge(Playbook):
    """Scale out (reversible), then purge the cache (irreversible); nothing to verify."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.scale", {"replicas": 6})
        await self.act("demo.purge_cache", {})
