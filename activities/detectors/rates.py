"""Burst and spike rules over event counts in time windows.

A rule compares the number of events in a recent window with the rate of the baseline window
just before it (the recent window is excluded, so a burst cannot raise its own baseline). It
fires when the recent count exceeds ``ratio_threshold`` times the count the baseline rate
predicts for a window that long, and at least ``min_events`` events are recent. The shipped
settings: a burst is more than 50 % above the 1 h baseline, an endpoint spike more than 10x its
24 h baseline, a tenant spike more than 5x its 24 h baseline, each over the last 5 minutes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from activities.detectors.base import Detector, Score, Timestamp, Value, squash, to_epoch_seconds


@dataclass(frozen=True)
class RateRuleSettings:
    """Settings of a window rate rule.

    Attributes:
        recent_window_seconds: Length of the recent window.
        baseline_window_seconds: Length of the baseline window before it.
        ratio_threshold: The recent/expected ratio that must be exceeded (1.5 = 50 % above).
        min_events: Fewer recent events than this never fire.
        min_baseline_coverage: Share of the baseline window that history must cover; less
            gives ``not_enough_data``.
        expected_floor: Least number of expected recent events, so an empty baseline does not
            turn a handful of events into an infinite ratio.
    """

    recent_window_seconds: float = 300.0
    baseline_window_seconds: float = 3600.0
    ratio_threshold: float = 1.5
    min_events: int = 5
    min_baseline_coverage: float = 1.0
    expected_floor: float = 1.0


@dataclass(frozen=True)
class BurstSettings(RateRuleSettings):
    """Failures in the last 5 minutes more than 50 % above the 1 h baseline rate."""


@dataclass(frozen=True)
class EndpointSpikeSettings(RateRuleSettings):
    """An endpoint's events in the last 5 minutes above 10x its 24 h baseline rate."""

    baseline_window_seconds: float = 86400.0
    ratio_threshold: float = 10.0


@dataclass(frozen=True)
class TenantSpikeSettings(RateRuleSettings):
    """A tenant's events in the last 5 minutes above 5x its 24 h baseline rate."""

    baseline_window_seconds: float = 86400.0
    ratio_threshold: float = 5.0


def rate_rule_score(
    times: np.ndarray,
    now: float,
    settings: RateRuleSettings,
    history_start: float,
    weights_cumsum: np.ndarray | None = None,
    detector: str = "rate_rule",
) -> Score:
    """Judge the window ending at ``now`` over sorted event times (epoch seconds).

    Args:
        times: Event times, ascending; events after ``now`` are ignored.
        now: End of the recent window (inclusive).
        settings: The rule.
        history_start: When observation began; baseline coverage is measured from it.
        weights_cumsum: Optional running total of per-event counts (same length as ``times``);
            without it every event counts once.
        detector: Name reported in the explanation.
    """
    recent_start = now - settings.recent_window_seconds
    baseline_start = recent_start - settings.baseline_window_seconds
    # Windows are half-open (start, end]: an event on a boundary belongs to the later window.
    end, middle, begin = (
        int(i) for i in np.searchsorted(times, [now, recent_start, baseline_start], side="right")
    )
    recent, baseline = _count(weights_cumsum, middle, end), _count(weights_cumsum, begin, middle)
    return rate_verdict(recent, baseline, now - history_start, settings, detector)


def rate_verdict(
    recent: float,
    baseline: float,
    observed_seconds: float,
    settings: RateRuleSettings,
    detector: str = "rate_rule",
) -> Score:
    """Judge counts already taken: ``recent`` in the recent window, ``baseline`` before it.

    Args:
        recent: Events in the recent window.
        baseline: Events in the baseline window.
        observed_seconds: How long events have been observed, up to the recent window's end.
        settings: The rule.
        detector: Name reported in the explanation.
    """
    covered = min(
        settings.baseline_window_seconds, observed_seconds - settings.recent_window_seconds
    )
    needed = settings.min_baseline_coverage * settings.baseline_window_seconds
    if covered < needed or covered <= 0:
        return Score.not_enough_data(detector, int(max(covered, 0.0)), int(needed), "seconds")
    expected = baseline * settings.recent_window_seconds / covered
    ratio = recent / max(expected, settings.expected_floor)
    explanation: dict[str, Any] = {
        "detector": detector,
        "baseline": expected,
        "threshold": settings.ratio_threshold,
        "driver": (
            f"last {settings.recent_window_seconds:g}s vs "
            f"{settings.baseline_window_seconds:g}s before"
        ),
        "recent_events": recent,
        "baseline_events": baseline,
        "ratio": ratio,
    }
    if recent < settings.min_events:
        explanation["reason"] = f"fewer than {settings.min_events} recent events"
        return Score(0.0, "ok", explanation)
    fired = ratio > settings.ratio_threshold
    explanation["fired"] = fired
    score = squash(ratio, settings.ratio_threshold)
    # squash puts the threshold itself on 0.5; "more than" means exactly the threshold is not.
    return Score(score if fired else min(score, 0.5), "ok", explanation)


def _count(weights_cumsum: np.ndarray | None, begin: int, end: int) -> float:
    if weights_cumsum is None:
        return float(end - begin)
    total_before = weights_cumsum[begin - 1] if begin > 0 else 0.0
    return float(weights_cumsum[end - 1] - total_before) if end > begin else 0.0


class RateRuleDetector(Detector):
    """Streaming form of a rate rule: each point is (time, number of events at that time)."""

    name: ClassVar[str] = "rate_rule"

    def __init__(self, settings: RateRuleSettings | None = None) -> None:
        self.settings = settings or BurstSettings()
        self.reset()

    def reset(self) -> None:
        """Forget all events."""
        # Two queues with running totals make each update O(1) amortised, however busy.
        self._recent: deque[tuple[float, float]] = deque()
        self._baseline: deque[tuple[float, float]] = deque()
        self._recent_total = 0.0
        self._baseline_total = 0.0
        self._history_start: float | None = None
        self._last: float | None = None

    def update(self, timestamp: Timestamp, value: Value) -> Score:
        """Add ``value`` events at ``timestamp`` and judge the window ending there."""
        seconds = to_epoch_seconds(timestamp)
        if self._last is not None and seconds < self._last:
            raise ValueError(f"timestamps must not decrease: {seconds} after {self._last}")
        self._last = seconds
        if self._history_start is None:
            self._history_start = seconds
        count = float(np.asarray(value, dtype=float).reshape(-1)[0])
        if np.isnan(count):
            return Score.missing(self.name)
        if count < 0:
            raise ValueError(f"an event count cannot be negative: {count}")
        settings = self.settings
        self._recent.append((seconds, count))
        self._recent_total += count
        recent_start = seconds - settings.recent_window_seconds
        while self._recent and self._recent[0][0] <= recent_start:
            moved = self._recent.popleft()
            self._baseline.append(moved)
            self._recent_total -= moved[1]
            self._baseline_total += moved[1]
        baseline_start = recent_start - settings.baseline_window_seconds
        while self._baseline and self._baseline[0][0] <= baseline_start:
            self._baseline_total -= self._baseline.popleft()[1]
        return rate_verdict(
            self._recent_total,
            self._baseline_total,
            seconds - self._history_start,
            settings,
            self.name,
        )
