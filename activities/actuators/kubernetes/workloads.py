"""Workload actuators: ``k8s.scale`` and ``k8s.rollout_restart``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from activities.actuators.kubernetes.changes import (
    change,
    dry_run_diff,
    outcome,
    restore,
    snapshot_version,
)
from activities.actuators.kubernetes.objects import service_objects
from activities.actuators.registry import Actuator, ActuatorContext, actuator

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# Which apply restarted the workload: a retry of the same apply finds it and restarts nothing.
RESTART_KEY = "steward.io/restart-key"


class ServiceParams(BaseModel):
    """Which catalog service to act on."""

    service: str = Field(min_length=1, max_length=100)


class ScaleParams(ServiceParams):
    """The replica count to set."""

    replicas: int = Field(ge=0, le=1000)


def _replicas_patch(replicas: int) -> dict[str, Any]:
    return {"spec": {"replicas": replicas}}


@actuator("k8s.scale", tier="warn", params=ScaleParams)
class Scale(Actuator[ScaleParams]):
    """Set a Deployment's or StatefulSet's replica count; undo restores the previous count."""

    kinds = ("Deployment", "StatefulSet")

    async def snapshot(self, ctx: ActuatorContext, p: ScaleParams) -> dict[str, Any]:
        """Record the replica count and the resource version it was read at."""
        objs = service_objects(ctx.settings, p.service)
        res, name = objs.workload(kinds=self.kinds)
        obj = await objs.read(res, name)
        return outcome(objs, res, name, obj, replicas=obj.spec.replicas)

    async def observe(self, ctx: ActuatorContext, p: ScaleParams) -> dict[str, Any]:
        """The replicas now and wanted, for the policy: a scale-down stops the difference."""
        objs = service_objects(ctx.settings, p.service)
        res, name = objs.workload(kinds=self.kinds)
        current = int((await objs.read(res, name)).spec.replicas or 0)
        return {
            "replicas_total": current,
            "replicas_desired": p.replicas,
            "replicas_affected": max(0, current - p.replicas),
            "namespaces": [objs.namespace],
        }

    async def apply(self, ctx: ActuatorContext, p: ScaleParams) -> dict[str, Any]:
        """Set the replica count (nothing is written when it already has that count)."""
        objs = service_objects(ctx.settings, p.service)
        res, name = objs.workload(kinds=self.kinds)
        _, after = await change(
            objs,
            res,
            name,
            patch=_replicas_patch(p.replicas),
            holds=lambda o: o.spec.replicas == p.replicas,
            since=snapshot_version(ctx.before),
        )
        return outcome(objs, res, name, after, replicas=after.spec.replicas)

    async def undo(
        self, ctx: ActuatorContext, p: ScaleParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Restore the snapshot's count, unless someone changed the count since."""
        objs = service_objects(ctx.settings, p.service)
        res, name = objs.workload(kinds=self.kinds)
        wanted = int(before["replicas"])
        after = await restore(
            objs,
            res,
            name,
            patch=_replicas_patch(wanted),
            restored=lambda o: o.spec.replicas == wanted,
            ours=lambda o: o.spec.replicas == p.replicas,
        )
        return outcome(objs, res, name, after, replicas=after.spec.replicas)

    async def diff(self, ctx: ActuatorContext, p: ScaleParams) -> list[dict[str, Any]]:
        """What apply would change, from the API server's dry run (writes nothing)."""
        objs = service_objects(ctx.settings, p.service)
        res, name = objs.workload(kinds=self.kinds)
        return await dry_run_diff(objs, res, name, patch=_replicas_patch(p.replicas))

    def plan(self, p: ScaleParams) -> str:
        """Describe the change."""
        return f"scale the workload of service {p.service!r} to {p.replicas} replicas"


@actuator("k8s.rollout_restart", tier="warn", params=ServiceParams, irreversible=True)
class RolloutRestart(Actuator[ServiceParams]):
    """Restart a workload's pods by a rolling update (``kubectl rollout restart``)."""

    async def apply(self, ctx: ActuatorContext, p: ServiceParams) -> dict[str, Any]:
        """Stamp the pod template with the restart time (once per idempotency key)."""
        objs = service_objects(ctx.settings, p.service)
        res, name = objs.workload()
        key = ctx.idempotency_key
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        annotations = {RESTARTED_AT: stamp, RESTART_KEY: key or stamp}

        def done(obj: Any) -> bool:
            meta = obj.spec.template.metadata
            return bool(key) and (meta.annotations or {}).get(RESTART_KEY) == key

        patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
        _, after = await change(objs, res, name, patch=patch, holds=done)
        restarted = (after.spec.template.metadata.annotations or {}).get(RESTARTED_AT)
        return outcome(objs, res, name, after, restartedAt=restarted)

    def plan(self, p: ServiceParams) -> str:
        """Describe the change."""
        return f"rolling restart of the workload of service {p.service!r}"
