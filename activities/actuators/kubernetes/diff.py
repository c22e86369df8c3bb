"""Diffs of Kubernetes objects (dry-run previews) and the merge patch between two versions."""

from __future__ import annotations

from typing import Any

from activities.actuators.diff import field_changes

# Fields the API server changes on every write: not part of what an action changes.
IGNORED = frozenset(
    {"metadata.resourceVersion", "metadata.generation", "metadata.managedFields", "status"}
)


def json_diff(before: Any, after: Any) -> list[dict[str, Any]]:
    """What changed between two versions of an object, leaving out what the server changes."""
    return field_changes(before, after, ignore=IGNORED)


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
