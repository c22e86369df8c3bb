"""An unauthenticated flood against the API: what it costs authenticated callers and the database.

Run ``python -m bench.refusals [--seconds S] [--flooders N] [--checkout PATH]``; prints one JSON
object. The API runs as its own process (uvicorn) on a fresh SQLite database, from this checkout
or, with ``--checkout``, from another one with its own ``.venv`` (e.g. a worktree at be74ff8, to
compare before and after). For ``seconds`` an authenticated
caller reads ``/api/v1/incidents`` in a loop, first alone, then while ``flooders`` concurrent
clients send requests without a key. The result holds the caller's p50/p99 both times, the
flood's request count and answers, and the rows the flood added to the database.

At be74ff8 the same kind of flood (``wrk``, 30 s, no key) wrote one ``refused_request`` row per
request (8,228) and slowed incident requests by about 40 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.stats import percentile


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# Run by the checkout under test, so that its own migrations make the database.
_MAKE_KEY = """
import sys
from sqlmodel import Session
from api.services.keys import create_api_key
from api.core.db import make_engine, migrate
engine = make_engine(sys.argv[1])
migrate(engine)
with Session(engine) as session:
    _, token = create_api_key(session, "bench", ["auditor"])
    session.commit()
print(token)
"""


def _auditor_key(python: str, checkout: Path | None, database_url: str) -> str:
    made = subprocess.run(
        [python, "-c", _MAKE_KEY, database_url],
        cwd=checkout,
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip().splitlines()[-1]


async def _read_loop(url: str, key: str, seconds: float) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30) as api:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            (await api.get("/api/v1/incidents", params={"limit": 20})).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def _flood(url: str, seconds: float, answers: Counter[int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answers[(await api.get("/api/v1/incidents")).status_code] += 1


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
    }


def _refusal_rows(database: Path) -> tuple[int, int]:
    """Return (rows, refusals recorded) from whichever refusal table the checkout has."""
    with create_engine(f"sqlite:///{database}").connect() as connection:
        tables = set(
            connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars()
        )
        if "refusal_count" in tables:
            row = connection.execute(text("SELECT count(*), sum(count) FROM refusal_count")).one()
            return int(row[0]), int(row[1] or 0)
        rows = int(connection.execute(text("SELECT count(*) FROM refused_request")).scalar_one())
        return rows, rows


async def run(seconds: float, flooders: int, checkout: Path | None = None) -> dict[str, Any]:
    """Measure the authenticated caller alone and under the flood; return the report."""
    with tempfile.TemporaryDirectory(prefix="steward-bench-refusals-") as folder:
        database = Path(folder) / "steward.db"
        port = _free_port()
        env = {
            **os.environ,
            "STEWARD_HOME": str(Path(folder) / "home"),
            "STEWARD_DATABASE_URL": f"sqlite:///{database}",
            # The measured caller's own key must not be what limits it.
            "STEWARD_RATE_LIMIT_PER_MINUTE": "1000000",
            "STEWARD_RATE_LIMIT_BURST": "100000",
        }
        python = str(checkout / ".venv/bin/python") if checkout else sys.executable
        key = _auditor_key(python, checkout, env["STEWARD_DATABASE_URL"])
        server = subprocess.Popen(
            [python, "-m", "uvicorn", "api.main:app", "--port", str(port)]
            + ["--log-level", "error"],
            env=env,
            cwd=checkout,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            await _read_loop(url, key, 1.0)  # warm-up
            alone = await _read_loop(url, key, seconds)
            answers: Counter[int] = Counter()
            flooding = [asyncio.create_task(_flood(url, seconds, answers)) for _ in range(flooders)]
            flooded = await _read_loop(url, key, seconds)
            await asyncio.gather(*flooding)
        finally:
            server.terminate()
            server.wait(15)
        rows = _refusal_rows(database)
    return {
        "checkout": str(checkout or Path.cwd()),
        "seconds": seconds,
        "flooders": flooders,
        "alone": _summary(alone),
        "under_flood": _summary(flooded),
        "p99_ratio": round(percentile(flooded, 99) / percentile(alone, 99), 2),
        "flood_requests": sum(answers.values()),
        "flood_answers": {str(code): n for code, n in sorted(answers.items())},
        "refusal_rows": rows[0],
        "refusals_counted": rows[1],
    }


def main() -> None:
    """Parse the arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--flooders", type=int, default=8)
    parser.add_argument("--checkout", type=Path, default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.seconds, args.flooders, args.checkout)), indent=2))


if __name__ == "__main__":
    main()
