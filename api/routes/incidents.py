"""Incident routes: open, list, inspect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from api.core.catalog import CatalogError
from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import ClientDep, PrincipalDep, SessionDep, allow, take_simulation_quota
from api.models import Approval, ApprovalVote, Incident, Step
from api.schemas.fields import MAX_DB_INTEGER
from api.schemas.incidents import (
    ApprovalOut,
    EvidenceOut,
    IncidentCreate,
    IncidentDetail,
    IncidentOpened,
    IncidentOut,
    StepOut,
    VoteOut,
)
from api.services.evidence import evidence_in
from api.services.incidents import (
    InvalidParamsError,
    UnknownPlaybookError,
    open_incident,
    wait_for_simulation,
)
from workflows.types import INCIDENT_STATUSES

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.post(
    "",
    response_model=IncidentOpened,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The same fingerprint is already open: that incident"},
        429: {"description": "Simulate mode: the key's simulation quota is used up"},
    },
    dependencies=[allow(Permission.INCIDENTS_OPEN)],
)
async def create_incident(
    body: IncidentCreate,
    response: Response,
    session: SessionDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> IncidentOpened:
    """Open an incident and start its playbook; a duplicate returns the open one (200).

    ``params`` are checked against the playbook's schema (``GET /api/v1/playbooks``): a bad
    value is answered 422 naming the field, and no run starts.

    A simulate-mode incident counts against the key's simulation quota (429 past it).
    """
    if body.mode == "simulate":
        await run_in_threadpool(take_simulation_quota, principal)
    try:
        row, created = await open_incident(client, session, get_settings(), body, principal.name)
    except InvalidParamsError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "params", *e["loc"])} for e in exc.errors]
        ) from exc
    except UnknownPlaybookError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except KeyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.args[0]) from exc
    except CatalogError as exc:
        # Validated at start-up; an edit since then is the server's problem, not the caller's.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    plan = None
    if body.mode == "simulate":
        row = await wait_for_simulation(client, session, row)
        plan = (row.outcome or {}).get("plan")
    return IncidentOpened.model_validate(row, from_attributes=True).model_copy(
        update={"deduplicated": not created, "plan": plan}
    )


@router.get("", response_model=list[IncidentOut], dependencies=[allow(Permission.INCIDENTS_READ)])
def list_incidents(
    session: SessionDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    service: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
) -> list[Incident]:
    """List incidents, newest first, optionally filtered by status and service."""
    if status_ is not None and status_ not in INCIDENT_STATUSES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown status {status_!r}; known: {', '.join(INCIDENT_STATUSES)}",
        )
    query = select(Incident).order_by(col(Incident.created_at).desc(), col(Incident.id))
    if status_ is not None:
        query = query.where(Incident.status == status_)
    if service is not None:
        query = query.where(Incident.service == service)
    return list(session.exec(query.offset(offset).limit(limit)).all())


def approval_out(session: SessionDep, approval: Approval) -> ApprovalOut:
    """Return an approval with its votes."""
    votes = session.exec(
        select(ApprovalVote)
        .where(ApprovalVote.approval_id == approval.id)
        .order_by(col(ApprovalVote.id))
    ).all()
    out = ApprovalOut.model_validate(approval, from_attributes=True)
    out.votes = [VoteOut.model_validate(v, from_attributes=True) for v in votes]
    return out


@router.get(
    "/{incident_id}",
    response_model=IncidentDetail,
    responses={404: {"description": "No incident has this id"}},
    dependencies=[allow(Permission.INCIDENTS_READ)],
)
def get_incident(incident_id: str, session: SessionDep) -> IncidentDetail:
    """Return one incident with its steps, policy decisions, approvals and outcome."""
    row = session.get(Incident, incident_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id!r}")
    steps = session.exec(
        select(Step).where(Step.incident_id == incident_id).order_by(col(Step.step), col(Step.id))
    ).all()
    approvals = session.exec(
        select(Approval).where(Approval.incident_id == incident_id).order_by(col(Approval.step))
    ).all()
    return IncidentDetail(
        **IncidentOut.model_validate(row, from_attributes=True).model_dump(),
        steps=[StepOut.model_validate(s, from_attributes=True) for s in steps],
        approvals=[approval_out(session, a) for a in approvals],
        evidence=[EvidenceOut.model_validate(e) for e in evidence_in(session, row.id)],
    )
