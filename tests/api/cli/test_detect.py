"""``steward detect score`` and ``evaluate`` on a generated labelled corpus, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.detect import app
from tests.activities.detectors.synthetic_corpus import generate, write_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("corpus")
    kinds = ("level_shift", "spikes", "variance_change", "count_burst", "clean_noise")
    write_corpus(directory, generate(seed=3, length=900, kinds=kinds))
    return directory


def test_score_writes_past_only_scores(corpus_dir: Path, tmp_path: Path) -> None:
    source = corpus_dir / "series" / "spikes.csv"
    output = tmp_path / "scored.csv"
    result = runner.invoke(
        app, ["score", "--input", str(source), "--detector", "zscore", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(output)
    assert list(scored.columns) == ["timestamp", "value", "anomaly_score"]
    assert scored["timestamp"].tolist() == pd.read_csv(source)["timestamp"].tolist()
    assert scored["anomaly_score"].between(0, 1).all()
    # truncating the input changes no earlier score: only past data was used
    truncated = tmp_path / "head.csv"
    pd.read_csv(source).head(500).to_csv(truncated, index=False)
    head = runner.invoke(app, ["score", "--input", str(truncated), "--detector", "zscore"])
    head_scores = pd.read_csv(pd.io.common.StringIO(head.stdout))["anomaly_score"]
    assert head_scores.tolist() == scored["anomaly_score"].head(500).tolist()


def test_evaluate_reports_every_profile_as_json_and_table(corpus_dir: Path) -> None:
    args = ["evaluate", "--data", str(corpus_dir), "--windows", str(corpus_dir / "windows.json")]
    result = runner.invoke(app, [*args, "--detector", "ensemble", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    profiles = {row["profile"]: row for row in report["profiles"]}
    assert set(profiles) == {"standard", "reward_low_FP", "reward_low_FN"}
    assert report["series"] == 5
    assert profiles["standard"]["score"] > 70
    assert profiles["standard"]["true_positives"] >= 4
    table = runner.invoke(app, [*args, "--detector", "zscore"])
    assert table.exit_code == 0 and "reward_low_FN" in table.stdout


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file"),
        ("no_value_column", "missing column(s) value"),
        ("bad_timestamp", "unreadable timestamp"),
        ("bad_value", "is not a number"),
        ("bad_windows_json", "not valid JSON"),
        ("bad_windows_shape", "must map to a list"),
        ("unknown_detector", "unknown detector"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, setup: str, message: str) -> None:
    series = tmp_path / "s.csv"
    series.write_text("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,2\n")
    windows = tmp_path / "w.json"
    windows.write_text(json.dumps({"s.csv": [["2024-01-01 00:00", "2024-01-01 00:05"]]}))
    detector = "zscore"
    if setup == "missing":
        series.unlink()
    elif setup == "no_value_column":
        series.write_text("timestamp,v\n2024-01-01 00:00,1\n")
    elif setup == "bad_timestamp":
        series.write_text("timestamp,value\nyesterday-ish,1\n")
    elif setup == "bad_value":
        series.write_text("timestamp,value\n2024-01-01 00:00,abc\n")
    elif setup == "bad_windows_json":
        windows.write_text("{not json")
    elif setup == "bad_windows_shape":
        windows.write_text(json.dumps({"s.csv": "2024-01-01"}))
    elif setup == "unknown_detector":
        detector = "magic"
    command = (
        ["evaluate", "--data", str(tmp_path), "--windows", str(windows)]
        if "windows" in setup
        else ["score", "--input", str(series)]
    )
    result = runner.invoke(app, [*command, "--detector", detector])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in result.output
