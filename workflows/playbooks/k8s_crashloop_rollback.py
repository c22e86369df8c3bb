"""CrashLoopBackOff after a rollout -> roll the Deployment back, then verify its pods are ready."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from workflows.playbook_params import K8sCrashloopRollbackParams


@workflow.defn(name="k8s_crashloop_rollback")
class K8sCrashloopRollback(Playbook):
    """Roll the service's Deployment back (critical tier: waits for approval), verify its pods.

    Params (all optional, see ``K8sCrashloopRollbackParams``): ``revision`` (default the
    previous one), ``min_ready`` (default 1), ``verify_within_seconds`` (default 180). A failed
    verification rolls forward again to the template the rollback replaced.
    """

    params_model = K8sCrashloopRollbackParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Roll back, then verify that the pods are ready and none crash-loops."""
        params = self.params_as(K8sCrashloopRollbackParams)
        rollback: dict[str, object] = {"service": incident.service}
        if params.revision is not None:
            rollback["revision"] = params.revision
        await self.act("k8s.rollback", rollback)
        await self.verify(
            "k8s.pods_ready",
            {"service": incident.service, "min_ready": params.min_ready},
            within_seconds=params.verify_within_seconds,
        )
