"""The incident sweeper on demand (admins): report, or repair, rows whose run has ended.

The same sweep runs on its own every ``STEWARD_INCIDENT_SWEEP_SECONDS`` (a Temporal Schedule,
see ``workflows.incident_sweep``); these routes run one now and answer with its findings.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from api.core.permissions import Permission
from api.core.settings import get_settings
from api.core.sweep_schedule import run_sweep
from api.deps import ClientDep, allow

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


async def _sweep(client: ClientDep, *, repair: bool) -> SweepOut:
    try:
        report = await run_sweep(client, get_settings(), repair=repair)
    except (RPCError, WorkflowFailureError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the sweep could not run: {exc}",
            headers={"Retry-After": "10"},
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
async def sweep_report(client: ClientDep) -> SweepOut:
    """List incident rows whose workflow has ended or is gone; change nothing."""
    return await _sweep(client, repair=False)


@router.post(
    "",
    response_model=SweepOut,
    responses={503: {"description": "Temporal or the sweep could not run; try again"}},
    dependencies=[allow(Permission.INCIDENTS_SWEEP)],
)
async def sweep_repair(client: ClientDep) -> SweepOut:
    """Make every such row final (its run's recorded outcome, else failed) and ledger it."""
    return await _sweep(client, repair=True)
