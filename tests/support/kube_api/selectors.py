"""Label and field selectors as the API server parses them (the equality-based forms)."""

from __future__ import annotations

from typing import Any


def _terms(selector: str) -> list[tuple[str, str, str]]:
    terms = []
    for raw in filter(None, (part.strip() for part in selector.split(","))):
        for op in ("!=", "==", "="):
            if op in raw:
                key, value = raw.split(op, 1)
                terms.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            # A bare key selects objects that have the label at all.
            terms.append((raw, "exists", ""))
    return terms


def labels_match(labels: dict[str, str], selector: str) -> bool:
    """Whether ``labels`` satisfy a ``labelSelector`` such as ``app=checkout,tier!=db``."""
    for key, op, value in _terms(selector):
        if op == "exists" and key not in labels:
            return False
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
    return True


def _field(obj: dict[str, Any], path: str) -> Any:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def fields_match(obj: dict[str, Any], selector: str) -> bool:
    """Whether ``obj`` satisfies a ``fieldSelector`` such as ``spec.nodeName=node-1``."""
    for key, op, value in _terms(selector):
        actual = _field(obj, key)
        actual = "" if actual is None else str(actual)
        if (op == "=" and actual != value) or (op == "!=" and actual == value):
            return False
    return True


def match_labels(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector object's ``matchLabels`` select ``labels``."""
    wanted = selector.get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in wanted.items())
