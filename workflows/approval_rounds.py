"""Waiting for an approval, and deciding again with fresh facts once it is given.

An approval can take an hour or more, and the decision that asked for it is as old as the
wait. So before the approved call is signed, the gate decides it again with the facts of now
(kill switch, freezes, rate limits, circuit breaker, time, and the bundle running now):

- ``deny``: the step stops as denied, with the new decision's reasons;
- ``allow``, or a requirement the votes already given meet (the same or weaker, see
  ``workflows.approval_state``): the call is signed from the new decision and the votes;
- a stricter requirement: the same approval asks again, in its next round, keeping the votes
  given so far; once that round is approved the gate decides again, and so on.

Every re-decision is recorded with the step like the first one (its decision, gate input and
bundle hash), as decision round ``n`` in the ledger, so audits and what-if replays see it.
Histories recorded before re-decisions existed replay unchanged (:data:`REDECIDE_AT_DISPATCH`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.types import (
        Authorization,
        AuthorizeRequest,
        Decision,
        GateResult,
        StepRecord,
    )
    from workflows.activity_names import activity_name

from workflows.approval_state import PendingApproval
from workflows.recording import PlaybookRecords

# The patch that introduced the re-decision: runs recorded without it sign the first decision.
REDECIDE_AT_DISPATCH = "redecide-at-dispatch"


@dataclass(kw_only=True)
class Dispatch:
    """How an approval ended: a signed authorization, or why the step stops.

    Attributes:
        authorization: The permission to run the call, when it may run.
        status: ``rejected`` or ``denied`` when it may not.
        reason: Why it may not, for the outcome.
    """

    authorization: Authorization | None = None
    status: str = ""
    reason: str = ""


class ApprovalRounds(PlaybookRecords):
    """Mixin of :class:`~workflows.playbook.Playbook`: approval rounds and re-decisions."""

    _approvals: dict[int, PendingApproval]

    async def _approve_and_redecide(
        self, record: StepRecord, gate: GateResult, regate: Callable[[], Awaitable[GateResult]]
    ) -> Dispatch:
        """Collect the votes ``gate`` asks for, then re-decide with ``regate`` until settled.

        ``record`` is updated to the decision that settled the step, so the step's later
        records (applied, failed) carry it.
        """
        requirement = gate.decision.approval
        if requirement is None:
            # The gate builds every approval_required decision with its requirement.
            raise ApplicationError(
                f"step {record.step} ({record.name}): the decision requires approval but names "
                "no approval requirement (quorum, approvers)",
                type="ApprovalWithoutRequirement",
                non_retryable=True,
            )
        approval = PendingApproval(
            record.step, record.name, requirement, self._require_incident().opened_by
        )
        while True:
            stopped = await self._collect_votes(record, approval, gate)
            if stopped is not None:
                return stopped
            if not workflow.patched(REDECIDE_AT_DISPATCH):
                first = await self._authorize(record, gate.decision, approval)
                return Dispatch(authorization=first)
            gate = await regate()
            decision = gate.decision
            record.decision, record.gate_input = asdict(decision), gate.gate_input
            record.decision_round = approval.approval_round + 1
            if decision.outcome == "deny":
                reasons = "; ".join(decision.reasons)
                self._record_step(record, status="denied", error=reasons)
                return Dispatch(
                    status="denied", reason=f"{record.name} denied at dispatch: {reasons}"
                )
            if decision.outcome == "approval_required" and decision.approval is not None:
                following = approval.under(decision.approval)
                if following.status != "approved":
                    approval = following  # stricter: ask again, the votes so far still shown
                    continue
            # Allowed now, or the votes meet the new requirement: sign the new decision.
            summary = {"reason": approval.reason, "redecided": decision.outcome}
            self._record_step(record, status="approved", result=summary)
            return Dispatch(authorization=await self._authorize(record, decision, approval))

    async def _collect_votes(
        self, record: StepRecord, approval: PendingApproval, gate: GateResult
    ) -> Dispatch | None:
        """Open (or reopen) the approval and wait for its verdict; None once approved."""
        self._approvals[record.step] = approval
        self._status = "awaiting_approval"
        self._record_step(record, status="awaiting_approval")
        self._record_approval(approval, gate)
        self._record_incident("awaiting_approval")
        while approval.status == "pending":
            try:
                await workflow.wait_condition(
                    lambda: approval.status != "pending",
                    timeout=timedelta(seconds=approval.group.timeout_seconds),
                )
            except TimeoutError:
                await self._escalate(record, approval)
        self._status = "running"
        self._record_incident("running")
        if approval.status != "approved":
            self._record_step(record, status="rejected", error=approval.reason)
            return Dispatch(
                status="rejected", reason=f"{record.name} not approved: {approval.reason}"
            )
        self._record_step(record, status="approved", result={"reason": approval.reason})
        return None

    async def _authorize(
        self, record: StepRecord, decision: Decision, approval: PendingApproval
    ) -> Authorization:
        return await workflow.execute_local_activity(
            activity_name(names.POLICY_AUTHORIZE),
            AuthorizeRequest(
                workflow_id=self._incident_id,
                step=record.step,
                actuator=record.name,
                params=record.params,
                decision=decision,
                votes=approval.votes,
            ),
            result_type=Authorization,
            start_to_close_timeout=self.local_timeout,
        )

    async def _escalate(self, record: StepRecord, approval: PendingApproval) -> None:
        """Hand the approval to the next group, or time it out after the last one."""
        if not approval.escalate():
            # Escalations are on the step record; the verdict reads the same either way.
            approval.status, approval.reason = "timeout", "timeout"
            self._record_approval(approval)
            return
        # Earlier votes keep counting; the step record shows who may decide now.
        group = approval.group
        escalation = {"stage": approval.stage, "roles": group.roles, "teams": group.teams}
        self._record_step(
            record, result={"escalated": {**escalation, "principals": group.principals}}
        )
