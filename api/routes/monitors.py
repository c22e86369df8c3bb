"""Monitor routes: create, list, show, replace, delete, pause, resume and run monitors."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from temporalio.client import WorkflowFailureError

from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import ClientDep, OptionalClientDep, PrincipalDep, SessionDep, allow
from api.models.detection import Monitor
from api.schemas.monitors import (
    MONITOR_NAME_PATTERN,
    MonitorCreate,
    MonitorDetail,
    MonitorOut,
    MonitorRunStarted,
    MonitorUpdate,
    ScheduleInfo,
)
from api.services import monitor_schedules as schedules
from api.services import monitors
from workflows.monitor_types import MONITOR_WORKFLOWS

router = APIRouter(prefix="/api/v1/monitors", tags=["monitors"])

MonitorName = Annotated[str, Path(pattern=MONITOR_NAME_PATTERN, description="The monitor's name")]
_READ = [allow(Permission.MONITORS_READ)]
_MANAGE = [allow(Permission.MONITORS_MANAGE)]
_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "No monitor has this name"}}


def _out(row: Monitor) -> MonitorOut:
    return MonitorOut.model_validate(
        {
            **row.model_dump(),
            "schedule_id": schedules.schedule_id(row.name),
            "workflow": MONITOR_WORKFLOWS.get(row.kind, row.kind),
        }
    )


def _http_error(exc: Exception) -> HTTPException | RequestValidationError:
    """Map the core's errors to answers; a 422 names the field like any validation error."""
    if isinstance(exc, monitors.MonitorInputError):
        error = {"loc": ("body", *exc.loc), "msg": exc.message, "type": "value_error"}
        return RequestValidationError([error])
    if isinstance(exc, monitors.MonitorNotFoundError):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, monitors.MonitorExistsError):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    retry_after = str(get_settings().temporal_retry_after_seconds)
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": retry_after}
    )


def _root_message(exc: WorkflowFailureError) -> str:
    """The innermost failure's message: the activity's own words, e.g. Prometheus' error."""
    error: BaseException | None = exc
    message = str(exc)
    while error is not None:
        message = str(getattr(error, "message", None) or error) or message
        error = getattr(error, "cause", None) or error.__cause__
    return message


_HANDLED = (
    monitors.MonitorInputError,
    monitors.MonitorNotFoundError,
    monitors.MonitorExistsError,
    schedules.ScheduleUnavailableError,
)


@router.post(
    "",
    response_model=MonitorOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "A monitor with this name exists"}},
    dependencies=_MANAGE,
)
async def create_monitor(
    body: MonitorCreate, session: SessionDep, client: ClientDep, principal: PrincipalDep
) -> MonitorOut:
    """Create a monitor and the Temporal Schedule that runs it every ``interval_seconds``."""
    try:
        row = await monitors.create_monitor(client, session, get_settings(), body, principal.name)
    except _HANDLED as exc:
        raise _http_error(exc) from exc
    return _out(row)


@router.get("", response_model=list[MonitorOut], dependencies=_READ)
def list_monitors(session: SessionDep) -> list[MonitorOut]:
    """List monitors by name."""
    return [_out(row) for row in monitors.list_monitors(session)]


@router.get("/{name}", response_model=MonitorDetail, dependencies=_READ, responses=_UNKNOWN)
async def get_monitor(
    name: MonitorName, session: SessionDep, client: OptionalClientDep
) -> MonitorDetail:
    """Show a monitor with its Schedule's state, next runs and recent runs.

    With Temporal unreachable the monitor is still shown, its Schedule's state ``unknown``.
    """
    try:
        row = monitors.get_monitor(session, name)
    except monitors.MonitorNotFoundError as exc:
        raise _http_error(exc) from exc
    if client is None:
        address = get_settings().temporal_address
        described = {"state": "unknown", "error": f"Temporal at {address} is unreachable"}
    else:
        described = await schedules.describe_schedule(client, name)
    return MonitorDetail(**_out(row).model_dump(), schedule=ScheduleInfo.model_validate(described))


@router.put("/{name}", response_model=MonitorOut, dependencies=_MANAGE, responses=_UNKNOWN)
async def replace_monitor(
    name: MonitorName, body: MonitorUpdate, session: SessionDep, client: ClientDep
) -> MonitorOut:
    """Replace a monitor's settings (``paused`` is kept unless given) and its Schedule's."""
    try:
        row = await monitors.update_monitor(client, session, get_settings(), name, body)
    except _HANDLED as exc:
        raise _http_error(exc) from exc
    return _out(row)


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=_UNKNOWN, dependencies=_MANAGE
)
async def delete_monitor(name: MonitorName, session: SessionDep, client: ClientDep) -> None:
    """Delete a monitor and its Schedule; runs already going finish."""
    try:
        await monitors.delete_monitor(client, session, get_settings(), name)
    except _HANDLED as exc:
        raise _http_error(exc) from exc


async def _set_paused(
    name: str, paused: bool, session: SessionDep, client: ClientDep
) -> MonitorOut:
    try:
        row = await monitors.set_paused(client, session, get_settings(), name, paused)
    except _HANDLED as exc:
        raise _http_error(exc) from exc
    return _out(row)


@router.post("/{name}/pause", response_model=MonitorOut, dependencies=_MANAGE, responses=_UNKNOWN)
async def pause_monitor(name: MonitorName, session: SessionDep, client: ClientDep) -> MonitorOut:
    """Pause the monitor's Schedule."""
    return await _set_paused(name, True, session, client)


@router.post("/{name}/resume", response_model=MonitorOut, dependencies=_MANAGE, responses=_UNKNOWN)
async def resume_monitor(name: MonitorName, session: SessionDep, client: ClientDep) -> MonitorOut:
    """Resume the monitor's Schedule."""
    return await _set_paused(name, False, session, client)


@router.post(
    "/{name}/run",
    response_model=MonitorRunStarted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**_UNKNOWN, 200: {"description": "With wait: the run ended (see status)"}},
    dependencies=_MANAGE,
)
async def run_monitor(
    name: MonitorName,
    session: SessionDep,
    client: ClientDep,
    response: Response,
    wait: Annotated[bool, Query(description="Wait for the run's result")] = False,
    timeout: Annotated[float, Query(gt=0, le=120, description="Seconds to wait")] = 30.0,
) -> MonitorRunStarted:
    """Run the monitor once now (also when paused).

    Answers 202 once started; with ``wait``, 200 with the run's result (or its failure), or
    still 202 when it has not ended within ``timeout`` seconds.
    """
    try:
        row = monitors.get_monitor(session, name)
        handle = await schedules.start_run(client, row, get_settings())
    except _HANDLED as exc:
        raise _http_error(exc) from exc
    started = MonitorRunStarted(
        workflow_id=handle.id, run_id=handle.result_run_id, status="started"
    )
    if not wait:
        return started
    response.status_code = status.HTTP_200_OK
    try:
        result = await asyncio.wait_for(handle.result(), timeout)
    except TimeoutError:
        response.status_code = status.HTTP_202_ACCEPTED  # still going: it was started
        return started
    except WorkflowFailureError as exc:
        return started.model_copy(update={"status": "failed", "error": _root_message(exc)})
    return started.model_copy(update={"status": "completed", "result": result})
