"""k8s.drain against the stand-in API server: evictions, disruption budgets, skipped pods."""

from __future__ import annotations

import threading

import pytest

from activities.actuators.registry import ActionRefusedError
from tests.activities.actuators.kubernetes.conftest import CHECKOUT, SHOP, KubeWorld
from tests.support.kube_api import seed

pytestmark = pytest.mark.asyncio(loop_scope="session")
DRAIN = {"cluster": "standin", "node": "node-1", "retry_seconds": 0.1}


def seed_node_pods(kube: KubeWorld) -> None:
    """A DaemonSet pod and a mirror pod on node-1, and a pod elsewhere."""
    seed.pod(
        kube.store, name="agent-x", namespace=SHOP, labels={"app": "agent"}, owner_kind="DaemonSet"
    )
    seed.pod(
        kube.store,
        name="kube-proxy-node-1",
        namespace="kube-system",
        labels={"k8s-app": "kube-proxy"},
        owner_kind=None,
        mirror=True,
    )
    seed.pod(kube.store, name="elsewhere", namespace=SHOP, labels=CHECKOUT, node="node-2")


def names(kube: KubeWorld) -> set[str]:
    return {p["metadata"]["name"] for p in kube.store.items("pods", None)}


async def test_drain_evicts_all_but_daemonset_and_mirror_pods_and_undo_uncordons(
    kube: KubeWorld,
) -> None:
    seed_node_pods(kube)
    before = await kube.snapshot("k8s.drain", DRAIN)
    assert "kube-system/kube-proxy-node-1" in before["pods"] and before["unschedulable"] is False
    result = await kube.apply("k8s.drain", DRAIN)
    assert sorted(result["evicted"]) == [
        "shop/checkout-a",
        "shop/checkout-b",
        "shop/checkout-c",
        "shop/worker-a",
        "shop/worker-b",
    ]
    assert result["kept"] == {
        "kube-system/kube-proxy-node-1": "mirror pod",
        "shop/agent-x": "DaemonSet pod",
    }
    assert names(kube) == {"agent-x", "kube-proxy-node-1", "elsewhere"}
    assert kube.store.get("nodes", "", "node-1")["spec"]["unschedulable"] is True  # type: ignore[index]
    assert {w.verb for w in kube.store.writes} == {"patch", "create-eviction"}

    await kube.undo("k8s.drain", DRAIN, before)
    assert "unschedulable" not in kube.store.get("nodes", "", "node-1")["spec"]  # type: ignore[index]


async def test_a_disruption_budget_blocks_until_the_deadline(kube: KubeWorld) -> None:
    seed.pdb(kube.store, name="checkout", namespace=SHOP, labels=CHECKOUT, allowed=0)
    with pytest.raises(ActionRefusedError, match="ran out of time after 0.5s") as refused:
        await kube.apply("k8s.drain", {**DRAIN, "deadline_seconds": 0.5})
    assert "shop/checkout-a, shop/checkout-b, shop/checkout-c" in str(refused.value)
    # The pods the budget does not cover were evicted; the covered ones were asked repeatedly.
    assert {"checkout-a", "checkout-b", "checkout-c"} <= names(kube)
    assert not {"worker-a", "worker-b"} & names(kube)
    asked = [path for m, path, _ in kube.store.requests if path.endswith("checkout-a/eviction")]
    assert len(asked) >= 3


async def test_a_drain_waits_for_the_budget_to_allow_it(kube: KubeWorld) -> None:
    seed.pdb(kube.store, name="checkout", namespace=SHOP, labels=CHECKOUT, allowed=0)
    release = threading.Timer(
        0.4,
        kube.store.update,
        args=("poddisruptionbudgets", SHOP, "checkout", {"status": {"disruptionsAllowed": 3}}),
    )
    release.start()
    try:
        result = await kube.apply("k8s.drain", {**DRAIN, "deadline_seconds": 10})
    finally:
        release.cancel()
    assert "shop/checkout-c" in result["evicted"]
    assert not {"checkout-a", "checkout-b", "checkout-c"} & names(kube)


async def test_eviction_forbidden_names_the_subresource(kube: KubeWorld) -> None:
    kube.store.forbid("create", "pods/eviction")
    with pytest.raises(ActionRefusedError, match="may not create pods/eviction"):
        await kube.apply("k8s.drain", DRAIN)


async def test_the_policy_sees_the_pods_a_drain_would_evict_and_their_budgets(
    kube: KubeWorld,
) -> None:
    seed_node_pods(kube)
    seed.pdb(kube.store, name="checkout", namespace=SHOP, labels=CHECKOUT, allowed=1)
    facts = await kube.observe("k8s.drain", DRAIN)
    assert sorted(facts["pods_to_evict"]) == [
        "shop/checkout-a",
        "shop/checkout-b",
        "shop/checkout-c",
        "shop/worker-a",
        "shop/worker-b",
    ]
    assert facts["pods_on_node"] == 7  # the DaemonSet and mirror pods stay, and are counted
    assert facts["pdbs"] == [{"namespace": SHOP, "name": "checkout", "disruptions_allowed": 1}]
    assert kube.store.writes == []
