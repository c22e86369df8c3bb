"""OOM kills -> raise one container's memory limit, then verify the rollout and the pods."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from workflows.playbook_params import K8sOomRaiseMemoryParams


@workflow.defn(name="k8s_oom_raise_memory")
class K8sOomRaiseMemory(Playbook):
    """Raise a container's memory limit (the shipped policy asks for approval), then verify.

    Params (see ``K8sOomRaiseMemoryParams``): ``container``, ``memory_limit``, optional
    ``memory_request``, ``min_ready`` (default 1), ``verify_within_seconds`` (default 180,
    for each of the two checks). A failed verification restores the old requests and limits.
    """

    params_model = K8sOomRaiseMemoryParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Set the memory, wait for the rollout to complete, then for ready pods."""
        params = self.params_as(K8sOomRaiseMemoryParams)
        change: dict[str, Any] = {
            "service": incident.service,
            "container": params.container,
            "limits": {"memory": params.memory_limit},
        }
        if params.memory_request is not None:
            change["requests"] = {"memory": params.memory_request}
        await self.act("k8s.set_resources", change)
        await self.verify(
            "k8s.rollout_complete",
            {"service": incident.service},
            within_seconds=params.verify_within_seconds,
        )
        await self.verify(
            "k8s.pods_ready",
            {"service": incident.service, "min_ready": params.min_ready},
            within_seconds=params.verify_within_seconds,
        )
