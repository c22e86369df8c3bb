"""The run guard on the real dev server: checked params, bugs, deadlines and cancels compensate."""

from __future__ import annotations

import asyncio
import json
import logging
import math

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from api.ledger.store import incident_entries
from api.models import Approval, Incident
from tests.workflows.helpers import incident_input, start, steps, wait_for_approval

pytestmark = pytest.mark.asyncio(loop_scope="session")


def actions(demo: httpx.Client) -> list[tuple[str, object]]:
    return [(a["action"], a["body"].get("replicas")) for a in demo.get("/admin/actions").json()]


def row(engine: Engine, incident_id: str) -> Incident:
    with Session(engine) as session:
        found = session.get(Incident, incident_id)
        assert found is not None
        return found


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"replicas": "abc"}, "params.replicas: Input should be a valid integer"),
        ({"verify_within_seconds": -100}, "params.verify_within_seconds: Input should be greater"),
        ({"verify_within_seconds": math.nan}, "params.verify_within_seconds: Input should be a fi"),
        ({"verify_within_seconds": 1e300}, "params.verify_within_seconds: Input should be less"),
        ({"p95_threshold_ms": -1}, "params.p95_threshold_ms: Input should be greater than 0"),
        ({"replica": 3}, "params.replica: Extra inputs are not permitted"),
    ],
)
async def test_a_run_started_directly_with_bad_params_fails_before_acting(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    params: dict[str, object],
    field: str,
) -> None:
    handle = await start(temporal_env.client, settings, "high_latency", incident_input(**params))
    outcome = await asyncio.wait_for(handle.result(), 30)
    assert outcome.status == "failed"
    assert outcome.reason.startswith("invalid parameters: ") and field in outcome.reason
    assert demo.get("/admin/actions").json() == [] and steps(engine, handle.id) == []
    recorded = row(engine, handle.id)
    assert recorded.status == "failed" and recorded.outcome is not None
    assert field in recorded.outcome["reason"]


async def test_a_bug_after_an_apply_compensates_and_fails_the_run(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "test_apply_then_bug", incident_input())
    outcome = await asyncio.wait_for(handle.result(), 30)
    assert outcome.status == "failed"
    assert "playbook error at step 1: KeyError: 'replicas'" in outcome.reason
    assert "compensated step(s) 1" in outcome.reason
    assert outcome.compensated == [1] and outcome.applied == [{"step": 1, "actuator": "demo.scale"}]
    assert actions(demo) == [("scale", 6), ("scale", 2)]
    assert demo.get("/admin/state").json()["replicas"] == 2
    assert [(s.kind, s.status) for s in steps(engine, handle.id)] == [
        ("act", "applied"),
        ("undo", "undone"),
    ]
    assert row(engine, handle.id).status == "failed"
    kinds = [e.kind for e in incident_entries(engine, handle.id)]
    assert kinds[-2:] == ["undo", "outcome"]


