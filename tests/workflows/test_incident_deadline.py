"""An incident opened over the API gets its deadline from the settings, and a Temporal backstop."""

from __future__ import annotations

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings, get_settings
from api.main import create_app
from bench.harness.servers import serve_app
from tests.support.incidents import body, wait_status

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_incident_nobody_approves_fails_at_its_deadline_with_an_alert(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    api_keys: dict[str, str],
    demo: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STEWARD_INCIDENT_DEADLINE_SECONDS", "2")
    monkeypatch.setenv("STEWARD_INCIDENT_DEADLINE_GRACE_SECONDS", "60")
    get_settings.cache_clear()
    headers = {"X-API-Key": api_keys["operator"]}
    with serve_app(create_app()) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            listed = (await api.get("/api/v1/playbooks", headers=headers)).json()
            assert {p["deadline_seconds"] for p in listed} == {2}
            opened = await api.post(
                "/api/v1/incidents",
                json=body(signal="errors-deadline", playbook="error_burst"),
                headers=headers,
            )
            assert opened.status_code == 201, opened.text
            ident = opened.json()["id"]
            description = await temporal_env.client.get_workflow_handle(ident).describe()
            config = description.raw_description.execution_config
            assert config.workflow_execution_timeout.ToSeconds() == 62
            found = await wait_status(api, ident, api_keys["auditor"], {"failed"})
    assert found["outcome"]["reason"] == (
        "the incident's deadline of 2 s passed at step 1; nothing to compensate"
    )
    assert found["outcome"]["alerts"] == [f"deadline_passed: {found['outcome']['reason']}"]
    assert [(s["name"], s["status"]) for s in found["steps"]] == [("demo.restart", "failed")]
    assert found["approvals"][0]["status"] == "timeout"
    assert demo.get("/admin/actions").json() == []
