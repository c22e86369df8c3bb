"""k8s.rollback against the stand-in API server, from ReplicaSets' revision annotations."""

from __future__ import annotations

from typing import Any

import pytest

from activities.actuators.registry import ActionRefusedError
from tests.activities.actuators.kubernetes.conftest import SHOP, KubeWorld
from tests.support.kube_api import seed

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROLLBACK = {"service": "checkout"}


def release(kube: KubeWorld, revision: int) -> None:
    """Roll checkout out to image app:<revision> as revision ``revision``, with its ReplicaSet."""
    image = f"registry.local/app:{revision}"
    deployment = kube.deployment()
    seed.replica_set(kube.store, deployment=deployment, revision=revision, image=image)
    containers = [
        {**c, "image": image} for c in deployment["spec"]["template"]["spec"]["containers"]
    ]
    kube.store.update(
        "deployments",
        SHOP,
        "checkout",
        {
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": str(revision)}},
            "spec": {"template": {"spec": {"containers": containers}}},
        },
    )


def images(kube: KubeWorld) -> list[Any]:
    return [c["image"] for c in kube.deployment()["spec"]["template"]["spec"]["containers"]]


async def test_rollback_to_the_previous_revision_and_roll_forward(kube: KubeWorld) -> None:
    release(kube, 2)
    release(kube, 3)
    before = await kube.snapshot("k8s.rollback", ROLLBACK)
    assert (before["revision"], before["target_revision"]) == (3, 2)

    diff = await kube.diff("k8s.rollback", ROLLBACK)
    assert {
        "path": "spec.template.spec.containers[app].image",
        "before": "registry.local/app:3",
        "after": "registry.local/app:2",
    } in diff
    assert kube.store.writes == []

    result = await kube.apply("k8s.rollback", ROLLBACK)
    assert result["revision"] == 2
    assert images(kube) == ["registry.local/app:2", "registry.local/app:2"]
    labels = kube.deployment()["spec"]["template"]["metadata"]["labels"]
    assert "pod-template-hash" not in labels
    await kube.apply("k8s.rollback", ROLLBACK)
    assert len(kube.store.writes) == 1

    await kube.undo("k8s.rollback", ROLLBACK, before)
    assert images(kube) == ["registry.local/app:3", "registry.local/app:3"]


async def test_rollback_to_a_named_revision_and_refusals(kube: KubeWorld) -> None:
    release(kube, 2)
    release(kube, 3)
    await kube.apply("k8s.rollback", {"service": "checkout", "revision": 1})
    assert images(kube) == ["registry.local/app:1", "registry.local/app:1"]
    with pytest.raises(ActionRefusedError, match=r"has no revision 7 \(it has 1, 2, 3\)"):
        await kube.apply("k8s.rollback", {"service": "checkout", "revision": 7})
    with pytest.raises(ActionRefusedError, match="needs a Deployment"):
        await kube.apply("k8s.rollback", {"service": "ledger"})


async def test_nothing_to_roll_back_to(kube: KubeWorld) -> None:
    with pytest.raises(ActionRefusedError, match="no revision before 1"):
        await kube.apply("k8s.rollback", ROLLBACK)


async def test_undo_refused_after_another_deploy(kube: KubeWorld) -> None:
    release(kube, 2)
    before = await kube.snapshot("k8s.rollback", ROLLBACK)
    await kube.apply("k8s.rollback", ROLLBACK)
    release(kube, 4)
    with pytest.raises(ActionRefusedError, match="changed since Steward's change"):
        await kube.undo("k8s.rollback", ROLLBACK, before)
    assert images(kube)[0] == "registry.local/app:4"
