"""Node NotReady -> cordon it, drain it, then verify it holds no evictable pods."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from workflows.playbook_params import K8sNodeDrainParams

# Time the drain's apply needs beyond its own deadline: listing pods, the last evictions.
DRAIN_SLACK = timedelta(seconds=60)


@workflow.defn(name="k8s_node_drain")
class K8sNodeDrain(Playbook):
    """Cordon a node and drain it (critical tier: waits for approval), then verify it is empty.

    Params (see ``K8sNodeDrainParams``): ``cluster`` (of the catalog), ``node``, ``deadline``
    (seconds the drain waits on disruption budgets, default 300), ``verify_within_seconds``
    (default 60). A failed drain or verification uncordons the node (unless it was cordoned
    before); evicted pods are not brought back.
    """

    params_model = K8sNodeDrainParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Cordon, drain, verify."""
        params = self.params_as(K8sNodeDrainParams)
        node = {"cluster": params.cluster, "node": params.node}
        await self.act("k8s.cordon", node)
        # The drain's apply waits up to its deadline: its activity must be allowed longer.
        self.apply_timeout = max(
            self.apply_timeout, timedelta(seconds=params.deadline) + DRAIN_SLACK
        )
        await self.act("k8s.drain", {**node, "deadline_seconds": params.deadline})
        await self.verify("k8s.node_drained", node, within_seconds=params.verify_within_seconds)
