"""The detection workflow on a real worker: score a window of pushed events, open or attach."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from api.models import Incident
from api.models.detection import Event, IncidentEvidence
from workflows.detection import DetectionResult
from workflows.monitor_types import MonitorRun

pytestmark = pytest.mark.asyncio(loop_scope="session")


def push(engine: Engine, series: str, values: list[float], end: float) -> None:
    """Push ``values`` one second apart, the last at ``end``."""
    with Session(engine) as session:
        for n, value in enumerate(values):
            at = end - (len(values) - 1 - n)
            session.add(
                Event(
                    id=f"{series}-{at}",
                    series=series,
                    service="demo",
                    timestamp=datetime.fromtimestamp(at, UTC),
                    value=value,
                )
            )
        session.commit()


def monitor(series: str, **changes: Any) -> MonitorRun:
    values: dict[str, Any] = {
        "name": f"m-{series}",
        "kind": "detect",
        "service": "demo",
        "signal": f"sig-{series}",
        "severity": "high",
        # error_burst waits for an operator: the incident stays open while evidence arrives.
        "playbook": "error_burst",
        "source": {"kind": "events", "series": series},
        "detector": {"name": "zscore", "min_history": 10},
        "interval_seconds": 1,
        "window_seconds": 120,
    }
    values.update(changes)
    return MonitorRun(**values)


async def run(env: WorkflowEnvironment, settings: Settings, run: MonitorRun) -> DetectionResult:
    return await env.client.execute_workflow(
        "detection",
        run,
        id=f"monitor-{run.name}-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=DetectionResult,
    )


def normal(n: int) -> list[float]:
    return [100.0 + (i * 7) % 5 for i in range(n)]


def evidence(engine: Engine, incident_id: str) -> list[IncidentEvidence]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(IncidentEvidence).where(IncidentEvidence.incident_id == incident_id)
            ).all()
        )


async def test_an_anomaly_opens_the_incident_and_the_next_one_attaches(
    temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings, engine: Engine
) -> None:
    series = uuid.uuid4().hex[:8]
    now = time.time()
    push(engine, series, [*normal(40), 400.0], now - 1)
    first = await run(temporal_env, settings, monitor(series))
    assert first.state == "ok" and first.anomalous and first.opened
    assert first.incident_id is not None
    assert first.explanation["detector"] == "zscore" and first.explanation["value"] == 400.0
    with Session(engine) as session:
        incident = session.get(Incident, first.incident_id)
        assert incident is not None
        assert incident.opened_by == f"monitor:m-{series}" and incident.signal == f"sig-{series}"
        assert incident.summary is not None and "400.0" in incident.summary
    [stored] = evidence(engine, first.incident_id)
    assert stored.source == f"monitor:m-{series}" and stored.score == first.score
    assert stored.explanation["baseline"] == pytest.approx(102.0, abs=1.5)
    assert stored.explanation["monitor"] == f"m-{series}"

    # The same point seen again (a duplicate run) attaches nothing new.
    again = await run(temporal_env, settings, monitor(series))
    assert again.anomalous and not again.opened and again.incident_id == first.incident_id
    assert len(evidence(engine, first.incident_id)) == 1

    # A new anomalous point, once the first is older than a run looks back (two intervals),
    # attaches to the open incident instead of opening another.
    await asyncio.sleep(2.5)
    push(engine, series, [450.0], time.time() - 0.1)
    later = await run(temporal_env, settings, monitor(series))
    assert later.anomalous and not later.opened and later.incident_id == first.incident_id
    assert len(evidence(engine, first.incident_id)) == 2
    with Session(engine) as session:
        opened = session.exec(select(Incident).where(Incident.signal == f"sig-{series}")).all()
    assert len(opened) == 1
    await temporal_env.client.get_workflow_handle(first.incident_id).terminate("test done")


async def test_not_enough_data_and_normal_points_open_nothing(
    temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings, engine: Engine
) -> None:
    series = uuid.uuid4().hex[:8]
    push(engine, series, [100.0, 100.0, 900.0], time.time() - 1)
    short = await run(temporal_env, settings, monitor(series))
    assert short.state == "not_enough_data" and not short.anomalous
    assert short.incident_id is None and short.explanation["need"] == 10

    quiet = uuid.uuid4().hex[:8]
    push(engine, quiet, normal(40), time.time() - 1)
    calm = await run(temporal_env, settings, monitor(quiet))
    assert calm.state == "ok" and not calm.anomalous and calm.incident_id is None

    empty = await run(temporal_env, settings, monitor(uuid.uuid4().hex[:8]))
    assert empty.state == "not_enough_data" and "no points" in empty.explanation["reason"]
    with Session(engine) as session:
        assert session.exec(select(Incident)).all() == []


async def test_unusable_settings_fail_the_run_without_retrying(
    temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings
) -> None:
    started = time.monotonic()
    with pytest.raises(WorkflowFailureError) as raised:
        await run(temporal_env, settings, monitor("x", detector={"name": "magic"}))
    cause = raised.value.cause.cause  # the activity's failure
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert "unknown detector 'magic'" in cause.message
    assert time.monotonic() - started < 5  # no retries with backoff
