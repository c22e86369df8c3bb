"""A labelled synthetic corpus for evaluating detectors the NAB way.

Each series is 5-minute data with known anomaly onsets. Windows are labelled as NAB labels them:
10 % of the series length shared among its anomalies, centred on each onset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

STEP_SECONDS = 300
DAY_POINTS = 86400 // STEP_SECONDS
START = pd.Timestamp("2024-03-01T00:00:00Z")


@dataclass(frozen=True)
class LabelledSeries:
    """A generated series and the rows where its anomalies begin."""

    name: str
    values: np.ndarray
    onsets: tuple[int, ...]

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        return pd.date_range(START, periods=len(self.values), freq=f"{STEP_SECONDS}s")

    @property
    def epoch_seconds(self) -> list[float]:
        return [START.timestamp() + STEP_SECONDS * i for i in range(len(self.values))]

    def windows(self) -> list[tuple[int, int]]:
        if not self.onsets:
            return []
        half = max(int(0.1 * len(self.values) / len(self.onsets)) // 2, 1)
        return [(max(o - half, 0), min(o + half, len(self.values) - 1)) for o in self.onsets]


Generator = Callable[[np.random.Generator, int], tuple[np.ndarray, tuple[int, ...]]]


def _onsets(rng: np.random.Generator, length: int, count: int) -> tuple[int, ...]:
    # Past the probationary 15 %, apart from each other, not at the very end.
    slots = np.linspace(0.35, 0.9, count + 1)
    return tuple(
        int(length * rng.uniform(a, b - 0.05)) for a, b in zip(slots, slots[1:], strict=False)
    )


def _daily(length: int, amplitude: float) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * np.arange(length) / DAY_POINTS)


def level_shift(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = rng.normal(50.0, 2.0, length)
    (onset,) = _onsets(rng, length, 1)
    values[onset:] += rng.choice([-1, 1]) * 12.0
    return values, (onset,)


def spikes(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = rng.normal(100.0, 5.0, length)
    onsets = _onsets(rng, length, 2)
    for onset in onsets:
        values[onset] += 45.0
    return values, onsets


def variance_change(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = rng.normal(10.0, 1.0, length)
    (onset,) = _onsets(rng, length, 1)
    values[onset:] = rng.normal(10.0, 5.0, length - onset)
    return values, (onset,)


def seasonal_spike(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = 40.0 + _daily(length, 15.0) + rng.normal(0.0, 1.5, length)
    onsets = _onsets(rng, length, 2)
    for onset in onsets:
        values[onset : onset + 3] += 12.0
    return values, onsets


def seasonal_shift(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = 200.0 + _daily(length, 40.0) + rng.normal(0.0, 4.0, length)
    (onset,) = _onsets(rng, length, 1)
    values[onset:] += 30.0
    return values, (onset,)


def flatline(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = 60.0 + _daily(length, 10.0) + rng.normal(0.0, 2.0, length)
    (onset,) = _onsets(rng, length, 1)
    values[onset : onset + 80] = values[onset]
    return values, (onset,)


def trend_shift(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = 5.0 + 0.02 * np.arange(length) + rng.normal(0.0, 1.0, length)
    (onset,) = _onsets(rng, length, 1)
    values[onset:] -= 7.0
    return values, (onset,)


def count_burst(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    rates = np.full(length, 6.0)
    (onset,) = _onsets(rng, length, 1)
    rates[onset : onset + 24] = 24.0
    return rng.poisson(rates).astype(float), (onset,)


def outage_dropout(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = 300.0 + _daily(length, 60.0) + rng.normal(0.0, 10.0, length)
    (onset,) = _onsets(rng, length, 1)
    values[onset : onset + 20] = rng.uniform(0.0, 5.0, 20)
    return values, (onset,)


def latency_regression(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = rng.lognormal(np.log(120.0), 0.15, length)
    (onset,) = _onsets(rng, length, 1)
    values[onset:] *= 1.8
    return values, (onset,)


def random_walk_jump(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = 100.0 + np.cumsum(rng.normal(0.0, 0.3, length))
    (onset,) = _onsets(rng, length, 1)
    values[onset:] += 10.0
    return values, (onset,)


def clean_noise(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    return rng.normal(30.0, 3.0, length), ()


def clean_seasonal(rng: np.random.Generator, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    return 80.0 + _daily(length, 20.0) + rng.normal(0.0, 2.0, length), ()


GENERATORS: dict[str, Generator] = {
    "level_shift": level_shift,
    "spikes": spikes,
    "variance_change": variance_change,
    "seasonal_spike": seasonal_spike,
    "seasonal_shift": seasonal_shift,
    "flatline": flatline,
    "trend_shift": trend_shift,
    "count_burst": count_burst,
    "outage_dropout": outage_dropout,
    "latency_regression": latency_regression,
    "random_walk_jump": random_walk_jump,
    "clean_noise": clean_noise,
    "clean_seasonal": clean_seasonal,
}


def generate(
    seed: int = 7, length: int = 1200, kinds: tuple[str, ...] | None = None
) -> list[LabelledSeries]:
    """Return one labelled series per kind, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    chosen = kinds or tuple(GENERATORS)
    corpus = []
    for kind in chosen:
        values, onsets = GENERATORS[kind](rng, length)
        corpus.append(LabelledSeries(kind, values, onsets))
    return corpus


def write_corpus(directory: Path, corpus: list[LabelledSeries]) -> Path:
    """Write each series as ``<kind>.csv`` under ``directory``; return the windows file."""
    directory.mkdir(parents=True, exist_ok=True)
    windows: dict[str, list[list[str]]] = {}
    for series in corpus:
        path = directory / "series" / f"{series.name}.csv"
        path.parent.mkdir(exist_ok=True)
        stamps = series.timestamps
        frame = pd.DataFrame(
            {"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": series.values}
        )
        frame.to_csv(path, index=False)
        windows[f"series/{series.name}.csv"] = [
            [
                stamps[left].strftime("%Y-%m-%d %H:%M:%S"),
                stamps[right].strftime("%Y-%m-%d %H:%M:%S"),
            ]
            for left, right in series.windows()
        ]
    windows_path = directory / "windows.json"
    windows_path.write_text(json.dumps(windows, indent=2))
    return windows_path
