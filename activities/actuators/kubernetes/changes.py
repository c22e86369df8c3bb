"""Read-check-patch steps shared by the reversible Kubernetes actuators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lightkube.types import PatchType

from activities.actuators.kubernetes.client import guarded_patch, resource_name
from activities.actuators.kubernetes.diff import json_diff
from activities.actuators.kubernetes.objects import ServiceObjects, as_dict
from activities.actuators.registry import ActionRefusedError


async def change(
    objs: ServiceObjects,
    res: Any,
    name: str,
    *,
    patch: dict[str, Any],
    holds: Callable[[Any], bool],
    patch_type: PatchType = PatchType.MERGE,
    dry_run: bool = False,
) -> tuple[Any, Any]:
    """Bring one object to what ``patch`` sets, unless it already ``holds`` it.

    Reads the object (a 404 means it was deleted since the snapshot), and patches it at the
    version read, so a concurrent change is never overwritten (see ``guarded_patch``). An
    object that already holds the change is left alone: a retried apply writes nothing.

    Returns:
        The object before and after (the same object when nothing was written).
    """
    current = await objs.read(res, name, snapshotted=True)
    if holds(current) and not dry_run:
        return current, current
    after = await guarded_patch(
        objs.client,
        res,
        name=name,
        namespace=objs.namespace,
        patch=patch,
        version=current.metadata.resourceVersion,
        holds=holds,
        patch_type=patch_type,
        dry_run=dry_run,
    )
    return current, after


async def restore(
    objs: ServiceObjects,
    res: Any,
    name: str,
    *,
    patch: dict[str, Any],
    restored: Callable[[Any], bool],
    ours: Callable[[Any], bool],
    patch_type: PatchType = PatchType.MERGE,
) -> Any:
    """Undo one change: patch back to the snapshot, only while the object still holds ours.

    Raises:
        ActionRefusedError: The object changed since Steward's change (someone else's value is
            there now): undoing would overwrite a change Steward did not see.
    """
    current = await objs.read(res, name, snapshotted=True)
    if restored(current):
        return current
    if not ours(current):
        raise ActionRefusedError(
            f"{resource_name(res)} {name!r} changed since Steward's change; undoing it would "
            "overwrite that change: decide again"
        )
    _, after = await change(objs, res, name, patch=patch, holds=restored, patch_type=patch_type)
    return after


async def dry_run_diff(
    objs: ServiceObjects,
    res: Any,
    name: str,
    *,
    patch: dict[str, Any],
    patch_type: PatchType = PatchType.MERGE,
) -> list[dict[str, Any]]:
    """What ``patch`` would change, computed by the API server with ``dryRun=All``."""
    before, after = await change(
        objs, res, name, patch=patch, holds=lambda _: False, patch_type=patch_type, dry_run=True
    )
    return json_diff(as_dict(before), as_dict(after))


def outcome(objs: ServiceObjects, res: Any, name: str, obj: Any, **fields: Any) -> dict[str, Any]:
    """An actuator's result: which object, its resource version now, and what it holds."""
    return {
        "service": objs.service,
        "resource": resource_name(res),
        "namespace": objs.namespace,
        "name": name,
        "resourceVersion": obj.metadata.resourceVersion,
        **fields,
    }
