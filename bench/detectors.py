"""Throughput of each detector, batch and streaming, in points per second.

Run ``python -m bench.detectors [points]``; prints one JSON object. The series is 5-minute data
with a daily cycle, noise and a few anomalies, so every detector (Prophet included) does its
full work.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from activities.detectors.registry import DETECTOR_FACTORIES, build_detector

STEP_SECONDS = 300.0
STREAMING_POINTS = 300


def bench_series(points: int, seed: int = 7) -> tuple[list[float], list[float]]:
    """Return a daily-seasonal series with a spike and a level shift."""
    rng = np.random.default_rng(seed)
    index = np.arange(points)
    values = 100 + 20 * np.sin(2 * np.pi * index / 288) + rng.normal(0, 2, points)
    values[points // 2] += 30
    values[3 * points // 4 :] += 15
    return [1.7e9 + STEP_SECONDS * i for i in index], values.tolist()


def run(points: int = 2000) -> dict[str, Any]:
    """Score the series with every detector; report batch and streaming points/s."""
    timestamps, values = bench_series(points)
    results: dict[str, Any] = {}
    for name in DETECTOR_FACTORIES:
        start = time.perf_counter()
        build_detector(name).score_series(timestamps, values)
        batch_seconds = time.perf_counter() - start
        # Streaming: warm a detector on the series, then time single updates after it.
        detector = build_detector(name)
        detector.score_series(timestamps, values)
        tail_times, tail_values = bench_series(points + STREAMING_POINTS)
        start = time.perf_counter()
        for t, v in zip(tail_times[points:], tail_values[points:], strict=True):
            detector.update(t, v)
        streaming_seconds = time.perf_counter() - start
        results[name] = {
            "batch_points_per_s": round(points / batch_seconds, 1),
            "streaming_points_per_s": round(STREAMING_POINTS / streaming_seconds, 1),
        }
    return {"points": points, "detectors": results}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)))
