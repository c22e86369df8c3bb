"""A worker killed mid-verification: the retry resumes the same window from the last heartbeat.

Real dev server, worker processes and demo target. The high_latency playbook scales the demo
service, then verifies its p95 latency; an injected latency keeps the check failing while the
first worker polls, and that worker is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities import names
from api.core.converter import DATA_CONVERTER
from api.core.settings import Settings
from tests.support.processes import spawn_worker
from tests.workflows.helpers import incident_input, start, steps
from workflows.playbook import Playbook

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]

# After scaling to 8 replicas the demo's p95 is 40 + 2 * 4000 / 8 = 1,040 ms: above 200.
SLOW = {"latency_ms": 4000}


async def verify_details(handle: WorkflowHandle[Any, Any]) -> tuple[int, dict[str, Any] | None]:
    """The pending verification's activity attempt and its last heartbeat details."""
    converter = DATA_CONVERTER.payload_converter
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name != names.ACTUATOR_VERIFY:
            continue
        payloads = list(pending.heartbeat_details.payloads)
        if not payloads:
            return pending.attempt, None
        details = converter.from_payloads(payloads)[-1]
        return pending.attempt, details if isinstance(details, dict) else None
    return 0, None


async def wait_for_details(
    handle: WorkflowHandle[Any, Any], what: str, accept: Any, timeout: float = 90
) -> tuple[int, dict[str, Any]]:
    """Poll the server's view of the verification until ``accept(attempt, details)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt, details = await verify_details(handle)
        if details is not None and accept(attempt, details):
            return attempt, details
        await asyncio.sleep(0.2)
    raise TimeoutError(what)


def kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(10)


def verify_attempts_started(history: Any) -> list[int]:
    """The attempt number of every started verify activity task."""
    scheduled = {
        e.event_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == names.ACTUATOR_VERIFY
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]


async def test_verification_resumes_on_another_worker_and_keeps_counting(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    steward_env: dict[str, str],
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json=SLOW).raise_for_status()
    first = spawn_worker(steward_env)
    second: subprocess.Popen[bytes] | None = None
    try:
        incident = incident_input(verify_within_seconds=60)
        handle = await start(temporal_env.client, settings, "high_latency", incident)
        _, before = await wait_for_details(
            handle, "the verification never polled 3 times", lambda _, d: d["attempts"] >= 3
        )
        kill(first)
        killed_at = time.time()
        second = spawn_worker(steward_env)
        # The retry continues the first attempt's window and count.
        attempt, resumed = await wait_for_details(
            handle,
            "no retried attempt polled",
            lambda a, d: a >= 2 and d["attempts"] > before["attempts"],
        )
        assert resumed["deadline"] == before["deadline"]
        demo.delete("/admin/faults").raise_for_status()  # now the check passes
        outcome = await asyncio.wait_for(handle.result(), 120)
    finally:
        kill(first)
        if second is not None:
            stop(second)
    assert outcome.status == "resolved", outcome
    verification = [s for s in steps(engine, handle.id) if s.kind == "verify"][0]
    assert verification.status == "passed"
    assert verification.result["attempts"] > resumed["attempts"] > before["attempts"]
    assert max(verify_attempts_started(await handle.fetch_history())) >= 2
    # Generous: the heartbeat timeout, the retry's backoff and the rest of the window bound
    # it; a new window (the old behaviour) would have allowed another 60 s after the stall.
    heartbeat = Playbook.verify_heartbeat.total_seconds()
    assert time.time() - killed_at < heartbeat + (before["deadline"] - killed_at) + 30


async def test_a_window_that_ended_while_no_worker_ran_is_not_started_again(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    steward_env: dict[str, str],
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json=SLOW).raise_for_status()
    first = spawn_worker(steward_env)
    second: subprocess.Popen[bytes] | None = None
    try:
        incident = incident_input(verify_within_seconds=8)
        handle = await start(temporal_env.client, settings, "high_latency", incident)
        await wait_for_details(
            handle, "the verification never polled", lambda _, d: d["attempts"] >= 2
        )
        kill(first)
        # What the server kept of the dead attempt: the retry starts from exactly this.
        _, last = await wait_for_details(handle, "no details", lambda _, d: True)
        await asyncio.sleep(max(0.0, last["deadline"] - time.time()) + 1)
        second = spawn_worker(steward_env)
        outcome = await asyncio.wait_for(handle.result(), 120)
    finally:
        kill(first)
        if second is not None:
            stop(second)
    # The window was over: the retry answered from the last observation, polled no more,
    # and the failed verification compensated the scale.
    assert outcome.status == "rolled_back", outcome
    verification = [s for s in steps(engine, handle.id) if s.kind == "verify"][0]
    assert verification.status == "failed"
    assert verification.result["attempts"] == last["attempts"]
    assert verification.result["observed"] == last["last"]["observed"]
    assert max(verify_attempts_started(await handle.fetch_history())) == 2
    log = demo.get("/admin/actions").json()
    assert [a["action"] for a in log] == ["scale", "scale"]
    assert log[1]["body"] == {"replicas": 2}
