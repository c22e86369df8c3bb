"""k8s.delete_pod and the checks k8s.rollout_complete and k8s.pods_ready against the stand-in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from temporalio.testing import ActivityEnvironment

from activities.actuators.registry import ActionRefusedError, CheckResult
from tests.activities.actuators.kubernetes.conftest import CHECKOUT, SHOP, KubeWorld
from tests.support.kube_api import seed

pytestmark = pytest.mark.asyncio(loop_scope="session")


def pods(kube: KubeWorld) -> list[str]:
    return [p["metadata"]["name"] for p in kube.store.items("pods", SHOP)]


async def test_delete_pod_by_name_and_its_retry(kube: KubeWorld) -> None:
    result = await kube.apply("k8s.delete_pod", {"service": "checkout", "pod": "checkout-b"})
    assert result["deleted"] == ["checkout-b"]
    assert "checkout-b" not in pods(kube)
    again = await kube.apply("k8s.delete_pod", {"service": "checkout", "pod": "checkout-b"}, "k2")
    assert again["deleted"] == [] and again["missing"] == ["checkout-b"]
    assert [w.name for w in kube.store.writes] == ["checkout-b"]


async def test_delete_pod_by_selector_deletes_at_most_max_count_once(kube: KubeWorld) -> None:
    params = {"service": "workers", "max_count": 1}
    result = await kube.apply("k8s.delete_pod", params, key="inc-9:2")
    assert result["deleted"] == ["worker-a"]
    # The retry of the same apply deletes no second pod.
    await kube.apply("k8s.delete_pod", params, key="inc-9:2")
    assert pods(kube).count("worker-b") == 1
    assert len(kube.store.writes) == 1


async def test_delete_pod_refuses_a_pod_of_another_service_and_rbac(kube: KubeWorld) -> None:
    with pytest.raises(ActionRefusedError, match="does not belong to service 'checkout'"):
        await kube.apply("k8s.delete_pod", {"service": "checkout", "pod": "worker-a"})
    kube.store.forbid("delete", "pods")
    with pytest.raises(ActionRefusedError, match="may not delete pods"):
        await kube.apply("k8s.delete_pod", {"service": "checkout", "pod": "checkout-a"})
    assert kube.store.writes == []


async def test_rollout_complete_passes_then_fails_while_rolling(kube: KubeWorld) -> None:
    passed = await kube.check("k8s.rollout_complete", {"service": "checkout"})
    assert passed.ok, passed.detail
    await kube.apply("k8s.scale", {"service": "checkout", "replicas": 5})
    rolling = await kube.check("k8s.rollout_complete", {"service": "checkout"})
    assert not rolling.ok
    assert rolling.observed["generation"] == 2 and rolling.observed["observedGeneration"] == 1
    kube.store.update(
        "deployments", SHOP, "checkout", {"status": seed.rolled_out(kube.deployment())}
    )
    assert (await kube.check("k8s.rollout_complete", {"service": "checkout"})).ok
    daemon = await kube.check("k8s.rollout_complete", {"service": "agent"})
    assert daemon.ok, daemon.detail
    none = await kube.check("k8s.rollout_complete", {"service": "workers"})
    assert not none.ok and "names no workload" in none.detail


async def test_pods_ready_counts_ready_pods_and_crash_loops(kube: KubeWorld) -> None:
    assert (await kube.check("k8s.pods_ready", {"service": "checkout", "min_ready": 3})).ok
    short = await kube.check("k8s.pods_ready", {"service": "checkout", "min_ready": 4})
    assert not short.ok and "3 of 3 pods ready (need 4)" in short.detail
    seed.pod(
        kube.store,
        name="checkout-d",
        namespace=SHOP,
        labels=CHECKOUT,
        ready=False,
        waiting_reason="CrashLoopBackOff",
    )
    looping = await kube.check("k8s.pods_ready", {"service": "checkout", "min_ready": 3})
    assert not looping.ok and looping.observed["crash_looping"] == ["checkout-d/app"]


async def test_pods_ready_restart_against_a_given_baseline(kube: KubeWorld) -> None:
    baseline = {"checkout-a/app": 0, "checkout-b/app": 0, "checkout-c/app": 0}
    params = {"service": "checkout", "min_ready": 3, "baseline": baseline}
    assert (await kube.check("k8s.pods_ready", params)).ok
    kube.store.update(
        "pods",
        SHOP,
        "checkout-b",
        {"status": {"containerStatuses": [{**_status(), "restartCount": 1}]}},
    )
    restarted = await kube.check("k8s.pods_ready", params)
    assert not restarted.ok and restarted.observed["restarted"] == ["checkout-b/app"]


async def test_pods_ready_keeps_the_first_polls_baseline_within_a_verification(
    kube: KubeWorld,
) -> None:
    seed.pod(kube.store, name="checkout-old", namespace=SHOP, labels=CHECKOUT, restarts=4)
    params = {"service": "checkout", "min_ready": 3}
    env = ActivityEnvironment()

    async def poll() -> CheckResult:
        return await kube.check("k8s.pods_ready", params)

    first = await env.run(poll)
    # Restarts from before the verification started are not held against it.
    assert first.ok and first.observed["baseline"]["checkout-old/app"] == 4
    kube.store.update(
        "pods",
        SHOP,
        "checkout-old",
        {"status": {"containerStatuses": [{**_status(), "restartCount": 5}]}},
    )
    second = await env.run(poll)
    assert not second.ok and second.observed["restarted"] == ["checkout-old/app"]
    # A retried attempt (another worker) resumes the baseline from the heartbeat details.
    retried = ActivityEnvironment()
    last = {"ok": True, "observed": first.observed, "detail": ""}
    details = [{"deadline": 0, "attempts": 1, "last": last}]
    retried.info = replace(retried.info, activity_id="retry", heartbeat_details=details)
    resumed = await retried.run(poll)
    assert not resumed.ok and resumed.observed["baseline"] == first.observed["baseline"]


def _status() -> dict[str, object]:
    return {
        "name": "app",
        "image": "app:1",
        "imageID": "app@sha256:0",
        "ready": True,
        "restartCount": 0,
        "state": {"running": {}},
    }


async def test_the_policy_sees_how_many_of_the_services_pods_a_delete_takes(
    kube: KubeWorld,
) -> None:
    facts = await kube.observe("k8s.delete_pod", {"service": "checkout", "max_count": 5})
    assert facts == {"replicas_total": 3, "replicas_affected": 3, "namespaces": [SHOP]}
    one = await kube.observe("k8s.delete_pod", {"service": "checkout", "pod": "checkout-a"})
    assert one["replicas_affected"] == 1
    assert kube.store.writes == []
