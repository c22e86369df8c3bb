"""Approvals as the policy computes them, enforced by the workflow: quorum N of M, four-eyes,
team and service ownership, and escalation to the next approver group, then rejection.

Real dev server, worker and demo target; the policy is a copy of the shipped one with its
approval data changed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings
from tests.activities.policy import POLICIES
from tests.workflows.helpers import incident_input, start, steps, wait_for_approval
from workers.worker import build_worker
from workflows.types import ApprovalDecision

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPERATOR, ADMIN = ["operator"], ["admin"]


def policy_with(root: Path, approval: dict[str, Any]) -> Path:
    """The shipped policy, with payments (pat, pia and tester) owning demo."""
    shutil.copytree(POLICIES, root)
    data = json.loads((root / "data.json").read_text())
    config = data["steward"]["config"]
    config["teams"] = {"payments": ["pat", "pia", "tester"], "sre": ["sam"]}
    config["services"]["demo"]["owners"] = ["payments"]
    config["approval"] = approval
    (root / "data.json").write_text(json.dumps(data))
    return root


@asynccontextmanager
async def running(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine, root: Path
) -> AsyncIterator[Callable[[], Any]]:
    policy = EmbeddedPolicyEngine(root)
    async with (
        httpx.AsyncClient(timeout=10) as http,
        build_worker(temporal_env.client, settings, engine, http, policy),
    ):

        async def open_error_burst() -> WorkflowHandle[Any, Any]:
            return await start(temporal_env.client, settings, "error_burst", incident_input("e"))

        yield open_error_burst


async def vote(
    handle: WorkflowHandle[Any, Any], step: int, who: str, roles: list[str], decision: str
) -> str:
    result: str = await handle.execute_update(
        "decide",
        ApprovalDecision(step=step, principal=who, roles=roles, decision=decision),
        result_type=str,
    )
    return result


async def refused(handle: WorkflowHandle[Any, Any], step: int, who: str, roles: list[str]) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await vote(handle, step, who, roles, "approve")
    return str(caught.value.cause)


async def test_quorum_of_owners_with_four_eyes(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    tmp_path: Path,
) -> None:
    approval = {"quorum": 2, "roles": OPERATOR, "owners_only": True, "timeout_seconds": 120}
    root = policy_with(tmp_path / "policies", approval)
    async with running(temporal_env, settings, engine, root) as open_incident:
        handle = await open_incident()
        step = (await wait_for_approval(engine, handle.id)).step
        assert "four-eyes" in await refused(handle, step, "tester", OPERATOR)
        assert "needs a member of payments" in await refused(handle, step, "sam", OPERATOR)
        assert "needs one of the roles operator" in await refused(handle, step, "pia", ADMIN)
        assert await vote(handle, step, "pat", OPERATOR, "approve") == "pending"
        assert "already voted" in await refused(handle, step, "pat", OPERATOR)
        assert await vote(handle, step, "pia", OPERATOR, "approve") == "approved"
        outcome = await handle.result()
    assert outcome.status == "resolved", outcome
    act = steps(engine, handle.id)[0]
    assert act.decision is not None
    requirement = act.decision["approval"]
    assert requirement["quorum"] == 2 and requirement["excluded_principals"] == ["tester"]
    assert requirement["principals"] == ["pat", "pia", "tester"]
    assert requirement["teams"] == ["payments"]


async def wait_for_escalation(engine: Engine, incident_id: str) -> dict[str, Any]:
    for _ in range(200):
        act = steps(engine, incident_id)[0]
        if act.result and "escalated" in act.result:
            escalated: dict[str, Any] = act.result["escalated"]
            return escalated
        await asyncio.sleep(0.1)
    raise TimeoutError("the approval never escalated")


async def test_unanswered_approval_escalates_to_the_next_group(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    tmp_path: Path,
) -> None:
    approval = {
        "quorum": 1,
        "roles": OPERATOR,
        "teams": ["sre"],
        "timeout_seconds": 1,
        "escalation": [{"roles": ADMIN, "timeout_seconds": 120}],
    }
    root = policy_with(tmp_path / "policies", approval)
    async with running(temporal_env, settings, engine, root) as open_incident:
        handle = await open_incident()
        step = (await wait_for_approval(engine, handle.id)).step
        escalated = await wait_for_escalation(engine, handle.id)
        assert escalated == {"stage": 1, "roles": ADMIN, "teams": [], "principals": None}
        # The first group's time is over: sam (sre, operator) may no longer decide.
        assert "needs one of the roles admin" in await refused(handle, step, "sam", OPERATOR)
        assert await vote(handle, step, "ada", ADMIN, "approve") == "approved"
        outcome = await handle.result()
    assert outcome.status == "resolved", outcome


async def test_last_group_timing_out_rejects(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    tmp_path: Path,
) -> None:
    approval = {
        "quorum": 1,
        "roles": OPERATOR,
        "timeout_seconds": 1,
        "escalation": [{"roles": ADMIN, "timeout_seconds": 1}],
    }
    root = policy_with(tmp_path / "policies", approval)
    async with running(temporal_env, settings, engine, root) as open_incident:
        handle = await open_incident()
        outcome = await handle.result()
    assert outcome.status == "rejected"
    assert outcome.reason == "demo.restart not approved: timeout"
    act = steps(engine, handle.id)[0]
    assert act.status == "rejected" and act.error == "timeout"
    assert act.result == {
        "escalated": {"stage": 1, "roles": ADMIN, "teams": [], "principals": None}
    }
    assert demo.get("/admin/actions").json() == []
