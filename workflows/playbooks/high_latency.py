"""High latency -> scale out, then verify the p95 latency came down."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="high_latency")
class HighLatency(Playbook):
    """Scale the service out and verify its p95 latency.

    Params (all optional): ``replicas`` (default 8), ``p95_threshold_ms`` (default 200),
    ``verify_within_seconds`` (default 20).
    """

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Scale out, then verify."""
        params = incident.params
        await self.act(
            "demo.scale", {"service": incident.service, "replicas": int(params.get("replicas", 8))}
        )
        await self.verify(
            "demo.p95_below",
            {
                "service": incident.service,
                "threshold_ms": float(params.get("p95_threshold_ms", 200)),
            },
            within_seconds=float(params.get("verify_within_seconds", 20)),
        )
