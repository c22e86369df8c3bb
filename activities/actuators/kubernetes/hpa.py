"""``k8s.patch_hpa``: a HorizontalPodAutoscaler's replica bounds."""

from __future__ import annotations

from typing import Any

from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from pydantic import BaseModel, Field, model_validator

from activities.actuators.kubernetes.changes import (
    change,
    dry_run_diff,
    outcome,
    restore,
    snapshot_version,
)
from activities.actuators.kubernetes.objects import service_objects
from activities.actuators.registry import ActionRefusedError, Actuator, ActuatorContext, actuator

KUBE_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"


class HpaParams(BaseModel):
    """The new bounds; ``hpa`` defaults to the service's workload name."""

    service: str = Field(min_length=1, max_length=100)
    hpa: str | None = Field(default=None, pattern=KUBE_NAME)
    min_replicas: int | None = Field(default=None, ge=1, le=1000)
    max_replicas: int | None = Field(default=None, ge=1, le=1000)

    @model_validator(mode="after")
    def _bounds(self) -> HpaParams:
        if self.min_replicas is None and self.max_replicas is None:
            raise ValueError("give min_replicas or max_replicas")
        if self.min_replicas and self.max_replicas and self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


def _bounds(obj: Any) -> dict[str, Any]:
    return {"minReplicas": obj.spec.minReplicas, "maxReplicas": obj.spec.maxReplicas}


@actuator("k8s.patch_hpa", tier="warn", params=HpaParams)
class PatchHpa(Actuator[HpaParams]):
    """Change an autoscaler's min and max replicas; undo restores them."""

    def _name(self, ctx: ActuatorContext, p: HpaParams) -> tuple[Any, str]:
        objs = service_objects(ctx.settings, p.service)
        if p.hpa:
            return objs, p.hpa
        return objs, objs.workload()[1]

    def _wanted(self, p: HpaParams) -> dict[str, int]:
        wanted = {"minReplicas": p.min_replicas, "maxReplicas": p.max_replicas}
        return {k: v for k, v in wanted.items() if v is not None}

    async def snapshot(self, ctx: ActuatorContext, p: HpaParams) -> dict[str, Any]:
        """Record the autoscaler's bounds."""
        objs, name = self._name(ctx, p)
        obj = await objs.read(HorizontalPodAutoscaler, name)
        return outcome(objs, HorizontalPodAutoscaler, name, obj, **_bounds(obj))

    async def apply(self, ctx: ActuatorContext, p: HpaParams) -> dict[str, Any]:
        """Set the bounds given (refused when the result would have min above max)."""
        objs, name = self._name(ctx, p)
        wanted = self._wanted(p)
        current = await objs.read(HorizontalPodAutoscaler, name, snapshotted=True)
        merged = {**_bounds(current), **wanted}
        if (merged["minReplicas"] or 1) > merged["maxReplicas"]:
            raise ActionRefusedError(
                f"autoscaler {name!r} would have minReplicas {merged['minReplicas']} above "
                f"maxReplicas {merged['maxReplicas']}"
            )
        _, after = await change(
            objs,
            HorizontalPodAutoscaler,
            name,
            patch={"spec": wanted},
            holds=lambda o: all(_bounds(o)[k] == v for k, v in wanted.items()),
            since=snapshot_version(ctx.before),
        )
        return outcome(objs, HorizontalPodAutoscaler, name, after, **_bounds(after))

    async def undo(
        self, ctx: ActuatorContext, p: HpaParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Restore the snapshot's bounds, unless someone changed them since."""
        objs, name = self._name(ctx, p)
        old = {"minReplicas": before["minReplicas"], "maxReplicas": before["maxReplicas"]}
        wanted = self._wanted(p)
        after = await restore(
            objs,
            HorizontalPodAutoscaler,
            name,
            patch={"spec": old},
            restored=lambda o: _bounds(o) == old,
            ours=lambda o: all(_bounds(o)[k] == v for k, v in wanted.items()),
        )
        return outcome(objs, HorizontalPodAutoscaler, name, after, **_bounds(after))

    async def diff(self, ctx: ActuatorContext, p: HpaParams) -> list[dict[str, Any]]:
        """What apply would change, from the API server's dry run (writes nothing)."""
        objs, name = self._name(ctx, p)
        return await dry_run_diff(
            objs, HorizontalPodAutoscaler, name, patch={"spec": self._wanted(p)}
        )

    def plan(self, p: HpaParams) -> str:
        """Describe the change."""
        which = repr(p.hpa) if p.hpa else "named after the workload"
        return f"set the autoscaler {which} of service {p.service!r} to {self._wanted(p)}"
