"""Small kubeconfig and service catalog files for tests (no cluster is needed: only the file)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.core.settings import get_settings


def write_kubeconfig(path: Path, *contexts: str) -> Path:
    """Write a kubeconfig with these contexts (and a token that must never be shown)."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": "secret-token-never-listed"}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}} for name in contexts],
        "current-context": contexts[0] if contexts else "",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def catalog_text(kubeconfig: Path, context: str = "prod-eu") -> str:
    """A catalog with a kubernetes, an in-cluster, an http and no demo service."""
    return f"""
clusters:
  prod-eu: {{kubeconfig: {kubeconfig}, context: {context}}}
  local: {{in_cluster: true}}
services:
  checkout:
    environment: production
    owners: [team-payments]
    target:
      kind: kubernetes
      cluster: prod-eu
      namespace: shop
      workload: {{kind: Deployment, name: checkout}}
      containers: [app]
    queries:
      p95_ms: histogram_quantile(0.95, sum by (le) (rate(http_seconds_bucket[5m]))) * 1e3
  search:
    owners: [team-search]
    target: {{kind: kubernetes, cluster: local, namespace: search, selector: {{app: search}}}}
  billing:
    environment: staging
    owners: [team-billing]
    target: {{kind: http, url: "http://ops:hunter2@127.0.0.1:9/"}}
"""


def write_catalog(directory: Path, context: str = "prod-eu") -> Path:
    """Write a kubeconfig with ``prod-eu`` and a catalog using ``context``; return the catalog."""
    kubeconfig = write_kubeconfig(directory / "kube" / "config", "prod-eu", "staging")
    path = directory / "steward.yaml"
    path.write_text(catalog_text(kubeconfig, context))
    return path


def use_catalog(directory: Path, monkeypatch: pytest.MonkeyPatch, context: str = "prod-eu") -> Path:
    """Point this test's settings (``get_settings()``) at a catalog written under ``directory``."""
    path = write_catalog(directory, context)
    monkeypatch.setenv("STEWARD_CATALOG", str(path))
    get_settings.cache_clear()
    return path
