"""Rolling-window and exponentially weighted z-score rules.

Both score a point by how many standard deviations it lies from a baseline built from the points
before it, per dimension; the dimension with the largest deviation drives the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from activities.detectors.base import (
    GapSettings,
    Score,
    StreamingDetector,
    feature_name,
    squash,
)

Direction = Literal["both", "up", "down"]


@dataclass(frozen=True)
class ZScoreSettings(GapSettings):
    """Settings of the rolling z-score rule.

    Attributes:
        window: Number of past points in the baseline.
        min_history: Points needed before scoring; fewer gives ``not_enough_data``.
        threshold: The |z| that scores 0.5.
        direction: Which deviations count: ``both``, ``up`` only or ``down`` only.
        min_std: Floor on the baseline's standard deviation, absolute.
        relative_min_std: Floor on it relative to |mean|, so a flat series does not turn
            rounding noise into infinite z.
        feature_names: Names of the input dimensions, used in explanations.
    """

    window: int = 120
    min_history: int = 30
    threshold: float = 4.0
    direction: Direction = "both"
    min_std: float = 1e-9
    relative_min_std: float = 1e-6
    feature_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class EwmaSettings(GapSettings):
    """Settings of the EWMA z-score rule.

    Attributes:
        alpha: Weight of the newest point in the moving mean and variance (0-1).
        min_history: Points needed before scoring.
        threshold: The |z| that scores 0.5.
        direction: Which deviations count: ``both``, ``up`` only or ``down`` only.
        learn_clip: A point further than this many deviations from the mean is learned as if it
            were at that distance, so one spike cannot inflate the variance and hide the next;
            ``None`` learns points as they are.
        min_std: Floor on the baseline's standard deviation, absolute.
        relative_min_std: Floor on it relative to |mean|.
        feature_names: Names of the input dimensions, used in explanations.
    """

    alpha: float = 0.03
    min_history: int = 30
    threshold: float = 4.0
    direction: Direction = "both"
    learn_clip: float | None = 6.0
    min_std: float = 1e-9
    relative_min_std: float = 1e-6
    feature_names: tuple[str, ...] = ()


def directional_z(z: np.ndarray, direction: Direction) -> np.ndarray:
    """Return the deviations that count for ``direction``, as non-negative magnitudes."""
    if direction == "up":
        return np.maximum(z, 0.0)
    if direction == "down":
        return np.maximum(-z, 0.0)
    return np.abs(z)


def z_score_verdict(
    detector: str,
    vector: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    threshold: float,
    direction: Direction,
    names: Sequence[str],
    window: str,
) -> Score:
    """Score a point from per-dimension baselines; the largest deviation drives the score."""
    z = (vector - mean) / std
    magnitudes = directional_z(z, direction)
    worst = int(np.argmax(magnitudes))
    explanation: dict[str, Any] = {
        "detector": detector,
        "baseline": float(mean[worst]),
        "threshold": threshold,
        "driver": feature_name(worst, vector.size, names),
        "window": window,
        "z": float(z[worst]),
        "std": float(std[worst]),
    }
    return Score(squash(float(magnitudes[worst]), threshold), "ok", explanation)


def _std_floor(mean: np.ndarray, min_std: float, relative_min_std: float) -> np.ndarray:
    return np.maximum(min_std, relative_min_std * np.abs(mean))


class RollingZScoreDetector(StreamingDetector):
    """z-score against the mean and standard deviation of the last ``window`` points."""

    name: ClassVar[str] = "zscore"

    def __init__(self, settings: ZScoreSettings | None = None) -> None:
        self.settings = settings or ZScoreSettings()
        if self.settings.window < 2 or self.settings.min_history < 2:
            raise ValueError("window and min_history must be at least 2")
        super().__init__(self.settings.gap_reset_intervals)
        self._reset_model()

    def _reset_model(self) -> None:
        self._buffer: np.ndarray | None = None
        self._count = 0

    def _score_and_learn(self, seconds: float, vector: np.ndarray) -> Score:
        settings = self.settings
        if self._buffer is None:
            self._buffer = np.empty((settings.window, vector.size))
        if self._buffer.shape[1] != vector.size:
            raise ValueError(f"expected {self._buffer.shape[1]} dimensions, got {vector.size}")
        filled = min(self._count, settings.window)
        needed = min(settings.min_history, settings.window)
        if filled < needed:
            score = Score.not_enough_data(self.name, filled, needed)
        else:
            history = self._buffer[:filled]
            mean = history.mean(axis=0)
            std = np.maximum(
                history.std(axis=0), _std_floor(mean, settings.min_std, settings.relative_min_std)
            )
            score = z_score_verdict(
                self.name,
                vector,
                mean,
                std,
                settings.threshold,
                settings.direction,
                settings.feature_names,
                f"last {filled} points",
            )
        # A ring buffer: row order does not matter for mean and standard deviation.
        self._buffer[self._count % settings.window] = vector
        self._count += 1
        return score


class EwmaZScoreDetector(StreamingDetector):
    """z-score against an exponentially weighted moving mean and variance."""

    name: ClassVar[str] = "ewma"

    def __init__(self, settings: EwmaSettings | None = None) -> None:
        self.settings = settings or EwmaSettings()
        if not 0.0 < self.settings.alpha <= 1.0:
            raise ValueError("alpha must be in (0, 1]")
        super().__init__(self.settings.gap_reset_intervals)
        self._reset_model()

    def _reset_model(self) -> None:
        self._mean: np.ndarray | None = None
        self._variance: np.ndarray | None = None
        self._count = 0

    def _score_and_learn(self, seconds: float, vector: np.ndarray) -> Score:
        settings = self.settings
        if self._mean is None or self._variance is None:
            self._mean, self._variance = vector.copy(), np.zeros_like(vector)
            self._count = 1
            return Score.not_enough_data(self.name, 0, settings.min_history)
        if self._mean.size != vector.size:
            raise ValueError(f"expected {self._mean.size} dimensions, got {vector.size}")
        floor = _std_floor(self._mean, settings.min_std, settings.relative_min_std)
        std = np.maximum(np.sqrt(self._variance), floor)
        if self._count < settings.min_history:
            score = Score.not_enough_data(self.name, self._count, settings.min_history)
        else:
            score = z_score_verdict(
                self.name,
                vector,
                self._mean,
                std,
                settings.threshold,
                settings.direction,
                settings.feature_names,
                f"ewma alpha={settings.alpha}",
            )
        learned = vector
        # Clip only once the variance means something; early points define the scale.
        if settings.learn_clip is not None and self._count >= settings.min_history:
            reach = settings.learn_clip * std
            learned = np.clip(vector, self._mean - reach, self._mean + reach)
        difference = learned - self._mean
        increment = settings.alpha * difference
        self._mean = self._mean + increment
        self._variance = (1.0 - settings.alpha) * (self._variance + difference * increment)
        self._count += 1
        return score
