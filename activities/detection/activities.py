"""The monitor scoring activity: fetch a window from the monitor's source and score it."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import Engine
from temporalio import activity

from activities import names
from activities.detection.config import DetectorConfigError, configured_detector
from activities.detection.scoring import judge_window
from activities.detection.types import ScoreWindowRequest, WindowVerdict
from activities.sources.base import SourceContext
from activities.sources.runs import bad_monitor, fetch_for_run
from api.core.settings import Settings


class MonitorScoring:
    """Scores monitor windows with the worker's shared HTTP client and database engine."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, engine: Engine) -> None:
        self._context = SourceContext(settings, http, engine)

    @activity.defn(name=names.DETECTION_SCORE_WINDOW)
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
        except DetectorConfigError as exc:
            raise bad_monitor(exc) from exc
        window, series = await fetch_for_run(
            self._context, request.monitor, request.source, request.window_seconds
        )
        # Scoring is CPU work (IsolationForest fits, Prophet): off the worker's event loop.
        verdict = await asyncio.to_thread(
            judge_window,
            series,
            request.detector,
            window,
            request.interval_seconds,
            request.run_started_at,
        )
        verdict.explanation["source"] = request.source.get("kind")
        return verdict
