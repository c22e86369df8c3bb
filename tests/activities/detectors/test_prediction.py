"""Breach prediction: Prophet on a day or more of history, a line before that, nothing on less."""

from __future__ import annotations

import math

import numpy as np
import pytest

from activities.detectors.prediction import PredictionSettings, predict_breach

T0 = 1_790_000_000.0


def series(n: int, step: float, value: object) -> tuple[list[float], list[float]]:
    ts = [T0 + i * step for i in range(n)]
    return ts, [float(value(i)) for i in range(n)]  # type: ignore[operator]


def test_too_short_a_history_is_not_enough_data_and_never_a_breach() -> None:
    ts, vs = series(9, 60, lambda i: 1000 * i)
    found = predict_breach(ts, vs, PredictionSettings(threshold=10))
    assert (found.state, found.breach, found.model) == ("not_enough_data", False, "none")
    assert "9 of 10" in found.explanation["reason"]


def test_a_rising_line_is_predicted_to_cross_at_the_right_time() -> None:
    # 400 ms rising 2 ms a minute: 500 ms is 50 minutes after the start, 20 after the last point.
    ts, vs = series(31, 60, lambda i: 400 + 2 * i)
    found = predict_breach(ts, vs, PredictionSettings(threshold=500, horizon_seconds=3600))
    assert (found.state, found.breach, found.model) == ("ok", True, "linear")
    assert found.breach_at is not None and found.breach_value is not None
    assert abs((found.breach_at - ts[-1]) - 21 * 60) <= 60
    assert found.breach_value > 500 and "in " in found.explanation["reason"]


def test_a_breach_beyond_the_horizon_is_no_breach() -> None:
    ts, vs = series(31, 60, lambda i: 400 + 2 * i)
    found = predict_breach(ts, vs, PredictionSettings(threshold=500, horizon_seconds=600))
    assert found.state == "ok" and not found.breach
    assert found.explanation["forecast_end"] < 500


def test_direction_below_and_nan_points() -> None:
    ts, vs = series(40, 60, lambda i: math.nan if i % 7 == 0 else 100 - i)
    found = predict_breach(
        ts, vs, PredictionSettings(threshold=50, direction="below", horizon_seconds=1800)
    )
    assert found.breach and found.breach_value is not None and found.breach_value < 50
    assert found.explanation["dropped_non_finite"] == 6


def test_prophet_forecasts_trend_and_daily_cycle() -> None:
    # Two days of 15-minute points: a daily cycle of +-20 over a trend of +1 an hour.
    day = 86400.0
    ts, vs = series(192, 900, lambda i: 100 + i * 0.25 + 20 * np.sin(2 * np.pi * (i * 900) / day))
    settings = PredictionSettings(threshold=170, horizon_seconds=day)
    found = predict_breach(ts, vs, settings)
    assert (found.state, found.model, found.breach) == ("ok", "prophet", True)
    assert found.breach_at is not None and ts[-1] < found.breach_at <= ts[-1] + day
    flat = predict_breach(ts, [100.0] * len(ts), settings)
    assert flat.model == "prophet" and not flat.breach


@pytest.mark.parametrize(
    "bad",
    [
        {"threshold": math.inf},
        {"threshold": 1, "direction": "sideways"},
        {"threshold": 1, "horizon_seconds": 0},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PredictionSettings(**bad)  # type: ignore[arg-type]


def test_decreasing_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="must not decrease"):
        predict_breach([2.0, 1.0, 3.0], [1.0, 2.0, 3.0], PredictionSettings(threshold=1))
