"""Undo: reverse applied actions newest first, gated and approved like any action; refusals."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings
from api.ledger.keys import ledger_verifier
from api.services.audit.undo import start_undo
from tests.api.services.audit.helpers import cli, ledger, run_playbook
from tests.api.services.audit.playbooks import ScaleAndPurge
from tests.api.services.audit.policies import undo_needs_approval
from tests.workflows.helpers import incident_input, running_worker, start, wait_for_approval
from workflows.types import ApprovalDecision, PlaybookOutcome

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def strict_queue(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine, tmp_path: Path
) -> AsyncIterator[str]:
    """A second worker whose policy allows everything but makes undo steps wait for approval."""
    queue = f"{settings.task_queue}-strict"
    policy = EmbeddedPolicyEngine(undo_needs_approval(tmp_path / "undo-policy"))
    async with running_worker(
        temporal_env.client,
        settings,
        engine,
        policy=policy,
        task_queue=queue,
        extra_workflows=[ScaleAndPurge],
    ):
        yield queue


async def test_undo_over_the_api_restores_and_a_second_undo_is_refused(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    incident, outcome = await run_playbook(temporal_env.client, settings, "high_latency")
    assert outcome.status == "resolved" and demo.get("/admin/state").json()["replicas"] == 8
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        headers = {"X-API-Key": api_keys["operator"]}
        started = await api.post(f"/api/v1/incidents/{incident}/undo", headers=headers)
        assert started.status_code == 202, started.text
        body = started.json()
        assert body["undo_id"] == f"{incident}-undo" and body["irreversible"] == []
        assert [(u["step"], u["actuator"], u["before"]) for u in body["undoing"]] == [
            (1, "demo.scale", {"replicas": 2})
        ]
        undone = await temporal_env.client.get_workflow_handle(body["undo_id"]).result()
        assert undone["status"] == "resolved" and undone["compensated"] == [1]
        assert demo.get("/admin/state").json()["replicas"] == 2
        again = await api.post(f"/api/v1/incidents/{incident}/undo", headers=headers)
        assert again.status_code == 409 and "already undone" in again.json()["detail"]
        card = (await api.get(f"/api/v1/incidents/{incident}/card", headers=headers)).json()
    assert card["undo"]["status"] == "resolved" and card["undo"]["undone_steps"] == [1]
    assert card["undo"]["by"] == "operator-user"
    second = await cli("undo", incident)
    assert second.exit_code == 1 and "undo refused" in second.output
    assert "already undone" in second.output
    kinds = [e["kind"] for e in ledger(engine, body["undo_id"])]
    assert kinds == ["opened", "decision", "undo", "outcome"]
    assert (await cli("audit", "verify", "--incident", body["undo_id"])).exit_code == 0


async def test_each_undo_step_is_gated_and_approved_and_irreversible_ones_listed(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    strict_queue: str,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
) -> None:
    client = temporal_env.client
    handle = await client.start_workflow(
        "test_scale_and_purge",
        incident_input(),
        id=f"inc-test-{uuid.uuid4().hex[:12]}",
        task_queue=strict_queue,
        result_type=PlaybookOutcome,
    )
    assert (await handle.result()).status == "resolved"
    strict = settings.model_copy(update={"task_queue": strict_queue})
    plan = await start_undo(client, engine, strict, ledger_verifier(settings), handle.id, "uma")
    assert plan.irreversible == ["step 2 demo.purge_cache"]
    assert [t.step for t in plan.targets] == [1]
    approval = await wait_for_approval(engine, plan.undo_id)
    assert approval.actuator == "demo.scale" and demo.get("/admin/state").json()["replicas"] == 6
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        voted = await api.post(
            f"/api/v1/approvals/{approval.id}/decision",
            json={"decision": "approve", "comment": "put it back"},
            headers={"X-API-Key": api_keys["operator"]},
        )
    assert voted.status_code == 200, voted.text
    undo = client.get_workflow_handle(plan.undo_id, result_type=PlaybookOutcome)
    outcome = await undo.result()
    assert outcome.status == "resolved" and outcome.compensated == [1]
    assert outcome.irreversible == ["step 2 demo.purge_cache"]
    assert demo.get("/admin/state").json()["replicas"] == 2
    entries = ledger(engine, plan.undo_id)
    decision = json.loads(entries[1]["payload"])
    assert decision["gate_input"]["requester"] == "undo"
    assert decision["decision"]["rules"] == ["test_undo_approval"]
    assert [e["kind"] for e in entries[2:]] == [
        "approval_requested",
        "vote",
        "approval_decided",
        "decision",  # decided again at dispatch, with the facts of then
        "undo",
        "outcome",
    ]
    redecided = json.loads(entries[5]["payload"])
    assert redecided["round"] == 2 and redecided["gate_input"]["requester"] == "undo"


async def test_undo_refuses_running_never_applied_and_compensated_incidents(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    client = temporal_env.client
    running = await start(client, settings, "error_burst", incident_input("errors"))
    approval = await wait_for_approval(engine, running.id)
    refused = await cli("undo", running.id)
    assert refused.exit_code == 1 and "still running (status awaiting_approval)" in refused.output
    await running.execute_update(
        "decide",
        ApprovalDecision(
            step=approval.step, principal="olivia", roles=["operator"], decision="reject"
        ),
        result_type=str,
    )
    assert (await running.result()).status == "rejected"
    never = await cli("undo", running.id)
    assert never.exit_code == 1 and "never applied an action (status rejected)" in never.output

    compensated, outcome = await run_playbook(client, settings, "test_compensating")
    assert outcome.status == "rolled_back"
    nothing = await cli("undo", compensated)
    assert nothing.exit_code == 1
    assert "step(s) 1, 2 were compensated; irreversible: step 3 demo.purge_cache" in nothing.output
    unknown = await cli("undo", "inc-nobody")
    assert unknown.exit_code == 2 and "no incident 'inc-nobody'" in unknown.output
