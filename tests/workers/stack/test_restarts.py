"""Backoff and crash-loop arithmetic of the supervisor (the runner tests use it end to end)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.stack.restarts import CrashRecord, RestartPolicy, backoff_seconds, log_tail


def test_backoff_doubles_per_recent_crash_up_to_the_cap() -> None:
    policy = RestartPolicy(initial_backoff_seconds=0.5, max_backoff_seconds=30)
    assert [backoff_seconds(n, policy) for n in range(1, 9)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0,
    ]  # fmt: skip


def test_only_crashes_inside_the_window_count() -> None:
    policy = RestartPolicy(window_seconds=60)
    record = CrashRecord()
    assert [record.add(t, policy) for t in (0, 10, 20)] == [1, 2, 3]
    assert record.add(75, policy) == 2, "the crashes at 0 s and 10 s are older than 60 s"
    assert record.add(200, policy) == 1, "a child that ran steadily starts over"


def test_log_tail_reads_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    log.write_text("".join(f"line {n}\n" for n in range(10_000)))
    assert log_tail(log, 3) == ["line 9997", "line 9998", "line 9999"]
    assert log_tail(tmp_path / "missing.log") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"initial_backoff_seconds": 0},
        {"max_backoff_seconds": -1},
        {"crash_limit": 0},
        {"window_seconds": 0},
    ],
)
def test_a_policy_that_could_never_restart_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(**bad)  # type: ignore[arg-type]
