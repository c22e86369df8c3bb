"""The breach-prediction activity: fetch a monitor's window and forecast it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from temporalio import activity

from activities import names
from activities.detectors.prediction import Prediction, PredictionSettings, predict_breach
from activities.prediction.config import ForecastConfigError, prediction_settings
from activities.prediction.types import PredictRequest, PredictResult
from activities.sources.base import SeriesPoints, SourceContext
from activities.sources.runs import bad_monitor, fetch_for_run
from api.core.settings import Settings


def _worst(
    series: list[SeriesPoints], settings: PredictionSettings
) -> tuple[Prediction, dict[str, str]]:
    """Forecast every series; the earliest breach wins, else the first series' verdict."""
    found = [(predict_breach(s.timestamps, s.values, settings), s.labels) for s in series]
    breaches = [f for f in found if f[0].breach and f[0].breach_at is not None]
    if breaches:
        return min(breaches, key=lambda f: f[0].breach_at or 0.0)
    usable = [f for f in found if f[0].state == "ok"]
    return (usable or found)[0]


class BreachPrediction:
    """Forecasts monitor windows with the worker's shared clients."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, engine: Engine) -> None:
        self._context = SourceContext(settings, http, engine)

    @activity.defn(name=names.PREDICTION_PREDICT_BREACH)
    async def predict(self, request: PredictRequest) -> PredictResult:
        """Fetch the window and forecast it.

        Fetching and fitting stay in one activity so the window never passes through the
        workflow history.

        Raises:
            ApplicationError: Non-retryable for unusable settings or a rejected query;
                retryable when the source is unreachable.
        """
        try:
            settings = prediction_settings(request.forecast)
        except ForecastConfigError as exc:
            raise bad_monitor(exc) from exc
        _, series = await fetch_for_run(
            self._context, request.monitor, request.source, request.window_seconds
        )
        if not series:
            reason = "the source returned no series"
            return PredictResult(
                state="not_enough_data", breach=False, model="none", explanation={"reason": reason}
            )
        # Prophet fits are CPU work: off the worker's event loop.
        prediction, labels = await asyncio.to_thread(_worst, series, settings)
        at = prediction.breach_at
        return PredictResult(
            state=prediction.state,
            breach=prediction.breach,
            model=prediction.model,
            breach_at=datetime.fromtimestamp(at, UTC).isoformat() if at is not None else None,
            series=labels,
            explanation=prediction.explanation
            | {"source": request.source.get("kind"), "series": labels},
        )
