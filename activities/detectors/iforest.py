"""IsolationForest over sliding-window features, calibrated per series.

Each point becomes a feature vector computed from its own recent window against the baseline
window just before it (level, recent mean, recent spread, step), per dimension, in units of the
baseline's standard deviation. A forest fitted on the features of earlier points only (refitted
every ``refit_every`` points on the last ``train_points``) gives a raw score, and a
:class:`~activities.detectors.calibration.TailCalibrator` fed with this series' own past raw
scores turns it into a score comparable across series.

IsolationForest cannot rank a point beyond its training range (such a point follows the most
extreme training rows down every tree), so a range guard also scores how rare each feature's
distance from the training median was among the training rows; the detector reports the larger
of the two calibrated scores and names which one drove it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import IsolationForest

from activities.detectors.base import (
    GapSettings,
    Score,
    StreamingDetector,
    Timestamp,
    Value,
    feature_name,
)
from activities.detectors.calibration import CalibrationSettings, TailCalibrator

FEATURES = ("level", "recent_mean", "recent_spread", "step")


@dataclass(frozen=True)
class IsolationForestSettings(GapSettings):
    """Settings of the IsolationForest detector.

    Attributes:
        recent_window: Points in the recent window (the point itself included).
        spread_window: Point-to-point changes in the recent spread.
        baseline_window: Points in the baseline window before the recent one.
        min_baseline: Baseline points needed before features exist.
        train_points: Feature rows of past points the forest is fitted on.
        min_train: Feature rows needed before the first fit.
        refit_every: Points between refits.
        n_estimators: Trees per forest.
        max_samples: Rows drawn per tree.
        random_state: Seed, so a series always scores the same.
        calibration: How raw scores become calibrated scores.
        range_guard: Also score features beyond the training range (see the module docstring).
        range_guard_min_train: Training rows needed before the range guard trusts them.
        feature_names: Names of the input dimensions, used in explanations.
    """

    recent_window: int = 6
    spread_window: int = 12
    baseline_window: int = 96
    min_baseline: int = 24
    train_points: int = 512
    min_train: int = 64
    refit_every: int = 128
    n_estimators: int = 50
    max_samples: int = 256
    random_state: int = 0
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    range_guard: bool = True
    range_guard_min_train: int = 256
    feature_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Model:
    forest: IsolationForest
    # Per feature: the training rows' median and how rare each distance from it was there.
    centre: np.ndarray
    feature_tails: list[TailCalibrator]


@dataclass
class _Pending:
    features: np.ndarray
    baseline: np.ndarray
    model: _Model
    placeholder: Score


def window_features(
    values: np.ndarray, recent_window: int, spread_window: int, min_std: float = 1e-9
) -> tuple[np.ndarray, np.ndarray]:
    """Return the features of the last row of ``values`` (rows = time, columns = dimensions).

    Level, recent mean and step are in units of the standard deviation of the rows before the
    recent window. The spread compares the point-to-point changes of the last ``spread_window``
    rows with those before them, so a daily cycle or a trend does not count as spread. Also
    returns the baseline mean per dimension, for explanations.
    """
    baseline, recent = values[:-recent_window], values[-recent_window:]
    mean = baseline.mean(axis=0)
    std = np.maximum(baseline.std(axis=0), np.maximum(min_std, 1e-6 * np.abs(mean)))
    level = (values[-1] - mean) / std
    recent_mean = (recent.mean(axis=0) - mean) / std
    changes = np.diff(values, axis=0)
    usual_change = np.maximum(changes[:-spread_window].std(axis=0), min_std)
    recent_change = changes[-spread_window:].std(axis=0)
    # log keeps a collapse of the spread (a stuck sensor) as visible as an explosion of it.
    recent_spread = np.log((recent_change + 0.01 * usual_change) / usual_change)
    step = changes[-1] / std
    return np.concatenate([level, recent_mean, recent_spread, step]), mean


class IsolationForestDetector(StreamingDetector):
    """Sliding-window IsolationForest with causal refits and per-series calibration."""

    name: ClassVar[str] = "iforest"

    def __init__(self, settings: IsolationForestSettings | None = None) -> None:
        self.settings = settings or IsolationForestSettings()
        if min(self.settings.recent_window, self.settings.spread_window) < 2:
            raise ValueError("recent_window and spread_window must be at least 2")
        if self.settings.min_baseline < 2:
            raise ValueError("min_baseline must be at least 2")
        super().__init__(self.settings.gap_reset_intervals)
        self._deferred: list[_Pending] | None = None
        self._finals: dict[int, Score] = {}
        self._reset_model()

    def _reset_model(self) -> None:
        # Points still waiting in a batch belong to the model being dropped: score them first.
        self._flush()
        settings = self.settings
        self._values: deque[np.ndarray] = deque(
            maxlen=settings.baseline_window + max(settings.recent_window, settings.spread_window)
        )
        self._training: deque[np.ndarray] = deque(maxlen=settings.train_points)
        self._model: _Model | None = None
        self._since_fit = 0
        self._calibrator = TailCalibrator(settings.calibration)

    def score_series(self, timestamps: Sequence[Timestamp], values: Sequence[Value]) -> list[Score]:
        """Score a series; identical to repeated ``update`` calls, with one forest call per fit."""
        self._deferred, self._finals = [], {}
        try:
            provisional = super().score_series(timestamps, values)
            self._flush()
            return [self._finals.get(id(score), score) for score in provisional]
        finally:
            self._deferred, self._finals = None, {}

    def _score_and_learn(self, seconds: float, vector: np.ndarray) -> Score:
        settings = self.settings
        self._values.append(vector)
        needed = max(settings.recent_window, settings.spread_window) + settings.min_baseline
        if len(self._values) < needed:
            return Score.not_enough_data(self.name, len(self._values), needed)
        features, baseline = window_features(
            np.asarray(self._values), settings.recent_window, settings.spread_window
        )
        if self._model is None or self._since_fit >= settings.refit_every:
            self._fit()
        model = self._model
        self._training.append(features)
        self._since_fit += 1
        if model is None:
            return Score.not_enough_data(self.name, len(self._training) - 1, settings.min_train)
        pending = _Pending(features, baseline, model, Score(0.0, "ok", {}))
        if self._deferred is not None:
            self._deferred.append(pending)
            return pending.placeholder
        raw = -float(model.forest.score_samples(features[np.newaxis, :])[0])
        return self._calibrated(pending, raw)

    def _fit(self) -> None:
        if len(self._training) < self.settings.min_train:
            return
        # Points scored so far in a batch belong to the forest about to be replaced.
        self._flush()
        settings = self.settings
        forest = IsolationForest(
            n_estimators=settings.n_estimators,
            max_samples=min(settings.max_samples, len(self._training)),
            random_state=settings.random_state,
        )
        rows = np.asarray(self._training)
        forest.fit(rows)
        centre = np.median(rows, axis=0)
        tails = [
            TailCalibrator.from_scores(np.abs(column - middle), settings.calibration)
            for column, middle in zip(rows.T, centre, strict=True)
        ]
        self._model = _Model(forest, centre, tails)
        self._since_fit = 0

    def _flush(self) -> None:
        """Score the deferred points in one forest call each, then calibrate them in order."""
        if not self._deferred:
            return
        pending, self._deferred = self._deferred, []
        start = 0
        while start < len(pending):
            model = pending[start].model
            end = start
            while end < len(pending) and pending[end].model is model:
                end += 1
            rows = np.asarray([item.features for item in pending[start:end]])
            raws = -model.forest.score_samples(rows)
            for item, raw in zip(pending[start:end], raws, strict=True):
                final = self._calibrated(item, float(raw))
                final.explanation.update(item.placeholder.explanation)
                self._finals[id(item.placeholder)] = final
            start = end

    def _calibrated(self, pending: _Pending, raw: float) -> Score:
        calibrator = self._calibrator
        if not calibrator.ready:
            score = Score.not_enough_data(
                self.name, len(calibrator), calibrator.settings.min_history
            )
        else:
            forest_score = calibrator.calibrate(raw)
            range_score, range_probabilities = self._range_guard(pending)
            if range_score > forest_score:
                explanation = self._explain(
                    pending, -np.log(np.maximum(range_probabilities, 1e-300))
                )
                explanation.update(
                    driver_kind="range_guard", tail_probability=min(range_probabilities)
                )
            else:
                explanation = self._explain(pending, np.abs(pending.features))
                explanation.update(
                    driver_kind="isolation_forest",
                    raw_score=raw,
                    tail_probability=calibrator.tail_probability(raw),
                )
            score = Score(max(forest_score, range_score), "ok", explanation)
        calibrator.learn(raw)
        return score

    def _range_guard(self, pending: _Pending) -> tuple[float, np.ndarray]:
        """Score how rare each feature's distance from the training median was in training.

        IsolationForest cannot rank points beyond its training range (they follow the most
        extreme training rows down every tree); this guard can. The rarest feature decides,
        with its probability multiplied by the number of features (Bonferroni) so that having
        more features does not mean more false alarms.
        """
        model = pending.model
        distances = np.abs(pending.features - model.centre)
        probabilities = np.array(
            [
                tail.tail_probability(float(d))
                for tail, d in zip(model.feature_tails, distances, strict=True)
            ]
        )
        trained_on = len(model.feature_tails[0])
        if not self.settings.range_guard or trained_on < self.settings.range_guard_min_train:
            return 0.0, probabilities
        rarest = min(1.0, float(probabilities.min()) * probabilities.size)
        return self._calibrator.score_of_probability(rarest), probabilities

    def _explain(self, pending: _Pending, strengths: np.ndarray) -> dict[str, Any]:
        dimensions = pending.baseline.size
        strongest = int(np.argmax(strengths))
        kind, dimension = divmod(strongest, dimensions)
        name = feature_name(dimension, dimensions, self.settings.feature_names)
        return {
            "detector": self.name,
            "baseline": float(pending.baseline[dimension]),
            "threshold": self.settings.calibration.alpha,
            "driver": f"{name}.{FEATURES[kind]}",
            "window": (
                f"last {self.settings.recent_window} points vs "
                f"{self.settings.baseline_window} before"
            ),
            "feature_value": float(pending.features[strongest]),
        }
