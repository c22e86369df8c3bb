"""The monitor scoring activity: fetch a window from the monitor's source and score it."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.detection.config import DetectorConfigError, configured_detector
from activities.detection.scoring import judge_window
from activities.detection.types import ScoreWindowRequest, WindowVerdict
from activities.sources.base import SourceConfigError, SourceContext, SourceError
from activities.sources.registry import fetch_window
from api.core.settings import Settings

logger = logging.getLogger("steward.monitors")


class MonitorScoring:
    """Scores monitor windows with the worker's shared HTTP client and database engine."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, engine: Engine) -> None:
        self._context = SourceContext(settings, http, engine)

    @activity.defn(name="monitor.score_window")
    async def score_window(self, request: ScoreWindowRequest) -> WindowVerdict:
        """Fetch the monitor's window and return the verdict on this run's points.

        Fetching and scoring are one activity on purpose: a window is hundreds to thousands of
        points, and passing it from a fetch activity to a score activity would write it into
        the workflow history twice on every run. Only the small verdict leaves the worker.

        Raises:
            ApplicationError: Non-retryable for unusable source or detector settings and for
                a query the source rejects (with the source's message); retryable when the
                source is unreachable or failing.
        """
        try:
            configured_detector(request.detector)  # refuse bad settings before fetching
            window, series = await fetch_window(
                self._context, request.source, request.window_seconds, time.time()
            )
        except (SourceConfigError, DetectorConfigError) as exc:
            raise ApplicationError(str(exc), type="BadMonitor", non_retryable=True) from exc
        except SourceError as exc:
            logger.warning("monitor %s: %s", request.monitor, exc.message)
            raise ApplicationError(
                exc.message, type=exc.kind, non_retryable=not exc.retryable
            ) from exc
        # Scoring is CPU work (IsolationForest fits, Prophet): off the worker's event loop.
        verdict = await asyncio.to_thread(
            judge_window, series, request.detector, window, request.interval_seconds
        )
        verdict.explanation["source"] = request.source.get("kind")
        return verdict
