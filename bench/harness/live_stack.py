"""The real stack under the real supervisor (``steward up``) on free ports, for chaos and soak.

Temporal (dev server on a SQLite file), the demo target, the workers and the API run as
``steward up`` children under a temporary ``STEWARD_HOME``. The supervisor restarts whatever is
killed; :class:`LiveStack` knows each child's current pid from the supervisor's ``started``
lines, kills children with SIGKILL, and talks to the API with retries while parts are down.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlmodel import Session

from api.services.keys import create_api_key
from bench.harness.servers import free_port

REPO = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"^started (\S+) \(pid (\d+)\)$")
FINAL = {"resolved", "denied", "rejected", "rolled_back", "failed"}
# Answers that mean "a part of the stack is down or restarting: send the same request again".
RETRY_STATUSES = {500, 502, 503, 504}


def relaxed_policy(into: Path, *, circuit_breaker: bool = True) -> Path:
    """Copy the shipped policy with rate limits raised, so dozens of incidents are not denied.

    Args:
        into: Folder to create.
        circuit_breaker: Keep the breaker (scale-outs that keep failing verification then ask
            for approval); False sets its threshold to 0 %, so it never opens.
    """
    shutil.copytree(REPO / "policies", into)
    data_file = into / "data.json"
    data = json.loads(data_file.read_text())
    for limit in data["steward"]["config"]["rate_limits"]:
        limit["max"] = 100_000
    if not circuit_breaker:
        data["steward"]["config"]["circuit_breaker"]["threshold_percent"] = 0
    data_file.write_text(json.dumps(data, indent=2))
    return into


class LiveStack:
    """``steward up`` in a child process, plus what a test needs to drive and break it.

    Args:
        home: Empty folder used as ``STEWARD_HOME``.
        workers: Worker processes (``STEWARD_WORKER_PROCESSES``).
        circuit_breaker: Whether the policy's circuit breaker may open (see
            :func:`relaxed_policy`).
    """

    def __init__(self, home: Path, *, workers: int = 2, circuit_breaker: bool = True) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.db_path = home / "steward.db"
        self.api_port, self.demo_port = free_port(), free_port()
        self.temporal_port = free_port()
        self.env = {
            **os.environ,
            "STEWARD_HOME": str(home),
            "STEWARD_DATABASE_URL": f"sqlite:///{self.db_path}",
            "STEWARD_SIGNING_KEY": "live-stack-signing-key-0123456789",
            "STEWARD_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "STEWARD_TEMPORAL_UI_PORT": str(free_port()),
            "STEWARD_API_PORT": str(self.api_port),
            "STEWARD_DEMO_PORT": str(self.demo_port),
            "STEWARD_WORKER_PROCESSES": str(workers),
            "STEWARD_POLICY_DIR": str(
                relaxed_policy(home / "policies", circuit_breaker=circuit_breaker)
            ),
            # Not this machine, so steward up does not run a Prometheus of its own.
            "STEWARD_PROMETHEUS_URL": "http://metrics.example:9090",
        }
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.demo_url = f"http://127.0.0.1:{self.demo_port}"
        self.output: list[str] = []
        self.pids: dict[str, int] = {}
        self.starts: dict[str, int] = {}
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self.process: subprocess.Popen[str] | None = None
        self.http = httpx.Client(timeout=10)

    def start(self, timeout: float = 120.0) -> None:
        """Start ``steward up`` and wait until every child is ready."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workers.supervisor"],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_output("Ctrl-C stops everything", timeout)

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.output.append(line)
                found = STARTED.match(line.strip())
                if found:
                    self.pids[found[1]] = int(found[2])
                    self.starts[found[1]] = self.starts.get(found[1], 0) + 1
        self._lines.put(None)

    def text(self) -> str:
        """Everything the supervisor printed so far."""
        with self._lock:
            return "".join(self.output)

    def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until the supervisor printed ``text``.

        Raises:
            RuntimeError: It exited first or the time ran out, with its output.
        """
        deadline = time.monotonic() + timeout
        while text not in self.text():
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"steward up never printed {text!r}:\n{self.text()}")
            time.sleep(0.1)

    def children(self) -> list[str]:
        """Names of the supervisor's children."""
        with self._lock:
            return sorted(self.pids)

    def kill(self, name: str, *, restart_timeout: float = 60.0) -> None:
        """SIGKILL child ``name`` and wait until the supervisor has started it again."""
        with self._lock:
            pid, starts = self.pids[name], self.starts[name]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + restart_timeout
        while True:
            with self._lock:
                if self.starts[name] > starts:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} was not restarted:\n{self.text()}")
            time.sleep(0.1)

    def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the API says Temporal answers and a worker polls; return its health."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                health = self.http.get(f"{self.api_url}/healthz", timeout=3).json()
                if health["temporal"] == "ok" and health["workers"].endswith("polling"):
                    return dict(health)
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the stack did not become healthy again")
            time.sleep(0.3)

    def make_keys(self) -> dict[str, str]:
        """Create an ``engineer`` key (opens incidents) and an ``operator`` key (votes)."""
        engine = create_engine(f"sqlite:///{self.db_path}")
        keys: dict[str, str] = {}
        with Session(engine) as session:
            for name, roles in {"engineer": ["engineer"], "operator": ["operator"]}.items():
                _, keys[name] = create_api_key(session, f"live-{name}", roles)
            session.commit()
        engine.dispose()
        return keys

    def request(
        self, method: str, path: str, key: str, *, timeout: float = 90.0, **kwargs: Any
    ) -> httpx.Response:
        """Send an API request again and again while the stack is down or restarting."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = self.http.request(
                    method, f"{self.api_url}{path}", headers={"X-API-Key": key}, **kwargs
                )
                if answer.status_code not in RETRY_STATUSES:
                    return answer
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path} got no answer in {timeout}s")
            time.sleep(0.3)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the app database directly (what the API itself would show)."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            return list(db.execute(sql, args).fetchall())

    def rss_kib(self) -> dict[str, int]:
        """Resident memory of every child (with its own children), by name, in KiB."""
        with self._lock:
            pids = dict(self.pids)
        return {name: _tree_rss_kib(pid) for name, pid in sorted(pids.items())}

    def stop(self) -> int | None:
        """Stop the stack (Ctrl-C); return the supervisor's exit code."""
        self.http.close()
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)


def _tree_rss_kib(pid: int) -> int:
    total = 0
    for member in [pid, *_descendants(pid)]:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = [int(child) for child in children]
    return found + [grandchild for child in found for grandchild in _descendants(child)]
