"""Approval routes: the pending queue and operators' decisions (Temporal Updates)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, select

from api.core.permissions import Permission
from api.http.deps import ClientDep, PrincipalDep, SessionDep, allow
from api.models import Approval
from api.routes.incidents import approval_out
from api.schemas.incidents import ApprovalOut, DecisionIn, DecisionOut
from api.services.approvals import ApprovalNotFoundError, DecisionRefusedError, decide_approval

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])

APPROVAL_STATUSES = ("pending", "approved", "rejected", "timeout")


@router.get("", response_model=list[ApprovalOut], dependencies=[allow(Permission.APPROVALS_READ)])
def list_approvals(
    session: SessionDep,
    status_: Annotated[str, Query(alias="status")] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApprovalOut]:
    """List approval requests (pending by default), oldest first."""
    if status_ not in APPROVAL_STATUSES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown status {status_!r}; known: {', '.join(APPROVAL_STATUSES)}",
        )
    rows = session.exec(
        select(Approval)
        .where(Approval.status == status_)
        .order_by(col(Approval.requested_at))
        .limit(limit)
    ).all()
    return [approval_out(session, a) for a in rows]


@router.post(
    "/{approval_id}/decision",
    response_model=DecisionOut,
    responses={
        404: {"description": "No approval has this id"},
        409: {"description": "Not counted: the approval or its incident is no longer pending"},
    },
    dependencies=[allow(Permission.APPROVALS_DECIDE)],
)
async def decide(
    approval_id: str,
    body: DecisionIn,
    session: SessionDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> DecisionOut:
    """Approve or reject. Eligibility is the policy's: a refusal is answered and recorded."""
    try:
        approval, new_status = await decide_approval(
            session, client, approval_id, principal, body.decision, body.comment
        )
    except ApprovalNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except DecisionRefusedError as exc:
        raise HTTPException(exc.status_code, exc.reason) from exc
    return DecisionOut(approval_id=approval_id, incident_id=approval.incident_id, status=new_status)
