"""The declared permissions (``permissions.PERMISSIONS``) are exactly what the code asks for.

Each Kubernetes actuator runs its whole life (snapshot, dry-run diff, apply, undo) and each
check runs once, on every kind of target it serves, against the stand-in API server, which
logs every authorization it makes. What was asked must equal the declaration: a verb the code
uses and the table lacks would be a 403 in production, and one the table has and the code never
uses would be a grant too many in the shipped RBAC manifest.
"""

from __future__ import annotations

from typing import Any

import pytest

from activities.actuators.kubernetes.permissions import PERMISSIONS, atoms
from activities.actuators.registry import (
    ACTUATORS,
    CHECKS,
    ensure_registered,
    get_actuator,
    get_check,
    parse_params,
)
from tests.activities.actuators.kubernetes.conftest import SHOP, KubeWorld
from tests.support.kube_api import seed
from tests.support.kube_api.store import RESOURCES

CPU = {"requests": {"cpu": "500m"}}
# Every kind of target each name serves: workload kinds, a selector-only service, named pods.
SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "k8s.scale": [
        {"service": "checkout", "replicas": 5},
        {"service": "ledger", "replicas": 5},
    ],
    "k8s.rollout_restart": [{"service": s} for s in ("checkout", "ledger", "agent")],
    "k8s.set_resources": [
        {"service": s, "container": "app", **CPU} for s in ("checkout", "ledger", "agent")
    ],
    "k8s.patch_hpa": [{"service": "checkout", "max_replicas": 12}],
    "k8s.delete_pod": [
        {"service": "checkout", "pod": "checkout-a"},
        {"service": "workers", "max_count": 2},
        {"service": "ledger"},
        {"service": "agent"},
    ],
    "k8s.cordon": [{"cluster": "standin", "node": "node-1"}],
    "k8s.uncordon": [{"cluster": "standin", "node": "node-2"}],
    "k8s.drain": [{"cluster": "standin", "node": "node-1", "retry_seconds": 0.05}],
    "k8s.rollback": [{"service": "checkout"}],
    "k8s.node_drained": [{"cluster": "standin", "node": "node-1"}],
    "k8s.rollout_complete": [{"service": s} for s in ("checkout", "ledger", "agent")],
    "k8s.pods_ready": [{"service": s} for s in ("checkout", "ledger", "agent", "workers")],
}


def release_revision_2(kube: KubeWorld) -> None:
    """Give checkout a second revision, so a rollback has one to return to."""
    image = "registry.local/app:2"
    deployment = kube.deployment()
    seed.replica_set(kube.store, deployment=deployment, revision=2, image=image)
    containers = [
        {**c, "image": image} for c in deployment["spec"]["template"]["spec"]["containers"]
    ]
    kube.store.update(
        "deployments",
        SHOP,
        "checkout",
        {
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"template": {"spec": {"containers": containers}}},
        },
    )


async def exercise(kube: KubeWorld, name: str, params: dict[str, Any]) -> None:
    """Run an actuator's snapshot, diff, apply and undo, or a check once."""
    if name in CHECKS:
        check = get_check(name)
        result = await check.run(kube.ctx, parse_params(check.params_model, params, name))
        assert result.detail and "forbidden" not in result.detail
        return
    actuator = get_actuator(name)
    parsed = parse_params(actuator.params_model, params, name)
    before = await actuator.snapshot(kube.ctx, parsed)
    await actuator.diff(kube.ctx, parsed)
    await actuator.apply(kube.keyed(f"inc-perm:{name}", before), parsed)
    if not actuator.irreversible:
        await actuator.undo(kube.keyed(f"inc-perm:{name}:undo"), parsed, before)


def asked_atoms(kube: KubeWorld, *, node_action: bool) -> set[tuple[str, str, str, str]]:
    """What the stand-in authorized, as ``(scope, group, resource, verb)``.

    A service's action asks in the service's namespace (scope ``namespace``); a node action
    works across the cluster, so even its requests in one namespace (a pod's eviction, in
    whichever namespace the pod runs) need a cluster-wide grant.
    """
    found = set()
    for verb, resource, namespace in kube.store.asked:
        assert namespace in ("", SHOP)
        scope = "namespace" if namespace and not node_action else "cluster"
        group = RESOURCES[resource.partition("/")[0]].group
        found.add((scope, group, resource, verb))
    return found


def test_every_kubernetes_actuator_and_check_declares_its_permissions() -> None:
    ensure_registered()
    names = {n for n in (*ACTUATORS, *CHECKS) if n.startswith("k8s.")}
    assert names == set(PERMISSIONS) == set(SCENARIOS)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_declared_permissions_equal_what_the_code_asks(kube: KubeWorld, name: str) -> None:
    if name == "k8s.rollback":
        release_revision_2(kube)
    for params in SCENARIOS[name]:
        await exercise(kube, name, params)
    node_action = "cluster" in SCENARIOS[name][0]
    assert asked_atoms(kube, node_action=node_action) == atoms(PERMISSIONS[name])
