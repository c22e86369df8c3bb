"""Kubernetes checks: ``k8s.rollout_complete``, ``k8s.pods_ready`` and ``k8s.node_drained``."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from lightkube.resources.core_v1 import Node, Pod
from pydantic import BaseModel, Field
from temporalio import activity

from activities.actuators.kubernetes.client import api_call, cluster_client, named_cluster
from activities.actuators.kubernetes.drain import skipped
from activities.actuators.kubernetes.nodes import NodeParams
from activities.actuators.kubernetes.objects import service_objects
from activities.actuators.registry import (
    ActionRefusedError,
    ActuatorContext,
    Check,
    CheckResult,
    check,
)


class RolloutParams(BaseModel):
    """Which catalog service's workload to look at."""

    service: str = Field(min_length=1, max_length=100)


class PodsReadyParams(BaseModel):
    """How many of the service's pods must be ready, and the restart counts to compare with.

    ``baseline`` maps ``pod/container`` to a restart count; when omitted, the check's first
    poll takes it (and keeps it in its observed output, so a retried verification resumes it).
    """

    service: str = Field(min_length=1, max_length=100)
    min_ready: int = Field(default=1, ge=0, le=10000)
    baseline: dict[str, int] | None = None


def _rollout(kind: str, obj: Any) -> tuple[bool, dict[str, Any]]:
    status = obj.status
    generation = obj.metadata.generation or 0
    observed = (status.observedGeneration if status else None) or 0
    if kind == "DaemonSet":
        desired = status.desiredNumberScheduled if status else 0
        counts = {
            "updated": status.updatedNumberScheduled or 0 if status else 0,
            "ready": status.numberReady if status else 0,
            "available": status.numberAvailable or 0 if status else 0,
        }
    else:
        desired = obj.spec.replicas if obj.spec.replicas is not None else 1
        counts = {
            "updated": (status.updatedReplicas or 0) if status else 0,
            "ready": (status.readyReplicas or 0) if status else 0,
            "available": (status.availableReplicas or 0) if status else 0,
        }
    seen = {"generation": generation, "observedGeneration": observed, "desired": desired, **counts}
    ok = observed >= generation and all(value == desired for value in counts.values())
    return ok, seen


@check("k8s.rollout_complete", params=RolloutParams)
class RolloutComplete(Check[RolloutParams]):
    """The service's workload has rolled out its current spec: every replica updated and ready."""

    async def run(self, ctx: ActuatorContext, p: RolloutParams) -> CheckResult:
        """Read the workload's status once."""
        try:
            objs = service_objects(ctx.settings, p.service)
            res, name = objs.workload()
            obj = await objs.read(res, name)
        except ActionRefusedError as exc:
            return CheckResult(False, {}, str(exc))
        ok, seen = _rollout(objs.target.workload.kind if objs.target.workload else "", obj)
        detail = (
            f"{name}: generation {seen['generation']} observed {seen['observedGeneration']}, "
            f"{seen['updated']} updated / {seen['ready']} ready / {seen['available']} available "
            f"of {seen['desired']}"
        )
        return CheckResult(ok, seen, detail)


# Baselines of running verifications, by (workflow id, activity id); a retried attempt on
# another worker reads its baseline back from the heartbeat details instead.
_baselines: OrderedDict[tuple[str, str], dict[str, int]] = OrderedDict()


def _remembered_baseline() -> tuple[tuple[str, str] | None, dict[str, int] | None]:
    if not activity.in_activity():
        return None, None
    info = activity.info()
    key = (info.workflow_id or "", info.activity_id)
    if key in _baselines:
        return key, _baselines[key]
    for details in reversed(info.heartbeat_details):
        last = details.get("last") if isinstance(details, dict) else None
        observed = last.get("observed") if isinstance(last, dict) else None
        if isinstance(observed, dict) and isinstance(observed.get("baseline"), dict):
            return key, {str(k): int(v) for k, v in observed["baseline"].items()}
    return key, None


