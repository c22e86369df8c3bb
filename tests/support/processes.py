"""Processes for tests: real server binaries (Prometheus, Alertmanager), a worker of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def serve_binary(
    name: str, argv: Sequence[str], log_path: Path, url: str, startup_timeout: float
) -> Iterator[str]:
    """Run ``argv``, logging to ``log_path``; yield ``url`` once its ``/-/ready`` answers 200.

    Raises:
        RuntimeError: When the process exits or is not ready within ``startup_timeout``,
            with its log.
    """
    with log_path.open("wb") as log:
        process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}: {log_path.read_text()}"
                )
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} was not ready in {startup_timeout} s: {log_path.read_text()}"
                )
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def spawn_worker(steward_env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``python -m workers.worker`` as its own process, with ``steward_env`` on top."""
    return subprocess.Popen(
        [sys.executable, "-m", "workers.worker"],
        env={**os.environ, **steward_env},
    )
