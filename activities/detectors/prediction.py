"""Forecast a series forward and say whether, and when, it crosses a threshold.

Prophet fits trend and daily seasonality once the history spans a day with enough points;
a shorter history falls back to a least-squares line over its recent points (trend only). A
history shorter than ``min_points`` is ``not_enough_data``: no forecast, never a breach.
Only the past is used; NaN points are dropped before fitting.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

Direction = Literal["above", "below"]
Model = Literal["prophet", "linear", "none"]
DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class PredictionSettings:
    """What counts as a breach and how far ahead to look.

    Attributes:
        threshold: The level the series must not cross.
        direction: ``above`` (capacity, latency) or ``below`` (free space, success rate).
        horizon_seconds: How far ahead of the last point to forecast.
        min_points: Fewer finite points than this is ``not_enough_data``.
        min_prophet_points: Points needed before Prophet is used instead of the line.
        min_prophet_span_seconds: Span the history needs before Prophet is used.
        linear_points: Most recent points the fallback line is fitted on.
    """

    threshold: float
    direction: Direction = "above"
    horizon_seconds: float = 3600.0
    min_points: int = 10
    min_prophet_points: int = 48
    min_prophet_span_seconds: float = DAY_SECONDS
    linear_points: int = 60

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold):
            raise ValueError("threshold must be a finite number")
        if self.direction not in ("above", "below"):
            raise ValueError(f"direction must be 'above' or 'below', got {self.direction!r}")
        if not self.horizon_seconds > 0:
            raise ValueError("horizon_seconds must be positive")
        if self.min_points < 3:
            raise ValueError("min_points must be at least 3")


@dataclass
class Prediction:
    """The forecast's verdict.

    Attributes:
        state: ``ok`` or ``not_enough_data``.
        breach: Whether the forecast crosses the threshold inside the horizon.
        model: ``prophet``, ``linear`` (the fallback) or ``none``.
        breach_at: Epoch seconds of the first forecast point past the threshold.
        breach_value: The forecast value there.
        explanation: Threshold, direction, horizon, last value, the forecast's end value and why.
    """

    state: Literal["ok", "not_enough_data"]
    breach: bool
    model: Model
    breach_at: float | None = None
    breach_value: float | None = None
    explanation: dict[str, Any] = field(default_factory=dict)


def predict_breach(
    timestamps: Sequence[float], values: Sequence[float], settings: PredictionSettings
) -> Prediction:
    """Forecast past the last point and find the first crossing of the threshold.

    Raises:
        ValueError: When the lengths differ or timestamps decrease.
    """
    if len(timestamps) != len(values):
        raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
    points = [(float(t), float(v)) for t, v in zip(timestamps, values, strict=True)]
    if any(b[0] < a[0] for a, b in zip(points, points[1:], strict=False)):
        raise ValueError("timestamps must not decrease")
    finite = [(t, v) for t, v in points if math.isfinite(v)]
    base: dict[str, Any] = {
        "detector": "forecast",
        "threshold": settings.threshold,
        "direction": settings.direction,
        "horizon_seconds": settings.horizon_seconds,
        "points": len(finite),
        "dropped_non_finite": len(points) - len(finite),
    }
    if len(finite) < settings.min_points:
        reason = f"history has {len(finite)} of {settings.min_points} finite points"
        return Prediction("not_enough_data", False, "none", explanation=base | {"reason": reason})
    ts = [t for t, _ in finite]
    step = statistics.median(b - a for a, b in zip(ts, ts[1:], strict=False)) or 1.0
    future = [ts[-1] + step * k for k in range(1, int(settings.horizon_seconds / step) + 1)]
    if not future:
        future = [ts[-1] + settings.horizon_seconds]
    span = ts[-1] - ts[0]
    use_prophet = (
        len(finite) >= settings.min_prophet_points and span >= settings.min_prophet_span_seconds
    )
    if use_prophet:
        model: Model = "prophet"
        forecast = _prophet(finite, future, daily=span >= DAY_SECONDS)
    else:
        model = "linear"
        forecast = _line(finite[-settings.linear_points :], future)
    crossed = _first_crossing(future, forecast, settings)
    explanation = base | {
        "model": model,
        "last_value": finite[-1][1],
        "forecast_end": float(forecast[-1]),
        "baseline": finite[-1][1],
        "driver": "forecast",
    }
    if crossed is None:
        explanation["reason"] = (
            f"{model} forecast stays {'below' if settings.direction == 'above' else 'above'} "
            f"{settings.threshold:g} for the next {settings.horizon_seconds:g} s"
        )
        return Prediction("ok", False, model, explanation=explanation)
    at, value = crossed
    explanation["reason"] = (
        f"{model} forecast reaches {value:.4g} ({settings.direction} {settings.threshold:g}) "
        f"in {at - ts[-1]:.0f} s"
    )
    return Prediction("ok", True, model, at, value, explanation)


def _first_crossing(
    future: list[float], forecast: np.ndarray, settings: PredictionSettings
) -> tuple[float, float] | None:
    for at, value in zip(future, forecast, strict=True):
        past = (
            value > settings.threshold
            if settings.direction == "above"
            else (value < settings.threshold)
        )
        if past:
            return at, float(value)
    return None


def _line(points: list[tuple[float, float]], future: list[float]) -> np.ndarray:
    """Least-squares line through the recent points, extended over ``future``."""
    t = np.array([p[0] for p in points])
    v = np.array([p[1] for p in points])
    origin = t[-1]  # fit around the last point: epoch seconds squared lose precision
    slope, intercept = np.polyfit(t - origin, v, 1)
    return np.asarray(slope * (np.array(future) - origin) + intercept)


def _prophet(points: list[tuple[float, float]], future: list[float], daily: bool) -> np.ndarray:
    from prophet import Prophet  # imported late: slow to import, only needed here

    frame = pd.DataFrame({"ds": _naive([p[0] for p in points]), "y": [p[1] for p in points]})
    model = Prophet(uncertainty_samples=0, yearly_seasonality=False, daily_seasonality=daily)
    with _quiet():
        model.fit(frame)
        predicted = model.predict(pd.DataFrame({"ds": _naive(future)}))["yhat"].to_numpy()
    return np.asarray(predicted, dtype=float)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # Prophet 1.x passes pandas arguments that newer pandas deprecates; the warnings are its own.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword", module="prophet")
        yield


def _naive(seconds: list[float]) -> list[datetime]:
    # Prophet wants naive timestamps; UTC keeps them unambiguous.
    return [datetime.fromtimestamp(s, UTC).replace(tzinfo=None) for s in seconds]
