"""The real Prometheus (Debian package ``prometheus``) in a temporary folder, for tests and benches.

``run_prometheus(folder, targets)`` writes a config scraping ``targets`` every second, starts
``prometheus`` on a free port with its TSDB in ``folder`` and yields its base URL once it is
ready. A missing binary skips the test, or fails it under ``CI=true`` (see
``tests.support.db.missing_component``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.harness.servers import free_port
from tests.support.db import missing_component
from tests.support.processes import serve_binary
from workers.stack.prometheus import prometheus_command

SCRAPE_INTERVAL_SECONDS = 1


def prometheus_binary() -> str:
    """Return the path of ``prometheus``; skip (fail under CI) when it is not installed."""
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if found is None:
        missing_component(
            "the prometheus binary is missing: install the Debian package 'prometheus' "
            "('make unit' does)"
        )
        raise AssertionError("unreachable")  # missing_component skips or fails
    return found


@contextmanager
def run_prometheus(
    folder: Path,
    targets: Sequence[str],
    *,
    interval: int = SCRAPE_INTERVAL_SECONDS,
    startup_timeout: float = 30.0,
) -> Iterator[str]:
    """Run Prometheus scraping ``targets`` (``host:port``); yield its base URL.

    Raises:
        RuntimeError: When it exits or is not ready within ``startup_timeout``.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve_binary(
        "prometheus",
        list(prometheus_command(prometheus_binary(), folder, targets, interval, port)),
        folder / "prometheus.log",
        url,
        startup_timeout,
    ) as ready:
        yield ready


def wait_for_samples(url: str, query: str, count: int, timeout: float = 30.0) -> None:
    """Wait until ``query`` has at least ``count`` one-second points over the last minute."""
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        now = time.time()
        answer = httpx.post(
            f"{url}/api/v1/query_range",
            data={"query": query, "start": now - 60, "end": now, "step": 1},
            timeout=5,
        ).json()
        result = answer["data"]["result"]
        found = len(result[0]["values"]) if result else 0
        if found >= count:
            return
        time.sleep(0.25)
    raise TimeoutError(f"{query} had {found} of {count} points after {timeout} s")
