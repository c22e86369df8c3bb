"""Deciding an approval: the one path shared by REST, Slack and the CLI (a Temporal Update)."""

from __future__ import annotations

import asyncio

from sqlmodel import Session, select
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.core.settings import get_settings
from api.core.temporal import (
    NoWorkerAnsweredError,
    answers,
    client_address,
    is_transport_failure,
    unreachable,
)
from api.ledger.store import ledger_refused_approval
from api.models import Approval, ApprovalVote, RefusedApproval
from api.services.keys import Principal
from workflows.types import ApprovalDecision

# The workflow's refusal types, as HTTP statuses.
REFUSAL_STATUS = {"NotEligible": 403, "NotPending": 409, "InvalidDecision": 422}
# Temporal's answers that mean the run is gone (ended, or past retention): a real refusal.
RUN_GONE = frozenset({RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION})


def vote_update_id(approval_id: str, principal: str, decision: str, approval_round: int = 1) -> str:
    """The Update id of one person's vote: the same vote sent again is the same Update.

    Temporal answers a repeated Update id with the first one's outcome, so a vote whose answer
    was lost (the API or Temporal went away after it was accepted) is counted once however
    often it is sent again. A later round (a stricter re-decision asked again) is a new
    question: a vote sent in it is a new Update, which the workflow answers afresh.
    """
    suffix = f"-r{approval_round}" if approval_round > 1 else ""
    return f"vote-{approval_id}{suffix}-{principal}-{decision}"


class ApprovalNotFoundError(LookupError):
    """No approval has the given id."""


class DecisionRefusedError(Exception):
    """The vote was not counted; the attempt is recorded as a ``RefusedApproval``.

    Attributes:
        status_code: The HTTP status that says why (403 not eligible, 409 not pending, ...).
        reason: One line for the person who voted.
    """

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


def _already_counted(session: Session, approval_id: str, principal: str, decision: str) -> bool:
    counted = session.exec(
        select(ApprovalVote.decision).where(
            ApprovalVote.approval_id == approval_id, ApprovalVote.principal == principal
        )
    ).first()
    return counted == decision


async def decide_approval(
    session: Session,
    client: Client,
    approval_id: str,
    principal: Principal,
    decision: str,
    comment: str | None,
) -> tuple[Approval, str]:
    """Send one vote to the incident's workflow and return the approval and its new status.

    Eligibility is the policy's, checked by the workflow's Update validator.

    Raises:
        ApprovalNotFoundError: No approval has that id.
        DecisionRefusedError: The approval is decided, the voter is not eligible, or the
            incident no longer runs.
        TemporalUnavailableError: Temporal (or, as ``NoWorkerAnsweredError``, a worker) did
            not answer; nothing is recorded and the same vote may be sent again.
    """
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise ApprovalNotFoundError(f"no approval {approval_id!r}")

    def refuse(code: int, reason: str) -> DecisionRefusedError:
        # A rejected Update leaves no history event, so the database keeps the attempt.
        refused = RefusedApproval(
            approval_id=approval_id,
            incident_id=approval.incident_id,
            principal=principal.name,
            roles=sorted(principal.roles),
            decision=decision,
            reason=reason,
        )
        session.add(refused)
        session.commit()
        ledger_refused_approval(session, refused)
        return DecisionRefusedError(code, reason)

    # The same vote sent again after its answer was lost. The worker may have counted and
    # recorded it while Temporal lost the task that carried it (a server killed mid-task), so
    # the row alone does not prove the workflow has it: the same Update goes again. Temporal
    # answers it from its own record when it has one; otherwise the workflow counts it now.
    resent = approval.status != "pending"
    if resent and not _already_counted(session, approval_id, principal.name, decision):
        raise refuse(409, f"approval {approval_id} is already {approval.status}")
    handle = client.get_workflow_handle(approval.incident_id)
    vote = ApprovalDecision(
        step=approval.step,
        principal=principal.name,
        roles=sorted(principal.roles),
        decision=decision,
        comment=comment,
    )
    wait = get_settings().vote_timeout_seconds
    try:
        # Bounded: with no worker polling, the SDK would wait for one as long as it takes.
        new_status = await asyncio.wait_for(
            handle.execute_update(
                "decide",
                vote,
                id=vote_update_id(approval_id, principal.name, decision, approval.approval_round),
                result_type=str,
            ),
            wait,
        )
    except TimeoutError as exc:
        raise NoWorkerAnsweredError(client_address(client), wait) from exc
    except WorkflowUpdateFailedError as exc:
        if resent:
            return approval, approval.status  # counted once already; answered alike
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise refuse(REFUSAL_STATUS.get(cause.type or "", 403), cause.message) from exc
        raise refuse(409, str(cause or exc)) from exc
    except RPCTimeoutOrCancelledError as exc:
        # Temporal, or the worker that must accept the Update, did not answer in time. Either
        # way nothing was counted, and the same vote sent again is the same Update.
        if await answers(client):
            raise NoWorkerAnsweredError(client_address(client), wait) from exc
        raise unreachable(client, exc) from exc
    except RPCError as exc:
        if exc.status in RUN_GONE:
            if resent:
                return approval, approval.status  # counted, and the run has ended since
            # The workflow finished (e.g. timed out) between our read and the update.
            raise refuse(409, f"the incident is no longer running: {exc}") from exc
        if is_transport_failure(exc):
            raise unreachable(client, exc) from exc
        raise
    return approval, new_status
