"""Input and result of the monitor scoring activity (imported by the detection workflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class ScoreWindowRequest:
    """Fetch one monitor's window and score it.

    Attributes:
        monitor: The monitor's name (for logs and explanations).
        source: The monitor's source settings, e.g. ``{"kind": "prometheus", "query": ...}``.
        detector: The monitor's detector settings, e.g. ``{"name": "zscore"}``.
        window_seconds: How much history to fetch and score.
        interval_seconds: Time between runs: the points of the last two intervals are this
            run's own; the most anomalous of them is reported.
        run_started_at: When the run's workflow started (epoch seconds; a Schedule starts it
            on time). A run that a busy worker picks up late still owns the points from two
            intervals before this, so a level shift during the delay is not missed.
    """

    monitor: str
    source: dict[str, Any]
    detector: dict[str, Any]
    window_seconds: int
    interval_seconds: int
    run_started_at: float | None = None


@dataclass(kw_only=True)
class WindowVerdict:
    """The verdict on a window: the reported point's score, and where it came from.

    Attributes:
        state: ``ok``, ``not_enough_data`` (too little history or no data at all) or
            ``missing`` (the reported point is NaN or infinite). Only ``ok`` can be anomalous.
        score: Anomaly score in [0, 1] of the reported point.
        anomalous: Whether the point is past the detector's threshold (score above 0.5).
        observed_at: ISO 8601 time of the reported point; ``None`` when there was no point.
        point_id: Identifies the point across runs: its timestamp and, for a source with several
            series, a short hash of the series' labels.
        series: Labels of the series the point belongs to.
        explanation: The detector's explanation plus where the data came from.
    """

    state: str
    score: float
    anomalous: bool
    observed_at: str | None = None
    point_id: str | None = None
    series: dict[str, str] = field(default_factory=dict)
    explanation: dict[str, Any] = field(default_factory=dict)
