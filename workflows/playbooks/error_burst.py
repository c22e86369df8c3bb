"""Error burst -> restart the service and purge its cache, then verify the error rate."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from workflows.playbook_params import ErrorBurstParams


@workflow.defn(name="error_burst")
class ErrorBurst(Playbook):
    """Restart (critical tier: waits for an operator) and purge the cache, then verify.

    Params (all optional, see ``ErrorBurstParams``): ``max_error_ratio`` (default 0.05),
    ``verify_within_seconds`` (default 20).
    """

    params_model = ErrorBurstParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Restart, purge, verify."""
        service = incident.service
        params = self.params_as(ErrorBurstParams)
        await self.act("demo.restart", {"service": service})
        await self.act("demo.purge_cache", {"service": service})
        await self.verify(
            "demo.error_rate_below",
            {"service": service, "max_ratio": params.max_error_ratio},
            within_seconds=params.verify_within_seconds,
        )
