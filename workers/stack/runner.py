"""Start the stack's processes in order, watch them, and stop them in reverse order."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import BinaryIO, TextIO

from workers.stack.specs import ChildSpec

POLL_INTERVAL_SECONDS = 0.2
STOP_GRACE_SECONDS = 10.0
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


@dataclass
class RunningChild:
    """A started child process and where its output goes."""

    spec: ChildSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: BinaryIO


def _parent_death_signal() -> Callable[[], None] | None:
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


class Stack:
    """The running children, in start order."""

    def __init__(
        self,
        log_dir: Path,
        env: Mapping[str, str],
        stop: StopRequest,
        *,
        out: TextIO,
        err: TextIO,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.children: list[RunningChild] = []
        self._log_dir = log_dir
        self._env = dict(env)
        self._stop = stop
        self._out = out
        self._err = err
        self._stop_grace_seconds = stop_grace_seconds
        self._pre_exec = _parent_death_signal()

    def start(self, spec: ChildSpec) -> bool:
        """Start ``spec`` and wait until it is ready.

        Returns:
            True when ready; False when a child died, readiness timed out (both reported), or a
            stop was requested meanwhile.
        """
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"{spec.name}.log"
        log_file = log_path.open("ab")
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        log_file.write(f"==== {started_at} steward up: {' '.join(spec.argv)}\n".encode())
        log_file.flush()
        try:
            process = subprocess.Popen(
                spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self._env,
                # Own session: a terminal Ctrl-C reaches only the supervisor, which stops the
                # children in reverse order. The pre-exec hook only calls prctl in a libc the
                # parent already loaded, so it takes no locks between fork and exec.
                start_new_session=True,
                preexec_fn=self._pre_exec,
            )
        except OSError as error:
            log_file.close()
            self._say(f"could not start {spec.name}: {error}")
            return False
        self.children.append(RunningChild(spec, process, log_path, log_file))
        print(f"started {spec.name} (pid {process.pid})", file=self._out, flush=True)
        return self._wait_ready(spec)

    def _wait_ready(self, spec: ChildSpec) -> bool:
        deadline = time.monotonic() + spec.ready_timeout
        while not self._stop.requested:
            if self.report_exited():
                return False
            if spec.ready is None or spec.ready():
                return True
            if time.monotonic() > deadline:
                log_path = self._log_dir / f"{spec.name}.log"
                timeout = f"{spec.ready_timeout:g}s"
                self._say(f"{spec.name} was not ready after {timeout}; see {log_path}")
                return False
            time.sleep(POLL_INTERVAL_SECONDS)
        return False

    def report_exited(self) -> bool:
        """Report the first child that has exited, if any, and return whether one had."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                self._say(
                    f"{child.spec.name} exited unexpectedly with code {code}; see {child.log_path}"
                )
                return True
        return False

    def watch(self) -> int:
        """Block until a stop is requested (return 0) or a child exits (return 1)."""
        while not self._stop.requested:
            if self.report_exited():
                return 1
            time.sleep(POLL_INTERVAL_SECONDS)
        return 0

    def shutdown(self) -> None:
        """Stop every child in reverse start order: SIGTERM, then SIGKILL after the grace."""
        for child in reversed(self.children):
            self._terminate(child)
            child.log_file.close()
        self.children.clear()

    def _terminate(self, child: RunningChild) -> None:
        process = child.process
        if process.poll() is None:
            # The whole process group, so anything the child spawned goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=self._stop_grace_seconds)
            except subprocess.TimeoutExpired:
                self._say(f"{child.spec.name} ignored SIGTERM for {self._stop_grace_seconds:g}s")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def _say(self, message: str) -> None:
        print(f"steward up: {message}", file=self._err, flush=True)


def run_stack(
    specs: Sequence[ChildSpec],
    log_dir: Path,
    env: Mapping[str, str],
    stop: StopRequest,
    *,
    on_ready: Callable[[], None] = lambda: None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stop_grace_seconds: float = STOP_GRACE_SECONDS,
) -> int:
    """Run ``specs`` until ``stop`` is requested or a child fails; always stop every child.

    Args:
        specs: Processes in start order; each must be ready before the next starts.
        log_dir: Folder for ``<name>.log`` files (appended to, so restarts keep history).
        env: Environment of every child.
        stop: Stop request, set by a signal handler or by the caller.
        on_ready: Called once everything is ready.
        out: Where progress goes (stdout by default).
        err: Where failures go (stderr by default).
        stop_grace_seconds: How long a child may take to exit after SIGTERM.

    Returns:
        0 after a requested stop, 1 when a child exited or was never ready.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    stack = Stack(log_dir, env, stop, out=out, err=err, stop_grace_seconds=stop_grace_seconds)
    try:
        all_ready = True
        for spec in specs:
            if not stack.start(spec):
                all_ready = False
                break
        if all_ready:
            on_ready()
            exit_code = stack.watch()
        else:
            # A stop requested during startup is a normal stop, not a failure.
            exit_code = 0 if stop.requested else 1
    finally:
        stack.shutdown()
    print("stopped", file=out, flush=True)
    return exit_code
