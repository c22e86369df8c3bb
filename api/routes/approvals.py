"""Approval routes: the pending queue and operators' decisions (Temporal Updates)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.deps import ClientDep, PrincipalDep, SessionDep
from api.models import Approval, RefusedApproval
from api.routes.incidents import approval_out
from api.schemas import ApprovalOut, DecisionIn, DecisionOut
from workflows.types import ApprovalDecision

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])

APPROVAL_STATUSES = ("pending", "approved", "rejected", "timeout")
# The workflow's refusal types, as HTTP statuses.
REFUSAL_STATUS = {"NotEligible": 403, "NotPending": 409, "InvalidDecision": 422}


@router.get("", response_model=list[ApprovalOut])
def list_approvals(
    session: SessionDep,
    _: PrincipalDep,
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


@router.post("/{approval_id}/decision", response_model=DecisionOut)
async def decide(
    approval_id: str,
    body: DecisionIn,
    session: SessionDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> DecisionOut:
    """Approve or reject. Eligibility is the policy's: a refusal is answered and recorded."""
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no approval {approval_id!r}")

    def refuse(code: int, reason: str) -> HTTPException:
        # A rejected Update leaves no history event, so the database keeps the attempt.
        session.add(
            RefusedApproval(
                approval_id=approval_id,
                incident_id=approval.incident_id,
                principal=principal.name,
                roles=sorted(principal.roles),
                decision=body.decision,
                reason=reason,
            )
        )
        session.commit()
        return HTTPException(code, reason)

    if approval.status != "pending":
        raise refuse(
            status.HTTP_409_CONFLICT, f"approval {approval_id} is already {approval.status}"
        )
    handle = client.get_workflow_handle(approval.incident_id)
    vote = ApprovalDecision(
        approval.step, principal.name, sorted(principal.roles), body.decision, body.comment
    )
    try:
        new_status = await handle.execute_update("decide", vote, result_type=str)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise refuse(REFUSAL_STATUS.get(cause.type or "", 403), cause.message) from exc
        raise refuse(status.HTTP_409_CONFLICT, str(cause or exc)) from exc
    except RPCError as exc:
        # The workflow finished (e.g. timed out) between our read and the update.
        raise refuse(status.HTTP_409_CONFLICT, f"the incident is no longer running: {exc}") from exc
    return DecisionOut(approval_id=approval_id, incident_id=approval.incident_id, status=new_status)
