"""Node actuators: ``k8s.cordon`` and ``k8s.uncordon``, each the other's undo."""

from __future__ import annotations

from typing import Any

from lightkube.resources.core_v1 import Node
from pydantic import BaseModel, Field

from activities.actuators.kubernetes.client import (
    api_call,
    cluster_client,
    guarded_patch,
    named_cluster,
)
from activities.actuators.registry import Actuator, ActuatorContext, actuator
from api.core.settings import Settings

KUBE_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"


class NodeParams(BaseModel):
    """A node of a catalog cluster."""

    cluster: str = Field(min_length=1, max_length=100)
    node: str = Field(pattern=KUBE_NAME)


def node_target(p: NodeParams) -> str:
    """What a node action changes, for the policy: ``<cluster>/<node>``."""
    return f"{p.cluster}/{p.node}"


async def set_unschedulable(
    ctx: ActuatorContext, p: NodeParams, unschedulable: bool, *, snapshotted: bool = True
) -> dict[str, Any]:
    """Mark the node (un)schedulable at the version read; nothing is written when it already is."""
    client = cluster_client(name=p.cluster, cluster=named_cluster(ctx.settings, p.cluster))
    async with api_call("get", "nodes", p.node, snapshotted=snapshotted):
        node: Any = await client.get(Node, p.node)

    def holds(obj: Any) -> bool:
        return bool(obj.spec and obj.spec.unschedulable) == unschedulable

    if not holds(node):
        # null removes the field, as kubectl uncordon leaves the node.
        patch = {"spec": {"unschedulable": True if unschedulable else None}}
        node = await guarded_patch(
            client,
            Node,
            name=p.node,
            namespace=None,
            patch=patch,
            version=node.metadata.resourceVersion,
            holds=holds,
        )
    return {
        "cluster": p.cluster,
        "node": p.node,
        "unschedulable": bool(node.spec and node.spec.unschedulable),
        "resourceVersion": node.metadata.resourceVersion,
    }


async def node_state(ctx: ActuatorContext, p: NodeParams) -> dict[str, Any]:
    """Whether the node is unschedulable now (the snapshot of both actuators)."""
    client = cluster_client(name=p.cluster, cluster=named_cluster(ctx.settings, p.cluster))
    async with api_call("get", "nodes", p.node):
        node: Any = await client.get(Node, p.node)
    unschedulable = bool(node.spec and node.spec.unschedulable)
    return {
        "cluster": p.cluster,
        "node": p.node,
        "unschedulable": unschedulable,
        "resourceVersion": node.metadata.resourceVersion,
    }


@actuator("k8s.cordon", tier="warn", params=NodeParams)
class Cordon(Actuator[NodeParams]):
    """Mark a node unschedulable (its pods keep running); undo uncordons it."""

    def target(self, settings: Settings, p: NodeParams) -> str:
        """The node, as ``<cluster>/<node>``."""
        return node_target(p)

    async def snapshot(self, ctx: ActuatorContext, p: NodeParams) -> dict[str, Any]:
        """Record whether the node was already cordoned."""
        return await node_state(ctx, p)

    async def apply(self, ctx: ActuatorContext, p: NodeParams) -> dict[str, Any]:
        """Cordon."""
        return await set_unschedulable(ctx, p, True)

    async def undo(
        self, ctx: ActuatorContext, p: NodeParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Uncordon, unless the node was cordoned before Steward came."""
        return await set_unschedulable(ctx, p, bool(before.get("unschedulable")))

    def plan(self, p: NodeParams) -> str:
        """Describe the change."""
        return f"cordon node {p.node!r} of cluster {p.cluster!r}"


@actuator("k8s.uncordon", tier="warn", params=NodeParams)
class Uncordon(Actuator[NodeParams]):
    """Mark a node schedulable again; undo cordons it."""

    def target(self, settings: Settings, p: NodeParams) -> str:
        """The node, as ``<cluster>/<node>``."""
        return node_target(p)

    async def snapshot(self, ctx: ActuatorContext, p: NodeParams) -> dict[str, Any]:
        """Record whether the node was cordoned."""
        return await node_state(ctx, p)

    async def apply(self, ctx: ActuatorContext, p: NodeParams) -> dict[str, Any]:
        """Uncordon."""
        return await set_unschedulable(ctx, p, False)

    async def undo(
        self, ctx: ActuatorContext, p: NodeParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Cordon again, unless the node was schedulable before Steward came."""
        return await set_unschedulable(ctx, p, bool(before.get("unschedulable")))

    def plan(self, p: NodeParams) -> str:
        """Describe the change."""
        return f"uncordon node {p.node!r} of cluster {p.cluster!r}"
