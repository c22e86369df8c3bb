"""Source kinds by name: what a monitor's ``source.kind`` may be.

A kind is a ``SourceKind(name, validate, fetch)`` declared like any extension (the shipped
``prometheus`` and ``events`` included): an entry point in the group ``steward.sources`` named
after the kind, whose value is the ``SourceKind``, or listed in ``STEWARD_SOURCES`` of a plugin
module. ``activities.plugins`` loads them into :data:`SOURCES` on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from activities.sources.base import (
    FetchWindow,
    SeriesPoints,
    SourceConfigError,
    SourceContext,
    SourceKind,
)

# Filled in place by activities.plugins (importers keep a reference to this object).
SOURCES: dict[str, SourceKind] = {}


def source_kind(config: Mapping[str, Any]) -> SourceKind:
    """Return the registered kind named by ``config["kind"]``.

    Raises:
        SourceConfigError: Naming ``kind`` and listing the known kinds.
    """
    # Imported here: activities.plugins imports this module to fill SOURCES.
    from activities.plugins import ensure_extensions

    ensure_extensions()
    name = config.get("kind")
    if name not in SOURCES:
        known = ", ".join(sorted(SOURCES))
        shown = f"unknown kind {name!r}" if name is not None else "is required"
        raise SourceConfigError("kind", f"{shown}; known kinds: {known}")
    return SOURCES[str(name)]


def validate_source(config: Mapping[str, Any], window_seconds: int) -> dict[str, Any]:
    """Check a monitor's source settings and return them normalised (defaults filled in).

    Raises:
        SourceConfigError: Naming the setting at fault.
    """
    if not isinstance(config, Mapping):
        raise SourceConfigError("kind", "the source must be an object with a kind")
    return source_kind(config).validate(config, window_seconds)


async def fetch_window(
    context: SourceContext, config: Mapping[str, Any], window_seconds: int, now: float
) -> tuple[FetchWindow, list[SeriesPoints]]:
    """Fetch the ``window_seconds`` ending at ``now`` (aligned as the kind wants).

    Raises:
        SourceConfigError: When the settings are unusable.
        SourceError: When the fetch fails.
    """
    kind = source_kind(config)
    normalised = kind.validate(config, window_seconds)
    end = kind.align_end(normalised, now)
    window = FetchWindow(end - window_seconds, end)
    return window, await kind.fetch(context, normalised, window)
