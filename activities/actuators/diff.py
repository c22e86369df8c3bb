"""What an action will change, field by field: the diff an approval request shows.

An actuator that can tell what it would change implements ``Actuator.diff`` and returns
:func:`field_changes` of the target's state before and after (read from the target, or from a
server-side dry run). The gate asks for it when a call needs approval and in simulate mode;
the approval request, the CLI, Slack and the evidence pack show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["field_changes"]

# A diff of a large object is cut here: an approval shows what matters, not a whole manifest.
MAX_CHANGES = 50


def field_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, prefix: str = ""
) -> list[dict[str, Any]]:
    """The fields that differ between ``before`` and ``after``, as ``path``/``before``/``after``.

    Nested mappings are compared field by field (``spec.replicas``); anything else, lists
    included, as a whole. A field missing on one side is ``None`` there. Paths are sorted.

    Args:
        before: The state now.
        after: The state the action leaves.
        prefix: A path to put in front of every field (``spec``).

    Returns:
        At most :data:`MAX_CHANGES` changes.
    """
    changes: list[dict[str, Any]] = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}.{key}" if prefix else str(key)
        old, new = before.get(key), after.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes.extend(field_changes(old, new, prefix=path))
        elif old != new:
            changes.append({"path": path, "before": old, "after": new})
    return changes[:MAX_CHANGES]
