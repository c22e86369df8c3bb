"""Fetching a monitor's window inside an activity: source problems become Temporal failures."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.sources.base import (
    FetchWindow,
    SeriesPoints,
    SourceConfigError,
    SourceContext,
    SourceError,
)
from activities.sources.registry import fetch_window

logger = logging.getLogger("steward.monitors")


def bad_monitor(exc: Exception) -> ApplicationError:
    """The final failure of a run whose monitor settings are unusable (no retry can help)."""
    return ApplicationError(str(exc), type="BadMonitor", non_retryable=True)


async def fetch_for_run(
    context: SourceContext, monitor: str, source: Mapping[str, Any], window_seconds: int
) -> tuple[FetchWindow, list[SeriesPoints]]:
    """Fetch the window ending now for one run of ``monitor``.

    Raises:
        ApplicationError: Non-retryable for unusable source settings and for a query the
            source rejects (with the source's message); retryable when the source is
            unreachable or failing.
    """
    try:
        return await fetch_window(context, source, window_seconds, time.time())
    except SourceConfigError as exc:
        raise bad_monitor(exc) from exc
    except SourceError as exc:
        logger.warning("monitor %s: %s", monitor, exc.message)
        raise ApplicationError(exc.message, type=exc.kind, non_retryable=not exc.retryable) from exc
