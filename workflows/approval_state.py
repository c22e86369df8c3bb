"""The state of one pending approval inside a playbook (pure, deterministic).

Eligibility is the policy's: the decision's :class:`ApprovalRequirement` names the roles,
the principals (from teams and service ownership), who is excluded (four-eyes) and the
escalation chain. This module only enforces it, stage by stage.

Once approved, the step is decided again with fresh facts (``workflows.approval_rounds``).
The votes already given carry over to the new decision's requirement: they *meet* it when the
distinct principals who approved and whom it admits (one of a stage's roles, a member when
that stage names principals, never an excluded principal or the incident's opener) number at
least its quorum. A requirement that is the same or weaker (a quorum not larger, every earlier
approver still eligible) is always met; one that is stricter (a larger quorum, or approvers no
longer eligible, leaving fewer than its quorum) opens the next round of the same approval,
where the earlier votes stay, still count when eligible, and each principal still votes once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.policy.types import ApproverGroup
    from activities.types import ApprovalRequirement, Vote

from workflows.types import ApprovalDecision

NOT_PENDING = "NotPending"
NOT_ELIGIBLE = "NotEligible"
INVALID = "InvalidDecision"


@dataclass
class PendingApproval:
    """Votes collected so far for one step, and whether the step is decided.

    Attributes:
        stage: Index into ``requirement.stages()``: 0 until the first escalation.
    """

    step: int
    actuator: str
    requirement: ApprovalRequirement
    opened_by: str
    status: str = "pending"  # pending | approved | rejected | timeout
    votes: list[Vote] = field(default_factory=list)
    reason: str | None = None
    stage: int = 0
    approval_round: int = 1

    @property
    def group(self) -> ApproverGroup:
        """The approver group currently asked."""
        return self.requirement.stages()[self.stage]

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
        group = self.group
        if not group.has_role(d.roles):
            return _not_eligible(
                f"{d.principal} may not decide this approval: it needs one of the roles "
                f"{', '.join(sorted(group.roles))}"
            )
        if not group.names(d.principal):
            teams = ", ".join(group.teams) or "the named approvers"
            return _not_eligible(
                f"{d.principal} may not decide this approval: it needs a member of {teams}"
            )
        if d.decision == "approve" and d.principal in self._excluded():
            return _not_eligible(
                f"{d.principal} may not approve this action: four-eyes excludes "
                "the principal who opened the incident"
            )
        if any(v.principal == d.principal for v in self.votes):
            return _not_eligible(f"{d.principal} has already voted on this approval")
        return None

    def _excluded(self) -> set[str]:
        # The opener is excluded even when a policy forgets to say so.
        return {*self.requirement.excluded_principals, self.opened_by}

    def count(self, d: ApprovalDecision) -> str:
        """Add a validated vote and return the resulting status."""
        self.votes.append(
            Vote(principal=d.principal, roles=list(d.roles), decision=d.decision, comment=d.comment)
        )
        if d.decision == "reject":
            self.status, self.reason = "rejected", f"rejected by {d.principal}"
        else:
            self._settle()
        return self.status

    def approvers(self) -> list[str]:
        """The distinct principals whose approvals this requirement admits, in vote order."""
        excluded = self._excluded()
        found: list[str] = []
        for vote in self.votes:
            fresh = vote.decision == "approve" and vote.principal not in {*excluded, *found}
            if fresh and self.requirement.admits_approval(vote.principal, vote.roles):
                found.append(vote.principal)
        return found

    def _settle(self) -> None:
        approvers = self.approvers()
        if len(approvers) >= self.requirement.quorum:
            self.status, self.reason = "approved", f"approved by {', '.join(approvers)}"

    def under(self, requirement: ApprovalRequirement) -> PendingApproval:
        """This step's approval under a re-decided requirement, with the votes given so far.

        Returns:
            ``approved`` when those votes meet ``requirement`` (see the module docstring),
            else the next round, ``pending`` from its first approver group.
        """
        following = PendingApproval(
            self.step,
            self.actuator,
            requirement,
            self.opened_by,
            votes=list(self.votes),
            approval_round=self.approval_round + 1,
        )
        following._settle()
        return following

    def escalate(self) -> bool:
        """Move to the next approver group; False when there is none left."""
        if self.stage + 1 >= len(self.requirement.stages()):
            return False
        self.stage += 1
        return True


def _not_eligible(message: str) -> ApplicationError:
    return ApplicationError(message, type=NOT_ELIGIBLE)
