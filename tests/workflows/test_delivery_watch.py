"""``delivery_watch`` opens a ``webhook_failures`` incident from a burst; the playbook replays."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from api.models import Incident
from tests.support.alertmanager import evidence_of
from tests.support.deliveries import (
    PERMANENT_404,
    RATE_LIMITED,
    TRANSIENT_503,
    TRANSIENT_REFUSED,
    ago,
    attempt,
    store,
)
from tests.workflows.helpers import incident_input, running_worker, start, steps
from tests.workflows.short_apply import ShortApply
from workflows.delivery_types import DeliveryWatchResult
from workflows.monitor_types import MonitorRun
from workflows.types import PlaybookOutcome

pytestmark = pytest.mark.asyncio(loop_scope="session")


def burst(engine: Engine) -> None:
    """Two quiet hours (a failure every 10 min), then 24 failures in the last 4 minutes."""
    quiet = [attempt(f"q-{i}", TRANSIENT_503, at=ago(minutes=10 * i + 6)) for i in range(1, 12)] + [
        attempt("q-ok", {"status_code": 200, "error_text": ""}, at=ago(hours=2, minutes=5))
    ]
    loud = (
        [attempt(f"a-{i}", TRANSIENT_REFUSED, at=ago(seconds=10 * i + 5)) for i in range(14)]
        + [attempt(f"a-404-{i}", PERMANENT_404, at=ago(seconds=20 * i + 7)) for i in range(3)]
        + [attempt(f"a-429-{i}", RATE_LIMITED, at=ago(seconds=20 * i + 9)) for i in range(2)]
        + [
            attempt(f"g-{i}", TRANSIENT_503, tenant="globex", at=ago(seconds=30 * i + 3))
            for i in range(5)
        ]
    )
    store(engine, quiet + loud)


def monitor(**changes: object) -> MonitorRun:
    values: dict[str, object] = {
        "name": "webhooks",
        "kind": "deliveries",
        "service": "demo",
        "signal": "webhook_failures",
        "severity": "high",
        "playbook": "webhook_failures",
        "window_seconds": 3600,
    }
    values.update(changes)
    return MonitorRun(**values)  # type: ignore[arg-type]


async def watch(
    env: WorkflowEnvironment, settings: Settings, run: MonitorRun
) -> DeliveryWatchResult:
    return await env.client.execute_workflow(
        "delivery_watch",
        run,
        id=f"monitor-test-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=DeliveryWatchResult,
    )


async def finished(engine: Engine, ident: str, timeout: float = 60) -> Incident:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            row = session.get(Incident, ident)
            if row is not None and row.outcome is not None:
                return row
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{ident} did not finish")


async def test_a_burst_opens_one_incident_whose_playbook_replays_the_safe_deliveries(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    burst(engine)
    result = await watch(temporal_env, settings, monitor())
    assert [(f.kind, f.key) for f in result.findings] == [("burst", "*")]
    assert result.findings[0].tenants == ["acme", "globex"]  # busiest first
    assert result.findings[0].explanation["recent_events"] == 24
    # Two hours of history cover the burst's 1 h baseline but not the spikes' 24 h.
    assert result.not_enough_data == ["endpoint_spike", "tenant_spike"]
    assert result.opened is True and len(result.incidents) == 1
    ident = result.incidents[0]

    incident = await finished(engine, ident)
    assert incident.playbook == "webhook_failures" and incident.opened_by == "monitor:webhooks"
    assert incident.status == "resolved", incident.outcome
    done = steps(engine, ident)
    assert [(s.name, s.status) for s in done] == [
        ("webhooks.replay", "applied"),
        ("webhooks.replay", "applied"),
        ("webhooks.replayed", "passed"),
    ]
    assert [s.params["tenant"] for s in done[:2]] == ["acme", "globex"]
    assert done[0].decision is not None and done[0].decision["outcome"] == "allow"
    sent = [r["delivery_id"] for r in demo.get("/admin/webhooks/replays").json()]
    # The quiet hour's failures (within the monitor's window) and the burst's transient ones.
    expected = {f"a-{i}" for i in range(14)} | {f"g-{i}" for i in range(5)}
    expected |= {f"q-{i}" for i in range(1, 6)}
    assert sorted(sent) == sorted(expected) and len(sent) == len(set(sent))

    [evidence] = evidence_of(engine, ident)
    assert evidence.source == "monitor:webhooks" and evidence.explanation["kind"] == "burst"
    assert evidence.score is not None and evidence.score > 0.5

    # The next run in the same window feeds the same incident; nothing is replayed again.
    again = await watch(temporal_env, settings, monitor())
    assert again.incidents == [ident] and again.opened is False
    assert len(evidence_of(engine, ident)) == 2
    assert len(demo.get("/admin/webhooks/replays").json()) == len(sent)


async def test_quiet_deliveries_open_nothing(
    temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings, engine: Engine
) -> None:
    empty = await watch(temporal_env, settings, monitor())
    assert empty.findings == [] and empty.incidents == []
    assert empty.not_enough_data == ["burst", "endpoint_spike", "tenant_spike"]
    store(engine, [attempt(f"q-{i}", TRANSIENT_503, at=ago(minutes=7 * i)) for i in range(20)])
    quiet = await watch(temporal_env, settings, monitor())
    assert quiet.findings == [] and quiet.incidents == []


@pytest_asyncio.fixture(loop_scope="session")
async def short_apply_worker(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> AsyncIterator[Worker]:
    async with running_worker(
        temporal_env.client, settings, engine, extra_workflows=[ShortApply]
    ) as w:
        yield w


async def test_a_timed_out_replay_is_retried_without_sending_twice(
    temporal_env: WorkflowEnvironment,
    short_apply_worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    store(engine, [attempt(f"r-{i}", TRANSIENT_503, at=ago(minutes=i + 1)) for i in range(4)])
    # The sender replays at once but answers after 4 s: the first apply attempt times out.
    demo.post("/admin/faults", json={"admin_delay_ms": 4000}).raise_for_status()
    incident = incident_input("webhook_failures", tenant="acme", since=ago(hours=1).isoformat())
    handle = await start(
        temporal_env.client, settings, "test_webhook_failures_short_apply", incident
    )
    deadline = time.monotonic() + 20
    while not demo.get("/admin/webhooks/replays").json():
        assert time.monotonic() < deadline, "the sender never replayed"
        await asyncio.sleep(0.05)
    demo.delete("/admin/faults").raise_for_status()  # the retry gets a quick answer

    outcome = await handle.result()
    assert isinstance(outcome, PlaybookOutcome) and outcome.status == "resolved", outcome
    sent = [r["delivery_id"] for r in demo.get("/admin/webhooks/replays").json()]
    assert sorted(sent) == ["r-0", "r-1", "r-2", "r-3"]  # once each, despite the retry
    history = [e async for e in handle.fetch_history_events()]
    started = [e for e in history if e.HasField("activity_task_started_event_attributes")]
    # The apply really was retried: its started event records the attempt that completed.
    assert any(e.activity_task_started_event_attributes.attempt >= 2 for e in started)
    [replay] = [s for s in steps(engine, handle.id) if s.name == "webhooks.replay"]
    assert replay.result["totals"] == {"replayed": 4}
