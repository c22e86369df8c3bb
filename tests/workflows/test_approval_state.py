"""Which re-decided requirements the votes already given meet (pure approval state)."""

from __future__ import annotations

from activities.policy.types import ApprovalRequirement, ApproverGroup
from workflows.approval_state import PendingApproval
from workflows.types import ApprovalDecision

OPERATOR = ["operator"]


def approved_by(requirement: ApprovalRequirement, *voters: str) -> PendingApproval:
    approval = PendingApproval(1, "demo.restart", requirement, "tester")
    for voter in voters:
        assert (
            approval.refusal(
                ApprovalDecision(step=1, principal=voter, roles=OPERATOR, decision="approve")
            )
            is None
        )
        approval.count(
            ApprovalDecision(step=1, principal=voter, roles=OPERATOR, decision="approve")
        )
    assert approval.status == "approved"
    return approval


def test_the_same_or_a_weaker_requirement_is_met_by_the_votes_given() -> None:
    approval = approved_by(ApprovalRequirement(quorum=2), "pat", "pia")
    same = approval.under(ApprovalRequirement(quorum=2))
    assert (same.status, same.reason) == ("approved", "approved by pat, pia")
    assert approval.under(ApprovalRequirement(quorum=1)).status == "approved"
    # More people eligible than before: still met.
    wider = ApprovalRequirement(quorum=2, roles=["operator", "admin"])
    assert approval.under(wider).status == "approved"


def test_a_stricter_requirement_opens_the_next_round_keeping_the_votes() -> None:
    approval = approved_by(ApprovalRequirement(quorum=1), "pat")
    bigger = approval.under(ApprovalRequirement(quorum=2))
    assert (bigger.status, bigger.approval_round, bigger.stage) == ("pending", 2, 0)
    assert [v.principal for v in bigger.votes] == ["pat"]
    assert bigger.approvers() == ["pat"]
    refusal = bigger.refusal(
        ApprovalDecision(step=1, principal="pat", roles=OPERATOR, decision="approve")
    )
    assert refusal is not None and "already voted" in refusal.message
    assert (
        bigger.count(ApprovalDecision(step=1, principal="pia", roles=OPERATOR, decision="approve"))
        == "approved"
    )
    assert bigger.reason == "approved by pat, pia"


def test_approvers_no_longer_eligible_do_not_count() -> None:
    approval = approved_by(ApprovalRequirement(quorum=2), "pat", "pia")
    # Only the payments team now, and pia is not in it: one eligible approval of two.
    owners = ApprovalRequirement(quorum=2, principals=["pat", "sam"], teams=["payments"])
    narrowed = approval.under(owners)
    assert narrowed.status == "pending" and narrowed.approvers() == ["pat"]
    # A quorum of one is still met by pat alone.
    assert approval.under(ApprovalRequirement(quorum=1, principals=["pat"])).status == "approved"
    # Nor does a role the voter did not hold, in any stage.
    admins = ApprovalRequirement(
        quorum=1, roles=["admin"], escalation=[ApproverGroup(roles=["admin"])]
    )
    assert approval.under(admins).status == "pending"
    # Nor the principal who opened the incident, even if the new policy forgets to exclude it.
    opener = PendingApproval(1, "demo.restart", ApprovalRequirement(quorum=1), "pat")
    opener.votes = list(approval.votes)
    assert opener.under(ApprovalRequirement(quorum=2)).approvers() == ["pia"]
