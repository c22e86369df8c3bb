"""A test playbook that asks for every Kubernetes action, for simulate-mode runs."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

ACTIONS: list[tuple[str, dict[str, object]]] = [
    ("k8s.scale", {"service": "checkout", "replicas": 8}),
    ("k8s.rollout_restart", {"service": "checkout"}),
    ("k8s.set_resources", {"service": "checkout", "container": "app", "limits": {"cpu": "1"}}),
    ("k8s.patch_hpa", {"service": "checkout", "max_replicas": 20}),
    # One of the three pods: the shipped blast radius lets a delete take up to half.
    ("k8s.delete_pod", {"service": "checkout", "max_count": 1}),
    ("k8s.cordon", {"cluster": "standin", "node": "node-1"}),
    ("k8s.uncordon", {"cluster": "standin", "node": "node-1"}),
    ("k8s.drain", {"cluster": "standin", "node": "node-1"}),
    ("k8s.rollback", {"service": "checkout", "revision": 1}),
]


@workflow.defn(name="k8s_every_action")
class KubeEveryAction(Playbook):
    """Ask for every Kubernetes action on the service ``checkout`` and node ``node-1``."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        for name, params in ACTIONS:
            await self.act(name, dict(params))
