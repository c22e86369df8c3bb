"""End to end: the real Prometheus scrapes the demo target; a monitor created over the API
opens an incident when latency is injected, and a later anomaly attaches to it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.worker import Worker

from api.models.detection import IncidentEvidence
from tests.support import monitors as support_monitors
from tests.support.monitors import MonitorNames
from tests.support.prometheus import run_prometheus, wait_for_samples

monitor_names = support_monitors.monitor_names
pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    # One fingerprint window for the whole test: both anomalies must land on one incident
    # even if a 15-minute window boundary falls between them.
    pytest.mark.steward_env(STEWARD_INCIDENT_WINDOW_SECONDS=str(10**9)),
]

LATENCY = 'demo_p95_latency_seconds{job="demo"}'


@pytest.fixture
def prometheus_url(demo_url: str, tmp_path: Path) -> Iterator[str]:
    with run_prometheus(tmp_path / "prometheus", [urlparse(demo_url).netloc]) as url:
        yield url


def monitor(name: str, query: str = LATENCY) -> dict[str, Any]:
    return {
        "name": name,
        "service": "demo",
        "signal": f"latency-{name}",
        "severity": "high",
        "playbook": "high_latency",
        "source": {"kind": "prometheus", "query": query, "step_seconds": 1},
        "detector": {"name": "zscore", "min_history": 5, "direction": "up"},
        "interval_seconds": 1,
        "window_seconds": 60,
    }


async def incidents_of(api: httpx.AsyncClient, key: str, signal: str) -> list[dict[str, Any]]:
    found = (await api.get("/api/v1/incidents", headers={"X-API-Key": key})).json()
    return [i for i in found if i["signal"] == signal]


def evidence(engine: Engine, incident_id: str) -> list[IncidentEvidence]:
    with Session(engine) as session:
        query = select(IncidentEvidence).where(IncidentEvidence.incident_id == incident_id)
        return list(session.exec(query.order_by(col(IncidentEvidence.id))).all())


async def eventually(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {timeout} s")


async def test_injected_latency_opens_one_incident_and_more_evidence_attaches(
    prometheus_url: str,
    api_url: str,
    api_keys: dict[str, str],
    worker: Worker,
    demo: httpx.Client,
    engine: Engine,
    monitor_names: MonitorNames,
) -> None:
    await asyncio.to_thread(wait_for_samples, prometheus_url, LATENCY, 8)
    name = monitor_names("latency")
    signal = f"latency-{name}"
    key = api_keys["engineer"]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        created = await api.post("/api/v1/monitors", json=monitor(name), headers={"X-API-Key": key})
        assert created.status_code == 201, created.text
        await asyncio.sleep(3)  # a few runs over the flat baseline
        assert await incidents_of(api, key, signal) == []

        demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
        injected = time.monotonic()
        [incident] = await eventually(lambda: incidents_of(api, key, signal), 20, "an incident")
        took = time.monotonic() - injected
        assert incident["playbook"] == "high_latency"
        assert incident["opened_by"] == f"monitor:{name}"
        [first] = evidence(engine, incident["id"])
        assert first.source == f"monitor:{name}" and first.score is not None and first.score > 0.5
        explained = first.explanation
        assert explained["detector"] == "zscore" and explained["source"] == "prometheus"
        assert explained["baseline"] == pytest.approx(0.040, abs=1e-6)  # 40 ms, flat
        assert explained["value"] > 0.2 and explained["z"] > 4
        assert explained["series"]["job"] == "demo"
        assert took < 10, f"metric change -> incident took {took:.1f} s"

        # A much larger spike later is new evidence for the same incident, not a new one.
        # The detector absorbs a level shift after about three points, so a run that a busy
        # machine delays past them misses it; each further step up is a fresh shift.
        async def two_pieces() -> list[IncidentEvidence]:
            found = evidence(engine, incident["id"])
            return found if len(found) >= 2 else []

        pieces: list[IncidentEvidence] = []
        for latency_ms in (5000, 20_000, 80_000):
            demo.post("/admin/faults", json={"latency_ms": latency_ms}).raise_for_status()
            with contextlib.suppress(TimeoutError):
                pieces = await eventually(two_pieces, 10, "a second piece of evidence")
                break
        assert pieces, "no larger spike became a second piece of evidence"
        assert len({p.dedup_key for p in pieces}) == len(pieces)
        assert all(p.source == f"monitor:{name}" for p in pieces)
        assert pieces[-1].explanation["value"] > explained["value"]
        assert [i["id"] for i in await incidents_of(api, key, signal)] == [incident["id"]]
        deleted = await api.delete(f"/api/v1/monitors/{name}", headers={"X-API-Key": key})
        assert deleted.status_code == 204


async def test_a_query_prometheus_rejects_fails_the_run_with_its_message(
    prometheus_url: str,
    api_url: str,
    api_keys: dict[str, str],
    worker: Worker,
    monitor_names: MonitorNames,
) -> None:
    name = monitor_names("broken")
    headers = {"X-API-Key": api_keys["engineer"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        body = {**monitor(name, query="rate(demo_p95_latency_seconds"), "paused": True}
        assert (await api.post("/api/v1/monitors", json=body, headers=headers)).status_code == 201
        started = time.monotonic()
        ran = await api.post(
            f"/api/v1/monitors/{name}/run", params={"wait": "true"}, headers=headers
        )
    assert ran.status_code == 200, ran.text
    assert ran.json()["status"] == "failed"
    assert "Prometheus rejected the query (400 bad_data" in ran.json()["error"]
    assert "parse error" in ran.json()["error"]
    assert time.monotonic() - started < 5  # not retried
