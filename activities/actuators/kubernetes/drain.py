"""``k8s.drain``: cordon a node, then evict its pods through the Eviction API.

As ``kubectl drain --ignore-daemonsets``: DaemonSet-owned pods (their controller would put
them straight back) and mirror pods (the kubelet's static pods, which the API cannot delete)
stay. Evictions honour PodDisruptionBudgets: the API server answers 429 while one would be
violated, and the drain waits and asks again until its deadline.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget
from pydantic import Field

from activities.actuators.kubernetes.client import api_call, cluster_client, named_cluster
from activities.actuators.kubernetes.nodes import (
    NodeParams,
    node_state,
    node_target,
    set_unschedulable,
)
from activities.actuators.registry import ActionRefusedError, Actuator, ActuatorContext, actuator
from api.core.settings import Settings

MIRROR = "kubernetes.io/config.mirror"


class DrainParams(NodeParams):
    """The node, how long the drain may wait on disruption budgets, and how often it asks."""

    deadline_seconds: float = Field(default=300, gt=0, le=3600)
    retry_seconds: float = Field(default=5, ge=0.05, le=60)


def skipped(pod: Any) -> str | None:
    """Why the drain leaves ``pod`` alone, or None when it evicts it."""
    meta = pod.metadata
    if MIRROR in (meta.annotations or {}):
        return "mirror pod"
    if any(ref.kind == "DaemonSet" for ref in meta.ownerReferences or []):
        return "DaemonSet pod"
    return None


async def _evict(client: Any, pod: Any) -> bool:
    """Ask to evict one pod: True when evicted (or gone), False on 429 (a budget forbids it)."""
    name, namespace = pod.metadata.name, pod.metadata.namespace
    eviction = Pod.Eviction(metadata=ObjectMeta(name=name, namespace=namespace))
    try:
        async with api_call("create", "pods/eviction", name):
            await client.create(eviction, name=name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 429:
            return False
        raise
    except ActionRefusedError as exc:
        if "not found" in str(exc):
            return True
        raise
    return True


@actuator("k8s.drain", tier="critical", params=DrainParams)
class Drain(Actuator[DrainParams]):
    """Cordon a node and evict its pods, honouring disruption budgets; undo uncordons it."""

    def target(self, settings: Settings, p: DrainParams) -> str:
        """The node, as ``<cluster>/<node>``."""
        return node_target(p)

    async def snapshot(self, ctx: ActuatorContext, p: DrainParams) -> dict[str, Any]:
        """Record whether the node was cordoned, and the pods on it."""
        state = await node_state(ctx, p)
        pods = await self._pods(ctx, p)
        state["pods"] = [f"{pod.metadata.namespace}/{pod.metadata.name}" for pod in pods]
        return state

    async def observe(self, ctx: ActuatorContext, p: DrainParams) -> dict[str, Any]:
        """The pods the drain would evict and the disruption budgets in their namespaces.

        Not the conventional blast-radius keys: a drain's pods belong to many services. The
        policy's own rules can read ``pods_to_evict`` and ``pdbs`` (each with the disruptions
        it allows now).
        """
        pods = await self._pods(ctx, p)
        evict = [pod for pod in pods if skipped(pod) is None]
        client = cluster_client(name=p.cluster, cluster=named_cluster(ctx.settings, p.cluster))
        budgets = []
        for namespace in sorted({pod.metadata.namespace for pod in evict}):
            async with api_call("list", "poddisruptionbudgets", ""):
                async for pdb in client.list(PodDisruptionBudget, namespace=namespace):
                    allowed = pdb.status.disruptionsAllowed if pdb.status else None
                    name = pdb.metadata.name if pdb.metadata else None
                    budgets.append(
                        {"namespace": namespace, "name": name, "disruptions_allowed": allowed}
                    )
        return {
            "pods_on_node": len(pods),
            "pods_to_evict": [f"{pod.metadata.namespace}/{pod.metadata.name}" for pod in evict],
            "pdbs": budgets,
        }

    async def _pods(self, ctx: ActuatorContext, p: DrainParams) -> list[Any]:
        client = cluster_client(name=p.cluster, cluster=named_cluster(ctx.settings, p.cluster))
        fields: dict[str, Any] = {"spec.nodeName": p.node}
        async with api_call("list", "pods", ""):
            return [pod async for pod in client.list(Pod, namespace="*", fields=fields)]

    async def apply(self, ctx: ActuatorContext, p: DrainParams) -> dict[str, Any]:
        """Cordon, then evict every pod but DaemonSet and mirror pods until the deadline.

        Raises:
            ActionRefusedError: Pods are still protected by a disruption budget at the
                deadline (the node stays cordoned; the message names them).
        """
        await set_unschedulable(ctx, p, True)
        client = cluster_client(name=p.cluster, cluster=named_cluster(ctx.settings, p.cluster))
        deadline = time.monotonic() + p.deadline_seconds
        evicted: list[str] = []
        kept = {
            f"{pod.metadata.namespace}/{pod.metadata.name}": why
            for pod in await self._pods(ctx, p)
            if (why := skipped(pod))
        }
        while True:
            pending = [pod for pod in await self._pods(ctx, p) if skipped(pod) is None]
            blocked = []
            for pod in pending:
                where = f"{pod.metadata.namespace}/{pod.metadata.name}"
                if await _evict(client, pod):
                    evicted.append(where)
                else:
                    blocked.append(where)
            if not blocked:
                return {"cluster": p.cluster, "node": p.node, "evicted": evicted, "kept": kept}
            if time.monotonic() + p.retry_seconds > deadline:
                raise ActionRefusedError(
                    f"drain of node {p.node!r} ran out of time after {p.deadline_seconds:g}s: "
                    f"a disruption budget still forbids evicting {', '.join(blocked)} "
                    "(the node stays cordoned)"
                )
            await asyncio.sleep(p.retry_seconds)

    async def undo(
        self, ctx: ActuatorContext, p: DrainParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Uncordon the node (unless it was cordoned before); evicted pods are not brought back."""
        return await set_unschedulable(ctx, p, bool(before.get("unschedulable")))

    def plan(self, p: DrainParams) -> str:
        """Describe the change."""
        return (
            f"cordon node {p.node!r} of cluster {p.cluster!r} and evict its pods (not DaemonSet "
            f"or mirror pods), waiting on disruption budgets up to {p.deadline_seconds:g}s"
        )
