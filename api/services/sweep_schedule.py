"""The Schedule that sweeps stale incident rows (see ``workflows.incident_sweep``)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    WorkflowFailureError,
)
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.service import RPCError

from activities.incidents.types import SweepReport, SweepRequest
from api.core.settings import Settings
from workflows.incident_sweep import SWEEP_SCHEDULE_ID, SWEEP_WORKFLOW

logger = logging.getLogger("steward.sweep")
# A sweep that takes longer than this is stuck: end it so the next one can run.
_SWEEP_RUN_TIMEOUT = timedelta(minutes=15)


def sweep_schedule(settings: Settings) -> Schedule:
    """Repair every ``incident_sweep_seconds``; skip while the previous sweep still runs."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SWEEP_WORKFLOW,
            SweepRequest(repair=True),
            id=SWEEP_SCHEDULE_ID,
            task_queue=settings.task_queue,
            execution_timeout=_SWEEP_RUN_TIMEOUT,
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(seconds=settings.incident_sweep_seconds))
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_sweep_schedule(client: Client, settings: Settings) -> None:
    """Create the sweep Schedule unless it exists (every worker calls this on start)."""
    try:
        await client.create_schedule(SWEEP_SCHEDULE_ID, sweep_schedule(settings))
        logger.info("created Schedule %s", SWEEP_SCHEDULE_ID)
    except ScheduleAlreadyRunningError:
        return


class SweepUnavailableError(RuntimeError):
    """No worker ran the sweep in time, it failed, or Temporal refused; the message says which."""


async def run_sweep(client: Client, settings: Settings, *, repair: bool) -> SweepReport:
    """Run one sweep now, on demand, and return what it found.

    Raises:
        SweepUnavailableError: Naming why there is no answer.
    """
    # A sweep asks Temporal about each open row: give it longer than a one-read query.
    timeout = 4 * settings.query_timeout_seconds
    try:
        return await client.execute_workflow(
            SWEEP_WORKFLOW,
            SweepRequest(repair=repair),
            id=f"incident-sweep-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            result_type=SweepReport,
            # Bounds the wait when no worker polls the queue: the run times out on the server.
            execution_timeout=timedelta(seconds=timeout),
        )
    except WorkflowFailureError as exc:
        if isinstance(exc.cause, TemporalTimeoutError):
            raise SweepUnavailableError(
                f"no worker ran the sweep within {timeout:g} s "
                f"(is a worker polling task queue {settings.task_queue}?)"
            ) from exc
        raise SweepUnavailableError(f"the sweep failed: {exc.cause or exc}") from exc
    except RPCError as exc:
        raise SweepUnavailableError(f"Temporal refused the sweep: {exc}") from exc
