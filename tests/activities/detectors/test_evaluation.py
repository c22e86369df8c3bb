"""NAB windowed scoring: reward curve, costs, thresholds and normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from activities.detectors.evaluation import (
    PROFILES,
    Profile,
    ScoredSeries,
    best_threshold,
    evaluate,
    probation_rows,
    row_values,
    scaled_sigmoid,
)

STANDARD = PROFILES[0]


def test_reward_curve_matches_nab() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(3.5) == -1.0
    assert scaled_sigmoid(-0.5) > scaled_sigmoid(-0.2) > 0


def test_probation_is_15_percent_capped_at_750() -> None:
    assert probation_rows(1000) == 150
    assert probation_rows(10_000) == 750


def test_row_values_reward_early_detection_and_discount_fps_near_windows() -> None:
    values, windows = row_values(100, ((40, 49),), STANDARD)
    assert windows[40] == 0 and windows[39] == -1
    assert values[40] > values[45] > values[49] > 0
    assert values[10] == pytest.approx(STANDARD.false_positive)  # before any window: full cost
    assert STANDARD.false_positive < values[52] < 0  # just after: discounted
    assert values[99] == pytest.approx(STANDARD.false_positive)  # far after: full cost


def series(scores: list[float], windows: tuple[tuple[int, int], ...]) -> ScoredSeries:
    return ScoredSeries("s", np.asarray(scores, dtype=float), windows)


def test_perfect_scores_100_null_scores_0_and_earlier_is_better() -> None:
    length, window = 200, ((100, 119),)
    perfect = np.zeros(length)
    perfect[100] = 1.0
    late = np.zeros(length)
    late[115] = 1.0
    results = {r.profile: r for r in evaluate([series(perfect.tolist(), window)])}
    assert results["standard"].score == pytest.approx(100.0)
    assert evaluate([series([0.0] * length, window)])[0].score == pytest.approx(0.0)
    assert 0 < evaluate([series(late.tolist(), window)])[0].score < 100


def test_false_positives_cost_more_in_reward_low_fp() -> None:
    length, window = 400, ((300, 319),)
    scores = np.zeros(length)
    scores[305] = 0.9
    scores[[100, 150, 200]] = 0.95  # three confident false alarms before the anomaly
    results = {r.profile: r for r in evaluate([series(scores.tolist(), window)])}
    assert results["standard"].false_positives == 3
    assert results["reward_low_FP"].score < results["standard"].score


def test_the_threshold_is_swept_over_the_whole_corpus() -> None:
    noisy = np.full(300, 0.6)
    noisy[200] = 0.7
    clean = np.zeros(300)
    clean[150] = 0.65
    corpus = [series(noisy.tolist(), ((190, 209),)), series(clean.tolist(), ((140, 159),))]
    found = best_threshold(corpus, STANDARD)
    # 0.6 would flood the noisy series with false positives; 0.65 catches both windows.
    assert found.threshold == pytest.approx(0.65)
    assert found.true_positives == 2 and found.false_positives == 0


def test_reward_low_fn_punishes_misses_harder() -> None:
    profile = Profile("custom", 1.0, -0.11, -2.0)
    result = best_threshold([series([0.0] * 100, ((50, 59),))], profile)
    assert result.raw_score == pytest.approx(-2.0)


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        row_values(100, ((10, 30), (25, 40)), STANDARD)
    with pytest.raises(ValueError, match="outside"):
        row_values(100, ((90, 120),), STANDARD)
    with pytest.raises(ValueError, match="no anomaly window"):
        evaluate([series([0.0] * 10, ())])
