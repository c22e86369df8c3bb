"""A small generic JSON diff, for dry-run previews of what an actuator would change."""

from __future__ import annotations

from typing import Any

# Fields the API server changes on every write: not part of what an action changes.
IGNORED = frozenset(
    {"metadata.resourceVersion", "metadata.generation", "metadata.managedFields", "status"}
)


def json_diff(before: Any, after: Any, *, path: str = "") -> list[dict[str, Any]]:
    """The leaves that differ between two JSON values, as ``{"path", "before", "after"}``.

    Objects are compared key by key; lists of objects that all carry a ``name`` are matched by
    name (``spec.template.spec.containers[app].image``), other lists by position. A key present
    on one side only has ``None`` on the other.
    """
    if path in IGNORED:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            changes += json_diff(before.get(key), after.get(key), path=child)
        return changes
    if isinstance(before, list) and isinstance(after, list):
        return _list_diff(before, after, path)
    if before == after:
        return []
    return [{"path": path, "before": before, "after": after}]


def _named(items: list[Any]) -> dict[str, Any] | None:
    if all(isinstance(item, dict) and "name" in item for item in items):
        return {str(item["name"]): item for item in items}
    return None


def _list_diff(before: list[Any], after: list[Any], path: str) -> list[dict[str, Any]]:
    old, new = _named(before), _named(after)
    if old is not None and new is not None:
        changes: list[dict[str, Any]] = []
        for name in sorted(set(old) | set(new)):
            changes += json_diff(old.get(name), new.get(name), path=f"{path}[{name}]")
        return changes
    changes = []
    for index in range(max(len(before), len(after))):
        left = before[index] if index < len(before) else None
        right = after[index] if index < len(after) else None
        changes += json_diff(left, right, path=f"{path}[{index}]")
    return changes


def merge_patch_between(source: Any, target: Any) -> Any:
    """The RFC 7386 merge patch that turns ``source`` into ``target`` (lists are replaced)."""
    if not (isinstance(source, dict) and isinstance(target, dict)):
        return target
    patch: dict[str, Any] = {key: None for key in source if key not in target}
    for key, value in target.items():
        if key not in source:
            patch[key] = value
        elif source[key] != value:
            patch[key] = merge_patch_between(source[key], value)
    return patch
