"""Per-series calibration of raw anomaly scores into comparable [0, 1] scores.

Raw scores such as IsolationForest's ``score_samples`` mean different things on different series.
The calibrator turns a raw score into the probability of seeing one at least as extreme in this
series' own past: the empirical distribution below a high quantile, and above it an exponential
tail fitted to the exceedances (peaks over threshold), so that a score beyond everything seen so
far still ranks by how far beyond it is. The tail probability is then mapped so that
``alpha`` scores exactly 0.5.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from activities.detectors.base import squash


@dataclass(frozen=True)
class CalibrationSettings:
    """Settings of the tail calibrator.

    Attributes:
        history: Number of past raw scores kept.
        min_history: Raw scores needed before calibrating.
        tail_fraction: Share of past scores modelled by the exponential tail.
        alpha: Tail probability that scores 0.5.
    """

    history: int = 2000
    min_history: int = 50
    tail_fraction: float = 0.1
    alpha: float = 1e-3


class TailCalibrator:
    """Maps raw scores (higher = more anomalous) to calibrated scores, causally."""

    def __init__(self, settings: CalibrationSettings | None = None) -> None:
        self.settings = settings or CalibrationSettings()
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []

    @classmethod
    def from_scores(
        cls, raws: np.ndarray | list[float], settings: CalibrationSettings | None = None
    ) -> TailCalibrator:
        """Return a calibrator that has learned ``raws`` (at most ``history`` of the last)."""
        calibrator = cls(settings)
        kept = list(raws)[-calibrator.settings.history :]
        calibrator._recent.extend(kept)
        calibrator._sorted = sorted(kept)
        return calibrator

    def __len__(self) -> int:
        return len(self._recent)

    @property
    def ready(self) -> bool:
        """Whether enough raw scores were seen to calibrate."""
        return len(self._recent) >= self.settings.min_history

    def tail_probability(self, raw: float) -> float:
        """Return P(past raw score >= ``raw``), with the exponential tail past the quantile."""
        ordered = self._sorted
        count = len(ordered)
        if count == 0:
            raise ValueError("no raw scores seen yet")
        tail_start = min(count - 1, int(count * (1.0 - self.settings.tail_fraction)))
        threshold = ordered[tail_start]
        if raw <= threshold:
            at_least = count - bisect.bisect_left(ordered, raw)
            return (at_least + 1) / (count + 1)
        exceedances = ordered[tail_start:]
        mean_excess = sum(exceedances) / len(exceedances) - threshold
        # A flat tail (all exceedances equal) would divide by zero; scale by the spread instead.
        spread = ordered[-1] - ordered[0]
        scale = max(mean_excess, 1e-6 * spread, 1e-12)
        tail_share = (count - tail_start) / (count + 1)
        return tail_share * math.exp(-(raw - threshold) / scale)

    def calibrate(self, raw: float) -> float:
        """Return the calibrated score of ``raw`` against the past (call ``learn`` after)."""
        return self.score_of_probability(self.tail_probability(raw))

    def score_of_probability(self, probability: float) -> float:
        """Map a tail probability to a score: ``alpha`` gives 0.5, rarer gives more."""
        surprise = -math.log10(max(probability, 1e-300))
        return squash(surprise, -math.log10(self.settings.alpha))

    def learn(self, raw: float) -> None:
        """Add a raw score to the history, dropping the oldest beyond the window."""
        self._recent.append(raw)
        bisect.insort(self._sorted, raw)
        if len(self._recent) > self.settings.history:
            oldest = self._recent.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
