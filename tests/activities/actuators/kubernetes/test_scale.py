"""k8s.scale against the stand-in API server, through the real lightkube client."""

from __future__ import annotations

import pytest

from activities.actuators.registry import ActionRefusedError
from tests.activities.actuators.kubernetes.conftest import SHOP, KubeWorld

pytestmark = pytest.mark.asyncio(loop_scope="session")
SCALE = {"service": "checkout", "replicas": 8}


async def test_snapshot_apply_undo(kube: KubeWorld) -> None:
    before = await kube.snapshot("k8s.scale", SCALE)
    assert before["replicas"] == 3
    assert before["resourceVersion"] == kube.deployment()["metadata"]["resourceVersion"]

    result = await kube.apply("k8s.scale", SCALE)
    assert result["replicas"] == 8
    assert kube.deployment()["spec"]["replicas"] == 8
    assert kube.deployment()["metadata"]["generation"] == 2

    await kube.undo("k8s.scale", SCALE, before)
    assert kube.deployment()["spec"]["replicas"] == 3
    # Every patch carried the version it was read at (optimistic concurrency).
    patches = [q for m, _, q in kube.store.requests if m == "PATCH"]
    assert len(patches) == 2


async def test_retried_apply_writes_nothing_more(kube: KubeWorld) -> None:
    await kube.apply("k8s.scale", SCALE)
    await kube.apply("k8s.scale", SCALE)
    assert [w.verb for w in kube.store.writes] == ["patch"]
    assert kube.deployment()["spec"]["replicas"] == 8


async def test_statefulset_scales_and_daemonset_is_refused(kube: KubeWorld) -> None:
    await kube.apply("k8s.scale", {"service": "ledger", "replicas": 5})
    assert kube.store.get("statefulsets", SHOP, "ledger")["spec"]["replicas"] == 5  # type: ignore[index]
    with pytest.raises(ActionRefusedError, match="runs as a DaemonSet"):
        await kube.apply("k8s.scale", {"service": "agent", "replicas": 5})


async def test_a_change_by_another_writer_between_read_and_patch_is_refused(
    kube: KubeWorld,
) -> None:
    # The other writer changes the replicas right after our read: the stand-in sees our
    # patch carry the version we read, answers 409, and the re-read shows 5, not our 8.
    kube.store.race("deployments", SHOP, "checkout", {"spec": {"replicas": 5}})
    with pytest.raises(
        ActionRefusedError, match=r"changed since the snapshot \(resourceVersion .*\); decide again"
    ):
        await kube.apply("k8s.scale", SCALE)
    assert kube.deployment()["spec"]["replicas"] == 5
    assert kube.store.writes == []


async def test_a_change_between_the_snapshot_and_the_apply_is_refused(kube: KubeWorld) -> None:
    # Approvers saw 3 replicas; someone set 5 while they decided: the apply does not act.
    before = await kube.snapshot("k8s.scale", SCALE)
    kube.store.update("deployments", SHOP, "checkout", {"spec": {"replicas": 5}})
    with pytest.raises(ActionRefusedError, match=r"changed since the snapshot \(version "):
        await kube.apply("k8s.scale", SCALE, before=before)
    assert kube.deployment()["spec"]["replicas"] == 5
    # Unchanged since the snapshot: it applies, at the snapshot's version.
    before = await kube.snapshot("k8s.scale", SCALE)
    await kube.apply("k8s.scale", SCALE, before=before)
    assert kube.deployment()["spec"]["replicas"] == 8


async def test_undo_never_overwrites_a_later_change(kube: KubeWorld) -> None:
    before = await kube.snapshot("k8s.scale", SCALE)
    await kube.apply("k8s.scale", SCALE)
    kube.store.update("deployments", SHOP, "checkout", {"spec": {"replicas": 12}})
    with pytest.raises(ActionRefusedError, match="changed since Steward's change"):
        await kube.undo("k8s.scale", SCALE, before)
    assert kube.deployment()["spec"]["replicas"] == 12


async def test_dry_run_diff_writes_nothing(kube: KubeWorld) -> None:
    diff = await kube.diff("k8s.scale", SCALE)
    assert diff == [{"path": "spec.replicas", "before": 3, "after": 8}]
    assert kube.store.writes == []
    assert kube.deployment()["spec"]["replicas"] == 3
    assert any("dryRun=All" in q for m, _, q in kube.store.requests if m == "PATCH")


async def test_forbidden_names_the_verb_and_resource(kube: KubeWorld) -> None:
    kube.store.forbid("patch", "deployments")
    with pytest.raises(ActionRefusedError, match="may not patch deployments.apps"):
        await kube.apply("k8s.scale", SCALE)


async def test_deleted_since_the_snapshot_is_not_recreated(kube: KubeWorld) -> None:
    before = await kube.snapshot("k8s.scale", SCALE)
    kube.store.objects.pop(("deployments", SHOP, "checkout"))
    with pytest.raises(ActionRefusedError, match="deleted since the snapshot"):
        await kube.apply("k8s.scale", SCALE)
    with pytest.raises(ActionRefusedError, match="deleted since the snapshot"):
        await kube.undo("k8s.scale", SCALE, before)
    assert kube.store.get("deployments", SHOP, "checkout") is None


async def test_unreachable_api_server_is_retryable(kube: KubeWorld) -> None:
    with pytest.raises(Exception) as caught:
        await kube.apply("k8s.scale", {"service": "gone", "replicas": 2})
    # Not final: the activity retries anything but ActionRefusedError.
    assert not isinstance(caught.value, ActionRefusedError)
    assert (
        "connect" in type(caught.value).__name__.lower() or "connect" in str(caught.value).lower()
    )


async def test_services_that_are_not_on_kubernetes_are_refused(kube: KubeWorld) -> None:
    with pytest.raises(ActionRefusedError, match="does not run on Kubernetes"):
        await kube.apply("k8s.scale", {"service": "web", "replicas": 2})
    with pytest.raises(ActionRefusedError, match="unknown service 'nope'"):
        await kube.apply("k8s.scale", {"service": "nope", "replicas": 2})


async def test_plan_names_the_change(kube: KubeWorld) -> None:
    from activities.actuators.registry import get_actuator

    actuator = get_actuator("k8s.scale")
    text = actuator.plan(actuator.params_model.model_validate(SCALE))
    assert text == "scale the workload of service 'checkout' to 8 replicas"


async def test_the_policy_sees_the_replicas_a_scale_down_stops(kube: KubeWorld) -> None:
    assert await kube.observe("k8s.scale", {"service": "checkout", "replicas": 1}) == {
        "replicas_total": 3,
        "replicas_desired": 1,
        "replicas_affected": 2,
        "namespaces": [SHOP],
    }
    scale_out = await kube.observe("k8s.scale", SCALE)
    assert scale_out["replicas_affected"] == 0
    assert kube.store.writes == []
