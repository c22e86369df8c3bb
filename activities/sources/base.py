"""What every monitor source returns, how it fails, and what it gets to work with.

A source turns a monitor's ``source`` settings and a time window into one or more series of
``(epoch seconds, value)`` points. Sources are plain async functions over shared clients, so
they are testable without Temporal; the scoring activity turns their errors into Temporal
failures (retryable or not).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine

from api.core.settings import Settings


class SourceConfigError(ValueError):
    """A monitor's ``source`` settings are unusable; ``field`` names the offending key.

    Attributes:
        field: The key of the source settings at fault, e.g. ``query``.
        message: What is wrong, for a person.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"source.{field}: {message}")
        self.field = field
        self.message = message


class SourceError(Exception):
    """Fetching a window failed.

    Attributes:
        message: What failed, with the upstream's own message when it gave one.
        retryable: Whether trying again may help (unreachable, 5xx) or not (a bad query).
        kind: A short type name for the failure, e.g. ``BadQuery``.
    """

    def __init__(self, message: str, *, retryable: bool, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.kind = kind


@dataclass(frozen=True)
class FetchWindow:
    """The time range a run looks at, in epoch seconds (both ends included)."""

    start: float
    end: float


@dataclass
class SeriesPoints:
    """One series of a source's answer: its labels and its points in time order.

    Values are floats; NaN marks a point the source could not give a number for (including
    Prometheus' ``NaN`` and ``+Inf``/``-Inf``, which arise from divisions by zero, not from
    observations).
    """

    labels: dict[str, str]
    timestamps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    non_finite: int = 0

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True)
class SourceContext:
    """The shared clients a source may use (the worker's, never per-call ones)."""

    settings: Settings
    http: httpx.AsyncClient
    engine: Engine


Fetch = Callable[[SourceContext, Mapping[str, Any], FetchWindow], Awaitable[list[SeriesPoints]]]
Validate = Callable[[Mapping[str, Any], int], dict[str, Any]]


@dataclass(frozen=True)
class SourceKind:
    """A kind of source, registered by name (the ``kind`` key of a monitor's ``source``).

    Attributes:
        name: The ``kind`` value, e.g. ``prometheus``.
        validate: ``(settings, window_seconds) -> normalised settings``; raises
            ``SourceConfigError`` naming the key at fault. The API calls it when a monitor is
            created or changed, the activity again before each fetch.
        fetch: ``(context, settings, window) -> series``; raises ``SourceError``.
        align_end: ``(settings, now) -> end of the window``; sources on a fixed step grid
            align it so that repeated runs see the same point timestamps.
    """

    name: str
    validate: Validate
    fetch: Fetch
    align_end: Callable[[Mapping[str, Any], float], float] = lambda _settings, now: now


def positive_int(config: Mapping[str, Any], key: str, default: int, maximum: int) -> int:
    """Read an optional integer setting in ``1..maximum``.

    Raises:
        SourceConfigError: Naming ``key`` when the value is not such an integer.
    """
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise SourceConfigError(key, f"must be an integer from 1 to {maximum}, got {value!r}")
    return value


def required_text(config: Mapping[str, Any], key: str, max_length: int = 10_000) -> str:
    """Read a required, non-blank string setting.

    Raises:
        SourceConfigError: Naming ``key`` when it is missing, blank or too long.
    """
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SourceConfigError(key, "is required (a non-empty string)")
    if len(value) > max_length:
        raise SourceConfigError(key, f"is longer than {max_length} characters")
    return value


def reject_unknown(config: Mapping[str, Any], known: set[str]) -> None:
    """Refuse settings a source does not read: a typo would otherwise be ignored silently.

    Raises:
        SourceConfigError: Naming the first unknown key and listing the known ones.
    """
    unknown = sorted(set(config) - known - {"kind"})
    if unknown:
        raise SourceConfigError(
            unknown[0], f"unknown setting; known: {', '.join(sorted(known | {'kind'}))}"
        )
