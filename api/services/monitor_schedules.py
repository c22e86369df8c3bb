"""Temporal Schedules of monitors: ``monitor-<name>`` starts the kind's workflow every interval.

The ``monitor`` row is the truth; these functions make the Schedule say the same thing. Every
Temporal failure becomes ``ScheduleUnavailableError`` so callers can undo their database
change and answer 503.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from api.core.settings import Settings, get_settings
from api.core.temporal import TemporalUnavailableError, is_transport_failure
from api.models.detection import Monitor
from workflows.monitor_types import MONITOR_WORKFLOWS, MonitorRun

# The shortest catch-up window Temporal accepts. A missed run is not worth running late: the
# next one looks at the same data, newer.
_MIN_CATCHUP = timedelta(seconds=10)
# A run that takes longer than this is stuck (its activities retry only briefly): end it so
# that the Schedule, which skips while a run is going, runs again.
_MIN_RUN_TIMEOUT = timedelta(minutes=10)


class ScheduleUnavailableError(RuntimeError):
    """Temporal refused or could not be reached; the message says which and why."""


def schedule_id(name: str) -> str:
    """The id of monitor ``name``'s Schedule."""
    return f"monitor-{name}"


def monitor_run(row: Monitor) -> MonitorRun:
    """The argument every run of the monitor starts with."""
    return MonitorRun(
        name=row.name,
        kind=row.kind,
        service=row.service,
        signal=row.signal,
        severity=row.severity,
        playbook=row.playbook,
        source=dict(row.source),
        detector=dict(row.detector),
        interval_seconds=row.interval_seconds,
        window_seconds=row.window_seconds,
    )


def _run_timeout(row: Monitor) -> timedelta:
    return max(_MIN_RUN_TIMEOUT, timedelta(seconds=3 * row.interval_seconds))


def build_schedule(row: Monitor, settings: Settings) -> Schedule:
    """The Schedule for ``row``: every interval, skip while a run is still going."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MONITOR_WORKFLOWS[row.kind],
            monitor_run(row),
            # Temporal appends the scheduled time to this id for each run.
            id=schedule_id(row.name),
            task_queue=settings.task_queue,
            execution_timeout=_run_timeout(row),
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=row.interval_seconds))]
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=max(_MIN_CATCHUP, timedelta(seconds=row.interval_seconds)),
        ),
        state=ScheduleState(paused=row.paused, note=_note(row)),
    )


def _note(row: Monitor) -> str:
    return f"monitor {row.name}: {'paused' if row.paused else 'active'}"


def _unavailable(action: str, name: str, exc: Exception) -> ScheduleUnavailableError:
    if is_transport_failure(exc):
        # The plain reason; the route adds Retry-After to every ScheduleUnavailableError.
        return ScheduleUnavailableError(
            f"cannot {action} the Schedule of monitor {name!r}: "
            f"{TemporalUnavailableError(get_settings().temporal_address).reason}"
        )
    return ScheduleUnavailableError(f"cannot {action} the Schedule of monitor {name!r}: {exc}")


async def create_schedule(client: Client, row: Monitor, settings: Settings) -> None:
    """Create the Schedule; one left behind by an earlier failed attempt is replaced.

    The caller has already committed the row, so no one else owns the name: an existing
    Schedule of that id can only be a leftover.

    Raises:
        ScheduleUnavailableError: When Temporal fails.
    """
    schedule = build_schedule(row, settings)
    try:
        try:
            await client.create_schedule(schedule_id(row.name), schedule)
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(schedule_id(row.name)).delete()
            await client.create_schedule(schedule_id(row.name), schedule)
    except (RPCError, ScheduleAlreadyRunningError) as exc:
        raise _unavailable("create", row.name, exc) from exc


async def sync_schedule(client: Client, row: Monitor, settings: Settings) -> None:
    """Make the Schedule match ``row`` (settings and paused state); create it when missing.

    Raises:
        ScheduleUnavailableError: When Temporal fails.
    """
    schedule = build_schedule(row, settings)
    handle = client.get_schedule_handle(schedule_id(row.name))

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    try:
        await handle.update(replace)
        # Pausing is a state change of its own; do not rely on an update to carry it.
        if row.paused:
            await handle.pause(note=_note(row))
        else:
            await handle.unpause(note=_note(row))
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise _unavailable("update", row.name, exc) from exc
        await create_schedule(client, row, settings)


async def delete_schedule(client: Client, name: str) -> None:
    """Delete the Schedule; one that is already gone is fine.

    Raises:
        ScheduleUnavailableError: When Temporal fails.
    """
    try:
        await client.get_schedule_handle(schedule_id(name)).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise _unavailable("delete", name, exc) from exc


async def describe_schedule(client: Client, name: str) -> dict[str, Any]:
    """The Schedule's state, next run times and recent runs (``state`` ``missing`` when gone).

    A Temporal failure gives ``state`` ``unknown`` with the error: reading a monitor must not
    fail because Temporal is down.
    """
    try:
        description = await client.get_schedule_handle(schedule_id(name)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return {"state": "missing"}
        return {"state": "unknown", "error": str(exc)}
    info = description.info
    recent = [
        {
            "workflow_id": action.action.workflow_id,
            "scheduled_at": action.scheduled_at,
            "started_at": action.started_at,
        }
        for action in info.recent_actions
        if isinstance(action.action, ScheduleActionExecutionStartWorkflow)
    ]
    return {
        "state": "paused" if description.schedule.state.paused else "active",
        "next_runs": list(info.next_action_times[:5]),
        "recent_runs": recent[-10:],
    }


async def start_run(client: Client, row: Monitor, settings: Settings) -> WorkflowHandle[Any, Any]:
    """Start one run now, outside the Schedule (a paused monitor can be run by hand too).

    Raises:
        ScheduleUnavailableError: When Temporal fails.
    """
    try:
        return await client.start_workflow(
            MONITOR_WORKFLOWS[row.kind],
            monitor_run(row),
            id=f"{schedule_id(row.name)}-run-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            execution_timeout=_run_timeout(row),
        )
    except RPCError as exc:
        raise _unavailable("run", row.name, exc) from exc
