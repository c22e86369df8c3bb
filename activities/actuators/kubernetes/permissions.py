"""The Kubernetes API permissions each ``k8s.*`` actuator and check uses: the one source of truth.

Every entry is derived from the calls the actuator or check makes (through ``ServiceObjects``,
``guarded_patch``, ``api_call``...): a dry-run diff is a ``patch`` with ``dryRun=All``, which
RBAC authorizes as a patch; a retried patch that meets a conflict reads the object again
(``get``). ``tests/activities/actuators/kubernetes/test_permissions.py`` runs every actuator
and check against the stand-in API server and compares what it was asked with this table, and
``tests/deploy/test_rbac_manifest.py`` compares the shipped ``deploy/kubernetes/steward-rbac.yaml``
with it; ``steward targets check`` asks each cluster whether Steward's credentials may do it.

Standard library only: the API's services read it without importing any actuator.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PERMISSIONS",
    "Permission",
    "Scope",
    "atoms",
    "needed_by",
    "required",
]

Scope = Literal["namespace", "cluster"]


@dataclass(frozen=True, order=True)
class Permission:
    """One resource and the verbs used on it.

    Attributes:
        group: The API group (``""`` for the core group, ``apps``, ``autoscaling``...).
        resource: The plural, with its subresource when there is one (``pods/eviction``).
        verbs: The verbs, sorted (``get``, ``list``, ``patch``, ``delete``, ``create``).
        scope: ``namespace``: used in the namespace of the service acted on (a Role's worth,
            granted in every namespace the catalog's services use); ``cluster``: a
            cluster-scoped resource (nodes) or one used across all namespaces (a drain lists
            and evicts the pods of every namespace on its node), a ClusterRole's worth.
    """

    group: str
    resource: str
    verbs: tuple[str, ...]
    scope: Scope = "namespace"

    @property
    def qualified(self) -> str:
        """How RBAC messages name the resource: ``deployments.apps``, ``pods/eviction``."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


def _on(
    group: str, resources: Iterable[str], *verbs: str, scope: Scope = "namespace"
) -> list[Permission]:
    return [Permission(group, r, tuple(sorted(verbs)), scope) for r in resources]


# Any workload kind the catalog may name (activities.actuators.kubernetes.objects).
_WORKLOADS = ("deployments", "statefulsets", "daemonsets")
# A service without a catalog selector finds its pods by its workload's matchLabels.
_SELECTOR = _on("apps", _WORKLOADS, "get")
_NODE = _on("", ["nodes"], "get", "patch", scope="cluster")

PERMISSIONS: dict[str, tuple[Permission, ...]] = {
    # Reads and patches (dry runs too) the Deployment or StatefulSet: spec.replicas.
    "k8s.scale": tuple(_on("apps", ("deployments", "statefulsets"), "get", "patch")),
    # Patches the pod template's annotations of any workload kind.
    "k8s.rollout_restart": tuple(_on("apps", _WORKLOADS, "get", "patch")),
    # A strategic merge patch on one container of any workload kind.
    "k8s.set_resources": tuple(_on("apps", _WORKLOADS, "get", "patch")),
    # The autoscaler's bounds (autoscaling/v2).
    "k8s.patch_hpa": tuple(_on("autoscaling", ["horizontalpodautoscalers"], "get", "patch")),
    # A named pod is read to check its labels; otherwise the service's pods are listed.
    "k8s.delete_pod": (*_on("", ["pods"], "delete", "get", "list"), *_SELECTOR),
    "k8s.cordon": tuple(_NODE),
    "k8s.uncordon": tuple(_NODE),
    # Cordons, lists the node's pods in every namespace, evicts them where they run.
    "k8s.drain": (
        *_NODE,
        *_on("", ["pods"], "list", scope="cluster"),
        *_on("", ["pods/eviction"], "create", scope="cluster"),
    ),
    # The revisions are the Deployment's ReplicaSets.
    "k8s.rollback": (
        *_on("apps", ["deployments"], "get", "patch"),
        *_on("apps", ["replicasets"], "list"),
    ),
    "k8s.rollout_complete": tuple(_on("apps", _WORKLOADS, "get")),
    "k8s.pods_ready": (*_on("", ["pods"], "list"), *_SELECTOR),
    # Reads the node, and lists the pods on it in every namespace (as the drain does).
    "k8s.node_drained": (
        *_on("", ["nodes"], "get", scope="cluster"),
        *_on("", ["pods"], "list", scope="cluster"),
    ),
}


def atoms(permissions: Iterable[Permission]) -> set[tuple[Scope, str, str, str]]:
    """The permissions as ``(scope, group, resource, verb)`` tuples, one per verb."""
    return {(p.scope, p.group, p.resource, verb) for p in permissions for verb in p.verbs}


def required(*, names: Iterable[str] | None = None) -> list[Permission]:
    """The permissions of the named actuators and checks (all when None), one per resource.

    Verbs of the same resource and scope are merged, so the result reads as RBAC rules do.

    Raises:
        KeyError: A name that is not a Kubernetes actuator or check.
    """
    chosen = PERMISSIONS if names is None else {n: PERMISSIONS[n] for n in names}
    verbs: dict[tuple[Scope, str, str], set[str]] = {}
    for permissions in chosen.values():
        for p in permissions:
            verbs.setdefault((p.scope, p.group, p.resource), set()).update(p.verbs)
    return sorted(
        Permission(group, resource, tuple(sorted(v)), scope)
        for (scope, group, resource), v in verbs.items()
    )


def needed_by(*, scope: Scope, group: str, resource: str, verb: str) -> list[str]:
    """The actuators and checks that need ``verb`` on ``resource`` at ``scope``, by name."""
    return sorted(
        name
        for name, permissions in PERMISSIONS.items()
        if (scope, group, resource, verb) in atoms(permissions)
    )
