"""Scoring a fetched window: plain functions, testable without Temporal or a source.

Each series is scored from the start of the window with a fresh detector, so every score is
causal and a run depends on nothing but the window. The points of the last two monitor
intervals are the run's own, counted back from when the run started (a run that a busy worker
picks up late still owns what happened meanwhile); the most anomalous of them is reported, so a
spike between two runs is not missed because it is no longer the latest point. Two intervals,
not one: runs start with some jitter (and a skipped run leaves a gap), and a source's newest
point may still change after a run saw it (Prometheus evaluates a step with the samples
ingested so far). A detector that absorbs a level shift after one point would then never report
it. The overlap means two runs can report the same point; its evidence has the same dedup key
and is attached once. When none of them is anomalous, the latest point is reported (with its
state: ok, not enough data or missing).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from activities.detection.config import configured_detector
from activities.detection.types import WindowVerdict
from activities.detectors.base import Score
from activities.sources.base import FetchWindow, SeriesPoints

# How many monitor intervals back a run looks for anomalous points (see the module docstring).
FRESH_INTERVALS = 2


@dataclass(frozen=True)
class _Judged:
    series: SeriesPoints
    index: int
    score: Score


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-safe data.

    Non-finite floats become ``None`` (PostgreSQL's JSON refuses NaN), numpy scalars Python
    numbers, tuples lists, anything else its string.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    return str(value)


def series_key(labels: Mapping[str, str]) -> str:
    """A short, stable id of a series from its labels (empty for an unlabelled series)."""
    if not labels:
        return ""
    canonical = json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def _judge_series(series: SeriesPoints, detector: Mapping[str, Any], fresh_after: float) -> _Judged:
    scores = configured_detector(detector).score_series(series.timestamps, series.values)
    fresh = [i for i, t in enumerate(series.timestamps) if t > fresh_after] or [len(scores) - 1]
    anomalous = [i for i in fresh if scores[i].is_anomaly]
    index = max(anomalous, key=lambda i: scores[i].score) if anomalous else fresh[-1]
    return _Judged(series, index, scores[index])


def _no_data(window: FetchWindow, reason: str) -> WindowVerdict:
    return WindowVerdict(
        state="not_enough_data",
        score=0.0,
        anomalous=False,
        explanation={
            "reason": reason,
            "window": {"start": _iso(window.start), "end": _iso(window.end)},
        },
    )


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def judge_window(
    series: Sequence[SeriesPoints],
    detector: Mapping[str, Any],
    window: FetchWindow,
    interval_seconds: int,
    run_started_at: float | None = None,
) -> WindowVerdict:
    """Score every series of a window and report the most anomalous point of this run.

    Args:
        series: What the source returned.
        detector: The monitor's detector settings.
        window: The fetched window.
        interval_seconds: Time between runs; points newer than two intervals before
            ``window.end`` are this run's.
        run_started_at: When the run started, if earlier than ``window.end`` (the run was
            picked up late): its points then start two intervals before this instead.

    Raises:
        DetectorConfigError: When the detector settings are unusable.
    """
    with_points = [s for s in series if len(s)]
    if not with_points:
        return _no_data(window, "the source returned no points in the window")
    started = window.end if run_started_at is None else min(window.end, run_started_at)
    fresh_after = started - FRESH_INTERVALS * interval_seconds
    judged = [_judge_series(s, detector, fresh_after) for s in with_points]
    ok = [j for j in judged if j.score.state == "ok"]
    if ok:
        chosen = max(ok, key=lambda j: j.score.score)
    else:
        # Nothing could be judged: "not enough data" says more than "missing" when both occur.
        waiting = [j for j in judged if j.score.state == "not_enough_data"]
        chosen = (waiting or judged)[-1]
    timestamp = chosen.series.timestamps[chosen.index]
    key = series_key(chosen.series.labels)
    explanation = {
        **chosen.score.explanation,
        "window": {"start": _iso(window.start), "end": _iso(window.end)},
        "points": len(chosen.series),
        "non_finite_points": chosen.series.non_finite,
        "series_scored": len(judged),
        "series_anomalous": sum(j.score.is_anomaly for j in judged),
    }
    if chosen.series.labels:
        explanation["series"] = dict(chosen.series.labels)
    value = chosen.series.values[chosen.index]
    explanation["value"] = value
    return WindowVerdict(
        state=chosen.score.state,
        score=float(chosen.score.score),
        anomalous=chosen.score.is_anomaly,
        observed_at=_iso(timestamp),
        point_id=f"{timestamp:.3f}" + (f"/{key}" if key else ""),
        series=dict(chosen.series.labels),
        explanation=plain(explanation),
    )
