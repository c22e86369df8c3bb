"""The stand-in API server's state: objects, resource versions, RBAC denials and a write log.

Objects are plain JSON dicts, as the API server stores them. Every write that is not a dry run
bumps the cluster-wide resource version, stamps it on the object, and is appended to
:attr:`KubeStore.writes`, so tests can prove that dry runs and simulate mode wrote nothing.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str, str]  # (plural, namespace or "", name)


@dataclass(frozen=True)
class ResourceType:
    """One served resource: its API group, version, kind and whether it is namespaced."""

    group: str
    version: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``apps/v1``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES: dict[str, ResourceType] = {
    "deployments": ResourceType("apps", "v1", "Deployment"),
    "statefulsets": ResourceType("apps", "v1", "StatefulSet"),
    "daemonsets": ResourceType("apps", "v1", "DaemonSet"),
    "replicasets": ResourceType("apps", "v1", "ReplicaSet"),
    "pods": ResourceType("", "v1", "Pod"),
    "nodes": ResourceType("", "v1", "Node", namespaced=False),
    "poddisruptionbudgets": ResourceType("policy", "v1", "PodDisruptionBudget"),
    "horizontalpodautoscalers": ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler"),
}


@dataclass(frozen=True)
class Write:
    """One write the server stored: its verb, resource (``pods/eviction``...) and object."""

    verb: str
    resource: str
    namespace: str
    name: str


@dataclass
class KubeStore:
    """Everything the stand-in holds; thread-safe (the server runs in its own thread).

    Attributes:
        objects: The stored objects by (plural, namespace, name).
        writes: Every stored write, oldest first (dry runs are not writes).
        forbidden: (verb, resource) pairs answered 403, e.g. ``("patch", "deployments")``.
        requests: Every request as ``(method, path, query)``, for tests that look at the wire.
        races: Changes another writer makes right after a client's next GET of an object.
        asked: Every authorization the server made, as ``(verb, resource, namespace)``
            (namespace ``""`` for a cluster-scoped or all-namespaces request): what a client's
            RBAC role must grant.
        reviews: Every SelfSubjectAccessReview asked, as ``(verb, resource, namespace)``.
    """

    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    races: dict[Key, dict[str, Any]] = field(default_factory=dict)
    asked: list[tuple[str, str, str]] = field(default_factory=list)
    reviews: list[tuple[str, str, str]] = field(default_factory=list)
    _version: int = 1000
    lock: threading.RLock = field(default_factory=threading.RLock)

    def next_version(self) -> str:
        """Advance and return the cluster's resource version."""
        with self.lock:
            self._version += 1
            return str(self._version)

    def forbid(self, verb: str, resource: str) -> None:
        """Answer 403 to ``verb`` on ``resource`` (``patch``/``deployments``...)."""
        self.forbidden.add((verb, resource))

    def race(self, plural: str, namespace: str, name: str, changes: dict[str, Any]) -> None:
        """Have another writer apply ``changes`` right after a client's next GET of the object,
        so the client's patch at the version it read meets a newer object."""
        self.races[(plural, namespace, name)] = changes

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A copy of the stored object, or None."""
        with self.lock:
            obj = self.objects.get((plural, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def put(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` as the server would on create: kind, apiVersion, uid and versions set.

        This is the seeding path (tests, not clients): it is not counted in :attr:`writes`.
        """
        kind = RESOURCES[plural]
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "default") if kind.namespaced else ""
        if kind.namespaced:
            meta["namespace"] = namespace
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        meta.setdefault("uid", f"uid-{plural}-{namespace}-{meta['name']}")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self.next_version()
        with self.lock:
            self.objects[(plural, namespace, meta["name"])] = copy.deepcopy(obj)
        return obj

    def update(self, plural: str, namespace: str, name: str, changes: dict[str, Any]) -> None:
        """Change a stored object as another writer would (a controller, a person): deep-merge
        ``changes`` in and bump its resource version. Not counted in :attr:`writes`."""
        from tests.support.kube_api.patching import merge_patch

        with self.lock:
            current = self.objects[(plural, namespace, name)]
            updated = merge_patch(current, changes)
            updated["metadata"]["resourceVersion"] = self.next_version()
            self.objects[(plural, namespace, name)] = updated

    def store(self, plural: str, namespace: str, obj: dict[str, Any], verb: str) -> None:
        """Store a client's write and log it."""
        name = obj["metadata"]["name"]
        with self.lock:
            self.objects[(plural, namespace, name)] = copy.deepcopy(obj)
            self.writes.append(Write(verb, plural, namespace, name))

    def remove(self, plural: str, namespace: str, name: str, verb: str = "delete") -> None:
        """Remove an object on a client's request and log the write."""
        with self.lock:
            self.objects.pop((plural, namespace, name), None)
            self.writes.append(Write(verb, plural, namespace, name))

    def items(self, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        """Copies of the objects of ``plural`` (in ``namespace``, or in all when None)."""
        with self.lock:
            return [
                copy.deepcopy(obj)
                for (kind, ns, _), obj in sorted(self.objects.items())
                if kind == plural and (namespace is None or ns == namespace)
            ]
