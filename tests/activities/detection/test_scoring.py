"""Scoring a window: which point is reported, with what state, from which series."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from activities.detection.config import DetectorConfigError, configured_detector, validate_detector
from activities.detection.scoring import judge_window, plain
from activities.detectors.zscore import RollingZScoreDetector
from activities.sources.base import FetchWindow, SeriesPoints

ZSCORE = {"name": "zscore", "min_history": 10, "window": 60}
END = 1_800_000_000.0


def series(values: list[float], labels: dict[str, str] | None = None) -> SeriesPoints:
    start = END - len(values) + 1
    points = SeriesPoints(labels or {}, [start + n for n in range(len(values))], list(values))
    points.non_finite = sum(math.isnan(v) for v in values)
    return points


def flat(n: int, level: float = 0.05) -> list[float]:
    # A little deterministic wiggle, so the baseline has a spread.
    return [level + 0.001 * ((i * 7) % 5) for i in range(n)]


WINDOW = FetchWindow(END - 60, END)


def test_a_spike_among_this_runs_points_is_reported_even_when_the_last_point_is_normal() -> None:
    values = [*flat(40), 0.5, 0.05, 0.051]  # the spike is 2 points before the end
    verdict = judge_window([series(values)], ZSCORE, WINDOW, interval_seconds=5)
    assert verdict.state == "ok" and verdict.anomalous and verdict.score > 0.9
    assert verdict.explanation["value"] == 0.5
    assert verdict.explanation["detector"] == "zscore"
    assert verdict.explanation["baseline"] == pytest.approx(0.052, abs=0.002)
    assert verdict.point_id == f"{END - 2:.3f}"
    assert verdict.observed_at == datetime.fromtimestamp(END - 2, UTC).isoformat()


def test_a_spike_from_an_earlier_run_is_not_reported_again() -> None:
    values = [*flat(40), 0.5, *flat(10)]  # 10 points old: two intervals of 5 are 10 points
    verdict = judge_window([series(values)], ZSCORE, WINDOW, interval_seconds=5)
    assert verdict.state == "ok" and not verdict.anomalous
    assert verdict.point_id == f"{END:.3f}"  # nothing stood out: the latest point


def test_a_run_picked_up_late_still_reports_a_shift_from_before_it_ran() -> None:
    # A level shift 8 points before the end: the detector has absorbed it by the end.
    values = [*flat(40), *[0.5] * 9]
    on_time = judge_window([series(values)], ZSCORE, WINDOW, interval_seconds=2)
    assert not on_time.anomalous  # its own points (the last 4) are the new normal
    late = judge_window(
        [series(values)], ZSCORE, WINDOW, interval_seconds=2, run_started_at=END - 6
    )
    assert late.anomalous and late.point_id == f"{END - 8:.3f}"  # the shift's first point
    # A start after the window's end (clocks differ) changes nothing.
    ahead = judge_window(
        [series(values)], ZSCORE, WINDOW, interval_seconds=2, run_started_at=END + 60
    )
    assert ahead.point_id == on_time.point_id and not ahead.anomalous


def test_too_short_a_history_is_not_enough_data_never_an_anomaly() -> None:
    verdict = judge_window([series([0.05, 0.05, 9.0])], ZSCORE, WINDOW, interval_seconds=5)
    assert verdict.state == "not_enough_data" and not verdict.anomalous and verdict.score == 0
    assert verdict.explanation["have"] == 2 and verdict.explanation["need"] == 10


def test_no_points_is_not_enough_data() -> None:
    verdict = judge_window([SeriesPoints({"a": "b"})], ZSCORE, WINDOW, interval_seconds=5)
    assert verdict.state == "not_enough_data" and verdict.observed_at is None
    assert "no points" in verdict.explanation["reason"]
    assert judge_window([], ZSCORE, WINDOW, 5).state == "not_enough_data"


def test_a_missing_latest_point_is_missing_and_counted() -> None:
    values = [*flat(40), math.nan, math.nan]
    verdict = judge_window([series(values)], ZSCORE, WINDOW, interval_seconds=2)
    assert verdict.state == "missing" and not verdict.anomalous
    assert verdict.explanation["non_finite_points"] == 2
    assert verdict.explanation["value"] is None  # NaN never reaches JSON


def test_the_most_anomalous_series_wins_and_is_named() -> None:
    calm = series(flat(40), {"instance": "a"})
    spiking = series([*flat(39), 0.4], {"instance": "b"})
    verdict = judge_window([calm, spiking], ZSCORE, WINDOW, interval_seconds=5)
    assert verdict.anomalous and verdict.series == {"instance": "b"}
    assert verdict.explanation["series_scored"] == 2
    assert verdict.explanation["series_anomalous"] == 1
    assert verdict.point_id is not None and "/" in verdict.point_id  # the series is in its id


def test_detector_settings_are_applied_and_validated() -> None:
    detector = configured_detector({"name": "zscore", "threshold": 6, "direction": "up"})
    assert isinstance(detector, RollingZScoreDetector)
    assert detector.settings.threshold == 6.0 and detector.settings.direction == "up"
    assert validate_detector({}) == {"name": "zscore"}
    ensemble = configured_detector({"name": "ensemble", "combine": "mean"})
    assert ensemble.settings.combine == "mean"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"name": "magic"}, "name", "known detectors: ensemble, ewma, iforest, prophet, zscore"),
        ({"name": "zscore", "treshold": 3}, "treshold", "known: direction"),
        ({"name": "zscore", "threshold": "high"}, "threshold", "valid number"),
        ({"name": "zscore", "direction": "sideways"}, "direction", "'both'"),
        ({"name": "zscore", "window": 1}, "window", "at least 2"),
        ({"name": "iforest", "calibration": {"history": "x"}}, "calibration.history", "integer"),
    ],
)
def test_bad_detector_settings_name_the_field(
    config: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(DetectorConfigError) as raised:
        configured_detector(config)
    assert raised.value.field == field
    assert words in raised.value.message


def test_plain_makes_explanations_json_safe() -> None:
    import numpy as np

    assert plain({"a": np.float64(1.5), "b": (math.inf, np.int64(2)), "c": {"d": math.nan}}) == {
        "a": 1.5,
        "b": [None, 2],
        "c": {"d": None},
    }
