"""The incident sweeper on demand (admins): report, or repair, rows whose run has ended.

The same sweep runs on its own every ``STEWARD_INCIDENT_SWEEP_SECONDS`` (a Temporal Schedule,
see ``workflows.incident_sweep``); these routes run one now and answer with its findings.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import ClientDep, SessionDep, allow
from api.models import Incident
from api.services.audit.undo import STILL_RUNNING
from api.services.sweep_schedule import SweepUnavailableError, run_sweep

router = APIRouter(prefix="/api/v1/incidents/sweep", tags=["incidents"])


class SweepFindingOut(BaseModel):
    """An incident row that says its run goes on while its workflow is not running."""

    incident_id: str
    row_status: str = Field(description="What the row said")
    workflow_status: str = Field(
        description="completed, failed, terminated, timed_out, canceled, continued_as_new "
        "or missing (no such workflow)"
    )
    final_status: str = Field(description="The status a repair sets")
    reason: str
    repaired: bool = Field(description="Whether this sweep wrote the row")


class SweepOut(BaseModel):
    """What one sweep found and, with repair, closed."""

    repair: bool
    findings: list[SweepFindingOut]


async def _sweep(client: ClientDep, session: SessionDep, *, repair: bool) -> SweepOut:
    open_row = session.exec(
        select(Incident.id).where(col(Incident.status).in_(STILL_RUNNING)).limit(1)
    ).first()
    if open_row is None:
        return SweepOut(repair=repair, findings=[])  # no row claims a run: nothing to ask
    try:
        report = await run_sweep(client, get_settings(), repair=repair)
    except SweepUnavailableError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "10"}
        ) from exc
    return SweepOut(
        repair=repair,
        findings=[SweepFindingOut.model_validate(asdict(f)) for f in report.findings],
    )


@router.get(
    "",
    response_model=SweepOut,
    responses={503: {"description": "Temporal or the sweep could not run; try again"}},
    dependencies=[allow(Permission.INCIDENTS_SWEEP)],
)
async def sweep_report(client: ClientDep, session: SessionDep) -> SweepOut:
    """List incident rows whose workflow has ended or is gone; change nothing."""
    return await _sweep(client, session, repair=False)


@router.post(
    "",
    response_model=SweepOut,
    responses={503: {"description": "Temporal or the sweep could not run; try again"}},
    dependencies=[allow(Permission.INCIDENTS_SWEEP)],
)
async def sweep_repair(client: ClientDep, session: SessionDep) -> SweepOut:
    """Make every such row final (its run's recorded outcome, else failed) and ledger it."""
    return await _sweep(client, session, repair=True)
