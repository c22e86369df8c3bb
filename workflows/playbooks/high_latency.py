"""High latency -> scale out, then verify the p95 latency came down."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from workflows.playbook_params import HighLatencyParams


@workflow.defn(name="high_latency")
class HighLatency(Playbook):
    """Scale the service out and verify its p95 latency.

    Params (all optional, see ``HighLatencyParams``): ``replicas`` (default 8),
    ``p95_threshold_ms`` (default 200), ``verify_within_seconds`` (default 20).
    """

    params_model = HighLatencyParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Scale out, then verify."""
        params = self.params_as(HighLatencyParams)
        await self.act("demo.scale", {"service": incident.service, "replicas": params.replicas})
        await self.verify(
            "demo.p95_below",
            {"service": incident.service, "threshold_ms": params.p95_threshold_ms},
            within_seconds=params.verify_within_seconds,
        )
