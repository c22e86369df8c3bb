"""Compile and evaluate policy a user submitted in a child process, with memory and time limits.

regopy has no limits of its own: a module whose comprehension builds a three-million-element
set takes gigabytes and seconds, and the C++ heap of a process does not shrink afterwards.
So what-if bundles and reload checks run in a child (:mod:`activities.policy.sandbox_child`)
that caps its own address space at ``memory_mib`` beyond its start, and that the parent kills
once a request takes longer than ``seconds``. Either way the caller gets a
:class:`PolicyLimitError` naming the limit, and its own memory never holds the bundle.

The running, trusted bundle never comes here: its decisions stay in process (about 1 ms).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from activities.policy.bundle import PolicyBundle, PolicyError, read_contents
from activities.policy.limits import BundleLimits, BundleTooLargeError, check_bundle_size
from api.core.settings import REPO_ROOT, Settings

# Starting the child (Python, regopy, for checks OPA's Go runtime) is not the bundle's
# doing, so it has its own bound, generous for a loaded machine.
STARTUP_SECONDS = 120.0
# An answer larger than this is a bundle producing huge output, refused as over the limit.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# How the child's stderr reads when an allocation failed: C++ (regopy), Go (OPA), Python.
_OUT_OF_MEMORY = ("bad_alloc", "out of memory", "MemoryError", "Cannot allocate memory")


@dataclass(kw_only=True, frozen=True)
class SandboxLimits:
    """What one sandbox process may use.

    Attributes:
        memory_mib: Memory beyond the child's size once started (``RLIMIT_AS``).
        seconds: Wall-clock time of one request (a compile, a batch of decisions, a check).
        seconds_setting: The setting ``seconds`` comes from, named when it is exceeded.
    """

    memory_mib: int
    seconds: float
    seconds_setting: str = "STEWARD_POLICY_SANDBOX_SECONDS"

    @classmethod
    def for_evaluation(cls, settings: Settings) -> SandboxLimits:
        """Limits for what-if bundles (``STEWARD_POLICY_SANDBOX_*``)."""
        return cls(
            memory_mib=settings.policy_sandbox_memory_mib,
            seconds=settings.policy_sandbox_seconds,
        )

    @classmethod
    def for_check(cls, settings: Settings) -> SandboxLimits:
        """Limits for reload checks (``STEWARD_POLICY_CHECK_SECONDS``)."""
        return cls(
            memory_mib=settings.policy_sandbox_memory_mib,
            seconds=settings.policy_check_seconds,
            seconds_setting="STEWARD_POLICY_CHECK_SECONDS",
        )


class PolicyLimitError(PolicyError):
    """A submitted policy exceeded the sandbox's memory or time limit; its process was killed."""


