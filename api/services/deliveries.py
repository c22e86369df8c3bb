"""Delivery triage and replay advice for the REST API, answered by short workflow runs.

The API may not import ``activities``, where the triage library lives. Instead of copying the
library into ``api`` (two places to keep in step) or precomputing verdicts at ingest (stale
when the rules change), each answer is a run of ``triage_deliveries`` or ``replay_advice``:
one workflow task whose local activity reads the rows and runs the library, so the answer is
what the worker's current rules say, and which verdicts the API handed out is in the history.
Cheap checks (an unknown id) are answered from the database without a run.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.service import RPCError

from api.core.settings import Settings
from api.core.temporal import is_transport_failure, unreachable
from api.models.detection import DeliveryAttemptRow
from workflows.delivery_types import (
    REPLAY_ADVICE_WORKFLOW,
    TRIAGE_WORKFLOW,
    ReplayAdvice,
    ReplayAdviceRequest,
    TriageReport,
    TriageRequest,
)

R = TypeVar("R")


class QueryUnavailableError(RuntimeError):
    """No worker answered in time, or the run failed; the message says which."""


def delivery_known(session: Session, delivery_id: str) -> bool:
    """Whether any attempt of the delivery is stored."""
    found = session.exec(
        select(DeliveryAttemptRow.id).where(DeliveryAttemptRow.delivery_id == delivery_id).limit(1)
    ).first()
    return found is not None


async def _run(
    client: Client, settings: Settings, workflow: str, arg: Any, result_type: type[R]
) -> R:
    timeout = settings.query_timeout_seconds
    try:
        result: R = await client.execute_workflow(
            workflow,
            arg,
            id=f"{workflow}-{uuid.uuid4().hex}",
            task_queue=settings.task_queue,
            result_type=result_type,
            # Bounds the wait when no worker polls the queue: the run times out on the server.
            execution_timeout=timedelta(seconds=timeout),
        )
        return result
    except WorkflowFailureError as exc:
        if isinstance(exc.cause, TemporalTimeoutError):
            raise QueryUnavailableError(
                f"no worker answered {workflow} within {timeout:g} s "
                f"(is a worker polling task queue {settings.task_queue}?)"
            ) from exc
        raise QueryUnavailableError(f"{workflow} failed: {exc.cause or exc}") from exc
    except RPCError as exc:
        if is_transport_failure(exc):
            raise unreachable(client, exc) from exc
        raise QueryUnavailableError(f"Temporal refused {workflow}: {exc}") from exc


async def triage(client: Client, settings: Settings, delivery_ids: list[str]) -> TriageReport:
    """Triage the latest attempt of each delivery."""
    return await _run(
        client, settings, TRIAGE_WORKFLOW, TriageRequest(delivery_ids=delivery_ids), TriageReport
    )


async def replay_advice(
    client: Client, settings: Settings, request: ReplayAdviceRequest
) -> ReplayAdvice:
    """The replay advisor's answer for one tenant."""
    return await _run(client, settings, REPLAY_ADVICE_WORKFLOW, request, ReplayAdvice)
