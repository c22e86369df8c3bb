"""The detector interface, the score type, and the bookkeeping every streaming detector shares.

Every detector is causal: the score of a point depends only on the points before it and on the
point itself. Missing values (NaN) score 0 with state ``missing`` and never update a baseline; a
history too short for the detector scores 0 with state ``not_enough_data`` and is never an
anomaly. Timestamps must not decrease; a gap much longer than the series' usual spacing restarts
the baseline, because a baseline from before an outage describes a system that may no longer
exist.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import numpy as np

ScoreState = Literal["ok", "not_enough_data", "missing"]
Timestamp = datetime | float | int
Value = float | int | Sequence[float]

# A score above this is an anomaly at the detector's own configured threshold: every detector
# maps "exactly at my threshold" to 0.5, which keeps scores comparable inside an ensemble.
ANOMALY_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class Score:
    """The verdict on one point.

    Attributes:
        score: Anomaly score in [0, 1]; above 0.5 means past the detector's threshold.
        state: ``ok``, ``not_enough_data`` (history too short) or ``missing`` (NaN input).
        explanation: At least ``detector``, ``baseline``, ``threshold`` and ``driver`` (the
            feature or window that drove the score), plus detector-specific details.
    """

    score: float
    state: ScoreState
    explanation: dict[str, Any] = field(default_factory=dict)

    @property
    def is_anomaly(self) -> bool:
        """Whether the point is past the detector's threshold (never for a non-``ok`` state)."""
        return self.state == "ok" and self.score > ANOMALY_SCORE

    @classmethod
    def missing(cls, detector: str) -> Score:
        """Score of a NaN input: 0, and the baselines stay untouched."""
        return cls(0.0, "missing", _empty_explanation(detector, "value is NaN"))

    @classmethod
    def not_enough_data(cls, detector: str, have: int, need: int, unit: str = "points") -> Score:
        """Score of a point whose history is still too short to judge it."""
        explanation = _empty_explanation(detector, f"history has {have} of {need} {unit}")
        explanation.update(have=have, need=need)
        return cls(0.0, "not_enough_data", explanation)


def _empty_explanation(detector: str, reason: str) -> dict[str, Any]:
    return {
        "detector": detector,
        "baseline": None,
        "threshold": None,
        "driver": None,
        "reason": reason,
    }


def squash(magnitude: float, threshold: float, power: float = 4.0) -> float:
    """Map a non-negative deviation to [0, 1) so that ``threshold`` lands exactly on 0.5.

    ``m^p / (m^p + t^p)`` rises steeply around the threshold: with ``power`` 4 a deviation of
    half the threshold scores 0.06 and twice the threshold 0.94.
    """
    if math.isnan(magnitude) or magnitude <= 0.0:
        return 0.0
    if math.isinf(magnitude):
        return 1.0
    ratio = (magnitude / threshold) ** power
    return ratio / (1.0 + ratio) if math.isfinite(ratio) else 1.0


def to_epoch_seconds(timestamp: Timestamp) -> float:
    """Return a timestamp as UTC epoch seconds; naive datetimes are taken as UTC."""
    if isinstance(timestamp, datetime):
        aware = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
        return aware.timestamp()
    return float(timestamp)


def as_vector(value: Value) -> np.ndarray:
    """Return a point's value as a 1-d float array (one element for a univariate series)."""
    vector = np.atleast_1d(np.asarray(value, dtype=float))
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"a value must be a number or a flat sequence of numbers, got {value!r}")
    return vector


def feature_name(index: int, dimensions: int, names: Sequence[str] = ()) -> str:
    """Name a dimension of the input: its configured name, ``value`` or ``value[i]``."""
    if index < len(names):
        return names[index]
    return "value" if dimensions == 1 else f"value[{index}]"


class Detector(ABC):
    """One interface for streaming and batch anomaly scoring.

    ``update`` consumes one point and returns its score; ``score_series`` scores a whole series in
    order and returns exactly what the same sequence of ``update`` calls would.
    """

    name: ClassVar[str]

    @abstractmethod
    def update(self, timestamp: Timestamp, value: Value) -> Score:
        """Score one point against the history so far, then learn from it."""

    @abstractmethod
    def reset(self) -> None:
        """Forget all history."""

    def score_series(self, timestamps: Sequence[Timestamp], values: Sequence[Value]) -> list[Score]:
        """Score every point of a series in time order, each against its own past only."""
        if len(timestamps) != len(values):
            raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
        return [self.update(t, v) for t, v in zip(timestamps, values, strict=True)]


@dataclass(frozen=True)
class GapSettings:
    """How a streaming detector treats time.

    Attributes:
        gap_reset_intervals: A silence longer than this many typical intervals (the median of
            the recent ones) restarts the baseline; ``None`` never restarts.
    """

    gap_reset_intervals: float | None = 12.0


class GapTracker:
    """Enforces time order and spots gaps much longer than the series' usual spacing."""

    # Enough intervals for the median to mean "the usual spacing", few enough to follow a change.
    _HISTORY = 16
    _MIN_INTERVALS = 4

    def __init__(self, reset_intervals: float | None) -> None:
        self._reset_intervals = reset_intervals
        self._last: float | None = None
        self._intervals: deque[float] = deque(maxlen=self._HISTORY)

    def observe(self, seconds: float) -> float | None:
        """Record a timestamp; return the gap in seconds when it calls for a baseline restart."""
        last, self._last = self._last, seconds
        if last is None:
            return None
        if seconds < last:
            raise ValueError(f"timestamps must not decrease: {seconds} after {last}")
        interval = seconds - last
        gap = None
        if self._reset_intervals is not None and len(self._intervals) >= self._MIN_INTERVALS:
            usual = statistics.median(self._intervals)
            if usual > 0 and interval > self._reset_intervals * usual:
                gap = interval
        if gap is None:
            self._intervals.append(interval)
        return gap

    @property
    def usual_interval(self) -> float | None:
        """The median recent spacing in seconds, once a few intervals were seen."""
        return statistics.median(self._intervals) if self._intervals else None


class StreamingDetector(Detector):
    """A detector that handles order, gaps and NaN once, and leaves the math to subclasses.

    Subclasses implement ``_score_and_learn`` (only ever called with a finite vector) and
    ``_reset_model``.
    """

    def __init__(self, gap_reset_intervals: float | None) -> None:
        self._gap_reset_intervals = gap_reset_intervals
        self._gaps = GapTracker(gap_reset_intervals)

    def update(self, timestamp: Timestamp, value: Value) -> Score:
        """Score one point against the history so far, then learn from it."""
        seconds = to_epoch_seconds(timestamp)
        vector = as_vector(value)
        gap = self._gaps.observe(seconds)
        if gap is not None:
            self._reset_model()
        if np.isnan(vector).any():
            return Score.missing(self.name)
        score = self._score_and_learn(seconds, vector)
        if gap is not None:
            score.explanation["baseline_restarted_after_gap_seconds"] = gap
        return score

    def reset(self) -> None:
        """Forget all history, including the usual spacing of timestamps."""
        self._gaps = GapTracker(self._gap_reset_intervals)
        self._reset_model()

    @abstractmethod
    def _score_and_learn(self, seconds: float, vector: np.ndarray) -> Score:
        """Score a finite point, then fold it into the baseline."""

    @abstractmethod
    def _reset_model(self) -> None:
        """Drop the learned baseline."""
