"""``steward targets check`` against the stand-in API server, through the real lightkube client.

The stand-in answers SelfSubjectAccessReviews from the same per-verb denials that make its
other routes answer 403, so a denied verb is one the actuators would be refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from activities.actuators.kubernetes.permissions import required
from api.cli.main import app
from api.core.settings import Settings, get_settings
from bench.harness.servers import free_port
from tests.support.kube_api import KubeStore, running_kube_api, write_kubeconfig

WORKLOAD = {"kind": "Deployment", "name": "checkout"}


def service(cluster: str, namespace: str) -> dict[str, Any]:
    target = {"kind": "kubernetes", "cluster": cluster, "namespace": namespace}
    return {"target": {**target, "workload": WORKLOAD}}


@pytest.fixture
def store() -> KubeStore:
    return KubeStore()


@pytest.fixture
def kube_url(store: KubeStore) -> Iterator[str]:
    with running_kube_api(store) as url:
        yield url


def use_catalog(
    monkeypatch: pytest.MonkeyPatch, directory: Path, catalog: dict[str, Any] | str
) -> None:
    """Make ``catalog`` the catalog of the settings the CLI reads."""
    path = directory / "steward.yaml"
    path.write_text(catalog if isinstance(catalog, str) else yaml.safe_dump(catalog))
    monkeypatch.setenv("STEWARD_CATALOG", str(path))
    get_settings.cache_clear()


def standin_catalog(kubeconfig: Path) -> dict[str, Any]:
    """One cluster, services in two namespaces, and an HTTP service that is not asked about."""
    return {
        "clusters": {"standin": {"kubeconfig": str(kubeconfig), "context": "standin"}},
        "services": {
            "checkout": service("standin", "shop"),
            "ledger": service("standin", "billing"),
            "web": {"target": {"kind": "http", "url": "http://127.0.0.1:1"}},
        },
    }


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["targets", "check", *args], env={"COLUMNS": "250"})


def expected_reviews() -> set[tuple[str, str, str]]:
    asked = set()
    for p in required():
        for verb in p.verbs:
            for namespace in [""] if p.scope == "cluster" else ["billing", "shop"]:
                asked.add((verb, p.resource, namespace))
    return asked


def test_all_allowed(
    settings: Settings,
    store: KubeStore,
    kube_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_catalog(monkeypatch, tmp_path, standin_catalog(write_kubeconfig(tmp_path, server=kube_url)))
    result = run("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["namespaces"] == {"standin": ["billing", "shop"]}
    assert report["kubernetes_services"] == 2
    assert report["missing"] == 0 and report["problems"] == []
    rows = report["permissions"]
    assert all(row["allowed"] for row in rows)
    assert {(r["verb"], r["resource"], r["namespace"]) for r in rows} == expected_reviews()
    assert set(store.reviews) == expected_reviews()
    assert store.writes == []
    evict = next(r for r in rows if r["resource"] == "pods/eviction")
    assert evict["needed_by"] == ["k8s.drain"] and evict["namespace"] == ""

    table = run()
    assert table.exit_code == 0, table.output
    assert f"All {len(rows)} permissions allowed." in table.stdout
    line = next(line for line in table.stdout.splitlines() if "pods/eviction" in line)
    assert line.split() == [
        "standin",
        "(cluster-wide)",
        "pods/eviction",
        "create",
        "allowed",
        "k8s.drain",
    ]


def test_a_denied_verb_is_missing_and_exits_1(
    settings: Settings,
    store: KubeStore,
    kube_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_catalog(monkeypatch, tmp_path, standin_catalog(write_kubeconfig(tmp_path, server=kube_url)))
    store.forbid("patch", "deployments")
    result = run("--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    missing = [r for r in report["permissions"] if not r["allowed"]]
    assert [(r["namespace"], r["group"], r["resource"], r["verb"]) for r in missing] == [
        ("billing", "apps", "deployments", "patch"),
        ("shop", "apps", "deployments", "patch"),
    ]
    assert missing[0]["needed_by"] == [
        "k8s.rollback",
        "k8s.rollout_restart",
        "k8s.scale",
        "k8s.set_resources",
    ]
    assert report["missing"] == 2

    table = run()
    assert table.exit_code == 1
    rows = [line.split() for line in table.stdout.splitlines() if "MISSING" in line]
    assert [row[:5] for row in rows] == [
        ["standin", "billing", "deployments.apps", "patch", "MISSING"],
        ["standin", "shop", "deployments.apps", "patch", "MISSING"],
    ]
    assert "2 of " in table.stdout and "deploy/kubernetes/steward-rbac.yaml" in table.stdout


def test_an_unreachable_cluster_exits_3_in_one_line(
    settings: Settings,
    store: KubeStore,
    kube_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = standin_catalog(write_kubeconfig(tmp_path, server=kube_url))
    gone = write_kubeconfig(tmp_path, server=f"http://127.0.0.1:{free_port()}", context="gone")
    catalog["clusters"]["gone"] = {"kubeconfig": str(gone), "context": "gone"}
    catalog["services"]["far"] = service("gone", "shop")
    use_catalog(monkeypatch, tmp_path, catalog)
    result = run("--timeout", "5")
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("steward targets check: cluster 'gone' cannot be reached: ")
    assert "Traceback" not in result.output
    # The reachable cluster is still reported.
    assert "All " in result.stdout and "standin" in result.stdout


def test_no_kubernetes_services_says_so(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = {"services": {"web": {"target": {"kind": "http", "url": "http://127.0.0.1:1"}}}}
    use_catalog(monkeypatch, tmp_path, catalog)
    result = run()
    assert result.exit_code == 0, result.output
    assert "has no Kubernetes services" in result.stdout
    assert "Nothing to check." in result.stdout
    listed = run("--json")
    assert listed.exit_code == 0
    assert json.loads(listed.stdout)["permissions"] == []


def test_a_bad_catalog_or_kubeconfig_exits_2(
    settings: Settings,
    store: KubeStore,
    kube_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_catalog(monkeypatch, tmp_path, "services: [not, a, mapping")
    result = run()
    assert result.exit_code == 2
    assert result.stderr.startswith("steward targets check: the service catalog ")
    assert len(result.stderr.splitlines()) == 1

    catalog = standin_catalog(write_kubeconfig(tmp_path, server=kube_url))
    catalog["clusters"]["standin"]["context"] = "nowhere"
    use_catalog(monkeypatch, tmp_path, catalog)
    result = run()
    assert result.exit_code == 2
    assert "context 'nowhere' is not in kubeconfig file" in result.stderr
    assert store.reviews == []
