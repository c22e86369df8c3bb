"""Metric change -> incident open, on a local stack with the real Prometheus.

``python -m bench.metric_to_incident [--trials N] [--targets K]`` starts a file-backed dev server
(as ``steward up`` does), K demo targets (each its own process), the real ``prometheus``
scraping them every second, and one worker. Each trial creates a monitor (zscore over the
target's ``demo_p95_latency_seconds``, 1 s steps, a run every second), lets it run on the flat
baseline, injects 400 ms of latency and measures until the incident's workflow started (the
server's own start time). Targets are reused once their window holds no earlier spike.

Target: p99 < 2 s beyond the scrape interval. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select
from temporalio.client import Client

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.db import get_engine
from api.core.settings import get_settings
from api.models import Incident
from api.schemas.monitors import MonitorCreate
from api.services.monitors import create_monitor, delete_monitor
from bench.stats import percentile
from bench.throughput import connect, start_server
from workers.stack.prometheus import prometheus_command
from workers.worker import build_worker

SCRAPE_SECONDS = 1
WINDOW_SECONDS = 20  # a reused target waits until its window holds no earlier spike
PHASES = random.Random(4)


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_targets(count: int, home: Path) -> tuple[list[str], list[subprocess.Popen[bytes]]]:
    """Start ``count`` demo targets, each in its own process; return URLs and processes."""
    urls, processes = [], []
    for n in range(count):
        port = free_port()
        log = (home / f"demo{n}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "workers.demo_target", "--port", str(port)]
                + ["--log-level", "warning"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    for url in urls:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"demo target {url} did not start")
            time.sleep(0.2)
    return urls, processes


def start_prometheus(home: Path, targets: list[str]) -> tuple[str, subprocess.Popen[bytes]]:
    """Start the real Prometheus scraping ``targets`` every second; return its URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise SystemExit("prometheus is not installed (Debian package 'prometheus')")
    port = free_port()
    scraped = [t.removeprefix("http://") for t in targets]
    process = subprocess.Popen(
        prometheus_command(binary, home / "prometheus", scraped, SCRAPE_SECONDS, port),
        stdout=(home / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return url, process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("prometheus did not start")
        time.sleep(0.2)


def monitor_body(name: str, target: int, url: str) -> MonitorCreate:
    instance = url.removeprefix("http://")
    return MonitorCreate(
        name=name,
        service=f"demo{target}",
        signal=f"bench-{name}",
        severity="high",
        playbook="high_latency",
        source={
            "kind": "prometheus",
            "query": f'demo_p95_latency_seconds{{instance="{instance}"}}',
            "step_seconds": 1,
        },
        detector={"name": "zscore", "min_history": 8, "direction": "up"},
        interval_seconds=1,
        window_seconds=WINDOW_SECONDS,
    )


async def wait_for_incident(signal: str, timeout: float = 30.0) -> Incident:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(get_engine()) as session:
            row = session.exec(select(Incident).where(Incident.signal == signal)).first()
        if row is not None:
            return row
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no incident for {signal} within {timeout} s")


async def trial(client: Client, name: str, target: int, url: str) -> dict[str, float]:
    """One metric change -> incident measurement; returns seconds."""
    settings = get_settings()
    with Session(get_engine()) as session:
        await create_monitor(client, session, settings, monitor_body(name, target, url), "bench")
    # A few runs over the flat baseline first, then a random phase: the Schedule fires on whole
    # seconds and Prometheus scrapes at a fixed offset, so a fixed phase would measure one case.
    await asyncio.sleep(2.0 + PHASES.uniform(0.0, 1.0))
    async with httpx.AsyncClient() as http:
        changed = datetime.now(UTC)
        (await http.post(f"{url}/admin/faults", json={"latency_ms": 400})).raise_for_status()
        incident = await wait_for_incident(f"bench-{name}")
        handle = client.get_workflow_handle(incident.id)
        started = (await handle.describe()).start_time
        run_started, run_closed = await opening_run(client, name, incident.id)
        with Session(get_engine()) as session:
            await delete_monitor(client, session, settings, name)
        # Let the playbook finish (scale out, verify) rather than terminate it mid-activity.
        await asyncio.wait_for(handle.result(), 120)
        (await http.post(f"{url}/admin/reset")).raise_for_status()
    return {
        "latency_s": (started - changed).total_seconds(),
        "to_run_start_s": (run_started - changed).total_seconds(),
        "run_s": (run_closed - run_started).total_seconds(),
    }


async def opening_run(client: Client, name: str, incident_id: str) -> tuple[datetime, datetime]:
    """Start and close time of the detection run that opened ``incident_id``."""
    description = await client.get_schedule_handle(f"monitor-{name}").describe()
    for action in reversed(description.info.recent_actions):
        handle = client.get_workflow_handle(action.action.workflow_id)  # type: ignore[attr-defined]
        result = await handle.result()
        if result.get("incident_id") == incident_id and result.get("opened"):
            run = await handle.describe()
            assert run.close_time is not None
            return run.start_time, run.close_time
    raise RuntimeError(f"no run of {name} opened {incident_id}")


async def main(trials: int, targets: int) -> dict[str, Any]:
    logging.getLogger("steward").setLevel(logging.WARNING)
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        port = free_port()
        urls, demos = start_targets(targets, home)
        prometheus_url, prometheus = start_prometheus(home, urls)
        os.environ.update(
            STEWARD_HOME=str(home),
            STEWARD_SIGNING_KEY="bench-signing-key-0123456789",
            STEWARD_DATABASE_URL=f"sqlite:///{home / 'steward.db'}",
            STEWARD_TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
            STEWARD_TASK_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
            STEWARD_PROMETHEUS_URL=prometheus_url,
            STEWARD_TARGETS=json.dumps({f"demo{n}": url for n, url in enumerate(urls)}),
        )
        get_settings.cache_clear()
        settings = get_settings()
        server = start_server(home, port)
        results: list[dict[str, float]] = []
        try:
            client = await connect(port)
            async with httpx.AsyncClient() as http:
                worker = build_worker(client, settings, get_engine(), http, EmbeddedPolicyEngine())
                async with worker:
                    await asyncio.sleep(WINDOW_SECONDS)  # every target gets a full baseline
                    free_at = [0.0] * targets
                    for n in range(trials):
                        target = n % targets
                        await asyncio.sleep(max(0.0, free_at[target] - time.monotonic()))
                        results.append(await trial(client, f"m{n}", target, urls[target]))
                        free_at[target] = time.monotonic() + WINDOW_SECONDS + 2
        finally:
            server.terminate()
            server.wait(15)
            for process in [prometheus, *demos]:
                process.terminate()
                process.wait(15)
    latencies = [r["latency_s"] for r in results]
    beyond = [value - SCRAPE_SECONDS for value in latencies]

    def summary(key: str) -> dict[str, float]:
        values = [r[key] for r in results]
        return {"p50": round(percentile(values, 50), 3), "p99": round(percentile(values, 99), 3)}

    return {
        "benchmark": "metric_to_incident",
        "trials": trials,
        "scrape_interval_s": SCRAPE_SECONDS,
        "monitor_interval_s": 1,
        "detector": "zscore",
        "metric_change_to_incident_s": {
            "p50": round(percentile(latencies, 50), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(max(latencies), 3),
        },
        "breakdown_s": {
            "metric_change_to_detection_run_start": summary("to_run_start_s"),
            "detection_run_start_to_close": summary("run_s"),
        },
        "beyond_scrape_interval_s": {
            "p50": round(percentile(beyond, 50), 3),
            "p99": round(percentile(beyond, 99), 3),
            "target_p99": 2.0,
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--targets", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.trials, args.targets)), indent=2))
