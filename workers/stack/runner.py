"""Start the stack's processes in order, restart the ones that crash, stop them in reverse.

After start-up, a child that exits on its own is restarted with backoff (see
:mod:`workers.stack.restarts`); one in a crash loop is given up on with a message naming it, its
exit code and the end of its log. The stack stops (exit 1) only when that child is essential.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from workers.stack.process_control import StopRequest, parent_death_signal
from workers.stack.restarts import CrashRecord, RestartPolicy, backoff_seconds, give_up_message
from workers.stack.specs import ChildSpec

POLL_INTERVAL_SECONDS = 0.2
STOP_GRACE_SECONDS = 10.0


@dataclass
class RunningChild:
    """A started child process, where its output goes, and its crash history.

    Attributes:
        restart_at: Monotonic time of the pending restart after a crash, if any.
        given_up: Whether it crash-looped and is no longer restarted.
    """

    spec: ChildSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: BinaryIO
    crashes: CrashRecord = field(default_factory=CrashRecord)
    restart_at: float | None = None
    given_up: bool = False


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
        restart_policy: RestartPolicy | None = None,
    ) -> None:
        self.children: list[RunningChild] = []
        self._policy = restart_policy or RestartPolicy()
        self._log_dir = log_dir
        self._env = dict(env)
        self._stop = stop
        self._out = out
        self._err = err
        self._stop_grace_seconds = stop_grace_seconds
        self._pre_exec = parent_death_signal()

    def start(self, spec: ChildSpec) -> bool:
        """Start ``spec`` and wait until it is ready.

        Returns:
            True when ready; False when a child died, readiness timed out (both reported), or a
            stop was requested meanwhile.
        """
        spawned = self._spawn(spec)
        if spawned is None:
            return False
        self.children.append(RunningChild(spec, *spawned))
        return self._wait_ready(spec)

    def _spawn(self, spec: ChildSpec) -> tuple[subprocess.Popen[bytes], Path, BinaryIO] | None:
        """Start ``spec``'s process with its output appended to its log; None if it cannot."""
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
            return None
        print(f"started {spec.name} (pid {process.pid})", file=self._out, flush=True)
        return process, log_path, log_file

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
        """Restart crashed children until a stop is requested (return 0).

        Returns 1 as soon as an essential child is given up on.
        """
        while not self._stop.requested:
            now = time.monotonic()
            for child in self.children:
                if not child.given_up and not self._tend(child, now):
                    return 1
            time.sleep(POLL_INTERVAL_SECONDS)
        return 0

    def _tend(self, child: RunningChild, now: float) -> bool:
        """Restart ``child`` when due, or note its crash; False when an essential one gave up."""
        if child.restart_at is not None:
            return now < child.restart_at or self._restart(child)
        code = child.process.poll()
        if code is None:
            return True
        # Whatever the dead child spawned goes too: an orphan could hold its port.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signal.SIGKILL)
        name = child.spec.name
        crashes = child.crashes.add(now, self._policy)
        if crashes >= self._policy.crash_limit:
            child.given_up = True
            message = give_up_message(
                name, code, crashes, self._policy, child.log_path, essential=child.spec.essential
            )
            self._say(message)
            return not child.spec.essential
        delay = backoff_seconds(crashes, self._policy)
        child.restart_at = now + delay
        self._say(
            f"{name} exited with code {code}; restarting it in {delay:g}s "
            f"(crash {crashes} of {self._policy.crash_limit} allowed within "
            f"{self._policy.window_seconds:g}s); see {child.log_path}"
        )
        return True

    def _restart(self, child: RunningChild) -> bool:
        """Start a crashed child again without waiting for it (the others are still watched).

        Returns False when it cannot start at all and is essential; it is given up on anyway.
        """
        child.restart_at = None
        child.log_file.close()
        spawned = self._spawn(child.spec)
        if spawned is None:
            child.given_up = True
            return not child.spec.essential
        child.process, child.log_path, child.log_file = spawned
        return True

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
    restart_policy: RestartPolicy | None = None,
) -> int:
    """Run ``specs`` until ``stop`` is requested or an essential child fails; stop every child.

    Args:
        specs: Processes in start order; each must be ready before the next starts.
        log_dir: Folder for ``<name>.log`` files (appended to, so restarts keep history).
        env: Environment of every child.
        stop: Stop request, set by a signal handler or by the caller.
        on_ready: Called once everything is ready.
        out: Where progress goes (stdout by default).
        err: Where failures go (stderr by default).
        stop_grace_seconds: How long a child may take to exit after SIGTERM.
        restart_policy: Backoff and crash-loop limits for children that exit once running.

    Returns:
        0 after a requested stop; 1 when a child failed to start or get ready, or an essential
        child crash-looped and was given up on.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    stack = Stack(
        log_dir,
        env,
        stop,
        out=out,
        err=err,
        stop_grace_seconds=stop_grace_seconds,
        restart_policy=restart_policy,
    )
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
