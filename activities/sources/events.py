"""The ``events`` source: points pushed to ``POST /api/v1/events``, read from the ``event`` table.

Settings: ``{"kind": "events", "series": "checkout.latency", "service": "...",
"max_points": 10000}``. ``service`` optionally narrows the series to one service; the newest
``max_points`` points of the window are scored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from activities.sources.base import (
    FetchWindow,
    SeriesPoints,
    SourceConfigError,
    SourceContext,
    SourceError,
    SourceKind,
    positive_int,
    reject_unknown,
    required_text,
)
from api.models.detection import Event

DEFAULT_MAX_POINTS = 10_000
_KNOWN = {"series", "service", "max_points"}


def validate(config: Mapping[str, Any], window_seconds: int) -> dict[str, Any]:
    """Check and normalise events settings.

    Raises:
        SourceConfigError: Naming the setting at fault.
    """
    reject_unknown(config, _KNOWN)
    normalised: dict[str, Any] = {
        "kind": "events",
        "series": required_text(config, "series", 200),
        "max_points": positive_int(config, "max_points", DEFAULT_MAX_POINTS, 100_000),
    }
    if "service" in config:
        service = config["service"]
        if not isinstance(service, str) or not service:
            raise SourceConfigError("service", "must be a non-empty string when given")
        normalised["service"] = service
    return normalised


def read_events(engine: Engine, config: Mapping[str, Any], window: FetchWindow) -> SeriesPoints:
    """Read the window's points of one series, oldest first (synchronous database access)."""
    start = datetime.fromtimestamp(window.start, UTC)
    end = datetime.fromtimestamp(window.end, UTC)
    query = select(Event.timestamp, Event.value).where(
        Event.series == config["series"], Event.timestamp >= start, Event.timestamp <= end
    )
    if config.get("service"):
        query = query.where(Event.service == config["service"])
    # Newest first with a limit, then reversed: a flood of events keeps the latest points.
    query = query.order_by(col(Event.timestamp).desc(), col(Event.id).desc()).limit(
        int(config.get("max_points", DEFAULT_MAX_POINTS))
    )
    with Session(engine) as session:
        rows = list(session.exec(query).all())
    rows.reverse()
    labels = {"series": str(config["series"])}
    if config.get("service"):
        labels["service"] = str(config["service"])
    return SeriesPoints(
        labels,
        [timestamp.timestamp() for timestamp, _ in rows],
        [float(value) for _, value in rows],
    )


async def fetch(
    context: SourceContext, config: Mapping[str, Any], window: FetchWindow
) -> list[SeriesPoints]:
    """Return the series' points inside ``window`` (one series; empty when nothing was pushed).

    Raises:
        SourceError: Retryable, when the database cannot be read.
    """
    try:
        series = await asyncio.to_thread(read_events, context.engine, config, window)
    except SQLAlchemyError as exc:
        raise SourceError(
            f"cannot read events: {exc}", retryable=True, kind="SourceUnavailable"
        ) from exc
    return [series] if len(series) else []


EVENTS = SourceKind("events", validate, fetch)
