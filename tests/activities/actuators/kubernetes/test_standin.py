"""The stand-in API server speaks the real protocol: Status bodies, patches, dry run, writes."""

from __future__ import annotations

import httpx

from tests.activities.actuators.kubernetes.conftest import KubeWorld
from tests.support.kube_api.patching import merge_patch, strategic_merge_patch

DEPLOYMENT = "/apis/apps/v1/namespaces/shop/deployments/checkout"
MERGE = {"Content-Type": "application/merge-patch+json"}


def test_rfc7386_examples() -> None:
    # From RFC 7386, appendix A.
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch(["a", "b"], ["c", "d"]) == ["c", "d"]
    assert merge_patch({"a": "foo"}, "bar") == "bar"
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_strategic_merge_merges_containers_by_name() -> None:
    current = {"containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "s:1"}]}
    patched = strategic_merge_patch(current, {"containers": [{"name": "side", "image": "s:2"}]})
    assert patched == {
        "containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "s:2"}]
    }
    removed = strategic_merge_patch(current, {"containers": [{"name": "app", "$patch": "delete"}]})
    assert removed == {"containers": [{"name": "side", "image": "s:1"}]}


async def test_errors_are_status_objects(kube: KubeWorld) -> None:
    async with httpx.AsyncClient(base_url=kube.url) as http:
        missing = await http.get("/apis/apps/v1/namespaces/shop/deployments/nope")
        version = kube.deployment()["metadata"]["resourceVersion"]
        stale = await http.patch(
            DEPLOYMENT,
            json={"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}},
            headers=MERGE,
        )
        kube.store.forbid("get", "pods")
        denied = await http.get("/api/v1/namespaces/shop/pods/checkout-a")
    assert missing.status_code == 404
    assert missing.json() | {"details": None} == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": None,
        "code": 404,
    }
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    assert kube.deployment()["metadata"]["resourceVersion"] == version
    assert denied.status_code == 403 and denied.json()["reason"] == "Forbidden"
    assert 'cannot get resource "pods"' in denied.json()["message"]


async def test_writes_bump_versions_and_dry_runs_store_nothing(kube: KubeWorld) -> None:
    start = kube.deployment()["metadata"]
    async with httpx.AsyncClient(base_url=kube.url) as http:
        dry = await http.patch(
            DEPLOYMENT, params={"dryRun": "All"}, json={"spec": {"replicas": 9}}, headers=MERGE
        )
        assert dry.json()["spec"]["replicas"] == 9 and kube.store.writes == []
        assert kube.deployment()["spec"]["replicas"] == 3
        labels = await http.patch(
            DEPLOYMENT, json={"metadata": {"labels": {"team": "pay"}}}, headers=MERGE
        )
        spec = await http.patch(DEPLOYMENT, json={"spec": {"replicas": 4}}, headers=MERGE)
    assert int(labels.json()["metadata"]["resourceVersion"]) > int(start["resourceVersion"])
    assert labels.json()["metadata"]["generation"] == start["generation"]
    assert spec.json()["metadata"]["generation"] == start["generation"] + 1
    assert [w.verb for w in kube.store.writes] == ["patch", "patch"]
