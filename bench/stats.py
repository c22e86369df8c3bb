"""Statistics the benchmarks share."""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` (0-100) of ``values``.

    Raises:
        ValueError: ``values`` is empty.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]
