"""``high_latency`` as a careless edit would leave it: a new first step, no ``workflow.patched``."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="high_latency")
class ChangedHighLatency(Playbook):
    """Turns a flag on before it scales out: histories of the shipped version no longer replay."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.feature_flag", {"flag": "safe_mode", "enabled": True})
        await self.act("demo.scale", {"replicas": 8})
