"""Input and result of the breach-prediction activity (imported by the forecast workflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class PredictRequest:
    """Fetch a monitor's window and forecast it past its last point.

    Attributes:
        monitor: The monitor's name.
        source: The monitor's source settings (as for detection monitors).
        forecast: ``threshold`` (required), ``direction`` (``above``/``below``),
            ``horizon_seconds`` and ``min_points``.
        window_seconds: How much history to fit on.
    """

    monitor: str
    source: dict[str, Any]
    forecast: dict[str, Any]
    window_seconds: int


@dataclass(kw_only=True)
class PredictResult:
    """The forecast of the most threatening series of the window.

    Attributes:
        state: ``ok`` or ``not_enough_data``.
        breach: Whether a series is forecast to cross the threshold inside the horizon.
        model: ``prophet``, ``linear`` (short history) or ``none``.
        breach_at: ISO 8601 time of the predicted crossing.
        series: Labels of the series it is about.
        explanation: Threshold, horizon, last value, forecast and the reason.
    """

    state: str
    breach: bool
    model: str
    breach_at: str | None = None
    series: dict[str, str] = field(default_factory=dict)
    explanation: dict[str, Any] = field(default_factory=dict)
