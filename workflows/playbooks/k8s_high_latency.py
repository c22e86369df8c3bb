"""High latency on Kubernetes -> scale the workload out, then verify with a Prometheus query."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from workflows.playbook_params import K8sHighLatencyParams


@workflow.defn(name="k8s_high_latency")
class K8sHighLatency(Playbook):
    """Scale the service's Deployment or StatefulSet out and verify its latency query.

    Params (all optional, see ``K8sHighLatencyParams``): ``replicas`` (default 8),
    ``query_name`` (the service's catalog query, default ``p95_ms``), ``threshold`` (default
    200: every sample must be below it), ``verify_within_seconds`` (default 120). A failed
    verification restores the replica count.
    """

    params_model = K8sHighLatencyParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Scale out, then verify."""
        params = self.params_as(K8sHighLatencyParams)
        await self.act("k8s.scale", {"service": incident.service, "replicas": params.replicas})
        await self.verify(
            "prometheus.query",
            {
                "service": incident.service,
                "query_name": params.query_name,
                "threshold": params.threshold,
                "op": "<",
            },
            within_seconds=params.verify_within_seconds,
        )
