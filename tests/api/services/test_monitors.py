"""Monitors over the REST API: the row and its real Temporal Schedule stay consistent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings, get_settings
from api.main import create_app
from api.models.detection import Monitor
from api.schemas.monitors import MonitorCreate, MonitorUpdate
from api.services import monitors
from api.services.monitor_schedules import ScheduleUnavailableError
from bench.harness.servers import free_port, serve_app
from tests.support import monitors as support_monitors
from tests.support.monitors import MonitorNames
from workflows.monitor_types import MonitorRun

monitor_names = support_monitors.monitor_names
pytestmark = pytest.mark.asyncio(loop_scope="session")


def body(name: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "service": "demo",
        "signal": "p95",
        "severity": "high",
        "playbook": "high_latency",
        "source": {"kind": "events", "series": "latency"},
        "detector": {"name": "zscore", "threshold": 5},
        "interval_seconds": 30,
        "window_seconds": 600,
        **changes,
    }


async def describe(env: WorkflowEnvironment, name: str) -> ScheduleDescription:
    return await env.client.get_schedule_handle(f"monitor-{name}").describe()


async def schedule_run(env: WorkflowEnvironment, name: str) -> MonitorRun:
    action = (await describe(env, name)).schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    [decoded] = await env.client.data_converter.decode(action.args, [MonitorRun])
    assert isinstance(decoded, MonitorRun)
    return decoded


async def schedule_missing(env: WorkflowEnvironment, name: str) -> bool:
    try:
        await describe(env, name)
    except RPCError as exc:
        return exc.status == RPCStatusCode.NOT_FOUND
    return False


async def create(api: httpx.AsyncClient, name: str, headers: dict[str, str]) -> None:
    """Create the monitor ``name`` (the default body) and check it was created."""
    assert (await api.post("/api/v1/monitors", json=body(name), headers=headers)).status_code == 201


def as_(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def test_create_runs_a_schedule_that_matches_the_monitor(
    api_url: str,
    api_keys: dict[str, str],
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    monitor_names: MonitorNames,
) -> None:
    name = monitor_names("latency")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        created = await api.post(
            "/api/v1/monitors", json=body(name), headers=as_(api_keys["engineer"])
        )
        assert created.status_code == 201, created.text
        out = created.json()
        assert out["schedule_id"] == f"monitor-{name}" and out["workflow"] == "detection"
        assert out["created_by"] == "engineer-user" and out["paused"] is False
        # Defaults are filled in and stored, so what runs is what is shown.
        assert out["source"] == {"kind": "events", "series": "latency", "max_points": 10000}
        assert out["detector"] == {"name": "zscore", "threshold": 5}

        description = await describe(temporal_env, name)
        schedule = description.schedule
        assert isinstance(schedule.action, ScheduleActionStartWorkflow)
        assert schedule.action.workflow == "detection"
        assert schedule.action.id == f"monitor-{name}"
        assert schedule.action.task_queue == settings.task_queue
        assert [i.every for i in schedule.spec.intervals] == [timedelta(seconds=30)]
        assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        assert not schedule.state.paused
        run = await schedule_run(temporal_env, name)
        assert run == MonitorRun(
            name=name,
            kind="detect",
            service="demo",
            signal="p95",
            severity="high",
            playbook="high_latency",
            source=out["source"],
            detector=out["detector"],
            interval_seconds=30,
            window_seconds=600,
        )

        shown = await api.get(f"/api/v1/monitors/{name}", headers=as_(api_keys["operator"]))
        assert shown.status_code == 200
        assert shown.json()["schedule"]["state"] == "active"
        assert shown.json()["schedule"]["next_runs"]
        listed = await api.get("/api/v1/monitors", headers=as_(api_keys["auditor"]))
        assert [m["name"] for m in listed.json()] == [name]

        refused = await api.post(
            "/api/v1/monitors", json=body(monitor_names()), headers=as_(api_keys["operator"])
        )
        assert refused.status_code == 403 and "monitors:manage" in refused.json()["detail"]
        twice = await api.post("/api/v1/monitors", json=body(name), headers=as_(api_keys["admin"]))
        assert twice.status_code == 409 and "already exists" in twice.json()["detail"]


async def test_pause_replace_resume_and_delete_keep_the_schedule_in_step(
    api_url: str,
    api_keys: dict[str, str],
    temporal_env: WorkflowEnvironment,
    monitor_names: MonitorNames,
) -> None:
    name = monitor_names("errors")
    headers = as_(api_keys["engineer"])
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        await create(api, name, headers)
        paused = await api.post(f"/api/v1/monitors/{name}/pause", headers=headers)
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert (await describe(temporal_env, name)).schedule.state.paused

        changes = body(name, signal="p99", interval_seconds=45)
        del changes["name"]
        replaced = await api.put(f"/api/v1/monitors/{name}", json=changes, headers=headers)
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["paused"] is True  # kept: the body did not say
        schedule = (await describe(temporal_env, name)).schedule
        assert [i.every for i in schedule.spec.intervals] == [timedelta(seconds=45)]
        assert schedule.state.paused
        assert (await schedule_run(temporal_env, name)).signal == "p99"

        resumed = await api.post(f"/api/v1/monitors/{name}/resume", headers=headers)
        assert resumed.status_code == 200 and resumed.json()["paused"] is False
        assert not (await describe(temporal_env, name)).schedule.state.paused
        shown = await api.get(f"/api/v1/monitors/{name}", headers=headers)
        assert shown.json()["schedule"]["state"] == "active"

        deleted = await api.delete(f"/api/v1/monitors/{name}", headers=headers)
        assert deleted.status_code == 204
        assert await schedule_missing(temporal_env, name)
        assert (await api.get(f"/api/v1/monitors/{name}", headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("changes", "loc", "words"),
    [
        ({"service": "billing"}, ["service"], "known services: demo"),
        ({"playbook": "fix_it"}, ["playbook"], "known playbooks:"),
        ({"detector": {"name": "magic"}}, ["detector", "name"], "known detectors:"),
        ({"detector": {"name": "zscore", "treshold": 2}}, ["detector", "treshold"], "known:"),
        ({"detector": {"threshold": "high"}}, ["detector", "threshold"], "number"),
        ({"source": {"kind": "graphite"}}, ["source", "kind"], "known kinds: events, prometheus"),
        ({"source": {"kind": "prometheus"}}, ["source", "query"], "required"),
        (
            {
                "source": {"kind": "prometheus", "query": "up", "step_seconds": 1},
                "window_seconds": 86400,
            },
            ["source", "step_seconds"],
            "11000",
        ),
        ({"kind": "predict"}, ["kind"], "known kinds: detect, forecast, deliveries"),
        (
            # delivery_watch passes these to every incident it opens: checked up front.
            {
                "kind": "deliveries",
                "playbook": "webhook_failures",
                "detector": {"params": {"max_deliveries": "all"}},
            },
            ["detector", "params", "max_deliveries"],
            "valid integer",
        ),
        (
            {"kind": "forecast", "detector": {"direction": "up"}},
            ["detector", "threshold"],
            "finite number",
        ),
        (
            {"kind": "forecast", "detector": {"threshold": 5, "horizon_seconds": 0}},
            ["detector", "horizon_seconds"],
            "positive",
        ),
        (
            {"kind": "forecast", "detector": {"threshold": 5, "window": 3}},
            ["detector", "window"],
            "known: threshold",
        ),
        ({"name": "Bad Name!"}, ["name"], "pattern"),
        ({"interval_seconds": 0}, ["interval_seconds"], "greater than or equal to 1"),
        ({"severity": "urgent"}, ["severity"], "'critical'"),
        ({"colour": "red"}, ["colour"], "Extra inputs"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    api_url: str,
    api_keys: dict[str, str],
    temporal_env: WorkflowEnvironment,
    monitor_names: MonitorNames,
    changes: dict[str, Any],
    loc: list[str],
    words: str,
) -> None:
    name = monitor_names("bad")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        answer = await api.post(
            "/api/v1/monitors", json={**body(name), **changes}, headers=as_(api_keys["engineer"])
        )
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["errors"]
        assert error["field"] == ".".join(loc)
        assert words in error["message"]
        assert (await api.get("/api/v1/monitors", headers=as_(api_keys["engineer"]))).json() == []
    assert await schedule_missing(temporal_env, name)


@pytest.mark.usefixtures("temporal_env")
async def test_unknown_monitors_are_404(api_url: str, api_keys: dict[str, str]) -> None:
    headers = as_(api_keys["admin"])
    changes = body("x")
    del changes["name"]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        for method, path, payload in [
            ("GET", "/api/v1/monitors/nope", None),
            ("PUT", "/api/v1/monitors/nope", changes),
            ("DELETE", "/api/v1/monitors/nope", None),
            ("POST", "/api/v1/monitors/nope/pause", None),
            ("POST", "/api/v1/monitors/nope/resume", None),
            ("POST", "/api/v1/monitors/nope/run", None),
        ]:
            answer = await api.request(method, path, json=payload, headers=headers)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["detail"] == "no monitor 'nope'"


async def test_a_monitor_reads_without_temporal_and_changes_need_it(
    api_url: str,
    api_keys: dict[str, str],
    monitor_names: MonitorNames,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = monitor_names("offline")
    headers = as_(api_keys["engineer"])
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        await create(api, name, headers)
    # A second API process whose Temporal is down: nothing listens on its address.
    closed = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("STEWARD_TEMPORAL_ADDRESS", closed)
    get_settings.cache_clear()
    with serve_app(create_app()) as offline:
        async with httpx.AsyncClient(base_url=offline, timeout=60) as api:
            shown = await api.get(f"/api/v1/monitors/{name}", headers=headers)
            paused = await api.post(f"/api/v1/monitors/{name}/pause", headers=headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["name"] == name
    assert shown.json()["schedule"]["state"] == "unknown"
    assert shown.json()["schedule"]["error"] == f"Temporal at {closed} is unreachable"
    assert paused.status_code == 503 and paused.headers["Retry-After"] == "5"
    assert paused.json()["detail"] == f"Temporal is unreachable at {closed}; retry later"


async def test_run_now_answers_with_the_runs_verdict(
    api_url: str,
    api_keys: dict[str, str],
    worker: Worker,
    monitor_names: MonitorNames,
) -> None:
    name = monitor_names("now")
    headers = as_(api_keys["engineer"])
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        created = await api.post("/api/v1/monitors", json=body(name, paused=True), headers=headers)
        assert created.status_code == 201
        started = await api.post(f"/api/v1/monitors/{name}/run", headers=headers)
        assert started.status_code == 202
        assert started.json()["workflow_id"].startswith(f"monitor-{name}-run-")
        ran = await api.post(
            f"/api/v1/monitors/{name}/run", params={"wait": "true"}, headers=headers
        )
        assert ran.status_code == 200, ran.text
        answer = ran.json()
        assert answer["status"] == "completed"
        assert answer["result"]["state"] == "not_enough_data"
        assert answer["result"]["incident_id"] is None


async def test_a_temporal_refusal_leaves_nothing_half_written(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    monitor_names: MonitorNames,
) -> None:
    # The real server refuses a task queue name longer than its limit: a genuine failure in
    # the middle of a change, after the row was written.
    refused = settings.model_copy(update={"task_queue": "q" * 2000})
    client = temporal_env.client
    name = monitor_names("atomic")
    with Session(engine) as session:
        with pytest.raises(ScheduleUnavailableError):
            await monitors.create_monitor(
                client, session, refused, MonitorCreate(**body(name)), "tester"
            )
        assert session.exec(select(Monitor)).all() == []
    assert await schedule_missing(temporal_env, name)

    with Session(engine) as session:
        await monitors.create_monitor(client, session, settings, MonitorCreate(**body(name)), "t")
        changes = body(name, signal="p99", paused=True)
        del changes["name"]
        with pytest.raises(ScheduleUnavailableError):
            await monitors.update_monitor(client, session, refused, name, MonitorUpdate(**changes))
    with Session(engine) as session:
        kept = session.get(Monitor, name)
        assert kept is not None and kept.signal == "p95" and kept.paused is False
    assert (await schedule_run(temporal_env, name)).signal == "p95"
    assert not (await describe(temporal_env, name)).schedule.state.paused


async def test_a_leftover_schedule_of_the_same_name_is_replaced(
    api_url: str,
    api_keys: dict[str, str],
    temporal_env: WorkflowEnvironment,
    monitor_names: MonitorNames,
) -> None:
    name = monitor_names("leftover")
    await temporal_env.client.create_schedule(
        f"monitor-{name}",
        Schedule(
            action=ScheduleActionStartWorkflow("detection", id="stale", task_queue="nobody"),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
        ),
    )
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        created = await api.post(
            "/api/v1/monitors", json=body(name), headers=as_(api_keys["engineer"])
        )
    assert created.status_code == 201, created.text
    assert (await schedule_run(temporal_env, name)).name == name
