"""Streaming detectors: causality, batch = stream, NaN, short history, gaps, explanations."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from activities.detectors import (
    CalibrationSettings,
    Detector,
    EnsembleDetector,
    EwmaZScoreDetector,
    IsolationForestDetector,
    IsolationForestSettings,
    RollingZScoreDetector,
    TailCalibrator,
    ZScoreSettings,
    build_detector,
)

STEP = 300.0
START = 1_709_251_200.0  # 2024-03-01T00:00:00Z


def noise(length: int, seed: int = 1, scale: float = 1.0) -> np.ndarray:
    return 50.0 + np.random.default_rng(seed).normal(0.0, scale, length)


def stamps(length: int) -> list[float]:
    return [START + STEP * i for i in range(length)]


FAST_DETECTORS = {
    "zscore": RollingZScoreDetector,
    "ewma": EwmaZScoreDetector,
    # Few trees: streaming calls the forest once per point, and these tests check bookkeeping.
    "iforest": lambda: IsolationForestDetector(
        IsolationForestSettings(refit_every=64, n_estimators=10)
    ),
}


@pytest.mark.parametrize("name", list(FAST_DETECTORS))
def test_a_score_never_depends_on_later_points(name: str) -> None:
    values = noise(400)
    altered = values.copy()
    altered[300:] = 1e6  # the future explodes; the past must not notice
    original = FAST_DETECTORS[name]().score_series(stamps(400), values.tolist())
    changed = FAST_DETECTORS[name]().score_series(stamps(400), altered.tolist())
    assert [s.score for s in original[:300]] == [s.score for s in changed[:300]]
    assert changed[300].is_anomaly


@pytest.mark.parametrize("name", list(FAST_DETECTORS))
def test_batch_scoring_equals_streaming(name: str) -> None:
    values = noise(420, seed=3)
    values[350] += 12.0
    batch = FAST_DETECTORS[name]().score_series(stamps(420), values.tolist())
    streaming = FAST_DETECTORS[name]()
    streamed = [streaming.update(t, v) for t, v in zip(stamps(420), values, strict=True)]
    assert [s.score for s in batch] == pytest.approx([s.score for s in streamed])
    assert [s.state for s in batch] == [s.state for s in streamed]
    assert batch[350].is_anomaly


@pytest.mark.parametrize("name", list(FAST_DETECTORS))
def test_spike_scores_high_with_an_explanation(name: str) -> None:
    values = noise(400, seed=5)
    values[380] += 15.0
    scores = FAST_DETECTORS[name]().score_series(stamps(400), values.tolist())
    spike = scores[380]
    assert spike.state == "ok" and spike.score > 0.8
    for key in ("detector", "baseline", "threshold", "driver"):
        assert spike.explanation[key] is not None
    assert abs(spike.explanation["baseline"] - 50.0) < 1.0
    quiet = [s.score for s in scores[200:379] if s.state == "ok"]
    assert max(quiet) < spike.score


@pytest.mark.parametrize("name", list(FAST_DETECTORS))
def test_short_history_is_not_enough_data_never_an_anomaly(name: str) -> None:
    values = [1.0, 1.0, 1.0, 1.0, 1000.0, 1.0, -1000.0]
    scores = FAST_DETECTORS[name]().score_series(stamps(len(values)), values)
    assert {s.state for s in scores} == {"not_enough_data"}
    assert not any(s.is_anomaly for s in scores)
    assert all(s.score == 0.0 for s in scores)
    assert "need" in scores[-1].explanation


def test_nan_is_missing_and_never_learned() -> None:
    values = noise(200, seed=7)
    with_gap = values.tolist()
    with_gap.insert(120, math.nan)
    times = stamps(201)
    scored = RollingZScoreDetector().score_series(times, with_gap)
    clean = RollingZScoreDetector().score_series(times[:120] + times[121:], values.tolist())
    assert scored[120].state == "missing" and scored[120].score == 0.0
    assert [s.score for s in scored[121:]] == [s.score for s in clean[120:]]


def test_a_long_gap_restarts_the_baseline_and_says_so() -> None:
    detector = EwmaZScoreDetector()
    for t, v in zip(stamps(100), noise(100), strict=True):
        detector.update(t, v)
    after_gap = detector.update(START + STEP * 99 + 86400, 500.0)
    assert after_gap.state == "not_enough_data"
    assert after_gap.explanation["baseline_restarted_after_gap_seconds"] == pytest.approx(86400)


def test_timestamps_must_not_decrease_and_datetimes_work() -> None:
    detector = RollingZScoreDetector()
    detector.update(datetime(2024, 3, 1, 0, 5, tzinfo=UTC), 1.0)
    with pytest.raises(ValueError, match="must not decrease"):
        detector.update(datetime(2024, 3, 1, 0, 0, tzinfo=UTC), 1.0)


def test_multivariate_names_the_dimension_that_drove_the_score() -> None:
    rng = np.random.default_rng(11)
    rows = np.column_stack([rng.normal(10, 1, 450), rng.normal(500, 20, 450)])
    rows[420, 1] += 200
    settings = ZScoreSettings(feature_names=("cpu", "latency_ms"))
    zscore = RollingZScoreDetector(settings).score_series(stamps(450), rows.tolist())
    assert zscore[420].is_anomaly and zscore[420].explanation["driver"] == "latency_ms"
    forest = IsolationForestDetector().score_series(stamps(450), rows.tolist())
    assert forest[420].is_anomaly and forest[420].explanation["driver"].startswith("value[1].")


def test_iforest_scores_are_calibrated_per_series() -> None:
    """The same shape at any scale scores the same; different noise still scores comparably."""
    values = noise(500, seed=13)
    values[450] += 8
    small = IsolationForestDetector().score_series(stamps(500), values.tolist())
    large = IsolationForestDetector().score_series(stamps(500), (values * 1000).tolist())
    assert [s.score for s in small] == pytest.approx([s.score for s in large])
    heavy_tailed = 50 + np.random.default_rng(2).standard_t(3, 500) * 5
    for series in (noise(500, seed=21), heavy_tailed):
        scores = IsolationForestDetector().score_series(stamps(500), series.tolist())
        alarms = sum(s.is_anomaly for s in scores)
        assert alarms <= 10, "clean data must rarely alarm whatever its distribution"


def test_tail_calibrator_ranks_beyond_the_seen_maximum() -> None:
    calibrator = TailCalibrator(CalibrationSettings(history=500, min_history=50, alpha=1e-2))
    for raw in np.random.default_rng(0).exponential(1.0, 500):
        calibrator.learn(float(raw))
    assert calibrator.tail_probability(0.0) == pytest.approx(1.0, abs=0.01)
    assert calibrator.tail_probability(1.0) == pytest.approx(math.exp(-1), abs=0.05)
    far, farther = calibrator.calibrate(8.0), calibrator.calibrate(12.0)
    assert 0.5 < far < farther < 1.0
    assert calibrator.calibrate(0.5) < 0.05


def test_ensemble_names_the_member_that_drove_it() -> None:
    ensemble = EnsembleDetector([RollingZScoreDetector(), EwmaZScoreDetector()])
    values = noise(300, seed=17)
    values[290] -= 20
    scores = ensemble.score_series(stamps(300), values.tolist())
    spike = scores[290]
    assert spike.is_anomaly
    assert spike.explanation["driven_by"] in {"zscore", "ewma"}
    members = spike.explanation["members"]
    assert spike.score == max(m["score"] for m in members.values())
    assert scores[0].state == "not_enough_data"
    assert ensemble.update(START + STEP * 300, math.nan).state == "missing"


def test_registry_builds_every_detector_and_rejects_unknown_names() -> None:
    for name in ("ensemble", "zscore", "ewma", "iforest", "prophet"):
        assert isinstance(build_detector(name), Detector)
    with pytest.raises(ValueError, match="unknown detector"):
        build_detector("magic")
