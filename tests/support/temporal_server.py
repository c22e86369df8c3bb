"""A Temporal dev server that a test can stop and start again (the session's one cannot)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bench.harness.servers import LOCALHOST, free_port, port_accepts_connections


class RestartableTemporal:
    """``temporal server start-dev`` on a fixed port and database file, so a restart resumes.

    Attributes:
        address: ``host:port`` of its frontend, the same across restarts.
    """

    def __init__(self, binary: str, folder: Path) -> None:
        """Prepare (not start) a server keeping its state and log in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"{LOCALHOST}:{self.port}"
        self._argv = [
            binary,
            "server",
            "start-dev",
            "--ip",
            LOCALHOST,
            "--port",
            str(self.port),
            "--headless",
            "--db-filename",
            str(folder / "temporal.db"),
            "--log-level",
            "error",
        ]
        self._log = folder / "temporal.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until its frontend accepts connections.

        Raises:
            RuntimeError: It exited or did not listen within ``timeout``, with its log.
        """
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(self._argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not port_accepts_connections(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Temporal did not start: {self._log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until its port is closed."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would, and wait until it is gone."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait(5)
        self._process = None
