"""Fixtures: the stand-in API server with a small shop seeded, and a catalog pointing at it.

``kube`` serves a fresh :class:`KubeStore` per test and writes a kubeconfig and a catalog
(``steward.yaml``) into the test's tmp_path; its ``ctx`` is the ActuatorContext the actuators
get in a worker. The catalog's services: ``checkout`` (Deployment, containers ``[app]``),
``ledger`` (StatefulSet), ``agent`` (DaemonSet), ``workers`` (a selector only), ``web``
(an HTTP target), and ``gone`` (a cluster whose API server does not listen).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from activities.actuators.registry import (
    ActuatorContext,
    CheckResult,
    get_actuator,
    get_check,
    parse_params,
)
from api.core.settings import Settings
from bench.harness.servers import free_port
from tests.support.kube_api import KubeStore, running_kube_api, seed, with_catalog, write_kubeconfig

SHOP = "shop"
CHECKOUT = {"app": "checkout"}


@dataclass
class KubeWorld:
    """The stand-in, its URL and what an actuator is called with."""

    store: KubeStore
    url: str
    ctx: ActuatorContext

    def keyed(self, key: str, before: dict[str, Any] | None = None) -> ActuatorContext:
        """The context of an apply with idempotency key ``key`` (and its snapshot)."""
        return ActuatorContext(self.ctx.http, self.ctx.settings, key, before=before)

    async def snapshot(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """The registered actuator's snapshot."""
        actuator = get_actuator(name)
        return await actuator.snapshot(self.ctx, parse_params(actuator.params_model, params, name))

    async def apply(
        self,
        name: str,
        params: dict[str, Any],
        key: str = "inc-1:1",
        before: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The registered actuator's apply with idempotency key ``key``, after ``before``."""
        actuator = get_actuator(name)
        parsed = parse_params(actuator.params_model, params, name)
        return await actuator.apply(self.keyed(key, before), parsed)

    async def undo(
        self, name: str, params: dict[str, Any], before: dict[str, Any]
    ) -> dict[str, Any]:
        """The registered actuator's undo."""
        actuator = get_actuator(name)
        parsed = parse_params(actuator.params_model, params, name)
        return await actuator.undo(self.keyed("inc-1:1:undo"), parsed, before)

    async def diff(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The registered actuator's dry-run diff."""
        actuator = get_actuator(name)
        parsed = parse_params(actuator.params_model, params, name)
        result = await actuator.diff(self.ctx, parsed)
        assert result is not None
        return result

    async def observe(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """The registered actuator's facts for the policy."""
        actuator = get_actuator(name)
        parsed = parse_params(actuator.params_model, params, name)
        result = await actuator.observe(self.ctx, parsed)
        assert result is not None
        return result

    async def check(self, name: str, params: dict[str, Any]) -> CheckResult:
        """One run of the registered check."""
        check = get_check(name)
        return await check.run(self.ctx, parse_params(check.params_model, params, name))

    def deployment(self, name: str = "checkout") -> dict[str, Any]:
        """The stored Deployment."""
        obj = self.store.get("deployments", SHOP, name)
        assert obj is not None
        return obj


def catalog(kubeconfig: Path, unreachable: Path) -> dict[str, Any]:
    """The tests' service catalog."""
    target = {"kind": "kubernetes", "cluster": "standin", "namespace": SHOP}
    return {
        "clusters": {
            "standin": {"kubeconfig": str(kubeconfig), "context": "standin"},
            "gone": {"kubeconfig": str(unreachable), "context": "gone"},
        },
        "services": {
            "checkout": {
                "target": {
                    **target,
                    "workload": {"kind": "Deployment", "name": "checkout"},
                    "containers": ["app"],
                }
            },
            "ledger": {"target": {**target, "workload": {"kind": "StatefulSet", "name": "ledger"}}},
            "agent": {"target": {**target, "workload": {"kind": "DaemonSet", "name": "agent"}}},
            "workers": {"target": {**target, "selector": {"app": "worker"}}},
            "web": {"target": {"kind": "http", "url": "http://127.0.0.1:1"}},
            "gone": {
                "target": {
                    **target,
                    "cluster": "gone",
                    "workload": {"kind": "Deployment", "name": "checkout"},
                }
            },
        },
    }


def seed_shop(store: KubeStore) -> None:
    """The shop namespace: checkout (3 replicas, app + sidecar), ledger, agent, workers."""
    deployment = seed.workload(
        store, name="checkout", namespace=SHOP, labels=CHECKOUT, containers=("app", "sidecar")
    )
    seed.replica_set(store, deployment=deployment, revision=1, image="registry.local/app:1")
    seed.workload(
        store, kind="statefulsets", name="ledger", namespace=SHOP, labels={"app": "ledger"}
    )
    seed.workload(store, kind="daemonsets", name="agent", namespace=SHOP, labels={"app": "agent"})
    seed.node(store, name="node-1")
    seed.node(store, name="node-2", unschedulable=True)
    seed.hpa(store, name="checkout", namespace=SHOP, minimum=2, maximum=10)
    for name in ("checkout-a", "checkout-b", "checkout-c"):
        seed.pod(store, name=name, namespace=SHOP, labels=CHECKOUT)
    for name in ("worker-a", "worker-b"):
        seed.pod(store, name=name, namespace=SHOP, labels={"app": "worker"})


@pytest.fixture
def kube(settings: Settings, tmp_path: Path) -> Iterator[KubeWorld]:
    """The stand-in API server with the shop seeded, and settings whose catalog points at it."""
    store = KubeStore()
    seed_shop(store)
    with running_kube_api(store) as url:
        kubeconfig = write_kubeconfig(tmp_path, server=url)
        unreachable = write_kubeconfig(
            tmp_path, server=f"http://127.0.0.1:{free_port()}", context="gone"
        )
        kube_settings = with_catalog(settings, catalog(kubeconfig, unreachable), tmp_path)
        # The Kubernetes actuators use their own lightkube client, never this one.
        yield KubeWorld(store, url, ActuatorContext(httpx.AsyncClient(), kube_settings))
