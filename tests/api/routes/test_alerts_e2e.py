"""End to end with the real Alertmanager: its webhook opens an incident, then annotates it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.worker import Worker

from api.models import Incident
from api.models.detection import AlertState
from tests.support.alertmanager import evidence_of
from tests.support.alertmanager_server import run_alertmanager

pytestmark = pytest.mark.asyncio(loop_scope="session")
T = TypeVar("T")
LABELS = {
    "alertname": "DemoHighLatency",
    "service": "demo",
    "severity": "critical",
    "playbook": "high_latency",
    "instance": "demo:8900",
}


async def eventually(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{what} within {timeout} s")


def state(engine: Engine) -> AlertState | None:
    with Session(engine) as session:
        return session.exec(select(AlertState)).first()


async def post_alert(alertmanager: str, starts: datetime, ends: datetime) -> None:
    alert: dict[str, Any] = {
        "labels": LABELS,
        "annotations": {"summary": "p95 above 200 ms for 5 minutes"},
        "startsAt": starts.isoformat(),
        "endsAt": ends.isoformat(),
        "generatorURL": "http://prometheus.test/graph?g0.expr=demo_p95_latency_seconds",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{alertmanager}/api/v2/alerts", json=[alert])
        assert answer.status_code == 200, answer.text


async def test_alertmanager_webhook_opens_then_annotates(
    api_url: str,
    api_keys: dict[str, str],
    worker: Worker,
    demo: httpx.Client,
    engine: Engine,
    tmp_path: Path,
) -> None:
    webhook = f"{api_url}/api/v1/alerts/alertmanager"
    with run_alertmanager(tmp_path / "alertmanager", webhook, api_keys["engineer"]) as am:
        starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        await post_alert(am, starts, starts + timedelta(hours=1))

        firing = await eventually(
            lambda: (s := state(engine)) and s.incident_id and s, "Steward saw the firing alert"
        )
        assert firing.status == "firing" and firing.labels == LABELS
        assert firing.starts_at == starts
        with Session(engine) as session:
            incident = session.get(Incident, firing.incident_id)
            assert incident is not None
            assert (incident.service, incident.signal, incident.severity, incident.playbook) == (
                "demo",
                "DemoHighLatency",
                "critical",
                "high_latency",
            )
            assert incident.opened_by == "engineer-user"
        [opened_with] = evidence_of(engine, incident.id)
        assert opened_with.source == "alertmanager"
        assert opened_with.explanation["status"] == "firing"
        assert opened_with.explanation["fingerprint"] == firing.fingerprint
        assert opened_with.explanation["receiver"] == "steward"
        assert opened_with.explanation["generator_url"].startswith("http://prometheus.test/")

        # Resolve: the same alert with an end in the past.
        ended = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        await post_alert(am, starts, ended)
        resolved = await eventually(
            lambda: (s := state(engine)) and s.status == "resolved" and s,
            "Steward saw the resolved alert",
        )
        assert resolved.incident_id == incident.id and resolved.ends_at == ended
        rows = evidence_of(engine, incident.id)
        assert [r.explanation["status"] for r in rows] == ["firing", "resolved"]
        assert rows[1].observed_at == ended
    with Session(engine) as session:
        assert len(session.exec(select(Incident)).all()) == 1  # resolved never opened another
