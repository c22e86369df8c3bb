"""``k8s.delete_pod``: delete a service's pods so their controller replaces them."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from lightkube.resources.core_v1 import Pod
from pydantic import BaseModel, Field

from activities.actuators.kubernetes.client import api_call
from activities.actuators.kubernetes.objects import ServiceObjects, service_objects
from activities.actuators.registry import ActionRefusedError, Actuator, ActuatorContext, actuator

KUBE_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
# Pods deleted per idempotency key: a retried apply in this process deletes no further pods
# (the replacements the controller made are not the ones the first attempt chose).
_deleted: OrderedDict[str, list[str]] = OrderedDict()
_REMEMBERED = 1000


class DeletePodParams(BaseModel):
    """One pod by name, or up to ``max_count`` pods of the service's selector."""

    service: str = Field(min_length=1, max_length=100)
    pod: str | None = Field(default=None, pattern=KUBE_NAME)
    max_count: int = Field(default=1, ge=1, le=20)


def _labels(obj: Any) -> dict[str, str]:
    return dict(obj.metadata.labels or {})


async def _delete(objs: ServiceObjects, name: str) -> bool:
    """Delete one pod; False when it was already gone."""
    try:
        async with api_call("delete", "pods", name):
            await objs.client.delete(Pod, name, namespace=objs.namespace)
    except ActionRefusedError as exc:
        if "not found" in str(exc):
            return False
        raise
    return True


@actuator("k8s.delete_pod", tier="warn", params=DeletePodParams, irreversible=True)
class DeletePod(Actuator[DeletePodParams]):
    """Delete pods of a service (its controller starts new ones); cannot be undone."""

    async def observe(self, ctx: ActuatorContext, p: DeletePodParams) -> dict[str, Any]:
        """How many of the service's pods there are, and how many this call would delete."""
        objs = service_objects(ctx.settings, p.service)
        running = len(await objs.pods(await objs.selector()))
        affected = min(1 if p.pod else p.max_count, running)
        return {
            "replicas_total": running,
            "replicas_affected": affected,
            "namespaces": [objs.namespace],
        }

    async def apply(self, ctx: ActuatorContext, p: DeletePodParams) -> dict[str, Any]:
        """Delete the named pod (it must carry the service's labels), or the oldest pods."""
        objs = service_objects(ctx.settings, p.service)
        selector = await objs.selector()
        # The key with the params: the same key never stands for another call.
        key = f"{ctx.idempotency_key}|{p.model_dump_json()}" if ctx.idempotency_key else ""
        if key and key in _deleted:
            return {"service": p.service, "deleted": _deleted[key], "retried": True}
        if p.pod:
            try:
                async with api_call("get", "pods", p.pod):
                    pod = await objs.client.get(Pod, p.pod, namespace=objs.namespace)
            except ActionRefusedError as exc:
                if "not found" in str(exc):
                    # Gone already (a retried apply, or it was replaced): nothing to delete.
                    return {"service": p.service, "deleted": [], "missing": [p.pod]}
                raise
            if any(_labels(pod).get(k) != v for k, v in selector.items()):
                raise ActionRefusedError(
                    f"pod {p.pod!r} does not belong to service {p.service!r} "
                    f"(its labels do not match {selector})"
                )
            chosen = [p.pod]
        else:
            pods = await objs.pods(selector)
            pods = [pod for pod in pods if pod.metadata.deletionTimestamp is None]
            pods.sort(
                key=lambda pod: (str(pod.metadata.creationTimestamp or ""), pod.metadata.name)
            )
            chosen = [pod.metadata.name for pod in pods[: p.max_count]]
        deleted = [name for name in chosen if await _delete(objs, name)]
        if key:
            _deleted[key] = deleted
            while len(_deleted) > _REMEMBERED:
                _deleted.popitem(last=False)
        return {"service": p.service, "namespace": objs.namespace, "deleted": deleted}

    def plan(self, p: DeletePodParams) -> str:
        """Describe the change."""
        if p.pod:
            return f"delete pod {p.pod!r} of service {p.service!r}"
        return f"delete up to {p.max_count} pod(s) of service {p.service!r}, oldest first"
