"""k8s.node_drained against the stand-in API server: a node holds no pod a drain would evict."""

from __future__ import annotations

import pytest

from tests.activities.actuators.kubernetes.conftest import KubeWorld
from tests.activities.actuators.kubernetes.test_drain import DRAIN, seed_node_pods

pytestmark = pytest.mark.asyncio(loop_scope="session")
NODE = {"cluster": "standin", "node": "node-1"}


async def test_a_node_with_pods_is_not_drained_and_the_check_names_them(kube: KubeWorld) -> None:
    seed_node_pods(kube)
    result = await kube.check("k8s.node_drained", NODE)
    assert not result.ok
    assert result.observed["evictable"] == [
        "shop/checkout-a",
        "shop/checkout-b",
        "shop/checkout-c",
        "shop/worker-a",
        "shop/worker-b",
    ]
    assert result.observed["unschedulable"] is False
    assert "still runs 5 evictable pods" in result.detail
    assert kube.store.writes == []  # a check never writes


async def test_after_a_drain_only_daemonset_and_mirror_pods_are_left(kube: KubeWorld) -> None:
    seed_node_pods(kube)
    await kube.apply("k8s.drain", DRAIN)
    result = await kube.check("k8s.node_drained", NODE)
    assert result.ok, result.detail
    assert result.observed == {
        "evictable": [],
        "kept": {"kube-system/kube-proxy-node-1": "mirror pod", "shop/agent-x": "DaemonSet pod"},
        "unschedulable": True,
    }
    assert "holds no evictable pods (2 kept)" in result.detail


async def test_an_unknown_node_or_cluster_fails_with_the_reason(kube: KubeWorld) -> None:
    missing = await kube.check("k8s.node_drained", {"cluster": "standin", "node": "node-9"})
    assert not missing.ok and "not found" in missing.detail
    unknown = await kube.check("k8s.node_drained", {"cluster": "nowhere", "node": "node-1"})
    assert not unknown.ok and "nowhere" in unknown.detail
