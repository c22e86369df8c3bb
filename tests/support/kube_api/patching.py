"""The patch formats the stand-in API server applies: JSON merge patch and strategic merge patch.

JSON merge patch is RFC 7386: objects merge recursively, ``null`` removes a key, anything else
(lists included) replaces. Strategic merge patch is Kubernetes' variant: the same, except that
the lists Kubernetes declares with a merge key (containers by ``name``, ...) merge item by item
on that key instead of being replaced, as the API server does for the fields the actuators touch.
"""

from __future__ import annotations

import copy
from typing import Any

# Lists that Kubernetes' strategic merge merges by a key instead of replacing (the subset of
# the OpenAPI patchMergeKey declarations that the actuators' objects carry).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "taints": "key",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch to ``target`` and return the result (a new value)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch: as :func:`merge_patch`, lists in MERGE_KEYS merge by key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif key in MERGE_KEYS and isinstance(value, list):
            result[key] = _merge_list(result.get(key) or [], value, MERGE_KEYS[key])
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _merge_list(current: list[Any], patch: list[Any], key: str) -> list[Any]:
    merged = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise ValueError(f"every item of a list merged by {key!r} must carry {key!r}")
        if item.get("$patch") == "delete":
            merged = [m for m in merged if m.get(key) != item[key]]
            continue
        for index, existing in enumerate(merged):
            if existing.get(key) == item[key]:
                merged[index] = strategic_merge_patch(existing, item)
                break
        else:
            merged.append(copy.deepcopy(item))
    return merged
