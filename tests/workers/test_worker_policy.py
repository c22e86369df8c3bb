"""The worker process decides with the policy engine its settings choose."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.policy.bundle import PolicyBundle
from api.core.settings import Settings
from bench.harness.opa_server import create_opa_app
from bench.harness.servers import serve_app
from tests.activities.policy import POLICIES
from tests.workflows.helpers import incident_input, start, steps
from workers.worker import run
from workflows.incident_sweep import SWEEP_SCHEDULE_ID

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _delete_sweep_schedule(env: WorkflowEnvironment) -> None:
    """Leave no sweep Schedule on this test's task queue behind for later tests."""
    try:
        await env.client.get_schedule_handle(SWEEP_SCHEDULE_ID).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def test_a_worker_set_to_the_remote_engine_asks_the_opa_server(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine, demo: httpx.Client
) -> None:
    app = create_opa_app(POLICIES)
    with serve_app(app) as url:
        remote = settings.model_copy(update={"policy_engine": "remote", "opa_url": url})
        stop = asyncio.Event()
        running = asyncio.create_task(run(remote, stop=stop))
        try:
            demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
            handle = await start(temporal_env.client, remote, "high_latency", incident_input())
            outcome = await asyncio.wait_for(handle.result(), 60)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(running, 30)
            await _delete_sweep_schedule(temporal_env)
        asked = app.state.opa.requests
    assert outcome.status == "resolved", outcome
    # The gate asked the server; the recorded decision names the bundle it serves.
    assert asked >= 1
    act = steps(engine, handle.id)[0]
    assert act.decision is not None
    assert act.decision["bundle_sha256"] == PolicyBundle.load(POLICIES).sha256


async def test_a_worker_left_at_the_default_decides_in_process(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine, demo: httpx.Client
) -> None:
    app = create_opa_app(POLICIES)
    with serve_app(app) as url:
        # The URL is set but the engine is not: nobody may ask the server.
        embedded = settings.model_copy(update={"opa_url": url})
        stop = asyncio.Event()
        running = asyncio.create_task(run(embedded, stop=stop))
        try:
            demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
            handle = await start(temporal_env.client, embedded, "high_latency", incident_input())
            outcome = await asyncio.wait_for(handle.result(), 60)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(running, 30)
            await _delete_sweep_schedule(temporal_env)
        asked = app.state.opa.requests
    assert outcome.status == "resolved", outcome
    assert asked == 0
