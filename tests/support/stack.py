"""Running ``steward up`` (the supervisor) as a real process on private ports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bench.harness.servers import free_port

PYTHON = sys.executable
STARTED = re.compile(r"^started (\S+) \(pid (\d+)\)$", re.MULTILINE)


def stack_env(home: Path) -> dict[str, str]:
    """An environment that points the supervisor at a private home and free ports."""
    return {
        **os.environ,
        "STEWARD_HOME": str(home),
        "STEWARD_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "STEWARD_TEMPORAL_UI_PORT": str(free_port()),
        "STEWARD_API_PORT": str(free_port()),
        "STEWARD_DEMO_PORT": str(free_port()),
        "STEWARD_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
        "STEWARD_PROMETHEUS_SCRAPE_SECONDS": "1",
        "STEWARD_DATABASE_URL": f"sqlite:///{home / 'steward.db'}",
    }


def run_supervisor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m workers.supervisor`` to its end (30 s at most) and return what it printed."""
    return subprocess.run(
        [PYTHON, "-m", "workers.supervisor"], env=env, capture_output=True, text=True, timeout=30
    )


def started_pids(output: str) -> dict[str, int]:
    """The pid of each child the supervisor announced as started in ``output``, by name."""
    return {name: int(pid) for name, pid in STARTED.findall(output)}


def still_running(output: str) -> list[int]:
    """The pids announced in ``output`` that still exist (the supervisor reaps its children)."""
    return [pid for pid in started_pids(output).values() if Path(f"/proc/{pid}").exists()]
