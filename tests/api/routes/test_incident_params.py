"""Playbook params are checked when an incident opens: 422 naming the field, and no run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.incidents.activities import IncidentOpener
from activities.incidents.types import Evidence, OpenRequest
from api.core.settings import Settings
from api.models import Incident
from api.services.incidents import opener_for_findings
from tests.support.incidents import body

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The reproducers of issue 13: each was answered 201 and left a run stuck or half-applied.
# NaN and 1e300 are sent as raw JSON text: a JSON encoder would refuse or round them.
REPRODUCERS: list[tuple[str, str, str]] = [
    ('{"replicas": "abc"}', "replicas", "Input should be a valid integer"),
    ('{"verify_within_seconds": -100}', "verify_within_seconds", "greater than or equal to 1"),
    ('{"verify_within_seconds": NaN}', "verify_within_seconds", "Input should be a finite number"),
    ('{"verify_within_seconds": 1e300}', "verify_within_seconds", "less than or equal to 600"),
    ('{"p95_threshold_ms": -1}', "p95_threshold_ms", "Input should be greater than 0"),
    ('{"replicas": true}', "replicas", "Input should be a valid integer"),
    ('{"replicas": 8.5}', "replicas", "Input should be a valid integer"),
    ('{"replicas": 8, "colour": "red"}', "colour", "Extra inputs are not permitted"),
]


async def workflows_on(env: WorkflowEnvironment, settings: Settings) -> list[str]:
    query = f'TaskQueue = "{settings.task_queue}"'
    return [w.id async for w in env.client.list_workflows(query)]


@pytest.mark.parametrize(("params", "field", "message"), REPRODUCERS)
async def test_bad_params_are_a_422_naming_the_field_and_start_nothing(
    api_url: str,
    api_keys: dict[str, str],
    settings: Settings,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
    params: str,
    field: str,
    message: str,
) -> None:
    text = '{"service": "demo", "signal": "p95-bad", "severity": "high", '
    text += f'"playbook": "high_latency", "params": {params}}}'
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        answer = await api.post(
            "/api/v1/incidents",
            content=text,
            headers={"X-API-Key": api_keys["engineer"], "Content-Type": "application/json"},
        )
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == f"params.{field}"
    assert message in error["message"]
    assert f"params.{field}" in answer.json()["detail"]
    with Session(engine) as session:
        assert session.exec(select(Incident)).all() == []
    assert await workflows_on(temporal_env, settings) == []


async def test_each_playbook_shows_its_params_schema_and_deadline(
    api_url: str, api_keys: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        found = await api.get("/api/v1/playbooks", headers={"X-API-Key": api_keys["auditor"]})
    assert found.status_code == 200, found.text
    playbooks = {p["name"]: p for p in found.json()}
    # Installed packs (packs/*) add their playbooks beside Steward's own.
    assert {"error_burst", "high_latency", "webhook_failures"} <= set(playbooks)
    latency = playbooks["high_latency"]
    assert latency["deadline_seconds"] == 6 * 3600
    schema = latency["params_schema"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["replicas"] == {
        "default": 8,
        "description": "Replicas to scale out to",
        "maximum": 50,
        "minimum": 1,
        "title": "Replicas",
        "type": "integer",
    }
    assert schema["properties"]["verify_within_seconds"]["maximum"] == 600
    webhook = playbooks["webhook_failures"]["params_schema"]["properties"]
    assert set(webhook) == {"tenants", "tenant", "since", "max_deliveries", "verify_within_seconds"}


async def test_a_detector_with_bad_params_opens_nothing(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
) -> None:
    # The open-or-attach activity (detection, forecast, delivery_watch) takes the same path.
    opener = IncidentOpener(
        temporal_env.client, opener_for_findings(temporal_env.client, engine, settings)
    )
    request = OpenRequest(
        service="demo",
        signal="deliveries",
        severity="high",
        playbook="webhook_failures",
        opened_by="monitor:hooks",
        evidence=Evidence(source="monitor:hooks", dedup_key="k1", observed_at="2026-01-01T00:00Z"),
        params={"tenants": ["acme"], "since": "yesterday"},
    )
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(opener.open_or_attach, request)
    assert refused.value.non_retryable and refused.value.type == "BadIncident"
    assert "params.since: Value error, must be an ISO 8601 time" in refused.value.message
    with Session(engine) as session:
        assert session.exec(select(Incident)).all() == []
    assert await workflows_on(temporal_env, settings) == []


async def test_good_params_still_open_and_run(
    api_url: str, worker: Worker, api_keys: dict[str, str], demo: httpx.Client
) -> None:
    params: dict[str, Any] = {"replicas": 5, "p95_threshold_ms": 250, "verify_within_seconds": 5}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        opened = await api.post(
            "/api/v1/incidents",
            json=body(signal="p95-good", mode="simulate", params=params),
            headers={"X-API-Key": api_keys["engineer"]},
        )
    assert opened.status_code == 201, opened.text
    assert [p["params"]["replicas"] for p in opened.json()["plan"]] == [5]
