"""The policy admin API: kill switch, freezes and reloads, recorded with who and why."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings, get_settings
from api.models.access import RefusalCount
from api.models.policy import PolicyChange
from tests.activities.policy import GATE_REGO, POLICIES
from tests.workflows.helpers import incident_input, start

POLICY = "/api/v1/policy"


def client(api_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=api_url, headers={"X-API-Key": key}, timeout=30)


def test_kill_switch_is_admin_only_and_recorded(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    with (
        client(api_url, api_keys["operator"]) as operator,
        client(api_url, api_keys["admin"]) as admin,
    ):
        state = operator.get(POLICY).json()
        assert state["kill_switch"] is None and state["engine"] == "embedded"
        assert len(state["bundle_sha256"]) == 64
        refused = operator.put(f"{POLICY}/kill-switch", json={"enabled": True, "reason": "x"})
        assert refused.status_code == 403
        assert admin.put(f"{POLICY}/kill-switch", json={"enabled": True}).status_code == 422
        on = admin.put(f"{POLICY}/kill-switch", json={"enabled": True, "reason": "bad deploy"})
        assert on.status_code == 200, on.text
        assert (on.json()["kind"], on.json()["principal"]) == ("kill_switch", "admin-user")
        switch = operator.get(POLICY).json()["kill_switch"]
        assert (switch["enabled"], switch["reason"], switch["by"]) == (
            True,
            "bad deploy",
            "admin-user",
        )
        admin.put(f"{POLICY}/kill-switch", json={"enabled": False, "reason": "rolled back"})
        changes = operator.get(POLICY).json()["changes"]
        assert [(c["detail"]["enabled"], c["reason"]) for c in changes] == [
            (False, "rolled back"),
            (True, "bad deploy"),
        ]
    with Session(engine) as session:
        refusals = session.exec(select(RefusalCount).where(RefusalCount.status == 403)).all()
        assert [(r.principal, r.route) for r in refusals] == [
            ("operator-user", f"{POLICY}/kill-switch")
        ]


def test_freezes_are_added_and_removed_with_who_and_why(
    api_url: str, api_keys: dict[str, str]
) -> None:
    with client(api_url, api_keys["admin"]) as admin:
        window = {"starts_at": "2030-01-01T10:00:00+02:00", "ends_at": "2030-01-02T10:00:00+02:00"}
        added = admin.post(
            f"{POLICY}/freezes", json={**window, "reason": "year end", "tiers": ["warn"]}
        )
        assert added.status_code == 201, added.text
        freeze = added.json()
        assert freeze["starts_at"].startswith("2030-01-01T08:00:00")  # kept in UTC
        assert (freeze["created_by"], freeze["tiers"], freeze["services"]) == (
            "admin-user",
            ["warn"],
            [],
        )
        naive = {"starts_at": "2030-01-01T10:00:00", "ends_at": "2030-01-02T10:00:00"}
        assert admin.post(f"{POLICY}/freezes", json={**naive, "reason": "r"}).status_code == 422
        backwards = {"starts_at": window["ends_at"], "ends_at": window["starts_at"], "reason": "r"}
        assert admin.post(f"{POLICY}/freezes", json=backwards).status_code == 422
        url = f"{POLICY}/freezes/{freeze['id']}"
        assert admin.delete(url).status_code == 422  # a reason is required
        assert admin.delete(f"{POLICY}/freezes/999", params={"reason": "r"}).status_code == 404
        removed = admin.delete(url, params={"reason": "cancelled"}).json()
        assert (removed["removed_by"], removed["removed_reason"]) == ("admin-user", "cancelled")
        state = admin.get(POLICY).json()
        assert state["freezes"] == []
        assert [(c["kind"], c["reason"]) for c in state["changes"]] == [
            ("freeze_removed", "cancelled"),
            ("freeze_added", "year end"),
        ]


def test_reload_refuses_a_broken_bundle_with_locations(
    api_url: str, api_keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    monkeypatch.setenv("STEWARD_POLICY_DIR", str(root))
    get_settings.cache_clear()
    with client(api_url, api_keys["admin"]) as admin:
        good = admin.post(f"{POLICY}/reload", json={"reason": "new limits"})
        assert good.status_code == 200, good.text
        gate = root / GATE_REGO
        gate.write_text(gate.read_text() + "\nbroken := if {\n")
        bad = admin.post(f"{POLICY}/reload", json={"reason": "typo"})
        assert bad.status_code == 422
        detail = bad.json()["detail"]
        assert "running bundle stays active" in detail["message"]
        assert any(p.startswith(f"{GATE_REGO}:") for p in detail["problems"]), detail
        state = admin.get(POLICY).json()
        assert state["reload_generation"] == good.json()["change_id"]
        assert [(c["kind"], c["principal"]) for c in state["changes"]][:2] == [
            ("reload_refused", "admin-user"),
            ("reload", "admin-user"),
        ]


@pytest.mark.asyncio(loop_scope="session")
async def test_kill_switch_set_over_rest_stops_a_playbook(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    api_url: str,
    api_keys: dict[str, str],
    engine: Engine,
) -> None:
    with client(api_url, api_keys["admin"]) as admin:
        admin.put(f"{POLICY}/kill-switch", json={"enabled": True, "reason": "incident review"})
    handle = await start(temporal_env.client, settings, "high_latency", incident_input())
    outcome = await handle.result()
    assert outcome.status == "denied"
    assert "kill switch: incident review (set by admin-user)" in outcome.reason
    with Session(engine) as session:
        kinds = [c.kind for c in session.exec(select(PolicyChange)).all()]
    assert kinds == ["kill_switch"]
