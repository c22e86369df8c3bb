"""When a crashed child of the stack is started again, and when the supervisor gives up on it.

A child that exits on its own is restarted after a backoff that doubles with each crash inside
the window, up to a cap. A child that crashes ``crash_limit`` times within ``window_seconds``
is in a crash loop: the supervisor gives up on it and says why, with its exit code and the last
lines of its log.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL_LINES = 12
_LOG_TAIL_BYTES = 8192


@dataclass(frozen=True, kw_only=True)
class RestartPolicy:
    """How crashed children are restarted.

    Attributes:
        initial_backoff_seconds: Wait before the first restart after a crash.
        max_backoff_seconds: The backoff doubles per crash in the window, up to this.
        crash_limit: This many crashes within ``window_seconds`` is a crash loop.
        window_seconds: How far back crashes count.
    """

    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    crash_limit: int = 5
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.initial_backoff_seconds <= 0 or self.max_backoff_seconds <= 0:
            raise ValueError("backoffs must be positive")
        if self.crash_limit < 1 or self.window_seconds <= 0:
            raise ValueError("crash_limit must be >= 1 and window_seconds positive")


@dataclass
class CrashRecord:
    """The recent crashes of one child (monotonic times), oldest first."""

    times: deque[float] = field(default_factory=deque)

    def add(self, now: float, policy: RestartPolicy) -> int:
        """Count a crash at ``now``; return how many fall within the policy's window."""
        self.times.append(now)
        while self.times and self.times[0] <= now - policy.window_seconds:
            self.times.popleft()
        return len(self.times)


def backoff_seconds(crashes_in_window: int, policy: RestartPolicy) -> float:
    """Return the wait before restarting a child with that many recent crashes (>= 1)."""
    doubled = policy.initial_backoff_seconds * 2 ** max(0, crashes_in_window - 1)
    return float(min(policy.max_backoff_seconds, doubled))


def log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """Return the last ``lines`` lines of a child's log (empty when there is none)."""
    try:
        with log_path.open("rb") as log:
            log.seek(0, 2)
            size = log.tell()
            log.seek(max(0, size - _LOG_TAIL_BYTES))
            data = log.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]


def give_up_message(
    name: str,
    exit_code: int,
    crashes: int,
    policy: RestartPolicy,
    log_path: Path,
    *,
    essential: bool,
) -> str:
    """Say which child was given up on, why, what follows, and how its log ended."""
    consequence = (
        "it is essential, so the stack stops"
        if essential
        else "the rest of the stack keeps running without it"
    )
    tail = log_tail(log_path)
    shown = "\n".join(f"    {line}" for line in tail) if tail else "    (the log is empty)"
    return (
        f"gave up on {name}: it crashed {crashes} times within {policy.window_seconds:g}s, "
        f"the last time with exit code {exit_code}; {consequence}. "
        f"Last lines of {log_path}:\n{shown}"
    )
