"""Helpers for starting playbooks and waiting on their records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.policy.engine import EmbeddedPolicyEngine, PolicyEngine
from api.core.settings import Settings
from api.models import Approval, Step
from workers.worker import build_worker
from workflows.types import IncidentInput, PlaybookOutcome


def incident_input(signal: str = "high_latency", **params: Any) -> IncidentInput:
    """An incident on the demo service opened by ``tester``."""
    return IncidentInput(
        service="demo",
        signal=signal,
        severity="high",
        opened_by="tester",
        window_start=datetime.now(UTC).isoformat(),
        params=params,
    )


async def start(
    client: Client, settings: Settings, playbook: str, incident: IncidentInput
) -> WorkflowHandle[Any, PlaybookOutcome]:
    """Start ``playbook`` for ``incident`` on the test's task queue."""
    return await client.start_workflow(
        playbook,
        incident,
        id=f"inc-test-{uuid.uuid4().hex[:12]}",
        task_queue=settings.task_queue,
        result_type=PlaybookOutcome,
    )


async def wait_for_approval(engine: Engine, incident_id: str, timeout: float = 20) -> Approval:
    """Wait until the incident has a pending approval row and return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        with Session(engine) as session:
            row = session.exec(
                select(Approval).where(
                    Approval.incident_id == incident_id, Approval.status == "pending"
                )
            ).first()
            if row is not None:
                return row
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no pending approval for {incident_id} within {timeout}s")


def steps(engine: Engine, incident_id: str) -> list[Step]:
    """The incident's step rows in order."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Step).where(Step.incident_id == incident_id).order_by(Step.step, Step.id)
            ).all()
        )


@asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    extra_workflows: Sequence[type] = (),
    task_queue: str | None = None,
    policy: PolicyEngine | None = None,
) -> AsyncIterator[Worker]:
    """A Steward worker in this process, polling while the block runs.

    Args:
        client: The Temporal client.
        settings: The test's settings (its task queue unless ``task_queue``).
        engine: The test's app database.
        extra_workflows: Playbooks to register beside the installed ones.
        task_queue: Another task queue than the settings'.
        policy: The policy engine; the embedded one over ``policies/`` by default.
    """
    async with httpx.AsyncClient(timeout=10) as http:
        worker = build_worker(
            client,
            settings,
            engine,
            http,
            policy or EmbeddedPolicyEngine(),
            task_queue=task_queue,
            extra_workflows=extra_workflows,
        )
        async with worker:
            yield worker
