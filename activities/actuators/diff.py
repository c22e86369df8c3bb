"""What an action will change, field by field: the diff an approval request shows.

An actuator that can tell what it would change implements ``Actuator.diff`` and returns
:func:`field_changes` of the target's state before and after (read from the target, or from a
server-side dry run). The gate asks for it when a call needs approval and in simulate mode;
the approval request, the CLI, Slack and the evidence pack show it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

__all__ = ["MAX_CHANGES", "field_changes"]

# A diff of a large object is cut here: an approval shows what matters, not a whole manifest.
MAX_CHANGES = 50


def field_changes(
    before: Any, after: Any, *, prefix: str = "", ignore: Collection[str] = ()
) -> list[dict[str, Any]]:
    """The leaves that differ between two JSON values, as ``{"path", "before", "after"}``.

    Objects are compared key by key (``spec.replicas``). Lists of objects that all carry a
    ``name`` are matched by name (``spec.template.spec.containers[app].image``), other lists by
    position (``ports[1]``). A field on one side only is ``None`` on the other.

    Args:
        before: The state now.
        after: The state the action leaves.
        prefix: A path to put in front of every field.
        ignore: Paths to leave out, with everything under them (fields the server changes
            on every write, say).

    Returns:
        At most :data:`MAX_CHANGES` changes, in path order.
    """
    return _changes(before, after, prefix, frozenset(ignore))[:MAX_CHANGES]


def _changes(before: Any, after: Any, path: str, ignore: frozenset[str]) -> list[dict[str, Any]]:
    if path in ignore:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            changes += _changes(before.get(key), after.get(key), child, ignore)
        return changes
    if isinstance(before, list) and isinstance(after, list):
        return _list_changes(before, after, path, ignore)
    if before == after:
        return []
    return [{"path": path, "before": before, "after": after}]


def _named(items: list[Any]) -> dict[str, Any] | None:
    if all(isinstance(item, dict) and "name" in item for item in items):
        return {str(item["name"]): item for item in items}
    return None


def _list_changes(
    before: list[Any], after: list[Any], path: str, ignore: frozenset[str]
) -> list[dict[str, Any]]:
    old, new = _named(before), _named(after)
    changes: list[dict[str, Any]] = []
    if old is not None and new is not None:
        for name in sorted(set(old) | set(new)):
            changes += _changes(old.get(name), new.get(name), f"{path}[{name}]", ignore)
        return changes
    for index in range(max(len(before), len(after))):
        left = before[index] if index < len(before) else None
        right = after[index] if index < len(after) else None
        changes += _changes(left, right, f"{path}[{index}]", ignore)
    return changes
