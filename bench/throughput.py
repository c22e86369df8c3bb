"""Throughput and latency of Steward playbooks against bare Temporal workflows.

``python -m bench.throughput [--incidents N] [--concurrency C] [--workers W]`` starts a
file-backed dev server (SQLite with the WAL pragmas ``steward up`` uses) and, for each side in
turn, W worker processes on one task queue (``steward up``'s default count unless given: one
per core, at most 4), and measures in the same run:

* incidents/s of an auto-allowed 3-action playbook vs. bare workflows with 3 no-op
  activities (target ratio >= 0.5);
* incident opened -> first action applied at 20 concurrent incidents, from the server's own
  event timestamps (target p99 < 500 ms).

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from activities.names import ACTUATOR_APPLY, aliases_of
from api.core.converter import DATA_CONVERTER
from api.core.db import get_engine
from api.core.settings import default_worker_processes, get_settings
from bench.stats import percentile
from bench.worker import READY
from workers.stack.specs import temporal_server_argv
from workflows.types import IncidentInput

APPLY_NAMES = aliases_of(ACTUATOR_APPLY)


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    """Start the dev server the way ``steward up`` does and wait for its port."""
    binary = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    process = subprocess.Popen(
        temporal_server_argv(binary, home / "temporal.db", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # its shutdown warnings would bury the JSON
    )
    return process


async def connect(port: int) -> Client:
    """Connect once the server answers."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return await Client.connect(f"127.0.0.1:{port}", data_converter=DATA_CONVERTER)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


@asynccontextmanager
async def worker_processes(side: str, queue: str, count: int) -> AsyncIterator[None]:
    """Run ``count`` :mod:`bench.worker` processes for ``side`` until the block ends."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.worker", side, queue],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.to_thread(process.stdout.readline)
            if line.strip() != READY:
                raise RuntimeError(f"a {side} worker exited before it was ready")
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def incident() -> IncidentInput:
    return IncidentInput(
        service="bench",
        signal="bench",
        severity="low",
        opened_by="bench",
        window_start=datetime.now(UTC).isoformat(),
    )


async def run_batch(
    client: Client, workflow: str, n: int, concurrency: int, queue: str
) -> tuple[float, list[str]]:
    """Run ``n`` workflows, at most ``concurrency`` at a time; return elapsed seconds and ids."""
    gate = asyncio.Semaphore(concurrency)
    ids: list[str] = []

    async def one() -> None:
        async with gate:
            ident = f"{workflow}-{uuid.uuid4().hex[:12]}"
            ids.append(ident)
            handle = await client.start_workflow(workflow, incident(), id=ident, task_queue=queue)
            await handle.result()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return time.perf_counter() - started, ids


async def first_apply_latency_ms(client: Client, ident: str) -> float:
    """Server time from workflow start to the first completed apply (either of its names)."""
    events = (await client.get_workflow_handle(ident).fetch_history()).events
    started = events[0].event_time.ToDatetime()
    scheduled: dict[int, str] = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    for e in events:
        if e.HasField("activity_task_completed_event_attributes"):
            attrs = e.activity_task_completed_event_attributes
            if scheduled.get(attrs.scheduled_event_id) in APPLY_NAMES:
                return (e.event_time.ToDatetime() - started).total_seconds() * 1000
    raise RuntimeError(f"{ident} applied nothing")


async def main(incidents: int, concurrency: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        port = 17233 + os.getpid() % 1000
        os.environ.update(
            STEWARD_HOME=str(home),
            STEWARD_SIGNING_KEY="bench-signing-key-0123456789",
            STEWARD_DATABASE_URL=f"sqlite:///{home / 'steward.db'}",
            STEWARD_TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
        )
        get_settings.cache_clear()
        get_engine()  # migrate once, before the workers share the database
        server = start_server(home, port)
        try:
            client = await connect(port)
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            async with worker_processes("bare", queue + "-bare", workers):
                await run_batch(client, "bench_bare", 10, concurrency, queue + "-bare")  # warm up
                bare_s, _ = await run_batch(
                    client, "bench_bare", incidents, concurrency, queue + "-bare"
                )
            async with worker_processes("steward", queue, workers):
                await run_batch(client, "bench_three_actions", 10, concurrency, queue)
                steward_s, _ = await run_batch(
                    client, "bench_three_actions", incidents, concurrency, queue
                )
                _, ids = await run_batch(client, "bench_three_actions", 20, 20, queue)
                latencies = [await first_apply_latency_ms(client, i) for i in ids]
        finally:
            server.terminate()
            server.wait(15)
    bare_rate, steward_rate = incidents / bare_s, incidents / steward_s
    return {
        "benchmark": "throughput",
        "incidents": incidents,
        "concurrency": concurrency,
        "worker_processes": workers,
        "bare_workflows_per_s": round(bare_rate, 2),
        "steward_incidents_per_s": round(steward_rate, 2),
        "ratio": round(steward_rate / bare_rate, 3),
        "target_ratio": 0.5,
        "first_action_latency_ms": {
            "concurrent": 20,
            "p50": round(percentile(latencies, 50), 1),
            "p99": round(percentile(latencies, 99), 1),
            "target_p99": 500,
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=default_worker_processes())
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    print(json.dumps(asyncio.run(main(args.incidents, args.concurrency, args.workers)), indent=2))
