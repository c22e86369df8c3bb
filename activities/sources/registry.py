"""Source kinds by name: what a monitor's ``source.kind`` may be.

Add a kind with ``register_source(SourceKind(name, validate, fetch))`` from the module that
defines it (and import that module here so that both the API and the worker know it).
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
from activities.sources.events import EVENTS
from activities.sources.prometheus import PROMETHEUS

SOURCES: dict[str, SourceKind] = {}


def register_source(kind: SourceKind) -> SourceKind:
    """Make ``kind`` available to monitors under ``kind.name``.

    Raises:
        ValueError: When another kind already has that name.
    """
    if kind.name in SOURCES and SOURCES[kind.name] is not kind:
        raise ValueError(f"source kind {kind.name!r} is already registered")
    SOURCES[kind.name] = kind
    return kind


for _kind in (PROMETHEUS, EVENTS):
    register_source(_kind)


def source_kind(config: Mapping[str, Any]) -> SourceKind:
    """Return the registered kind named by ``config["kind"]``.

    Raises:
        SourceConfigError: Naming ``kind`` and listing the known kinds.
    """
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
