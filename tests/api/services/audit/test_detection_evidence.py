"""What a detector saw travels with the incident: into its evidence pack and its decision card."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from api.ledger.keys import ledger_signer
from api.schemas.incidents import IncidentCreate
from api.services.audit.pack_verify import verify_pack
from api.services.incidents import open_incident
from tests.api.services.audit.helpers import cli
from workflows.types import Evidence

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXPLANATION = {
    "detector": "ewma",
    "baseline": 42.0,
    "threshold": 4.0,
    "driver": "value",
    "reason": "p95 latency 410 ms is 9.1 deviations above its EWMA baseline 42 ms",
}


async def test_pack_and_card_carry_the_detectors_explanation(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    evidence = Evidence(
        source="monitor:latency",
        dedup_key="p95@1",
        observed_at="2026-11-23T10:00:00+00:00",
        score=0.97,
        explanation=EXPLANATION,
    )
    body = IncidentCreate(
        service="demo", signal="p95-evidence", severity="high", playbook="high_latency"
    )
    with Session(engine) as session:
        row, created = await open_incident(
            temporal_env.client, session, settings, body, "monitor:latency", evidence
        )
    assert created
    outcome = await temporal_env.client.get_workflow_handle(row.id).result()
    assert outcome["status"] == "resolved"
    headers = {"X-API-Key": api_keys["auditor"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        pack = await api.get(f"/api/v1/incidents/{row.id}/evidence", headers=headers)
        card = await api.get(f"/api/v1/incidents/{row.id}/card", headers=headers)
    assert pack.status_code == 200 and card.status_code == 200, card.text
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        detection = json.loads(archive.read("detection.json"))
    assert detection["explanation"] == EXPLANATION
    (stored,) = detection["evidence"]
    assert (stored["source"], stored["score"], stored["key"]) == ("monitor:latency", 0.97, "p95@1")
    # The start input in the (signed) history carries the same evidence.
    assert detection["workflow_input"]["evidence"][0]["explanation"] == EXPLANATION
    saved = tmp_path / "pack.zip"
    saved.write_bytes(pack.content)
    assert verify_pack(saved, ledger_signer(settings).public_key).ok
    detected = card.json()["detected"]
    assert detected["evidence"][0]["explanation"]["reason"].startswith("p95 latency 410 ms")
    text = await cli("audit", "card", row.id)
    assert "evidence monitor:latency" in text.stdout and "score 0.97" in text.stdout
