"""New evidence for an open incident attaches to it (stored and signalled), never opens another."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from api.models.detection import IncidentEvidence
from api.schemas.incidents import IncidentCreate
from api.services.incidents import open_incident
from workflows.types import Evidence

pytestmark = pytest.mark.asyncio(loop_scope="session")


def evidence(key: str, score: float) -> Evidence:
    return Evidence(
        source="monitor:errors",
        dedup_key=key,
        observed_at="2026-11-23T10:00:00+00:00",
        score=score,
        explanation={"detector": "zscore", "baseline": 1.0, "threshold": 4.0, "driver": "value"},
    )


async def evidence_in_workflow(
    env: WorkflowEnvironment, ident: str, count: int
) -> list[dict[str, Any]]:
    handle = env.client.get_workflow_handle(ident)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = await handle.query("state")
        if len(state["evidence"]) >= count:
            return list(state["evidence"])
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{ident} never held {count} pieces of evidence")


async def test_evidence_attaches_to_the_open_incident(
    temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings, engine: Engine
) -> None:
    # Critical tier: the run waits for approval, so it is still open when evidence arrives.
    body = IncidentCreate(
        service="demo", signal="errors-evidence", severity="high", playbook="error_burst"
    )
    client = temporal_env.client
    with Session(engine) as session:
        first, created = await open_incident(
            client, session, settings, body, "monitor:errors", evidence("w1", 0.9)
        )
        assert created
        second, created_again = await open_incident(
            client, session, settings, body, "monitor:errors", evidence("w2", 0.95)
        )
        assert not created_again and second.id == first.id
        # The same evidence again is neither stored nor signalled twice.
        await open_incident(client, session, settings, body, "monitor:errors", evidence("w2", 0.95))
        rows = session.exec(
            select(IncidentEvidence).where(IncidentEvidence.incident_id == first.id)
        ).all()
    assert sorted(r.dedup_key for r in rows) == ["w1", "w2"]
    assert rows[0].explanation["detector"] == "zscore"
    found = await evidence_in_workflow(temporal_env, first.id, 2)
    await asyncio.sleep(0.3)  # a third, duplicate signal would land by now
    state = await client.get_workflow_handle(first.id).query("state")
    assert (
        [e["dedup_key"] for e in state["evidence"]]
        == ["w1", "w2"]
        == [e["dedup_key"] for e in found]
    )
    await client.get_workflow_handle(first.id).terminate("test done")


async def test_incident_detail_shows_its_evidence(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    api_url: str,
    api_keys: dict[str, str],
) -> None:
    body = IncidentCreate(
        service="demo", signal="errors-detail", severity="high", playbook="error_burst"
    )
    with Session(engine) as session:
        row, _ = await open_incident(
            temporal_env.client, session, settings, body, "monitor:errors", evidence("d1", 0.8)
        )
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        found = await api.get(
            f"/api/v1/incidents/{row.id}", headers={"X-API-Key": api_keys["auditor"]}
        )
    assert found.status_code == 200, found.text
    (shown,) = found.json()["evidence"]
    assert (shown["source"], shown["key"], shown["score"]) == ("monitor:errors", "d1", 0.8)
    assert shown["explanation"]["detector"] == "zscore"
    await temporal_env.client.get_workflow_handle(row.id).terminate("test done")
