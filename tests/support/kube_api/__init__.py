"""A stand-in Kubernetes API server for the Kubernetes actuators' tests.

:func:`running_kube_api` serves a :class:`KubeStore` on loopback (``bench.harness.servers``);
:func:`write_kubeconfig` writes a kubeconfig that points the real client at it; the seed
helpers in :mod:`tests.support.kube_api.seed` create the objects a test needs; it answers
``SelfSubjectAccessReview`` from its per-verb denials (:mod:`tests.support.kube_api.access`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from api.core.settings import Settings
from bench.harness.servers import serve_app
from tests.support.kube_api.app import create_kube_app
from tests.support.kube_api.store import KubeStore, Write

__all__ = [
    "KubeStore",
    "Write",
    "running_kube_api",
    "with_catalog",
    "write_kubeconfig",
]


@contextmanager
def running_kube_api(store: KubeStore) -> Iterator[str]:
    """Serve the stand-in over ``store`` on 127.0.0.1; yields its base URL."""
    with serve_app(create_kube_app(store)) as url:
        yield url


def write_kubeconfig(directory: Path, *, server: str, context: str = "standin") -> Path:
    """Write a kubeconfig whose context ``context`` points at ``server``; return its path."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": "steward", "user": {"token": "stand-in-token"}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": "steward", "namespace": "default"},
            }
        ],
        "current-context": context,
    }
    path = directory / f"kubeconfig-{context}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def with_catalog(settings: Settings, catalog: dict[str, Any], directory: Path) -> Settings:
    """``settings`` plus a catalog file holding ``catalog``, written into ``directory``."""
    path = directory / "steward.yaml"
    path.write_text(yaml.safe_dump(catalog))
    return settings.model_copy(update={"catalog_path": path})
