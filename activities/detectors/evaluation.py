"""Windowed scoring for streaming anomaly detection, as the Numenta Anomaly Benchmark does it.

Each labelled window rewards only its first detection, by a scaled sigmoid of where in the window
it falls (the window's first row earns almost the full ``A_TP``, its last almost nothing). A
window with no detection costs ``A_FN``. Every detection outside the windows costs up to
``A_FP``, discounted when it comes shortly after a window. The first 15 % of each series (at most
750 rows) is a probationary period that is not scored. One threshold per profile is chosen over
the whole corpus, and raw scores are normalised so that never detecting scores 0 and detecting
every window at its first row scores 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import groupby, pairwise

import numpy as np

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750


@dataclass(frozen=True)
class Profile:
    """Costs of one scoring profile (true positive, false positive, false negative)."""

    name: str
    true_positive: float
    false_positive: float
    false_negative: float


PROFILES = (
    Profile("standard", 1.0, -0.11, -1.0),
    Profile("reward_low_FP", 1.0, -0.22, -1.0),
    Profile("reward_low_FN", 1.0, -0.11, -2.0),
)


@dataclass(frozen=True)
class ScoredSeries:
    """One series' anomaly scores and its labelled windows as inclusive row ranges."""

    name: str
    scores: np.ndarray
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ProfileResult:
    """The best result of one profile over a corpus."""

    profile: str
    threshold: float
    score: float
    raw_score: float
    true_positives: int
    false_positives: int
    false_negatives: int


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: ~1 at position -1 (window start), 0 at its end, -1 far after."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_rows(length: int) -> int:
    """Rows at the start of a series that are not scored."""
    return min(math.floor(PROBATION_FRACTION * length), PROBATION_MAX_ROWS)


def row_values(
    length: int, windows: tuple[tuple[int, int], ...], profile: Profile
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per row, what a detection there is worth and which window it counts for (-1: none).

    Raises:
        ValueError: If windows overlap, run backwards or fall outside the series.
    """
    values = np.empty(length)
    window_ids = np.full(length, -1, dtype=int)
    ordered = sorted(windows)
    for left, right in ordered:
        if not 0 <= left <= right < length:
            raise ValueError(f"window rows {left}..{right} fall outside a {length}-row series")
    for (_, right), (following_left, _) in pairwise(ordered):
        if following_left <= right:
            raise ValueError(f"windows overlap at rows {following_left}..{right}")
    previous: tuple[int, int] | None = None
    position_in_list = 0
    for row in range(length):
        current = ordered[position_in_list] if position_in_list < len(ordered) else None
        if current is not None and current[0] <= row <= current[1]:
            width = current[1] - current[0] + 1
            values[row] = profile.true_positive * scaled_sigmoid(-(current[1] - row + 1) / width)
            window_ids[row] = position_in_list
            if row == current[1]:
                previous, position_in_list = current, position_in_list + 1
            continue
        if previous is None:
            unweighted = -1.0
        else:
            previous_width = previous[1] - previous[0] + 1
            unweighted = scaled_sigmoid((row - previous[1]) / max(previous_width - 1, 1))
        # NAB weighs the (negative) sigmoid by the size of the false-positive cost.
        values[row] = -profile.false_positive * unweighted
    return values, window_ids


def best_threshold(corpus: list[ScoredSeries], profile: Profile) -> ProfileResult:
    """Sweep every distinct score as a threshold over the corpus; return the best result."""
    scores, values, window_keys = [], [], []
    window_count = 0
    for series in corpus:
        row_value, window_ids = row_values(len(series.scores), series.windows, profile)
        scored = slice(probation_rows(len(series.scores)), None)
        scores.append(series.scores[scored])
        values.append(row_value[scored])
        window_keys.append(np.where(window_ids[scored] >= 0, window_ids[scored] + window_count, -1))
        window_count += len(series.windows)
    all_scores = np.concatenate(scores) if scores else np.empty(0)
    all_values = np.concatenate(values) if values else np.empty(0)
    all_windows = np.concatenate(window_keys) if window_keys else np.empty(0, dtype=int)
    order = np.argsort(-all_scores, kind="stable")

    null_total = profile.false_negative * window_count
    best = ProfileResult(profile.name, math.inf, 0.0, null_total, 0, 0, window_count)
    false_positive_total, false_positives = 0.0, 0
    window_best: dict[int, float] = {}
    for threshold, rows in groupby(order, key=lambda row: all_scores[row]):
        for row in rows:
            window = int(all_windows[row])
            if window < 0:
                false_positive_total += all_values[row]
                false_positives += 1
            else:
                window_best[window] = max(window_best.get(window, -math.inf), all_values[row])
        detected = len(window_best)
        total = (
            false_positive_total
            + sum(window_best.values())
            + profile.false_negative * (window_count - detected)
        )
        if total > best.raw_score:
            best = ProfileResult(
                profile.name,
                float(threshold),
                0.0,
                total,
                detected,
                false_positives,
                window_count - detected,
            )
    return best


def evaluate(
    corpus: list[ScoredSeries], profiles: tuple[Profile, ...] = PROFILES
) -> list[ProfileResult]:
    """Score a corpus under each profile, normalised to 0 (null detector) .. 100 (perfect).

    Raises:
        ValueError: If the corpus labels no window, so no normalisation exists.
    """
    if not any(series.windows for series in corpus):
        raise ValueError("the corpus labels no anomaly window; there is nothing to score against")
    perfect_corpus = [
        ScoredSeries(series.name, _perfect_scores(series), series.windows) for series in corpus
    ]
    results = []
    for profile in profiles:
        found = best_threshold(corpus, profile)
        perfect = best_threshold(perfect_corpus, profile).raw_score
        null = profile.false_negative * sum(len(series.windows) for series in corpus)
        normalised = 100.0 * (found.raw_score - null) / (perfect - null)
        results.append(
            ProfileResult(
                found.profile,
                found.threshold,
                normalised,
                found.raw_score,
                found.true_positives,
                found.false_positives,
                found.false_negatives,
            )
        )
    return results


def _perfect_scores(series: ScoredSeries) -> np.ndarray:
    perfect = np.zeros(len(series.scores))
    for left, _ in series.windows:
        perfect[left] = 1.0
    return perfect
