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
    since: str | None = None,
) -> tuple[Any, Any]:
    """Bring one object to what ``patch`` sets, unless it already ``holds`` it.

    Reads the object (a 404 means it was deleted since the snapshot), and patches it at the
    version read, so a concurrent change is never overwritten (see ``guarded_patch``). An
    object that already holds the change is left alone: a retried apply writes nothing.

    Args:
        objs: The service's objects and client.
        res: The lightkube resource class.
        name: The object's name.
        patch: What to set.
        holds: Whether an object already holds the change.
        patch_type: Merge (default) or strategic.
        dry_run: Ask the server what would result, and store nothing.
        since: The snapshot's ``resourceVersion``: an object changed since then (and not
            already holding this change) is refused, since the people who approved the call
            saw the snapshot's state, not this one.

    Returns:
        The object before and after (the same object when nothing was written).

    Raises:
        ActionRefusedError: The object changed since the snapshot.
    """
    current = await objs.read(res, name, snapshotted=True)
    if holds(current) and not dry_run:
        return current, current
    if since is not None and current.metadata.resourceVersion != since:
        raise ActionRefusedError(
            f"{resource_name(res)} {name!r} changed since the snapshot (version {since}, now "
            f"{current.metadata.resourceVersion}): decide again"
        )
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


def snapshot_version(before: dict[str, Any] | None) -> str | None:
    """The ``resourceVersion`` a snapshot (made by :func:`outcome`) was read at, if any."""
    version = (before or {}).get("resourceVersion")
    return str(version) if version is not None else None


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
