"""``k8s.set_resources``: one container's CPU and memory requests and limits."""

from __future__ import annotations

from typing import Any

from lightkube.types import PatchType
from pydantic import BaseModel, Field, model_validator

from activities.actuators.kubernetes.changes import (
    change,
    dry_run_diff,
    outcome,
    restore,
    snapshot_version,
)
from activities.actuators.kubernetes.objects import ServiceObjects, service_objects
from activities.actuators.registry import ActionRefusedError, Actuator, ActuatorContext, actuator

QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"
Resources = dict[str, str]


class ResourcesParams(BaseModel):
    """The container and the requests and limits to set (unnamed ones are kept)."""

    service: str = Field(min_length=1, max_length=100)
    container: str = Field(min_length=1, max_length=63)
    requests: dict[str, str] = Field(default_factory=dict)
    limits: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _quantities(self) -> ResourcesParams:
        import re

        if not self.requests and not self.limits:
            raise ValueError("give requests or limits")
        for part, values in (("requests", self.requests), ("limits", self.limits)):
            for name, value in values.items():
                if name not in ("cpu", "memory", "ephemeral-storage"):
                    raise ValueError(f"{part}.{name}: only cpu, memory, ephemeral-storage")
                if not re.match(QUANTITY, value):
                    raise ValueError(f"{part}.{name}: {value!r} is not a quantity")
        return self


def _container(obj: Any, name: str) -> dict[str, Any]:
    for item in obj.spec.template.spec.containers:
        if item.name == name:
            found: dict[str, Any] = item.to_dict()
            return found
    names = ", ".join(c.name for c in obj.spec.template.spec.containers)
    raise ActionRefusedError(f"no container {name!r} in {obj.metadata.name!r} (it has {names})")


def _resources(obj: Any, name: str) -> dict[str, Resources]:
    res = _container(obj, name).get("resources") or {}
    return {"requests": dict(res.get("requests") or {}), "limits": dict(res.get("limits") or {})}


def _patch(container: str, resources: dict[str, Any]) -> dict[str, Any]:
    item = {"name": container, "resources": resources}
    return {"spec": {"template": {"spec": {"containers": [item]}}}}


def _holds(obj: Any, container: str, wanted: dict[str, Resources], exact: bool) -> bool:
    now = _resources(obj, container)
    if exact:
        return now == wanted
    return all(now[part].get(k) == v for part in wanted for k, v in wanted[part].items())


@actuator("k8s.set_resources", tier="warn", params=ResourcesParams)
class SetResources(Actuator[ResourcesParams]):
    """Set one container's requests and limits (a rolling update); undo restores them."""

    def _target(self, ctx: ActuatorContext, p: ResourcesParams) -> tuple[ServiceObjects, Any, str]:
        objs = service_objects(ctx.settings, p.service)
        allowed = objs.target.containers
        if allowed and p.container not in allowed:
            raise ActionRefusedError(
                f"container {p.container!r} is not one the catalog lets actions change for "
                f"service {p.service!r} ({', '.join(allowed)})"
            )
        res, name = objs.workload()
        return objs, res, name

    def _wanted(self, p: ResourcesParams) -> dict[str, Resources]:
        return {"requests": dict(p.requests), "limits": dict(p.limits)}

    async def snapshot(self, ctx: ActuatorContext, p: ResourcesParams) -> dict[str, Any]:
        """Record the container's requests and limits."""
        objs, res, name = self._target(ctx, p)
        obj = await objs.read(res, name)
        return outcome(objs, res, name, obj, container=p.container, **_resources(obj, p.container))

    async def apply(self, ctx: ActuatorContext, p: ResourcesParams) -> dict[str, Any]:
        """Set the requests and limits given (a strategic merge on the container by name)."""
        objs, res, name = self._target(ctx, p)
        wanted = self._wanted(p)
        _, after = await change(
            objs,
            res,
            name,
            patch=_patch(p.container, wanted),
            holds=lambda o: _holds(o, p.container, wanted, exact=False),
            patch_type=PatchType.STRATEGIC,
            since=snapshot_version(ctx.before),
        )
        return outcome(
            objs, res, name, after, container=p.container, **_resources(after, p.container)
        )

    async def undo(
        self, ctx: ActuatorContext, p: ResourcesParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Restore the snapshot's requests and limits, unless someone changed them since."""
        objs, res, name = self._target(ctx, p)
        old = {"requests": dict(before["requests"]), "limits": dict(before["limits"])}
        current = await objs.read(res, name, snapshotted=True)
        now = _resources(current, p.container)
        # A key that apply added is removed (null in a merge patch); the others are set back.
        body = {
            part: {**{k: None for k in now[part] if k not in old[part]}, **old[part]}
            for part in old
        }
        after = await restore(
            objs,
            res,
            name,
            patch=_patch(p.container, body),
            restored=lambda o: _holds(o, p.container, old, exact=True),
            ours=lambda o: _holds(o, p.container, self._wanted(p), exact=False),
            patch_type=PatchType.STRATEGIC,
        )
        return outcome(
            objs, res, name, after, container=p.container, **_resources(after, p.container)
        )

    async def diff(self, ctx: ActuatorContext, p: ResourcesParams) -> list[dict[str, Any]]:
        """What apply would change, from the API server's dry run (writes nothing)."""
        objs, res, name = self._target(ctx, p)
        patch = _patch(p.container, self._wanted(p))
        return await dry_run_diff(objs, res, name, patch=patch, patch_type=PatchType.STRATEGIC)

    def plan(self, p: ResourcesParams) -> str:
        """Describe the change."""
        return (
            f"set container {p.container!r} of service {p.service!r} to requests "
            f"{p.requests or '(unchanged)'} and limits {p.limits or '(unchanged)'}"
        )