def _pod_state(pods: list[Any]) -> tuple[int, dict[str, int], list[str]]:
    ready, restarts, crashing = 0, {}, []
    for pod in pods:
        conditions = (pod.status.conditions or []) if pod.status else []
        if any(c.type == "Ready" and c.status == "True" for c in conditions):
            ready += 1
        for cs in (pod.status.containerStatuses or []) if pod.status else []:
            where = f"{pod.metadata.name}/{cs.name}"
            restarts[where] = cs.restartCount
            waiting = cs.state.waiting if cs.state else None
            if waiting is not None and waiting.reason == "CrashLoopBackOff":
                crashing.append(where)
    return ready, restarts, crashing


@check("k8s.pods_ready", params=PodsReadyParams)
class PodsReady(Check[PodsReadyParams]):
    """At least ``min_ready`` of the service's pods are ready, none restarted or crash-looping."""

    async def run(self, ctx: ActuatorContext, p: PodsReadyParams) -> CheckResult:
        """List the service's pods once and compare with the baseline."""
        try:
            objs = service_objects(ctx.settings, p.service)
            selector = await objs.selector()
            pods = await objs.pods(selector)
        except ActionRefusedError as exc:
            return CheckResult(False, {}, str(exc))
        ready, restarts, crashing = _pod_state(pods)
        key, baseline = _remembered_baseline()
        baseline = p.baseline if p.baseline is not None else baseline
        if baseline is None:
            baseline = dict(restarts)
        if key is not None:
            _baselines[key] = baseline
            while len(_baselines) > 1000:
                _baselines.popitem(last=False)
        # A pod born since the baseline started at zero restarts.
        restarted = sorted(w for w, n in restarts.items() if n > baseline.get(w, 0))
        ok = ready >= p.min_ready and not restarted and not crashing
        observed = {
            "ready": ready,
            "pods": len(pods),
            "restarts": restarts,
            "baseline": baseline,
            "restarted": restarted,
            "crash_looping": crashing,
        }
        problems = [f"{ready} of {len(pods)} pods ready (need {p.min_ready})"]
        if restarted:
            problems.append(f"restarted since the baseline: {', '.join(restarted)}")
        if crashing:
            problems.append(f"in CrashLoopBackOff: {', '.join(crashing)}")
        return CheckResult(ok, observed, "; ".join(problems))


@check("k8s.node_drained", params=NodeParams)
class NodeDrained(Check[NodeParams]):
    """The node holds no pod a drain would evict (DaemonSet and mirror pods may stay)."""

    async def run(self, ctx: ActuatorContext, p: NodeParams) -> CheckResult:
        """Read the node and list the pods scheduled on it once."""
        try:
            client = cluster_client(name=p.cluster, cluster=named_cluster(ctx.settings, p.cluster))
            async with api_call("get", "nodes", p.node):
                node: Any = await client.get(Node, p.node)
            fields: dict[str, Any] = {"spec.nodeName": p.node}
            async with api_call("list", "pods", ""):
                pods: list[Any] = [
                    pod async for pod in client.list(Pod, namespace="*", fields=fields)
                ]
        except ActionRefusedError as exc:
            return CheckResult(False, {}, str(exc))
        evictable: list[str] = []
        kept: dict[str, str] = {}
        for pod in pods:
            where = f"{pod.metadata.namespace}/{pod.metadata.name}"
            why = skipped(pod)
            if why is None:
                evictable.append(where)
            else:
                kept[where] = why
        cordoned = bool(node.spec and node.spec.unschedulable)
        observed = {"evictable": sorted(evictable), "kept": kept, "unschedulable": cordoned}
        if evictable:
            detail = f"node {p.node!r} still runs {len(evictable)} evictable pods: "
            detail += ", ".join(sorted(evictable)[:10])
        else:
            detail = f"node {p.node!r} holds no evictable pods ({len(kept)} kept)"
        return CheckResult(not evictable, observed, detail)
