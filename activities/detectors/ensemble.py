"""An ensemble that feeds every point to several detectors and combines their scores.

Every member already maps "at my threshold" to 0.5 (IsolationForest through per-series
calibration), so their scores can be combined directly: ``max`` reports the most alarmed member,
``mean`` the weighted average of the members that could judge the point. The explanation names
the member that drove the combined score and lists every member's score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from activities.detectors.base import Detector, Score, Timestamp, Value
from activities.detectors.forecast import ProphetDetector
from activities.detectors.iforest import IsolationForestDetector
from activities.detectors.zscore import EwmaZScoreDetector, RollingZScoreDetector


@dataclass(frozen=True)
class EnsembleSettings:
    """Settings of the ensemble.

    Attributes:
        combine: ``max`` (most alarmed member) or ``mean`` (weighted mean of members).
        weights: Weight per member name; members not listed weigh 1.
    """

    combine: Literal["max", "mean"] = "max"
    weights: Mapping[str, float] = field(default_factory=dict)


def default_members() -> list[Detector]:
    """Return the shipped members with their default settings."""
    return [
        RollingZScoreDetector(),
        EwmaZScoreDetector(),
        IsolationForestDetector(),
        ProphetDetector(),
    ]


class EnsembleDetector(Detector):
    """Combines member detectors' calibrated scores point by point."""

    name: ClassVar[str] = "ensemble"

    def __init__(
        self, members: Sequence[Detector] | None = None, settings: EnsembleSettings | None = None
    ) -> None:
        self.members = list(members) if members is not None else default_members()
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        names = [member.name for member in self.members]
        if len(set(names)) != len(names):
            raise ValueError(f"member names must be unique, got {names}")
        self.settings = settings or EnsembleSettings()

    def reset(self) -> None:
        """Forget all history in every member."""
        for member in self.members:
            member.reset()

    def update(self, timestamp: Timestamp, value: Value) -> Score:
        """Feed the point to every member and combine their scores."""
        return self.combine([member.update(timestamp, value) for member in self.members])

    def score_series(self, timestamps: Sequence[Timestamp], values: Sequence[Value]) -> list[Score]:
        """Score a series with each member's batch path, then combine point by point."""
        per_member = [member.score_series(timestamps, values) for member in self.members]
        return [self.combine(list(point)) for point in zip(*per_member, strict=True)]

    def combine(self, scores: Sequence[Score]) -> Score:
        """Combine one point's member scores (in member order) into the ensemble's score."""
        judged = [
            (member.name, score)
            for member, score in zip(self.members, scores, strict=True)
            if score.state == "ok"
        ]
        if not judged:
            if any(score.state == "missing" for score in scores):
                return Score.missing(self.name)
            waiting = [score.explanation.get("have", 0) for score in scores]
            needed = [score.explanation.get("need", 0) for score in scores]
            return Score.not_enough_data(self.name, min(waiting), min(needed))
        weights = self.settings.weights
        weighted = [(name, weights.get(name, 1.0) * score.score, score) for name, score in judged]
        driver_name, _, driver = max(weighted, key=lambda item: item[1])
        if self.settings.combine == "max":
            combined = max(value for _, value, _ in weighted)
        else:
            total_weight = sum(weights.get(name, 1.0) for name, _ in judged)
            combined = sum(value for _, value, _ in weighted) / total_weight
        explanation: dict[str, Any] = {
            "detector": self.name,
            "baseline": driver.explanation.get("baseline"),
            "threshold": driver.explanation.get("threshold"),
            "driver": f"{driver_name}: {driver.explanation.get('driver')}",
            "driven_by": driver_name,
            "combine": self.settings.combine,
            "members": {
                member.name: {"score": score.score, "state": score.state}
                for member, score in zip(self.members, scores, strict=True)
            },
            "driver_explanation": driver.explanation,
        }
        return Score(min(max(combined, 0.0), 1.0), "ok", explanation)
