"""The client module: catalog resolution, kubeconfig errors, and the JSON diff helpers."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from activities.actuators.kubernetes.client import cluster_client, kube_target
from activities.actuators.kubernetes.diff import json_diff, merge_patch_between
from activities.actuators.kubernetes.workloads import Scale, ScaleParams
from activities.actuators.registry import ActionRefusedError, ActuatorContext
from api.core.catalog import KubernetesCluster
from api.core.settings import Settings
from tests.activities.actuators.kubernetes.conftest import KubeWorld
from tests.support.kube_api.patching import merge_patch


async def test_settings_without_a_catalog_are_refused_clearly(settings: Settings) -> None:
    # Without STEWARD_CATALOG only the demo target (and STEWARD_TARGETS) are known.
    with pytest.raises(ActionRefusedError, match=r"unknown service 'checkout'; known services: "):
        kube_target(settings, "checkout")
    with pytest.raises(ActionRefusedError, match="does not run on Kubernetes"):
        kube_target(settings, "demo")


async def test_a_broken_catalog_names_its_file(kube: KubeWorld) -> None:
    path = kube.ctx.settings.catalog_path
    assert path is not None
    path.write_text("services: {checkout: {target: {kind: kubernetes}}}\n")
    with pytest.raises(ActionRefusedError, match=f"invalid service catalog {path}"):
        await kube.apply("k8s.scale", {"service": "checkout", "replicas": 2})


async def test_kubeconfig_problems_are_final(tmp_path: Path) -> None:
    missing = KubernetesCluster(kubeconfig=tmp_path / "nope.yaml")
    with pytest.raises(ActionRefusedError, match="cannot read the kubeconfig of cluster 'a'"):
        cluster_client(name="a", cluster=missing)
    config = tmp_path / "config.yaml"
    config.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    wrong = KubernetesCluster(kubeconfig=config, context="elsewhere")
    with pytest.raises(ActionRefusedError, match="cluster 'b'"):
        cluster_client(name="b", cluster=wrong)
    # Outside a pod there is no service account to read.
    with pytest.raises(ActionRefusedError, match="cannot configure a client for cluster 'c'"):
        cluster_client(name="c", cluster=KubernetesCluster(in_cluster=True))


async def test_one_client_per_cluster_until_its_kubeconfig_changes(kube: KubeWorld) -> None:
    path = Path(kube.ctx.settings.catalog_path).parent / "kubeconfig-standin.yaml"  # type: ignore[attr-defined]
    cluster = KubernetesCluster(kubeconfig=path, context="standin")
    first = cluster_client(name="standin", cluster=cluster)
    assert cluster_client(name="standin", cluster=cluster) is first
    path.write_text(path.read_text() + "\n")
    os.utime(path, (1, 1))
    assert cluster_client(name="standin", cluster=cluster) is not first


def test_json_diff_paths() -> None:
    before = {
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}},
        }
    }
    after = {
        "spec": {
            "replicas": 8,
            "template": {"spec": {"containers": [{"name": "app", "image": "a:2"}]}},
        }
    }
    assert json_diff(before, after) == [
        {"path": "spec.replicas", "before": 3, "after": 8},
        {"path": "spec.template.spec.containers[app].image", "before": "a:1", "after": "a:2"},
    ]
    assert json_diff({"a": [1, 2]}, {"a": [1]}) == [{"path": "a[1]", "before": 2, "after": None}]
    assert (
        json_diff({"metadata": {"resourceVersion": "1"}}, {"metadata": {"resourceVersion": "2"}})
        == []
    )


def test_merge_patch_between_round_trips_through_rfc7386() -> None:
    source = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": {"f": 1}}
    target = {"a": {"b": 2, "c": [3]}, "e": {"f": 1}, "g": True}
    patch = merge_patch_between(source, target)
    assert patch == {"a": {"b": 2, "c": [3]}, "d": None, "g": True}
    assert merge_patch(source, patch) == target


async def test_unused_context_http_client_is_not_needed(kube: KubeWorld) -> None:
    # The Kubernetes actuators use lightkube, never the worker's httpx client: a closed one works.
    closed = httpx.AsyncClient()
    await closed.aclose()
    ctx = ActuatorContext(closed, kube.ctx.settings, "inc-closed:1")
    await Scale().apply(ctx, ScaleParams(service="checkout", replicas=4))
    assert kube.deployment()["spec"]["replicas"] == 4
