"""Where a verification stands, kept in its heartbeats so a retried attempt resumes it.

A verification polls a check for one window. The window is fixed when the verification first
starts, as an absolute wall-clock deadline, and travels in every heartbeat together with the
number of polls made and the last observation. A worker that dies mid-verification is noticed
after the heartbeat timeout; the retry reads the details the server kept, continues counting
from there and stops at the same deadline: it never starts a new window.

Wall-clock time because the retry may run on another machine; clocks are assumed to agree to
within a second or so, as Temporal's own timers do.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from activities.types import VerifyResult


@dataclass(kw_only=True)
class Observation:
    """One poll of the check: whether it passed, what it saw and how it reads."""

    ok: bool
    observed: dict[str, Any]
    detail: str


@dataclass(kw_only=True)
class VerifyProgress:
    """A verification's window and its polls so far (the heartbeat details).

    Attributes:
        deadline: Unix time at which the window ends; no poll starts after it.
        attempts: Polls made so far, over every attempt of the activity.
        last: The newest poll's result, or None before the first one.
    """

    deadline: float
    attempts: int = 0
    last: Observation | None = None

    def details(self) -> dict[str, Any]:
        """The heartbeat details: plain JSON, readable by any worker."""
        return asdict(self)

    @classmethod
    def resume(
        cls,
        details: Sequence[Any],
        *,
        within_seconds: float,
        attempt: int,
        first_scheduled: datetime,
    ) -> VerifyProgress:
        """The progress a (possibly retried) activity attempt starts from.

        Args:
            details: The heartbeat details the server kept from the previous attempt.
            within_seconds: The window's length.
            attempt: This activity attempt's number (1 for the first).
            first_scheduled: When the activity was first scheduled.

        Returns:
            The previous attempt's progress when its details are readable. Otherwise a new
            window from now on the first attempt; on a retry whose predecessor died before
            its first heartbeat reached the server, a window counted from the first schedule,
            so a retry can end the window early but never extend it.
        """
        previous = _parse(details[-1]) if details else None
        if previous is not None:
            return previous
        if attempt <= 1:
            return cls(deadline=time.time() + within_seconds)
        return cls(deadline=first_scheduled.timestamp() + within_seconds)

    def note(self, observation: Observation) -> None:
        """Count one poll and keep what it saw."""
        self.attempts += 1
        self.last = observation

    def remaining(self) -> float:
        """Seconds left in the window (negative once it is over)."""
        return self.deadline - time.time()

    def result(self) -> VerifyResult:
        """The verification's answer from the newest poll.

        Raises:
            RuntimeError: no poll was made yet (the activity always polls before answering).
        """
        last = self.last
        if last is None:
            raise RuntimeError("a verification answers only after a poll")
        return VerifyResult(
            ok=last.ok, observed=last.observed, detail=last.detail, attempts=self.attempts
        )


def _parse(raw: Any) -> VerifyProgress | None:
    """Read heartbeat details written by :meth:`VerifyProgress.details`; None if unreadable."""
    if not isinstance(raw, dict):
        return None
    try:
        last = raw.get("last")
        return VerifyProgress(
            deadline=float(raw["deadline"]),
            attempts=int(raw["attempts"]),
            last=Observation(**last) if isinstance(last, dict) else None,
        )
    except (KeyError, TypeError, ValueError):
        return None
