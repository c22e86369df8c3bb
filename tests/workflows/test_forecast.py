"""Forecast monitors: a predicted breach opens a proactive incident, simulate first."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.policy import runtime
from api.core.settings import Settings
from api.models import Incident, utcnow
from api.models.detection import Event, IncidentEvidence
from workflows.forecast import ForecastResult
from workflows.monitor_types import MonitorRun

pytestmark = pytest.mark.asyncio(loop_scope="session")


def push_series(engine: Engine, series: str, slope_per_minute: float) -> None:
    """Thirty minutes of p95 latency, one point a minute, ending now."""
    now = utcnow()
    with Session(engine) as session:
        for i in range(30):
            session.add(
                Event(
                    id=f"{series}-{i}",
                    series=series,
                    service="demo",
                    timestamp=now - timedelta(minutes=29 - i),
                    value=300 + slope_per_minute * i,
                )
            )
        session.commit()


def monitor(series: str) -> MonitorRun:
    return MonitorRun(
        name=f"forecast-{series}",
        kind="forecast",
        service="demo",
        signal=f"predicted-{series}",
        severity="high",
        playbook="high_latency",
        source={"kind": "events", "series": series},
        detector={"threshold": 500, "direction": "above", "horizon_seconds": 3600},
        window_seconds=3600,
    )


async def run(env: WorkflowEnvironment, settings: Settings, run: MonitorRun) -> ForecastResult:
    return await env.client.execute_workflow(
        "forecast",
        run,
        id=f"forecast-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=ForecastResult,
    )


async def test_predicted_breach_plans_in_simulate_mode_then_applies(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    replicas = demo.get("/admin/state").json()["replicas"]
    push_series(engine, "rising", 5.0)  # 300 -> 445 ms, at 500 in about 11 minutes
    result = await run(temporal_env, settings, monitor("rising"))
    assert (result.state, result.breach, result.model) == ("ok", True, "linear")
    assert result.simulated_incident and result.applied_incident
    assert result.simulated_incident != result.applied_incident
    assert [(p["actuator"], p["decision"]) for p in result.plan] == [("demo.scale", "allow")]
    applied = await temporal_env.client.get_workflow_handle(result.applied_incident).result()
    assert applied["status"] == "resolved"
    assert demo.get("/admin/state").json()["replicas"] > replicas
    with Session(engine) as session:
        simulated = session.get(Incident, result.simulated_incident)
        assert simulated is not None and simulated.mode == "simulate"
        assert simulated.outcome is not None and simulated.outcome["plan"] == result.plan
        evidence = session.get(Incident, result.applied_incident)
        assert evidence is not None and evidence.opened_by == "monitor:forecast-rising"
        rows = session.exec(
            select(IncidentEvidence).where(IncidentEvidence.incident_id == result.applied_incident)
        ).all()
    assert rows and rows[0].explanation["model"] == "linear"


async def test_a_denied_plan_is_not_applied_and_flat_series_open_nothing(
    temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings, engine: Engine
) -> None:
    push_series(engine, "flat", 0.0)
    flat = await run(temporal_env, settings, monitor("flat"))
    assert flat.state == "ok" and not flat.breach and flat.simulated_incident is None
    short = await run(temporal_env, settings, monitor("nothing-pushed"))
    assert short.state == "not_enough_data" and not short.breach
    # With the kill switch on, the policy denies the planned scale: nothing is applied.
    with Session(engine) as session:
        runtime.set_kill_switch(session, True, "ada", "forecast test")
    push_series(engine, "denied", 5.0)
    denied = await run(temporal_env, settings, monitor("denied"))
    assert denied.breach and denied.simulated_incident and denied.applied_incident is None
    assert denied.reason.startswith("not applied:")
