"""Where a verification resumes: from the heartbeat details, or from a window it cannot extend."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from activities.actuators.verification import Observation, VerifyProgress


def test_details_round_trip_to_the_same_progress() -> None:
    progress = VerifyProgress(deadline=1_700_000_000.5)
    progress.note(Observation(ok=False, observed={"p95_ms": 1040.0}, detail="p95 1040 ms"))
    progress.note(Observation(ok=False, observed={"p95_ms": 900.0}, detail="p95 900 ms"))
    resumed = VerifyProgress.resume(
        [progress.details()],
        within_seconds=30,
        attempt=2,
        first_scheduled=datetime.now(UTC),
    )
    assert resumed == progress
    assert resumed.result().attempts == 2
    assert resumed.result().observed == {"p95_ms": 900.0}


def test_a_first_attempt_opens_the_window_now() -> None:
    before = time.time()
    progress = VerifyProgress.resume(
        [], within_seconds=30, attempt=1, first_scheduled=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert before + 30 <= progress.deadline <= time.time() + 30
    assert progress.attempts == 0 and progress.last is None


def test_a_retry_without_details_counts_the_window_from_the_first_schedule() -> None:
    # The dead attempt's heartbeat never reached the server: the window may only shrink.
    scheduled = datetime.now(UTC) - timedelta(seconds=50)
    for details in ([], [None], [{"deadline": "soon"}], [{"attempts": 3}]):
        progress = VerifyProgress.resume(
            details, within_seconds=30, attempt=2, first_scheduled=scheduled
        )
        assert progress.deadline == scheduled.timestamp() + 30
        assert progress.remaining() < 0
