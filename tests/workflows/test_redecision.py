"""An approved action is decided again at dispatch, with the facts of then.

Real dev server, worker, API (votes and policy changes over REST) and demo target. The
``error_burst`` playbook's restart is critical, so it waits for an operator; while it waits,
an admin turns the kill switch on, a freeze begins, another incident uses up a rate limit, or
the policy is reloaded with a bigger quorum.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings, get_settings
from api.models import Approval
from api.services.audit.replay import replay_one
from tests.activities.policy import POLICIES
from tests.api.services.audit.helpers import cli, ledger
from tests.workflows.helpers import incident_input, start, steps, wait_for_approval
from workers.worker import build_worker
from workflows.types import PlaybookOutcome

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def policy_root(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped policy that the worker decides with and the API reloads."""
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    monkeypatch.setenv("STEWARD_POLICY_DIR", str(root))
    get_settings.cache_clear()
    return root


def change_config(root: Path, change: Any) -> None:
    """Rewrite the policy data: ``change`` edits ``data.steward.config`` in place."""
    data = json.loads((root / "data.json").read_text())
    change(data["steward"]["config"])
    (root / "data.json").write_text(json.dumps(data))


@asynccontextmanager
async def stack(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    root: Path,
    api: tuple[str, dict[str, str]],
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A worker deciding with ``root``, and an API client per role (``api``: URL and keys)."""
    url, keys = api
    async with (
        httpx.AsyncClient(timeout=10) as http,
        build_worker(temporal_env.client, settings, engine, http, EmbeddedPolicyEngine(root)),
    ):
        clients: dict[str, httpx.AsyncClient] = {}
        for role, key in keys.items():
            clients[role] = httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30)
        try:
            yield clients
        finally:
            for client in clients.values():
                await client.aclose()


async def open_and_wait(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> tuple[WorkflowHandle[Any, PlaybookOutcome], Approval]:
    handle = await start(temporal_env.client, settings, "error_burst", incident_input("errors"))
    return handle, await wait_for_approval(engine, handle.id)


async def approve(api: httpx.AsyncClient, approval_id: str) -> httpx.Response:
    return await api.post(f"/api/v1/approvals/{approval_id}/decision", json={"decision": "approve"})


def decisions(engine: Engine, incident_id: str, step: int = 1) -> list[dict[str, Any]]:
    """The step's decision entries in the ledger, first decision first."""
    return [
        json.loads(e["payload"])
        for e in ledger(engine, incident_id)
        if e["kind"] == "decision" and e["step"] == step
    ]


def rounds(entries: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(d.get("round", 1), d["decision"]["outcome"]) for d in entries]


@pytest.fixture
def api(api_url: str, api_keys: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The API's URL and a key per role."""
    return api_url, api_keys


async def test_kill_switch_turned_on_during_the_wait_denies_at_dispatch(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    policy_root: Path,
    api: tuple[str, dict[str, str]],
    demo: httpx.Client,
) -> None:
    async with stack(temporal_env, settings, engine, policy_root, api) as clients:
        handle, approval = await open_and_wait(temporal_env, settings, engine)
        switch = {"enabled": True, "reason": "war room"}
        (await clients["admin"].put("/api/v1/policy/kill-switch", json=switch)).raise_for_status()
        voted = await approve(clients["operator"], approval.id)
        assert voted.status_code == 200 and voted.json()["status"] == "approved", voted.text
        outcome = await handle.result()
    reason = "kill switch: war room (set by admin-user)"
    assert outcome.status == "denied"
    assert outcome.reason == f"demo.restart denied at dispatch: {reason}"
    act = steps(engine, handle.id)[0]
    assert (act.status, act.error) == ("denied", reason)
    assert act.decision is not None and act.decision["rules"] == ["kill_switch"]
    first, again = decisions(engine, handle.id)
    assert rounds([first, again]) == [(1, "approval_required"), (2, "deny")]
    assert first["gate_input"]["stats"]["kill_switch"] is None
    assert again["gate_input"]["stats"]["kill_switch"]["enabled"] is True
    assert again["decision"]["bundle_sha256"] == first["decision"]["bundle_sha256"]
    assert demo.get("/admin/actions").json() == []


async def test_a_freeze_that_began_during_the_wait_denies_at_dispatch(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    policy_root: Path,
    api: tuple[str, dict[str, str]],
    demo: httpx.Client,
) -> None:
    async with stack(temporal_env, settings, engine, policy_root, api) as clients:
        handle, approval = await open_and_wait(temporal_env, settings, engine)
        starts = datetime.now(UTC) + timedelta(seconds=1)
        freeze = {
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "reason": "quarter end",
            "services": ["demo"],
        }
        (await clients["admin"].post("/api/v1/policy/freezes", json=freeze)).raise_for_status()
        await asyncio.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 0.5)
        assert (await approve(clients["operator"], approval.id)).status_code == 200
        outcome = await handle.result()
    assert outcome.status == "denied"
    assert outcome.reason.startswith("demo.restart denied at dispatch: change freeze until ")
    assert outcome.reason.endswith(": quarter end")
    act = steps(engine, handle.id)[0]
    assert act.status == "denied" and act.error is not None and "quarter end" in act.error
    first, again = decisions(engine, handle.id)
    assert rounds([first, again]) == [(1, "approval_required"), (2, "deny")]
    assert first["gate_input"]["stats"]["freezes"] == []
    assert [f["reason"] for f in again["gate_input"]["stats"]["freezes"]] == ["quarter end"]
    assert demo.get("/admin/actions").json() == []


async def test_a_rate_limit_used_up_during_the_wait_denies_as_the_policy_says(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    policy_root: Path,
    api: tuple[str, dict[str, str]],
    demo: httpx.Client,
) -> None:
    def one_restart_per_hour(config: dict[str, Any]) -> None:
        (limit,) = [r for r in config["rate_limits"] if r.get("actions") == ["demo.restart"]]
        limit["max"] = 1

    change_config(policy_root, one_restart_per_hour)
    async with stack(temporal_env, settings, engine, policy_root, api) as clients:
        waiting, waiting_approval = await open_and_wait(temporal_env, settings, engine)
        other, other_approval = await open_and_wait(temporal_env, settings, engine)
        # Both were asked while no restart had run; the other one restarts first.
        assert (await approve(clients["operator"], other_approval.id)).status_code == 200
        assert (await other.result()).status == "resolved"
        assert (await approve(clients["operator"], waiting_approval.id)).status_code == 200
        outcome = await waiting.result()
    reason = "rate limit restarts per service per hour: 1 applied in the last 3600s, at most 1"
    assert outcome.status == "denied"
    assert outcome.reason == f"demo.restart denied at dispatch: {reason}"
    assert steps(engine, waiting.id)[0].error == reason
    first, again = decisions(engine, waiting.id)
    assert rounds([first, again]) == [(1, "approval_required"), (2, "deny")]
    assert first["gate_input"]["stats"]["applied"] == []
    assert [row[:2] for row in again["gate_input"]["stats"]["applied"]] == [
        ["demo.purge_cache", "demo"],
        ["demo.restart", "demo"],
    ]
    assert [a["action"] for a in demo.get("/admin/actions").json()] == ["restart", "cache_purge"]


async def wait_for_round(engine: Engine, approval_id: str, quorum: int) -> Approval:
    for _ in range(300):
        with Session(engine) as session:
            row = session.get(Approval, approval_id)
            if row is not None and row.status == "pending" and row.quorum == quorum:
                return row
        await asyncio.sleep(0.1)
    raise TimeoutError(f"approval {approval_id} was never asked again with quorum {quorum}")


async def test_a_stricter_requirement_asks_again_and_the_votes_given_still_count(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    policy_root: Path,
    api: tuple[str, dict[str, str]],
    demo: httpx.Client,
) -> None:
    def quorum_of_two(config: dict[str, Any]) -> None:
        config["approval"]["quorum"] = 2

    async with stack(temporal_env, settings, engine, policy_root, api) as clients:
        handle, approval = await open_and_wait(temporal_env, settings, engine)
        assert approval.quorum == 1
        change_config(policy_root, quorum_of_two)
        reload = await clients["admin"].post("/api/v1/policy/reload", json={"reason": "two people"})
        assert reload.status_code == 200, reload.text
        first_vote = await approve(clients["operator"], approval.id)
        assert first_vote.json()["status"] == "approved"  # the first round's requirement
        await wait_for_round(engine, approval.id, quorum=2)
        again = await approve(clients["operator"], approval.id)
        assert again.status_code == 403 and "already voted" in again.text
        second_vote = await approve(clients["operator2"], approval.id)
        assert second_vote.json()["status"] == "approved", second_vote.text
        outcome = await handle.result()
        card = (await clients["operator"].get(f"/api/v1/incidents/{handle.id}/card")).json()
    assert outcome.status == "resolved", outcome
    assert [a["action"] for a in demo.get("/admin/actions").json()] == ["restart", "cache_purge"]
    with Session(engine) as session:
        row = session.get(Approval, approval.id)
        assert row is not None and (row.status, row.quorum) == ("approved", 2)
        assert [v.principal for v in row.votes] == ["operator-user", "operator2-user"]
    entries = decisions(engine, handle.id)
    assert rounds(entries) == [
        (1, "approval_required"),
        (2, "approval_required"),
        (3, "approval_required"),
    ]
    assert [e["decision"]["approval"]["quorum"] for e in entries] == [1, 2, 2]
    assert entries[1]["decision"]["bundle_sha256"] == reload.json()["bundle_sha256"]
    assert entries[0]["decision"]["bundle_sha256"] != reload.json()["bundle_sha256"]
    kinds = [e["kind"] for e in ledger(engine, handle.id) if e["step"] == 1]
    assert kinds == [
        "decision",
        "approval_requested",
        "vote",
        "approval_decided",
        "decision",
        "approval_requested",
        "approval_refused",  # operator-user again: one vote per principal over all rounds
        "vote",
        "approval_decided",
        "decision",
        "apply",
    ]
    (asked,) = card["approvals"]
    assert (asked["round"], asked["status"], asked["requirement"]["quorum"]) == (2, "approved", 2)
    assert [v["principal"] for v in asked["votes"]] == ["operator-user", "operator2-user"]
    assert [d["round"] for d in card["decisions"] if d["step"] == 1] == [1, 2, 3]
    told = (await cli("audit", "card", handle.id)).stdout
    assert "step 1 demo.restart (round 2): approved (approved by operator-user, " in told
    assert told.count('step 1 demo.restart {"service": "demo"} at dispatch: approval_') == 2
    replayed = await replay_one(await handle.fetch_history())
    assert replayed.compatible, replayed.error


async def test_the_same_requirement_proceeds_with_the_votes_already_given(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    policy_root: Path,
    api: tuple[str, dict[str, str]],
    demo: httpx.Client,
) -> None:
    async with stack(temporal_env, settings, engine, policy_root, api) as clients:
        handle, approval = await open_and_wait(temporal_env, settings, engine)
        assert (await approve(clients["operator"], approval.id)).status_code == 200
        outcome = await handle.result()
    assert outcome.status == "resolved", outcome
    assert [a["action"] for a in demo.get("/admin/actions").json()] == ["restart", "cache_purge"]
    first, again = decisions(engine, handle.id)
    assert rounds([first, again]) == [(1, "approval_required"), (2, "approval_required")]
    assert again["decision"]["approval"] == first["decision"]["approval"]
    act = steps(engine, handle.id)[0]
    assert act.status == "applied" and act.decision == again["decision"]
    kinds = [e["kind"] for e in ledger(engine, handle.id) if e["step"] == 1]
    assert kinds.count("approval_requested") == 1 and kinds.count("approval_decided") == 1
    replayed = await replay_one(await handle.fetch_history())
    assert replayed.compatible, replayed.error
