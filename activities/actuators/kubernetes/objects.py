"""A catalog service's objects: its workload, its pods' selector, read as plain JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lightkube import AsyncClient
from lightkube.resources.apps_v1 import DaemonSet, Deployment, StatefulSet
from lightkube.resources.core_v1 import Pod

from activities.actuators.kubernetes.client import api_call, cluster_client, kube_target
from activities.actuators.registry import ActionRefusedError
from api.core.catalog import KubernetesTarget
from api.core.settings import Settings

WORKLOAD_KINDS: dict[str, Any] = {
    "Deployment": Deployment,
    "StatefulSet": StatefulSet,
    "DaemonSet": DaemonSet,
}


@dataclass(frozen=True)
class ServiceObjects:
    """Where one catalog service lives: its cluster's client, namespace and target."""

    service: str
    client: AsyncClient
    target: KubernetesTarget

    @property
    def namespace(self) -> str:
        """The service's namespace."""
        return self.target.namespace

    def workload(self, *, kinds: tuple[str, ...] = tuple(WORKLOAD_KINDS)) -> tuple[Any, str]:
        """The lightkube class and name of the service's workload.

        Raises:
            ActionRefusedError: The catalog names no workload, or one of another kind.
        """
        ref = self.target.workload
        if ref is None:
            raise ActionRefusedError(
                f"service {self.service!r} names no workload in the catalog (only a selector)"
            )
        if ref.kind not in kinds:
            raise ActionRefusedError(
                f"service {self.service!r} runs as a {ref.kind}; this action needs a "
                f"{' or '.join(kinds)}"
            )
        return WORKLOAD_KINDS[ref.kind], ref.name

    async def read(self, res: Any, name: str, *, snapshotted: bool = False) -> Any:
        """Read one object of the service's namespace (errors mapped by ``api_call``)."""
        from activities.actuators.kubernetes.client import resource_name

        async with api_call("get", resource_name(res), name, snapshotted=snapshotted):
            return await self.client.get(res, name, namespace=self.namespace)

    async def pods(self, selector: dict[str, str]) -> list[Any]:
        """The pods of the service's namespace that carry every label of ``selector``."""
        labels: dict[str, Any] = dict(selector)
        async with api_call("list", "pods", ""):
            return [
                pod async for pod in self.client.list(Pod, namespace=self.namespace, labels=labels)
            ]

    async def selector(self) -> dict[str, str]:
        """The labels that select the service's pods: the catalog's, else its workload's."""
        if self.target.selector:
            return dict(self.target.selector)
        res, name = self.workload()
        obj = await self.read(res, name)
        labels = obj.spec.selector.matchLabels if obj.spec.selector else None
        if not labels:
            raise ActionRefusedError(f"{name!r} has no matchLabels selector to find its pods by")
        return dict(labels)


def service_objects(settings: Settings, service: str) -> ServiceObjects:
    """Resolve catalog service ``service`` to its cluster client and target.

    Raises:
        ActionRefusedError: Unknown service, not on Kubernetes, or no usable kubeconfig.
    """
    target, cluster = kube_target(settings, service)
    client = cluster_client(name=target.cluster, cluster=cluster)
    return ServiceObjects(service=service, client=client, target=target)


def as_dict(obj: Any) -> dict[str, Any]:
    """A lightkube object as plain JSON (what snapshots and diffs keep)."""
    result: dict[str, Any] = obj.to_dict()
    return result