async def test_a_sandbox_violation_after_an_apply_compensates_instead_of_retrying(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    # Before the guard this was a workflow task failure, retried forever with the target scaled.
    incident = incident_input()
    handle = await start(temporal_env.client, settings, "test_apply_then_nondeterminism", incident)
    outcome = await asyncio.wait_for(handle.result(), 30)
    assert outcome.status == "failed" and "RestrictedWorkflowAccessError" in outcome.reason
    assert outcome.compensated == [1]
    assert demo.get("/admin/state").json()["replicas"] == 2


async def test_a_bug_outside_remediate_fails_the_run_instead_of_hanging(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    incident = incident_input()
    handle = await start(temporal_env.client, settings, "test_apply_then_broken_signal", incident)
    for _ in range(100):
        if [s.status for s in steps(engine, handle.id)] == ["applied"]:
            break
        await asyncio.sleep(0.1)
    await handle.signal("explode")
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)
    assert "a bug in a signal handler" in str(failed.value.cause)
    # The run could not compensate: its row still says running until the sweeper closes it
    # (tests/activities/incidents/test_sweep.py), and then undo restores the target.
    assert row(engine, handle.id).status == "running"


async def test_past_the_deadline_the_run_fails_compensates_and_alerts(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    incident = incident_input()
    incident.deadline_seconds = 3
    caplog.set_level(logging.ERROR, logger="steward.notify")
    handle = await start(temporal_env.client, settings, "test_apply_then_wait", incident)
    approval = await wait_for_approval(engine, handle.id)
    assert approval.actuator == "demo.restart"
    outcome = await asyncio.wait_for(handle.result(), 30)
    assert outcome.status == "failed"
    assert outcome.reason.startswith("the incident's deadline of 3 s passed at step 2")
    assert outcome.compensated == [1]
    assert outcome.alerts == [f"deadline_passed: {outcome.reason}"]
    assert actions(demo) == [("scale", 6), ("scale", 2)]
    with Session(engine) as session:
        decided = session.exec(select(Approval).where(Approval.incident_id == handle.id)).one()
    assert decided.status == "timeout" and "deadline of 3 s passed" in str(decided.decided_reason)
    by_step = {(s.step, s.kind): s for s in steps(engine, handle.id)}
    assert by_step[(2, "act")].status == "failed"
    assert by_step[(1, "undo")].status == "undone"
    assert row(engine, handle.id).status == "failed"
    alerts = [e for e in incident_entries(engine, handle.id) if e.kind == "alert"]
    assert len(alerts) == 1
    assert json.loads(alerts[0].payload)["details"]["compensated"] == [1]
    logged = [r.getMessage() for r in caplog.records if r.name == "steward.notify"]
    assert any(f"ALERT deadline_passed {handle.id}" in line for line in logged), logged


async def test_a_deadline_during_an_apply_lets_it_finish_then_compensates_it(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    # The demo target answers the scale after 2.5 s; the deadline passes during the call.
    demo.post("/admin/faults", json={"admin_delay_ms": 2500}).raise_for_status()
    incident = incident_input()
    incident.deadline_seconds = 1
    handle = await start(temporal_env.client, settings, "test_apply_then_wait", incident)
    outcome = await asyncio.wait_for(handle.result(), 30)
    assert outcome.status == "failed" and "deadline of 1 s passed at step 1" in outcome.reason
    assert outcome.compensated == [1]
    assert actions(demo) == [("scale", 6), ("scale", 2)]
    assert demo.get("/admin/state").json()["replicas"] == 2


async def test_a_cancelled_run_compensates(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "test_apply_then_wait", incident_input())
    await wait_for_approval(engine, handle.id)
    await handle.cancel()
    outcome = await asyncio.wait_for(handle.result(), 30)
    assert outcome.status == "failed" and "cancelled at step 2" in outcome.reason
    assert outcome.compensated == [1] and outcome.alerts == []
    assert demo.get("/admin/state").json()["replicas"] == 2


async def test_a_deadline_during_compensation_lets_it_finish_without_undoing_twice(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    incident = incident_input()
    incident.deadline_seconds = 4.5
    handle = await start(temporal_env.client, settings, "test_compensating", incident)
    for _ in range(100):
        if len([s for s in steps(engine, handle.id) if s.status == "applied"]) == 3:
            break
        await asyncio.sleep(0.05)
    # Every undo now takes 7 s at the target: the deadline passes while compensation runs.
    demo.post("/admin/faults", json={"admin_delay_ms": 7000}).raise_for_status()
    outcome = await asyncio.wait_for(handle.result(), 60)
    assert outcome.status == "failed"
    assert outcome.reason.startswith(
        "the incident's deadline of 4.5 s passed at step 4 while compensating: "
        "verification demo.p95_below failed"
    )
    assert outcome.compensated == [2, 1]
    log = [a["action"] for a in demo.get("/admin/actions").json()]
    assert log == ["set_flag", "scale", "cache_purge", "scale", "set_flag"]
