"""``steward detect``: score a series with a detector, evaluate detectors on labelled data.

Both commands use past data only: each point's score depends on the points before it and itself.
Bad input (a missing file, a malformed CSV or windows file) prints one line and exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from activities.detectors.evaluation import ScoredSeries, evaluate
from activities.detectors.registry import DETECTOR_FACTORIES, build_detector
from activities.detectors.series_io import (
    Series,
    SeriesInputError,
    read_series,
    read_windows,
    window_rows,
)

# Exit code for bad input, matching click's own usage errors.
USAGE_ERROR = 2

app = typer.Typer(
    help="Score series with causal anomaly detectors and evaluate them on labelled windows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DetectorOption = Annotated[
    str,
    typer.Option("--detector", help=f"One of: {', '.join(DETECTOR_FACTORIES)}."),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(USAGE_ERROR)


def _check_detector(name: str) -> None:
    if name not in DETECTOR_FACTORIES:
        _fail(f"unknown detector {name!r}; choose one of {', '.join(DETECTOR_FACTORIES)}")


def score_values(series: Series, detector_name: str) -> np.ndarray:
    """Score each point of ``series`` with a fresh detector; missing or early points score 0."""
    detector = build_detector(detector_name)
    scores = detector.score_series(series.timestamps.tolist(), series.values.tolist())
    return np.array([score.score for score in scores])


@app.command("score")
def score(
    input_path: Annotated[Path, typer.Option("--input", help="CSV with timestamp,value.")],
    detector: DetectorOption = "ensemble",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Write timestamp,value,anomaly_score for a series, each score from past data only."""
    _check_detector(detector)
    try:
        series = read_series(input_path)
    except SeriesInputError as error:
        _fail(str(error))
    frame = pd.DataFrame(
        {
            "timestamp": series.raw_timestamps,
            "value": series.values,
            "anomaly_score": np.round(score_values(series, detector), 6),
        }
    )
    if output is None:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    try:
        frame.to_csv(output, index=False)
    except OSError as error:
        _fail(f"{output}: cannot write ({error.strerror})")


@app.command("evaluate")
def evaluate_command(
    data: Annotated[
        Path, typer.Option("--data", help="Directory the windows file is relative to.")
    ],
    windows: Annotated[Path, typer.Option("--windows", help='{"file.csv": [["start", "end"]]}')],
    detector: DetectorOption = "ensemble",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Score a detector over labelled series with NAB's windowed scoring, per profile."""
    _check_detector(detector)
    if not data.is_dir():
        _fail(f"{data}: no such directory")
    try:
        labelled = read_windows(windows)
        corpus = []
        for name, spans in labelled.items():
            series = read_series(data / name)
            rows = window_rows(series.timestamps, spans, name)
            corpus.append(ScoredSeries(name, score_values(series, detector), rows))
        results = evaluate(corpus)
    except (SeriesInputError, ValueError) as error:
        _fail(str(error))
    rows_out = [
        {
            "profile": result.profile,
            "score": round(result.score, 2),
            "threshold": None if not np.isfinite(result.threshold) else round(result.threshold, 6),
            "raw_score": round(result.raw_score, 4),
            "true_positives": result.true_positives,
            "false_positives": result.false_positives,
            "false_negatives": result.false_negatives,
        }
        for result in results
    ]
    if as_json:
        summary = {"detector": detector, "series": len(corpus), "profiles": rows_out}
        typer.echo(json.dumps(summary, indent=2))
        return
    table = Table(title=f"{detector} on {len(corpus)} series (NAB scoring)", box=box.SIMPLE)
    for column in ("profile", "score", "threshold", "TP", "FP", "FN"):
        table.add_column(column, justify="left" if column == "profile" else "right")
    for row in rows_out:
        table.add_row(
            str(row["profile"]),
            f"{row['score']:.1f}",
            "never" if row["threshold"] is None else f"{row['threshold']:.3f}",
            str(row["true_positives"]),
            str(row["false_positives"]),
            str(row["false_negatives"]),
        )
    Console().print(table)
