"""Playbooks end to end on the real dev server, demo target and policy bundle."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from tests.workflows.helpers import incident_input, start, steps, wait_for_approval
from workflows.types import ApprovalDecision

pytestmark = pytest.mark.asyncio(loop_scope="session")


def applied_actions(demo: httpx.Client) -> list[str]:
    return [a["action"] for a in demo.get("/admin/actions").json()]


async def test_auto_allowed_scale_out_resolves(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    handle = await start(temporal_env.client, settings, "high_latency", incident_input())
    outcome = await handle.result()
    assert outcome.status == "resolved", outcome
    assert demo.get("/admin/state").json()["replicas"] == 8
    rows = steps(engine, handle.id)
    act = rows[0]
    assert (act.kind, act.name, act.status) == ("act", "demo.scale", "applied")
    assert act.decision is not None and act.decision["outcome"] == "allow"
    assert len(act.decision["bundle_sha256"]) == 64
    assert act.before == {"replicas": 2}
    assert (rows[1].kind, rows[1].status) == ("verify", "passed")


async def test_denied_action_stops_without_applying(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "high_latency", incident_input(replicas=40))
    outcome = await handle.result()
    assert outcome.status == "denied"
    assert "exceeds the limit" in outcome.reason
    assert applied_actions(demo) == []
    assert steps(engine, handle.id)[0].status == "denied"


async def test_approval_approved_applies_the_critical_action(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json={"error_rate": 0.3}).raise_for_status()
    handle = await start(temporal_env.client, settings, "error_burst", incident_input("errors"))
    approval = await wait_for_approval(engine, handle.id)
    assert approval.actuator == "demo.restart" and approval.roles == ["operator"]
    assert applied_actions(demo) == []
    status = await handle.execute_update(
        "decide",
        ApprovalDecision(
            step=approval.step,
            principal="olivia",
            roles=["operator"],
            decision="approve",
            comment="go",
        ),
        result_type=str,
    )
    assert status == "approved"
    outcome = await handle.result()
    assert outcome.status == "resolved", outcome
    assert applied_actions(demo) == ["restart", "cache_purge"]


async def test_rejected_approval_stops(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "error_burst", incident_input("errors"))
    approval = await wait_for_approval(engine, handle.id)
    await handle.execute_update(
        "decide",
        ApprovalDecision(
            step=approval.step,
            principal="olivia",
            roles=["operator"],
            decision="reject",
            comment="not now",
        ),
        result_type=str,
    )
    outcome = await handle.result()
    assert outcome.status == "rejected"
    assert "rejected by olivia" in outcome.reason
    assert applied_actions(demo) == []


async def test_ineligible_approver_is_refused_by_the_validator(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "error_burst", incident_input("errors"))
    approval = await wait_for_approval(engine, handle.id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "decide",
            ApprovalDecision(
                step=approval.step, principal="audrey", roles=["auditor"], decision="approve"
            ),
            result_type=str,
        )
    assert "needs one of the roles operator" in str(refused.value.cause)
    # The refused vote left no trace in history: the approval is still pending.
    assert (await handle.query("state"))["pending_approvals"] == [approval.step]
    await handle.execute_update(
        "decide",
        ApprovalDecision(
            step=approval.step, principal="olivia", roles=["operator"], decision="reject"
        ),
        result_type=str,
    )
    assert (await handle.result()).status == "rejected"


async def test_failed_verification_compensates_in_reverse_order(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "test_compensating", incident_input())
    outcome = await handle.result()
    assert outcome.status == "rolled_back"
    assert outcome.compensated == [2, 1]  # scale undone first, then the flag
    assert outcome.irreversible == ["step 3 demo.purge_cache"]
    state = demo.get("/admin/state").json()
    assert state["replicas"] == 2
    assert state["flags"].get("safe_mode") is False
    log = demo.get("/admin/actions").json()
    assert [a["action"] for a in log] == ["set_flag", "scale", "cache_purge", "scale", "set_flag"]
    assert log[3]["body"] == {"replicas": 2}
    undo_rows = [s for s in steps(engine, handle.id) if s.kind == "undo"]
    assert [(s.step, s.status) for s in undo_rows] == [(1, "undone"), (2, "undone")]


async def test_unknown_actuator_fails_naming_the_known_ones(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "test_unknown_actuator", incident_input())
    outcome = await handle.result()
    assert outcome.status == "failed"
    assert "unknown actuator 'demo.reboot_datacenter'" in outcome.reason
    assert "demo.scale" in outcome.reason


async def test_simulate_mode_plans_without_applying(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    demo: httpx.Client,
) -> None:
    incident = incident_input()
    incident.mode = "simulate"
    handle = await start(temporal_env.client, settings, "high_latency", incident)
    outcome = await handle.result()
    assert outcome.status == "resolved"
    assert [p["actuator"] for p in outcome.plan] == ["demo.scale"]
    assert applied_actions(demo) == []
