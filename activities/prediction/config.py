"""The settings of a forecast monitor, checked: what the API validates and the activity reads."""

from __future__ import annotations

import math
from typing import Any

from activities.detectors.prediction import PredictionSettings

_SETTINGS = ("threshold", "direction", "horizon_seconds", "min_points")


class ForecastConfigError(ValueError):
    """A forecast monitor's ``detector`` settings are unusable; ``field`` names the key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"detector.{field}: {message}")
        self.field = field
        self.message = message


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def prediction_settings(forecast: dict[str, Any]) -> PredictionSettings:
    """Build the forecast settings of a monitor.

    Raises:
        ForecastConfigError: Naming the setting at fault.
    """
    unknown = sorted(set(forecast) - set(_SETTINGS) - {"name"})
    if unknown:
        raise ForecastConfigError(unknown[0], f"unknown setting; known: {', '.join(_SETTINGS)}")
    if not _number(forecast.get("threshold")):
        raise ForecastConfigError("threshold", "a finite number is required")
    if forecast.get("direction", "above") not in ("above", "below"):
        raise ForecastConfigError("direction", "must be 'above' or 'below'")
    horizon = forecast.get("horizon_seconds", 3600)
    if not _number(horizon) or horizon <= 0:
        raise ForecastConfigError("horizon_seconds", "must be a positive number")
    min_points = forecast.get("min_points", 10)
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 3:
        raise ForecastConfigError("min_points", "must be an integer of at least 3")
    return PredictionSettings(
        threshold=float(forecast["threshold"]),
        direction=forecast.get("direction", "above"),
        horizon_seconds=float(horizon),
        min_points=min_points,
    )
