"""``POST /api/v1/alerts/alertmanager`` with Alertmanager's payloads, posted directly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings, get_settings
from api.main import create_app
from api.models import Incident
from bench.harness.servers import serve_app
from tests.support.alertmanager import alert, alert_state, evidence_of, notification

pytestmark = pytest.mark.asyncio(loop_scope="session")
PATH = "/api/v1/alerts/alertmanager"


def incidents(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Incident)).one())


async def test_firing_opens_resending_keeps_it_and_resolved_annotates(
    api_url: str,
    api_keys: dict[str, str],
    worker: Worker,
    demo: httpx.Client,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
) -> None:
    bearer = {"Authorization": f"Bearer {api_keys['engineer']}"}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        fired = await api.post(PATH, json=notification(alert("fp-1")), headers=bearer)
        assert fired.status_code == 200, fired.text
        [result] = fired.json()["results"]
        assert result["action"] == "opened" and result["alertname"] == "HighLatency"
        ident = result["incident_id"]
        incident = (await api.get(f"/api/v1/incidents/{ident}", headers=bearer)).json()
        assert (incident["service"], incident["signal"], incident["severity"]) == (
            "demo",
            "HighLatency",
            "medium",  # "warning" on Steward's scale
        )
        assert incident["playbook"] == "high_latency"
        assert incident["opened_by"] == "engineer-user"
        assert incident["summary"] == "p95 above 200 ms"

        # Alertmanager re-sends the group; a second alert of the same name joins the incident.
        again = await api.post(
            PATH, json=notification(alert("fp-1"), alert("fp-2", instance="b")), headers=bearer
        )
        assert [(r["action"], r["incident_id"]) for r in again.json()["results"]] == [
            ("already_open", ident),
            ("attached", ident),
        ]
        resolved = await api.post(
            PATH,
            json=notification(alert("fp-1", "resolved", ends_at="2026-11-01T12:30:00Z")),
            headers={"X-API-Key": api_keys["admin"]},
        )
        assert resolved.status_code == 200
        assert resolved.json()["results"][0]["action"] == "annotated"
        unknown = await api.post(
            PATH, json=notification(alert("fp-never-fired", "resolved")), headers=bearer
        )
        assert unknown.status_code == 200
        assert unknown.json()["results"][0]["action"] == "ignored"

    assert incidents(engine) == 1  # resolving never opens
    rows = evidence_of(engine, ident)
    assert [(r.source, r.explanation["fingerprint"], r.explanation["status"]) for r in rows] == [
        ("alertmanager", "fp-1", "firing"),
        ("alertmanager", "fp-2", "firing"),
        ("alertmanager", "fp-1", "resolved"),
    ]
    assert rows[0].explanation["labels"]["severity"] == "warning"
    assert rows[0].explanation["generator_url"].startswith("http://prometheus")
    assert rows[2].observed_at == datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    state = alert_state(engine, "fp-1")
    assert state is not None and state.status == "resolved" and state.incident_id == ident
    assert state.ends_at == datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    never = alert_state(engine, "fp-never-fired")
    assert never is not None and never.incident_id is None
    # The running incident got the evidence as signals too.
    handle = temporal_env.client.get_workflow_handle(ident)
    history = [e async for e in handle.fetch_history_events()]
    assert any(e.HasField("workflow_execution_signaled_event_attributes") for e in history)


async def test_unmappable_alerts_are_named_and_the_rest_handled(
    api_url: str,
    api_keys: dict[str, str],
    worker: Worker,
    demo: httpx.Client,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
) -> None:
    headers = {"X-API-Key": api_keys["engineer"]}
    body = notification(
        alert("u-1", playbook="no_such_playbook"),
        alert("u-2", service="nowhere"),
        alert("u-3", alertname="DiskFull", playbook=""),
        alert("u-4", alertname="ErrorBurst", playbook="error_burst", severity="critical"),
    )
    del body["alerts"][1]["labels"]["severity"]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        answer = await api.post(PATH, json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    results = answer.json()["results"]
    assert [r["action"] for r in results] == ["error", "error", "error", "opened"]
    assert "unknown playbook 'no_such_playbook'" in results[0]["error"]
    assert "high_latency" in results[0]["error"]  # names the known ones
    assert "unknown service 'nowhere'" in results[1]["error"]
    assert "no playbook for alert DiskFull" in results[2]["error"]
    assert "STEWARD_ALERTMANAGER_PLAYBOOKS" in results[2]["error"]
    assert answer.json()["detail"].startswith("3 of 4 alerts not handled")
    with Session(engine) as session:
        opened = session.get(Incident, results[3]["incident_id"])
        assert opened is not None and opened.severity == "critical"
    failed = alert_state(engine, "u-1")
    assert failed is not None and failed.status == "firing" and failed.incident_id is None
    # The critical restart waits for an operator; the session's server outlives this test.
    await temporal_env.client.get_workflow_handle(results[3]["incident_id"]).terminate("done")


@pytest.mark.usefixtures("temporal_env")
async def test_malformed_notifications_name_the_field(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    headers = {"X-API-Key": api_keys["engineer"]}
    no_start = notification(alert("m-1"))
    del no_start["alerts"][0]["startsAt"]
    cases = [
        (no_start, "alerts[0].startsAt"),
        ({**notification(alert("m-2")), "version": "3"}, "version"),
        (notification({**alert("m-3"), "status": "pending"}), "alerts[0].status"),
        (notification({**alert("m-4"), "startsAt": "2026-11-01T12:00:00"}), "alerts[0].startsAt"),
        ({**notification(alert("m-5")), "alerts": []}, "alerts"),
    ]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        for body, field in cases:
            answer = await api.post(PATH, json=body, headers=headers)
            assert answer.status_code == 422, (field, answer.text)
            assert answer.json()["errors"][0]["field"] == field
        nobody = await api.post(PATH, json=notification(alert("m-6")))
        assert nobody.status_code == 401
        auditor = await api.post(
            PATH, json=notification(alert("m-7")), headers={"X-API-Key": api_keys["auditor"]}
        )
        assert auditor.status_code == 403
    assert incidents(engine) == 0


@pytest.fixture
def mapped_api(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("STEWARD_ALERTMANAGER_PLAYBOOKS", '{"MappedLatency": "high_latency"}')
    get_settings.cache_clear()
    with serve_app(create_app()) as url:
        yield url
    get_settings.cache_clear()


async def test_playbook_from_settings_when_the_alert_has_no_label(
    mapped_api: str, api_keys: dict[str, str], worker: Worker, demo: httpx.Client
) -> None:
    async with httpx.AsyncClient(base_url=mapped_api, timeout=30) as api:
        answer = await api.post(
            PATH,
            json=notification(alert("s-1", alertname="MappedLatency", playbook="")),
            headers={"Authorization": f"Bearer {api_keys['admin']}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["action"] == "opened", answer.text
