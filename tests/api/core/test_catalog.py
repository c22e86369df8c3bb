"""The catalog file: its errors name file, service and field; kubeconfig files and contexts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.core.catalog import (
    CatalogError,
    HttpTarget,
    KubernetesTarget,
    load_catalog,
    parse_catalog,
)
from tests.support.catalog import catalog_text, write_catalog, write_kubeconfig

REPO_ROOT = Path(__file__).resolve().parents[3]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "steward.yaml"
    path.write_text(text)
    return path


def test_a_valid_catalog_loads_every_kind(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path))
    checkout = catalog.service("checkout")
    assert isinstance(checkout.target, KubernetesTarget)
    assert checkout.target.workload is not None and checkout.target.workload.name == "checkout"
    assert checkout.queries["p95_ms"].startswith("histogram_quantile")
    assert isinstance(catalog.service("billing").target, HttpTarget)
    assert catalog.service("search").environment == "development"
    assert catalog.cluster("local").in_cluster
    assert catalog.source == str(tmp_path / "steward.yaml")
    assert catalog.policy_facts("checkout") == {
        "environment": "production",
        "owners": ["team-payments"],
    }
    assert catalog.policy_facts("nowhere") is None
    catalog.check_reachable_config()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            "services:\n  checkout:\n    target: {kind: kubernetes, cluster: c, namespace: Shop,"
            " selector: {app: x}}\nclusters: {c: {}}\n",
            "services.checkout.target.namespace: String should match pattern",
        ),
        (
            "services:\n  billing:\n    target: {kind: http, url: ftp://x}\n",
            "services.billing.target.url: String should match pattern",
        ),
        (
            "services:\n  billing:\n    target: {kind: ssh}\n",
            "services.billing.target: Input tag 'ssh' found using 'kind' does not match",
        ),
        (
            "services:\n  billing:\n    owner: [a]\n    target: {kind: demo}\n",
            "services.billing.owner: Extra inputs are not permitted",
        ),
        (
            "services:\n  checkout:\n    target: {kind: kubernetes, cluster: nope, namespace: shop,"
            " selector: {app: x}}\n",
            "services.checkout.target.cluster: unknown cluster 'nope' (known clusters: none)",
        ),
        (
            "services:\n  checkout:\n    target: {kind: kubernetes, cluster: c, namespace: shop}\n"
            "clusters: {c: {}}\n",
            "services.checkout.target: give a workload or a selector",
        ),
        (
            "clusters:\n  c: {in_cluster: true, context: x}\n",
            "clusters.c: in_cluster excludes kubeconfig and context",
        ),
    ],
)
def test_an_invalid_catalog_names_file_service_and_field(
    tmp_path: Path, text: str, field: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CatalogError) as refused:
        parse_catalog(path)
    message = str(refused.value)
    assert message.startswith(f"invalid service catalog {path}: {field}"), message
    assert "\n" not in message


def test_unreadable_or_malformed_files_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CatalogError, match=f"cannot read the service catalog {missing}"):
        load_catalog(missing)
    broken = _write(tmp_path, "services:\n  a: {target: [}\n")
    with pytest.raises(CatalogError) as refused:
        parse_catalog(broken)
    assert str(refused.value).startswith(f"the service catalog {broken} is not valid YAML")
    assert "\n" not in str(refused.value)
    listed = _write(tmp_path, "- a\n- b\n")
    with pytest.raises(CatalogError, match="must be a mapping"):
        parse_catalog(listed)


def test_a_missing_kubeconfig_names_cluster_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, catalog_text(tmp_path / "no-such-kubeconfig"))
    with pytest.raises(CatalogError) as refused:
        load_catalog(path).check_reachable_config()
    assert str(refused.value) == (
        f"service catalog {path}: clusters.prod-eu: "
        f"kubeconfig file {tmp_path / 'no-such-kubeconfig'} not found"
    )


def test_a_missing_context_names_cluster_file_and_context(tmp_path: Path) -> None:
    path = write_catalog(tmp_path, context="prod-us")
    with pytest.raises(CatalogError) as refused:
        load_catalog(path).check_reachable_config()
    kubeconfig = tmp_path / "kube" / "config"
    assert str(refused.value) == (
        f"service catalog {path}: clusters.prod-eu: context 'prod-us' is not in kubeconfig "
        f"file {kubeconfig} (its contexts: prod-eu, staging)"
    )
    assert "secret-token" not in str(refused.value)


def test_the_default_kubeconfig_is_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(
        tmp_path,
        "clusters: {prod: {context: prod}}\nservices:\n  a:\n    target: {kind: kubernetes,"
        " cluster: prod, namespace: ns, selector: {app: a}}\n",
    )
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(CatalogError, match=r"kubeconfig file .*/home/\.kube/config not found"):
        load_catalog(path).check_reachable_config()
    write_kubeconfig(tmp_path / "home" / ".kube" / "config", "prod")
    load_catalog(path).check_reachable_config()


def test_a_file_that_is_not_a_kubeconfig_is_refused(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("contexts: 3\n")
    path = _write(tmp_path, catalog_text(kubeconfig))
    with pytest.raises(CatalogError, match="is not a kubeconfig"):
        load_catalog(path).check_reachable_config()
    kubeconfig.write_text("contexts: [\n")
    with pytest.raises(CatalogError, match="is not valid YAML"):
        load_catalog(path).check_reachable_config()


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = write_catalog(tmp_path)
    first = load_catalog(path)
    assert load_catalog(path) is first
    path.write_text(path.read_text().replace("team-payments", "team-shop"))
    later = path.stat().st_mtime + 5  # a new mtime even on a coarse clock
    os.utime(path, (later, later))
    assert load_catalog(path).service("checkout").owners == ["team-shop"]


def test_the_shipped_example_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog(REPO_ROOT / "steward.example.yaml")
    assert set(catalog.services) == {"checkout", "search-workers", "billing", "demo"}
    assert catalog.service("checkout").queries
    # Its kubeconfig is the default one: with that file and context the start-up check passes.
    monkeypatch.setenv("HOME", str(tmp_path))
    write_kubeconfig(tmp_path / ".kube" / "config", "prod-eu")
    catalog.check_reachable_config()
