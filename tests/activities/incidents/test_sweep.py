"""The incident sweeper against a real worker, dev server, API and ledger."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.incidents.sweep import sweep_incidents
from api.core.settings import Settings
from api.ledger.keys import ledger_signer
from api.ledger.store import incident_entries
from api.models import Approval, Incident
from api.services.sweep_schedule import ensure_sweep_schedule
from tests.api.services.audit.helpers import cli
from tests.support.cli import Steward
from tests.workflows.helpers import incident_input, start, steps, wait_for_approval
from workflows.incident_sweep import SWEEP_SCHEDULE_ID

pytestmark = pytest.mark.asyncio(loop_scope="session")


def row(engine: Engine, incident_id: str) -> Incident:
    with Session(engine) as session:
        found = session.get(Incident, incident_id)
        assert found is not None
        return found


async def wait_row_status(engine: Engine, incident_id: str, status: str) -> Incident:
    for _ in range(200):
        found = row(engine, incident_id)
        if found.status == status:
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{incident_id} never became {status}")


async def test_a_terminated_run_is_reported_repaired_ledgered_and_can_be_undone(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    handle = await start(temporal_env.client, settings, "test_apply_then_wait", incident_input())
    await wait_for_approval(engine, handle.id)
    assert demo.get("/admin/state").json()["replicas"] == 6
    await handle.terminate(reason="operator pulled the plug")
    ident = handle.id
    admin = {"X-API-Key": api_keys["admin"]}
    operator = {"X-API-Key": api_keys["operator"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        refused = await api.get("/api/v1/incidents/sweep", headers=operator)
        assert refused.status_code == 403
        report = await api.get("/api/v1/incidents/sweep", headers=admin)
        assert report.status_code == 200, report.text
        [finding] = report.json()["findings"]
        assert finding == {
            "incident_id": ident,
            "row_status": "awaiting_approval",
            "workflow_status": "terminated",
            "final_status": "failed",
            "reason": "its workflow terminated: terminated (operator pulled the plug)",
            "repaired": False,
        }
        assert row(engine, ident).status == "awaiting_approval"  # a report changes nothing
        # Before the repair, undo is refused: the row still says the run goes on.
        early = await api.post(f"/api/v1/incidents/{ident}/undo", headers=operator)
        assert early.status_code == 409 and "still running" in early.json()["detail"]

        steward = Steward(api_url, tmp_path / "xdg")
        shown = await steward("incidents", "sweep", key=api_keys["admin"])
        assert shown.exit_code == 0, shown.output
        assert f"{ident}: awaiting_approval (workflow terminated) would become failed" in (
            shown.stdout
        )
        repaired = await steward("incidents", "sweep", "--repair", "--json", key=api_keys["admin"])
        assert repaired.exit_code == 0, repaired.output
        assert json.loads(repaired.stdout)["findings"][0]["repaired"] is True

        closed = row(engine, ident)
        assert closed.status == "failed" and closed.outcome is not None
        assert closed.outcome["reason"] == finding["reason"]
        assert closed.outcome["applied"] == [{"step": 1, "actuator": "demo.scale"}]
        assert closed.outcome["swept"]["workflow_status"] == "terminated"
        with Session(engine) as session:
            approval = session.exec(select(Approval).where(Approval.incident_id == ident)).one()
        assert approval.status == "timeout" and "operator pulled the plug" in str(
            approval.decided_reason
        )
        last = incident_entries(engine, ident)[-1]
        assert last.kind == "outcome" and json.loads(last.payload)["status"] == "failed"
        again = await api.post("/api/v1/incidents/sweep", headers=admin)
        assert again.json()["findings"] == []

        undo = await api.post(f"/api/v1/incidents/{ident}/undo", headers=operator)
        assert undo.status_code == 202, undo.text
        undone = await temporal_env.client.get_workflow_handle(undo.json()["undo_id"]).result()
        assert undone["status"] == "resolved" and undone["compensated"] == [1]
    assert demo.get("/admin/state").json()["replicas"] == 2
    verified = await cli("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "ledger intact" in verified.output


async def test_failed_and_missing_workflows_are_closed_as_failed(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    crashed = await start(
        temporal_env.client, settings, "test_apply_then_broken_signal", incident_input()
    )
    for _ in range(100):
        if [s.status for s in steps(engine, crashed.id)] == ["applied"]:
            break
        await asyncio.sleep(0.1)
    await crashed.signal("explode")
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(crashed.result(), 30)
    with Session(engine) as session:
        session.add(
            Incident(
                id="inc-never-started",
                service="demo",
                signal="p95",
                severity="high",
                playbook="high_latency",
                status="open",
                opened_by="tester",
                window_start=datetime.now(UTC),
            )
        )
        session.commit()
    signer = ledger_signer(settings)
    client = temporal_env.client
    found = await sweep_incidents(client, engine, signer, repair=True)
    by_id = {f.incident_id: f for f in found}
    assert set(by_id) == {crashed.id, "inc-never-started"}
    assert by_id[crashed.id].workflow_status == "failed"
    assert by_id[crashed.id].reason == "its workflow failed: a bug in a signal handler"
    assert by_id["inc-never-started"].workflow_status == "missing"
    assert all(f.repaired and f.final_status == "failed" for f in found)
    assert row(engine, crashed.id).status == "failed"
    assert row(engine, "inc-never-started").status == "failed"
    assert await sweep_incidents(client, engine, signer, repair=True) == []
    verified = await cli("audit", "verify")
    assert verified.exit_code == 0, verified.output


async def test_the_schedule_sweeps_on_its_own(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    client = temporal_env.client
    handle = await start(client, settings, "test_apply_then_wait", incident_input())
    await wait_for_approval(engine, handle.id)
    await handle.terminate(reason="stuck")
    await ensure_sweep_schedule(client, settings)
    await ensure_sweep_schedule(client, settings)  # a second worker starting: no error
    schedule = client.get_schedule_handle(SWEEP_SCHEDULE_ID)
    try:
        described = await schedule.describe()
        spec = described.schedule.spec.intervals[0]
        assert spec.every.total_seconds() == settings.incident_sweep_seconds
        await schedule.trigger()
        closed = await wait_row_status(engine, handle.id, "failed")
    finally:
        await schedule.delete()
    assert closed.outcome is not None and "terminated (stuck)" in closed.outcome["reason"]
