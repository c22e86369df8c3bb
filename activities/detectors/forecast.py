"""Prophet forecast intervals, with an EWMA band while a series is too short for Prophet.

Prophet is fitted on past points only, refitted every ``refit_every`` points, and forecasts each
point's trend plus seasonality (``yhat``). Between refits the band follows the residuals
(value - ``yhat``) with an exponentially weighted mean and spread, replayed over the in-sample
residuals at each fit: a level shift or a change of spread is absorbed within tens of points
rather than alarming until the next refit, and the band stays deterministic (Prophet's own
intervals are sampled). The interval is ``yhat + residual mean +/- z * residual spread`` with
``z`` from ``interval_width``; a point outside it scores above 0.5, more the further outside.

Prophet needs the history to span ``min_prophet_span_seconds`` (one day by default: one full
daily cycle, with daily seasonality switched on from then, where Prophet's own default waits for
two) and ``min_prophet_points`` points; until then the same residual band runs on the raw
values, which makes it an EWMA band.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from activities.detectors.base import (
    GapSettings,
    Score,
    StreamingDetector,
    Timestamp,
    Value,
    squash,
    to_epoch_seconds,
)

# Prophet logs every fit through cmdstanpy at INFO and complains that plotly is missing. cmdstanpy
# installs its own INFO handler unless its logger already has one, hence the NullHandler.
for _noisy, _level in (("cmdstanpy", logging.WARNING), ("prophet.plot", logging.CRITICAL)):
    logging.getLogger(_noisy).addHandler(logging.NullHandler())
    logging.getLogger(_noisy).setLevel(_level)


DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class ForecastSettings(GapSettings):
    """Settings of the Prophet forecast-interval detector.

    Attributes:
        interval_width: Coverage of the forecast interval; its edge scores 0.5.
        min_prophet_points: Points needed before Prophet is fitted.
        min_prophet_span_seconds: Time the history must span before Prophet is fitted.
        history_points: Most recent points Prophet is fitted on.
        refit_every: Points between refits.
        changepoint_prior_scale: Prophet's trend flexibility.
        changepoint_range: Share of the history where Prophet may place trend changepoints.
        residual_alpha: Weight of the newest residual in the band's mean and spread.
        learn_clip: A residual further than this many spreads is learned as if it were at that
            distance, so a spike cannot widen the band and hide the next one.
        min_history: Points needed before anything scores (the EWMA band's warm-up).
        min_spread: Floor on the spread relative to the series' magnitude.
    """

    interval_width: float = 0.999
    min_prophet_points: int = 100
    min_prophet_span_seconds: float = 86400.0
    history_points: int = 1000
    refit_every: int = 200
    changepoint_prior_scale: float = 0.05
    changepoint_range: float = 0.9
    residual_alpha: float = 0.05
    learn_clip: float | None = 6.0
    min_history: int = 30
    min_spread: float = 1e-6


class _ResidualBand:
    """Exponentially weighted mean and spread of residuals, robust to single outliers."""

    def __init__(self, alpha: float, learn_clip: float | None) -> None:
        self._alpha, self._clip = alpha, learn_clip
        self.mean, self.variance, self.count = 0.0, 0.0, 0

    def learn(self, residual: float, min_history: int) -> None:
        """Fold one residual in; past warm-up, clip it to ``learn_clip`` spreads first."""
        if self.count == 0:
            self.mean, self.count = residual, 1
            return
        if self._clip is not None and self.count >= min_history and self.variance > 0:
            reach = self._clip * self.variance**0.5
            residual = min(max(residual, self.mean - reach), self.mean + reach)
        difference = residual - self.mean
        self.mean += self._alpha * difference
        self.variance = (1.0 - self._alpha) * (self.variance + self._alpha * difference**2)
        self.count += 1


class ProphetDetector(StreamingDetector):
    """Scores points against Prophet forecast intervals; univariate."""

    name: ClassVar[str] = "prophet"

    def __init__(self, settings: ForecastSettings | None = None) -> None:
        self.settings = settings or ForecastSettings()
        if not 0.0 < self.settings.interval_width < 1.0:
            raise ValueError("interval_width must be in (0, 1)")
        self._z = statistics.NormalDist().inv_cdf(0.5 + self.settings.interval_width / 2.0)
        super().__init__(self.settings.gap_reset_intervals)
        self._upcoming: list[float] = []
        self._reset_model()

    def _reset_model(self) -> None:
        self._history: deque[tuple[float, float]] = deque(maxlen=self.settings.history_points)
        self._model: Any = None
        self._since_fit = 0
        self._forecasts: dict[float, float] = {}
        self._band = _ResidualBand(self.settings.residual_alpha, self.settings.learn_clip)

    def score_series(self, timestamps: Sequence[Timestamp], values: Sequence[Value]) -> list[Score]:
        """Score a series; knowing its timestamps lets each fit forecast them in one call."""
        self._upcoming = sorted({to_epoch_seconds(t) for t in timestamps})
        try:
            return super().score_series(timestamps, values)
        finally:
            self._upcoming = []

    def _score_and_learn(self, seconds: float, vector: np.ndarray) -> Score:
        if vector.size != 1:
            raise ValueError("the prophet detector scores univariate series only")
        value = float(vector[0])
        if self._prophet_due():
            self._fit()
        if self._model is not None:
            forecast, method = self._forecast(seconds), "prophet"
            self._since_fit += 1
        else:
            forecast, method = 0.0, "ewma"
        band = self._band
        if band.count < self.settings.min_history:
            score = Score.not_enough_data(self.name, band.count, self.settings.min_history)
        else:
            score = self._verdict(value, forecast + band.mean, band.variance**0.5, method)
        self._history.append((seconds, value))
        band.learn(value - forecast, self.settings.min_history)
        return score

    def _prophet_due(self) -> bool:
        settings = self.settings
        if self._model is not None:
            return self._since_fit >= settings.refit_every
        return (
            len(self._history) >= settings.min_prophet_points
            and self._history[-1][0] - self._history[0][0] >= settings.min_prophet_span_seconds
        )

    def _verdict(self, value: float, centre: float, spread: float, method: str) -> Score:
        spread = max(spread, self.settings.min_spread * max(abs(value), abs(centre), 1.0))
        half_width = self._z * spread
        explanation = {
            "detector": self.name,
            "baseline": centre,
            "threshold": self.settings.interval_width,
            "driver": f"{method} forecast interval",
            "band": [centre - half_width, centre + half_width],
            "deviations": (value - centre) / spread,
        }
        return Score(squash(abs(value - centre) / spread, self._z), "ok", explanation)

    def _fit(self) -> None:
        from prophet import Prophet  # imported late: it is slow to import and only needed here

        frame = pd.DataFrame(
            {"ds": _to_datetimes([t for t, _ in self._history]), "y": [v for _, v in self._history]}
        )
        span = self._history[-1][0] - self._history[0][0]
        model = Prophet(
            uncertainty_samples=0,
            yearly_seasonality=False,
            daily_seasonality=span >= DAY_SECONDS,
            changepoint_prior_scale=self.settings.changepoint_prior_scale,
            changepoint_range=self.settings.changepoint_range,
        )
        with _quiet_prophet():
            model.fit(frame)
            fitted = model.predict(frame[["ds"]])["yhat"].to_numpy()
        self._model = model
        self._since_fit = 0
        self._forecasts = {}
        # The band restarts from the in-sample residuals, as if it had always followed this model.
        self._band = _ResidualBand(self.settings.residual_alpha, self.settings.learn_clip)
        for residual in frame["y"].to_numpy() - fitted:
            self._band.learn(float(residual), self.settings.min_history)

    def _forecast(self, seconds: float) -> float:
        if seconds not in self._forecasts:
            # A miss with forecasts cached means the timestamps are off the expected grid:
            # forecast just this one rather than another grid that will not match either.
            wanted = [seconds] if self._forecasts else self._horizon(seconds)
            self._forecasts.update(self._predict(wanted))
        return self._forecasts[seconds]

    def _horizon(self, seconds: float) -> list[float]:
        """Timestamps to forecast in one call: this one and those expected before the refit."""
        remaining = max(self.settings.refit_every - self._since_fit, 1)
        if self._upcoming:
            start = int(np.searchsorted(self._upcoming, seconds))
            return self._upcoming[start : start + remaining]
        step = self._gaps.usual_interval or 0.0
        return [seconds + k * step for k in range(remaining if step > 0 else 1)]

    def _predict(self, seconds: list[float]) -> dict[float, float]:
        frame = pd.DataFrame({"ds": _to_datetimes(seconds)})
        with _quiet_prophet():
            predicted = self._model.predict(frame)["yhat"].to_numpy()
        return dict(zip(seconds, (float(y) for y in predicted), strict=True))


@contextlib.contextmanager
def _quiet_prophet() -> Iterator[None]:
    # Prophet 1.x uses pandas arguments that pandas 3 deprecates; the warnings are Prophet's.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword", module="prophet")
        yield


def _to_datetimes(seconds: list[float]) -> list[datetime]:
    # Prophet wants naive timestamps; UTC keeps them unambiguous.
    return [datetime.fromtimestamp(s, UTC).replace(tzinfo=None) for s in seconds]
