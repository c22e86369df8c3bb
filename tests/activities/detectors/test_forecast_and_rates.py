"""Prophet forecast intervals (with the short-series fallback) and the burst/spike rules."""

from __future__ import annotations

import numpy as np
import pytest

from activities.detectors import (
    BurstSettings,
    EndpointSpikeSettings,
    ForecastSettings,
    ProphetDetector,
    RateRuleDetector,
    TenantSpikeSettings,
    rate_rule_score,
)

HALF_HOUR = 1800.0
START = 1_709_251_200.0


def daily_series(days: int, seed: int = 4) -> tuple[list[float], np.ndarray]:
    points = int(days * 48)
    hours = np.arange(points) / 2.0
    values = (
        100 + 30 * np.sin(2 * np.pi * hours / 24) + np.random.default_rng(seed).normal(0, 2, points)
    )
    return [START + HALF_HOUR * i for i in range(points)], values


def test_prophet_follows_the_daily_cycle_and_scores_by_distance_outside_the_band() -> None:
    times, values = daily_series(5)
    values[200] += 25  # ~12 sigma above the cycle, well inside its daily range
    values[220] += 9  # ~4.5 sigma: outside the band, but less far
    settings = ForecastSettings(refit_every=150)
    scores = ProphetDetector(settings).score_series(times, values.tolist())
    assert scores[40].explanation["driver"] == "ewma forecast interval"  # too short for Prophet
    assert scores[200].explanation["driver"] == "prophet forecast interval"
    assert scores[200].score > scores[220].score > 0.5
    low, high = scores[200].explanation["band"]
    assert low < scores[200].explanation["baseline"] < high < values[200]
    seasonal = [s.score for i, s in enumerate(scores[100:], start=100) if i not in (200, 220)]
    assert max(seasonal) < 0.9, "the daily swing itself must not alarm once Prophet models it"
    # the same detector streaming one point at a time agrees with the batch
    streaming = ProphetDetector(settings)
    streamed = [streaming.update(t, v) for t, v in zip(times, values, strict=True)]
    assert [s.score for s in streamed] == pytest.approx([s.score for s in scores], abs=1e-9)


def test_prophet_short_series_is_not_enough_data_then_fallback() -> None:
    times, values = daily_series(1)
    scores = ProphetDetector().score_series(times[:40], values[:40].tolist())
    assert scores[5].state == "not_enough_data"
    assert scores[39].state == "ok" and scores[39].explanation["driver"] == "ewma forecast interval"
    with pytest.raises(ValueError, match="univariate"):
        ProphetDetector().update(START, [1.0, 2.0])


def events(times: list[float]) -> np.ndarray:
    return np.sort(np.asarray(times, dtype=float))


def test_burst_fires_only_above_50_percent_over_the_hour_baseline() -> None:
    now = START + 7200
    # one failure a minute for the hour before the recent window: 5 expected per 5 minutes
    baseline = [now - 300 - 60 * i for i in range(60)]
    at_threshold = events(baseline + [now - 10 * i for i in range(int(7.5))])  # 7 < 7.5: no
    above = events(baseline + [now - 10 * i for i in range(9)])
    quiet = rate_rule_score(at_threshold, now, BurstSettings(), START)
    burst = rate_rule_score(above, now, BurstSettings(), START)
    assert not quiet.is_anomaly and quiet.explanation["baseline"] == pytest.approx(5.0)
    assert burst.is_anomaly and burst.explanation["ratio"] == pytest.approx(9 / 5)
    assert burst.explanation["driver"] == "last 300s vs 3600s before"


def test_rules_need_a_covered_baseline_and_enough_events() -> None:
    now = START + 1800
    young = rate_rule_score(events([now - i for i in range(50)]), now, BurstSettings(), START)
    assert young.state == "not_enough_data" and not young.is_anomaly
    few = rate_rule_score(events([now - 1, now - 2]), START + 7200, BurstSettings(), START)
    assert few.score == 0.0 and "fewer than" in few.explanation["reason"]


def test_spike_thresholds_are_10x_for_endpoints_and_5x_for_tenants() -> None:
    now = START + 2 * 86400
    # 288 events over the day before: one expected per 5 minutes
    day = [now - 300 - 300 * i for i in range(288)]
    seven = events(day + [now - i for i in range(7)])
    twelve = events(day + [now - i for i in range(12)])
    assert rate_rule_score(seven, now, TenantSpikeSettings(), START).is_anomaly
    assert not rate_rule_score(seven, now, EndpointSpikeSettings(), START).is_anomaly
    assert rate_rule_score(twelve, now, EndpointSpikeSettings(), START).is_anomaly


def test_streaming_rate_rule_matches_the_batch_rule() -> None:
    rng = np.random.default_rng(9)
    times = np.sort(START + rng.uniform(0, 3 * 3600, 400))
    times = np.concatenate([times, START + 3 * 3600 + np.arange(40)])  # a burst at the end
    detector = RateRuleDetector(BurstSettings())
    for index, moment in enumerate(times):
        streamed = detector.update(moment, 1)
        batch = rate_rule_score(
            times[: index + 1], moment, BurstSettings(), START + 0.0 + (times[0] - START)
        )
        assert streamed.state == batch.state
        assert streamed.score == pytest.approx(batch.score)
    assert streamed.is_anomaly