class PolicySandbox:
    """One child process answering requests one at a time; a limit breach kills it.

    Use it as a context manager, or call :meth:`close`. After a breach or crash the next
    request starts a fresh child (the caller has to load its bundle again).
    """

    def __init__(self, limits: SandboxLimits, *, mode: str = "evaluate") -> None:
        """Prepare a sandbox; the child starts on the first request.

        Args:
            limits: Memory and time limits.
            mode: ``evaluate`` (regopy only) or ``check`` (also OPA's engine).
        """
        self.limits = limits
        self._mode = mode
        self._what = "policy check" if mode == "check" else "policy evaluation"
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        self._buffer = b""
        # Reentrant: close() takes it too, so closing from another thread waits for a
        # request in flight instead of pulling the process from under it.
        self._lock = threading.RLock()

    def __enter__(self) -> PolicySandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """Whether a child is alive (a fresh one starts on demand otherwise)."""
        return self._process is not None and self._process.poll() is None

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return the child's answer.

        Raises:
            PolicyLimitError: The request went over the memory or time limit.
            PolicyError: The child answered an error (the bundle or input is at fault), or
                died for another reason.
        """
        with self._lock:
            if not self.running:
                self._start()
            line = (json.dumps(payload) + "\n").encode()
            try:
                assert self._process is not None and self._process.stdin is not None
                self._process.stdin.write(line)
                self._process.stdin.flush()
            except (BrokenPipeError, OSError):
                raise self._died() from None
            answer = self._read_answer(self.limits.seconds, what=self._what)
        if "limit" in answer:
            self.close()
            raise self._memory_error()
        if "error" in answer:
            raise PolicyError(str(answer["error"]))
        return answer

    def close(self) -> None:
        """Stop the child (killed: it holds nothing worth a graceful end)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        process, self._process = self._process, None
        self._buffer = b""
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _start(self) -> None:
        self.close()
        # Kept open while the child lives, closed in close(): read when it dies.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "activities.policy.sandbox_child"]
        self._process = subprocess.Popen(
            [*command, str(self.limits.memory_mib), self._mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            bufsize=0,
        )
        self._read_answer(STARTUP_SECONDS, what="starting the policy sandbox")

    def _read_answer(self, seconds: float, *, what: str) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + seconds
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.close()
                    setting = self.limits.seconds_setting if seconds == self.limits.seconds else ""
                    raise PolicyLimitError(
                        f"{what} exceeded {seconds:g} s and was stopped"
                        + (f" ({setting})" if setting else "")
                    )
                chunk = os.read(self._process.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise self._died()
                self._buffer += chunk
                if len(self._buffer) > MAX_ANSWER_BYTES:
                    self.close()
                    raise PolicyLimitError(
                        f"{what} produced more than {MAX_ANSWER_BYTES // 2**20} MiB of output"
                    )
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _died(self) -> PolicyError:
        """The error for a child that went away: a failed allocation, or a crash."""
        assert self._process is not None
        code = self._process.wait()
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode(errors="replace").strip()
        self.close()
        if code == -9 or any(marker in tail for marker in _OUT_OF_MEMORY):
            return self._memory_error()
        last = tail.splitlines()[-1] if tail else "no output"
        return PolicyError(f"the policy sandbox process died (exit code {code}): {last}")

    def _memory_error(self) -> PolicyLimitError:
        return PolicyLimitError(
            f"{self._what} exceeded {self.limits.memory_mib} MiB of memory and was stopped "
            "(STEWARD_POLICY_SANDBOX_MEMORY_MIB)"
        )


def load_in_sandbox(contents: dict[str, bytes], settings: Settings) -> str:
    """Check that a bundle's files compile and load within the limits, in a child process.

    Loading compiles, smoke-tests on an empty input and runs the data check, which is all
    an in-process compile of the same bytes does afterwards: a bundle that passes here
    is safe to compile in a worker.

    Returns:
        The bundle's sha256.

    Raises:
        BundleTooLargeError: Over a size limit (nothing was started).
        PolicyLimitError: Over the memory or time limit.
        PolicyError: It does not compile, or a file is not UTF-8.
    """
    check_bundle_size(contents, BundleLimits.from_settings(settings))
    try:
        files = {name: data.decode() for name, data in contents.items()}
    except UnicodeDecodeError as exc:
        raise PolicyError(f"a policy file is not UTF-8: {exc}") from exc
    with PolicySandbox(SandboxLimits.for_evaluation(settings)) as sandbox:
        sha: str = sandbox.request({"op": "load", "files": files})["bundle_sha256"]
    return sha


def reload_bundle(directory: Path, settings: Settings) -> PolicyBundle:
    """Read a policy directory, load it in the sandbox, then compile the same bytes here.

    How a worker's engine reloads: the directory may hold anything by then, so its bytes
    are read once, go through the size limits and the sandbox, and only then are compiled
    in this process for in-process decisions.

    Raises:
        PolicyError: Unreadable, does not compile, or breaks a limit (a size limit, or a
            :class:`PolicyLimitError` for memory and time).
    """
    contents = read_contents(directory)
    try:
        load_in_sandbox(contents, settings)
    except BundleTooLargeError as exc:
        raise PolicyError(exc.message) from exc
    return PolicyBundle.from_contents(directory, contents)
