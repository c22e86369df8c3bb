"""k8s.rollout_restart, k8s.set_resources and k8s.patch_hpa against the stand-in API server."""

from __future__ import annotations

from typing import Any

import pytest

from activities.actuators.registry import ActionRefusedError, InvalidParametersError
from tests.activities.actuators.kubernetes.conftest import SHOP, KubeWorld

pytestmark = pytest.mark.asyncio(loop_scope="session")
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RESOURCES = {
    "service": "checkout",
    "container": "app",
    "requests": {"cpu": "250m"},
    "limits": {"cpu": "1", "ephemeral-storage": "1Gi"},
}


def containers(kube: KubeWorld) -> dict[str, Any]:
    spec = kube.deployment()["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


async def test_rollout_restart_stamps_the_template_once_per_key(kube: KubeWorld) -> None:
    for service, plural, name in (
        ("checkout", "deployments", "checkout"),
        ("ledger", "statefulsets", "ledger"),
        ("agent", "daemonsets", "agent"),
    ):
        result = await kube.apply("k8s.rollout_restart", {"service": service}, key=f"inc:{name}")
        obj = kube.store.get(plural, SHOP, name)
        assert obj is not None
        annotations = obj["spec"]["template"]["metadata"]["annotations"]
        assert annotations[RESTARTED_AT] == result["restartedAt"]
        assert obj["metadata"]["generation"] == 2
    writes = len(kube.store.writes)
    await kube.apply("k8s.rollout_restart", {"service": "checkout"}, key="inc:checkout")
    assert len(kube.store.writes) == writes
    await kube.apply("k8s.rollout_restart", {"service": "checkout"}, key="inc-2:checkout")
    assert len(kube.store.writes) == writes + 1


async def test_set_resources_merges_the_container_by_name_and_undo_restores(
    kube: KubeWorld,
) -> None:
    before = await kube.snapshot("k8s.set_resources", RESOURCES)
    await kube.apply("k8s.set_resources", RESOURCES)
    app = containers(kube)["app"]["resources"]
    assert app["requests"] == {"cpu": "250m", "memory": "128Mi"}
    assert app["limits"] == {"cpu": "1", "memory": "256Mi", "ephemeral-storage": "1Gi"}
    # The other container is untouched: a strategic merge, not a list replacement.
    assert containers(kube)["sidecar"]["resources"]["limits"]["cpu"] == "500m"

    await kube.apply("k8s.set_resources", RESOURCES)
    assert len(kube.store.writes) == 1

    await kube.undo("k8s.set_resources", RESOURCES, before)
    assert containers(kube)["app"]["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }


async def test_set_resources_diff_and_refusals(kube: KubeWorld) -> None:
    diff = await kube.diff("k8s.set_resources", RESOURCES)
    prefix = "spec.template.spec.containers[app].resources"
    assert {"path": f"{prefix}.requests.cpu", "before": "100m", "after": "250m"} in diff
    assert {"path": f"{prefix}.limits.ephemeral-storage", "before": None, "after": "1Gi"} in diff
    assert len(diff) == 3
    assert kube.store.writes == []
    with pytest.raises(ActionRefusedError, match="not one the catalog lets actions change"):
        await kube.apply("k8s.set_resources", {**RESOURCES, "container": "sidecar"})
    with pytest.raises(InvalidParametersError, match="is not a quantity"):
        await kube.apply("k8s.set_resources", {**RESOURCES, "limits": {"cpu": "lots"}})
    with pytest.raises(ActionRefusedError, match="no container 'db' in 'ledger'"):
        await kube.apply("k8s.set_resources", {**RESOURCES, "service": "ledger", "container": "db"})


async def test_patch_hpa_apply_undo_diff(kube: KubeWorld) -> None:
    params = {"service": "checkout", "min_replicas": 4, "max_replicas": 20}
    diff = await kube.diff("k8s.patch_hpa", params)
    assert diff == [
        {"path": "spec.maxReplicas", "before": 10, "after": 20},
        {"path": "spec.minReplicas", "before": 2, "after": 4},
    ]
    assert kube.store.writes == []
    before = await kube.snapshot("k8s.patch_hpa", params)
    await kube.apply("k8s.patch_hpa", params)
    hpa = kube.store.get("horizontalpodautoscalers", SHOP, "checkout")
    assert hpa is not None and hpa["spec"]["minReplicas"] == 4 and hpa["spec"]["maxReplicas"] == 20
    await kube.undo("k8s.patch_hpa", params, before)
    hpa = kube.store.get("horizontalpodautoscalers", SHOP, "checkout")
    assert hpa is not None and (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)


async def test_patch_hpa_refuses_min_above_max_and_a_missing_autoscaler(kube: KubeWorld) -> None:
    with pytest.raises(ActionRefusedError, match="minReplicas 12 above maxReplicas 10"):
        await kube.apply("k8s.patch_hpa", {"service": "checkout", "min_replicas": 12})
    with pytest.raises(ActionRefusedError, match="'other' was deleted since the snapshot"):
        await kube.apply(
            "k8s.patch_hpa", {"service": "checkout", "hpa": "other", "max_replicas": 3}
        )
    with pytest.raises(ActionRefusedError, match="'other' not found"):
        await kube.snapshot(
            "k8s.patch_hpa", {"service": "checkout", "hpa": "other", "max_replicas": 3}
        )
