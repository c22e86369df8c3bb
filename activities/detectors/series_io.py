"""Reading ``timestamp,value`` series and labelled windows, with errors a person can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


class SeriesInputError(ValueError):
    """A series or windows file that cannot be used; the message names the file and the fault."""


@dataclass(frozen=True)
class Series:
    """A univariate series: epoch seconds, values (NaN where missing), timestamps as written."""

    timestamps: np.ndarray
    values: np.ndarray
    raw_timestamps: pd.Series

    def __len__(self) -> int:
        return len(self.values)


def _parse_times(raw: pd.Series, source: str) -> pd.DatetimeIndex:
    try:
        parsed = pd.to_datetime(raw, utc=True, format="mixed")
    except (ValueError, TypeError) as error:
        raise SeriesInputError(f"{source}: unreadable timestamp ({error})") from None
    return pd.DatetimeIndex(parsed)


def _epoch_seconds(times: pd.DatetimeIndex) -> np.ndarray:
    return (times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)


def read_series(path: Path) -> Series:
    """Read a CSV with ``timestamp`` and ``value`` columns, ordered by time.

    Empty or non-numeric values become NaN (scored as missing); timestamps must parse and must
    not decrease.

    Raises:
        SeriesInputError: If the file is missing or malformed.
    """
    if not path.is_file():
        raise SeriesInputError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SeriesInputError(f"{path}: not a readable CSV ({error})") from None
    missing = {"timestamp", "value"} - set(frame.columns)
    if missing:
        raise SeriesInputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    if frame.empty:
        raise SeriesInputError(f"{path}: no rows")
    times = _parse_times(frame["timestamp"], str(path))
    if times.hasnans:
        raise SeriesInputError(f"{path}: empty timestamp on row {int(np.argmax(times.isna())) + 2}")
    seconds = _epoch_seconds(times)
    decreasing = np.flatnonzero(np.diff(seconds) < 0)
    if decreasing.size:
        raise SeriesInputError(f"{path}: timestamps decrease at row {int(decreasing[0]) + 3}")
    values = pd.to_numeric(frame["value"].str.strip().replace("", "nan"), errors="coerce")
    unreadable = values.isna() & ~frame["value"].str.strip().str.lower().isin(["", "nan", "null"])
    if unreadable.any():
        row = int(np.argmax(unreadable.to_numpy())) + 2
        raise SeriesInputError(f"{path}: value on row {row} is not a number")
    return Series(
        np.asarray(seconds, dtype=float), values.to_numpy(dtype=float), frame["timestamp"]
    )


def read_windows(path: Path) -> dict[str, list[tuple[float, float]]]:
    """Read ``{"relative/path.csv": [["start", "end"], ...]}``; times become epoch seconds.

    Raises:
        SeriesInputError: If the file is missing or not in that shape.
    """
    if not path.is_file():
        raise SeriesInputError(f"{path}: no such file")
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SeriesInputError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(document, dict) or not document:
        raise SeriesInputError(f"{path}: expected a non-empty object of file -> windows")
    windows: dict[str, list[tuple[float, float]]] = {}
    for name, pairs in document.items():
        if not isinstance(pairs, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)
            for pair in pairs
        ):
            raise SeriesInputError(f"{path}: {name!r} must map to a list of [start, end] strings")
        bounds = []
        for start, end in pairs:
            parsed = _epoch_seconds(_parse_times(pd.Series([start, end]), f"{path}: {name!r}"))
            if parsed[0] > parsed[1]:
                raise SeriesInputError(
                    f"{path}: {name!r} window {start}..{end} ends before it starts"
                )
            bounds.append((float(parsed[0]), float(parsed[1])))
        windows[name] = bounds
    return windows


def window_rows(
    timestamps: np.ndarray, windows: list[tuple[float, float]], source: str
) -> tuple[tuple[int, int], ...]:
    """Turn time windows into inclusive row ranges of ``timestamps``.

    Raises:
        SeriesInputError: If a window covers no row.
    """
    rows = []
    for start, end in windows:
        left = int(np.searchsorted(timestamps, start, side="left"))
        right = int(np.searchsorted(timestamps, end, side="right")) - 1
        if right < left:
            raise SeriesInputError(f"{source}: a window covers no row of the series")
        rows.append((left, right))
    return tuple(rows)
