"""Crashes and time: a killed worker, a restarted server, an approval that times out."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings
from api.models import Approval
from bench.harness.servers import free_port, port_accepts_connections
from tests.support.environment import binary
from tests.support.processes import spawn_worker
from tests.workflows.helpers import incident_input, start, wait_for_approval
from workers.stack.specs import temporal_server_argv
from workers.worker import build_worker
from workflows.types import ApprovalDecision, PlaybookOutcome

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]


async def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(what)


async def test_apply_retried_after_worker_kill_applies_once(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    steward_env: dict[str, str],
    demo: httpx.Client,
) -> None:
    # The target applies, stores the idempotent result, then stalls before answering:
    # the worker dies holding an applied-but-unacknowledged call.
    demo.post("/admin/faults", json={"latency_ms": 400, "admin_delay_ms": 3000})
    first = spawn_worker(steward_env)
    try:
        handle = await start(temporal_env.client, settings, "high_latency", incident_input())
        await wait_until(lambda: demo.get("/admin/actions").json(), 30, "the scale never applied")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = spawn_worker(steward_env)
        try:
            outcome = await asyncio.wait_for(handle.result(), 60)
        finally:
            second.terminate()
            second.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert outcome.status == "resolved", outcome
    actions = demo.get("/admin/actions").json()
    assert [a["action"] for a in actions] == ["scale"]
    attempts = [
        e
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert any(e.activity_task_started_event_attributes.attempt > 1 for e in attempts)


class DevServer:
    """A file-backed ``temporal server start-dev`` that can be killed and restarted."""

    def __init__(self, db: Path) -> None:
        self.db, self.port = db, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            temporal_server_argv(binary("temporal"), self.db, self.port),
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not port_accepts_connections(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the dev server did not start")
            time.sleep(0.1)

    def crash(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path / "temporal.db")
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.process.terminate()
        server.process.wait(10)


async def test_workflow_survives_a_restart_of_the_file_backed_server(
    dev_server: DevServer,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    address = f"127.0.0.1:{dev_server.port}"
    client = await Client.connect(address)
    async with httpx.AsyncClient(timeout=10) as http:
        worker = build_worker(client, settings, engine, http, EmbeddedPolicyEngine())
        async with worker:
            handle = await start(client, settings, "error_burst", incident_input("errors"))
            approval = await wait_for_approval(engine, handle.id)
            dev_server.crash()
            dev_server.start()
            again = await Client.connect(address)
            restored = again.get_workflow_handle(handle.id, result_type=PlaybookOutcome)
            await restored.execute_update(
                "decide",
                ApprovalDecision(
                    step=approval.step, principal="olivia", roles=["operator"], decision="approve"
                ),
                result_type=str,
            )
            outcome = await asyncio.wait_for(restored.result(), 60)
    assert outcome.status == "resolved", outcome
    assert [a["action"] for a in demo.get("/admin/actions").json()] == ["restart", "cache_purge"]


async def test_pending_approval_times_out_as_rejected(
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server")
    )
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            worker: Worker = build_worker(
                env.client, settings, engine, http, EmbeddedPolicyEngine()
            )
            async with worker:
                handle = await start(env.client, settings, "error_burst", incident_input("errors"))
                outcome = await handle.result()  # the server skips the hour of waiting
    finally:
        await env.shutdown()
    assert outcome.status == "rejected"
    assert outcome.reason.endswith("timeout")
    with Session(engine) as session:
        approval = session.get(Approval, f"{handle.id}.1")
        assert approval is not None and approval.status == "timeout"
        assert approval.decided_reason == "timeout"
    assert demo.get("/admin/actions").json() == []
