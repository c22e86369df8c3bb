"""The state of one pending approval inside a playbook (pure, deterministic)."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.types import ApprovalRequirement, Vote

from workflows.types import ApprovalDecision

NOT_PENDING = "NotPending"
NOT_ELIGIBLE = "NotEligible"
INVALID = "InvalidDecision"


@dataclass
class PendingApproval:
    """Votes collected so far for one step, and whether the step is decided."""

    step: int
    actuator: str
    requirement: ApprovalRequirement
    opened_by: str
    status: str = "pending"  # pending | approved | rejected | timeout
    votes: list[Vote] = field(default_factory=list)
    reason: str | None = None

    def refusal(self, d: ApprovalDecision) -> ApplicationError | None:
        """Return why ``d`` may not be counted, or None when it may.

        The error type tells the API which status code to answer with.
        """
        if self.status != "pending":
            return ApplicationError(
                f"approval for step {d.step} is already {self.status}", type=NOT_PENDING
            )
        if d.decision not in ("approve", "reject"):
            return ApplicationError("decision must be 'approve' or 'reject'", type=INVALID)
        eligible = set(self.requirement.roles)
        if not eligible & set(d.roles):
            return ApplicationError(
                f"{d.principal} may not decide this approval: it needs one of the roles "
                f"{', '.join(sorted(eligible))}",
                type=NOT_ELIGIBLE,
            )
        if any(v.principal == d.principal for v in self.votes):
            return ApplicationError(
                f"{d.principal} has already voted on this approval", type=NOT_ELIGIBLE
            )
        return None

    def count(self, d: ApprovalDecision) -> str:
        """Add a validated vote and return the resulting status."""
        self.votes.append(Vote(d.principal, list(d.roles), d.decision, d.comment))
        if d.decision == "reject":
            self.status, self.reason = "rejected", f"rejected by {d.principal}"
        elif sum(v.decision == "approve" for v in self.votes) >= self.requirement.quorum:
            approvers = ", ".join(v.principal for v in self.votes if v.decision == "approve")
            self.status, self.reason = "approved", f"approved by {approvers}"
        return self.status
