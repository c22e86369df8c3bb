"""Create the objects a Kubernetes actuator test needs, as a cluster would hold them."""

from __future__ import annotations

from typing import Any

from tests.support.kube_api.store import KubeStore


def container(name: str, image: str = "registry.local/app:1") -> dict[str, Any]:
    """A container with requests and limits."""
    return {
        "name": name,
        "image": image,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
    }


def workload(
    store: KubeStore,
    *,
    kind: str = "deployments",
    name: str,
    namespace: str,
    labels: dict[str, str],
    replicas: int = 3,
    containers: tuple[str, ...] = ("app",),
    image: str = "registry.local/app:1",
) -> dict[str, Any]:
    """A Deployment, StatefulSet or DaemonSet whose status says it is fully rolled out."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(labels)},
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"containers": [container(c, image) for c in containers]},
        },
    }
    if kind != "daemonsets":
        spec["replicas"] = replicas
    obj = store.put(kind, {"metadata": {"name": name, "namespace": namespace}, "spec": spec})
    store.update(kind, namespace, name, {"status": rolled_out(obj)})
    return store.get(kind, namespace, name) or obj


def rolled_out(obj: dict[str, Any]) -> dict[str, Any]:
    """The status of ``obj`` once its controller has rolled out its current spec."""
    if obj["kind"] == "DaemonSet":
        return {
            "observedGeneration": obj["metadata"]["generation"],
            "currentNumberScheduled": 2,
            "desiredNumberScheduled": 2,
            "numberMisscheduled": 0,
            "numberReady": 2,
            "updatedNumberScheduled": 2,
            "numberAvailable": 2,
        }
    replicas = obj["spec"].get("replicas", 1)
    return {
        "observedGeneration": obj["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
    }


def replica_set(
    store: KubeStore, *, deployment: dict[str, Any], revision: int, image: str
) -> dict[str, Any]:
    """A ReplicaSet owned by ``deployment``, at ``revision``, whose template runs ``image``."""
    meta = deployment["metadata"]
    template: dict[str, Any] = {
        "metadata": {"labels": dict(deployment["spec"]["template"]["metadata"]["labels"])},
        "spec": {
            "containers": [
                {**c, "image": image} for c in deployment["spec"]["template"]["spec"]["containers"]
            ]
        },
    }
    template["metadata"]["labels"]["pod-template-hash"] = f"h{revision}"
    return store.put(
        "replicasets",
        {
            "metadata": {
                "name": f"{meta['name']}-h{revision}",
                "namespace": meta["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "replicas": 0,
                "selector": deployment["spec"]["selector"],
                "template": template,
            },
        },
    )


def pod(
    store: KubeStore,
    *,
    name: str,
    namespace: str,
    labels: dict[str, str],
    node: str = "node-1",
    ready: bool = True,
    restarts: int = 0,
    waiting_reason: str | None = None,
    owner_kind: str | None = "ReplicaSet",
    mirror: bool = False,
) -> dict[str, Any]:
    """A running pod on ``node``, with one container's readiness and restart count."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if owner_kind:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner_kind, "name": f"{name}-owner", "uid": "u"}
        ]
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "mirror-hash"}
    state: dict[str, Any] = {"running": {}}
    if waiting_reason:
        state = {"waiting": {"reason": waiting_reason}}
    return store.put(
        "pods",
        {
            "metadata": meta,
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app:1"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": [
                    {
                        "name": "app",
                        "image": "app:1",
                        "imageID": "app@sha256:0",
                        "ready": ready,
                        "restartCount": restarts,
                        "state": state,
                    }
                ],
            },
        },
    )


def node(store: KubeStore, *, name: str, unschedulable: bool = False) -> dict[str, Any]:
    """A node, schedulable unless said otherwise."""
    spec = {"unschedulable": True} if unschedulable else {}
    return store.put("nodes", {"metadata": {"name": name}, "spec": spec})


def pdb(
    store: KubeStore, *, name: str, namespace: str, labels: dict[str, str], allowed: int
) -> dict[str, Any]:
    """A PodDisruptionBudget over ``labels`` that allows ``allowed`` disruptions now."""
    obj = store.put(
        "poddisruptionbudgets",
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": dict(labels)}, "minAvailable": 1},
        },
    )
    store.update(
        "poddisruptionbudgets", namespace, name, {"status": {"disruptionsAllowed": allowed}}
    )
    return obj


def hpa(
    store: KubeStore, *, name: str, namespace: str, minimum: int, maximum: int
) -> dict[str, Any]:
    """A HorizontalPodAutoscaler (autoscaling/v2) on the Deployment ``name``."""
    return store.put(
        "horizontalpodautoscalers",
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": minimum,
                "maxReplicas": maximum,
            },
        },
    )
