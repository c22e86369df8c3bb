"""Signals between the supervisor and its children: stop requests and parent-death signals."""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable
from types import FrameType

_PR_SET_PDEATHSIG = 1


class StopRequest:
    """Set when the stack should stop: by SIGINT/SIGTERM once installed, or by ``request()``."""

    def __init__(self) -> None:
        self.requested = False

    def request(self) -> None:
        """Ask the stack to stop; safe to call from a signal handler or another thread."""
        self.requested = True

    def install(self) -> None:
        """Route SIGINT and SIGTERM here instead of raising KeyboardInterrupt or dying."""

        def handle(signum: int, frame: FrameType | None) -> None:
            self.request()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, handle)


def parent_death_signal() -> Callable[[], None] | None:
    """Return a pre-exec hook that makes a child get SIGTERM if the supervisor dies.

    Children run in their own session (so Ctrl-C reaches only the supervisor, which stops them in
    order); without this, a SIGKILLed supervisor would leave them running. Linux only.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Loaded here, in the parent: loading a library between fork and exec is not safe.
    libc = ctypes.CDLL(None, use_errno=True)

    def set_parent_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_parent_death_signal
