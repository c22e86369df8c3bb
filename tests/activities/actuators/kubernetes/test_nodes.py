"""k8s.cordon and k8s.uncordon against the stand-in API server."""

from __future__ import annotations

import pytest

from activities.actuators.registry import ActionRefusedError, get_actuator
from tests.activities.actuators.kubernetes.conftest import KubeWorld

pytestmark = pytest.mark.asyncio(loop_scope="session")


def unschedulable(kube: KubeWorld, node: str) -> bool:
    obj = kube.store.get("nodes", "", node)
    assert obj is not None
    return bool(obj["spec"].get("unschedulable"))


async def test_cordon_and_its_undo(kube: KubeWorld) -> None:
    params = {"cluster": "standin", "node": "node-1"}
    before = await kube.snapshot("k8s.cordon", params)
    assert before["unschedulable"] is False
    result = await kube.apply("k8s.cordon", params)
    assert result["unschedulable"] is True and unschedulable(kube, "node-1")
    await kube.apply("k8s.cordon", params)
    assert len(kube.store.writes) == 1
    await kube.undo("k8s.cordon", params, before)
    assert not unschedulable(kube, "node-1")
    assert "unschedulable" not in kube.store.get("nodes", "", "node-1")["spec"]  # type: ignore[index]


async def test_uncordon_and_its_undo(kube: KubeWorld) -> None:
    params = {"cluster": "standin", "node": "node-2"}
    before = await kube.snapshot("k8s.uncordon", params)
    await kube.apply("k8s.uncordon", params)
    assert not unschedulable(kube, "node-2")
    await kube.undo("k8s.uncordon", params, before)
    assert unschedulable(kube, "node-2")


async def test_node_errors(kube: KubeWorld) -> None:
    with pytest.raises(ActionRefusedError, match="unknown cluster 'nope'"):
        await kube.apply("k8s.cordon", {"cluster": "nope", "node": "node-1"})
    with pytest.raises(ActionRefusedError, match="nodes 'node-9' not found"):
        await kube.snapshot("k8s.cordon", {"cluster": "standin", "node": "node-9"})
    kube.store.forbid("patch", "nodes")
    with pytest.raises(ActionRefusedError, match="may not patch nodes"):
        await kube.apply("k8s.cordon", {"cluster": "standin", "node": "node-1"})


async def test_node_actions_target_the_node_for_the_policy(kube: KubeWorld) -> None:
    for name in ("k8s.cordon", "k8s.uncordon", "k8s.drain"):
        actuator = get_actuator(name)
        params = actuator.params_model.model_validate({"cluster": "standin", "node": "node-1"})
        assert actuator.target(kube.ctx.settings, params) == "standin/node-1"
