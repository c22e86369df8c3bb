"""Typed gate input and decision, shared by the gate activity and the workflows.

Only dataclasses and stdlib here: workflows import this module.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

Tier = Literal["info", "warn", "critical"]
Outcome = Literal["allow", "approval_required", "deny"]
TIERS: tuple[str, ...] = ("info", "warn", "critical")


@dataclass(kw_only=True)
class IncidentRef:
    """What the gate knows about the incident an action belongs to."""

    id: str
    service: str
    signal: str
    severity: str
    opened_by: str


@dataclass(kw_only=True)
class GateInput:
    """The document handed to the policy as ``input``.

    Attributes:
        action: Actuator name, e.g. ``demo.scale``.
        target: Service the action changes.
        tier: Declared tier of the actuator.
        parameters: Validated actuator parameters.
        incident: The incident this action remediates.
        requester: Playbook (workflow type) asking for the action.
        mode: ``apply`` or ``simulate``.
        stats: Recent-action and verified-success facts gathered from the app database.
        time: RFC 3339 time of the request (workflow time), without a trailing ``Z``.
        workflow_id: Workflow asking for the action.
        step: Step number inside that workflow.
    """

    action: str
    target: str
    tier: str
    parameters: dict[str, Any]
    incident: IncidentRef
    requester: str
    mode: str
    stats: dict[str, Any]
    time: str
    workflow_id: str
    step: int


def gate_input_from_dict(doc: dict[str, Any]) -> GateInput:
    """Rebuild the typed gate input the ledger recorded as a dict.

    Raises:
        TypeError: A field is missing or unknown.
        KeyError: There is no incident.
    """
    fields = dict(doc)
    fields["incident"] = IncidentRef(**fields["incident"])
    return GateInput(**fields)


@dataclass(kw_only=True)
class ApproverGroup:
    """One group that may approve: the first stage, or a stage escalation moves on to.

    Attributes:
        roles: An approver needs one of these roles.
        principals: When set, only these principals (members of the eligible teams) may
            approve; None leaves it to the roles.
        teams: The teams ``principals`` came from, for people reading the request.
        timeout_seconds: How long this stage waits before escalating (or, for the last
            stage, before the request times out and the action is rejected).
    """

    roles: list[str] = field(default_factory=lambda: ["operator"])
    principals: list[str] | None = None
    teams: list[str] = field(default_factory=list)
    timeout_seconds: int = 3600

    def has_role(self, roles: list[str]) -> bool:
        """Whether someone holding ``roles`` holds one of this group's roles."""
        return bool(set(self.roles) & set(roles))

    def names(self, principal: str) -> bool:
        """Whether this group admits ``principal`` by name (always, when it names nobody)."""
        return self.principals is None or principal in self.principals


@dataclass(kw_only=True)
class ApprovalRequirement:
    """Who must approve an action, how many of them, and for how long the request stays open.

    The policy computes all of it; the workflow only enforces it. The first stage's group
    is the requirement's own ``roles``, ``principals``, ``teams`` and ``timeout_seconds``;
    ``escalation`` lists the groups that follow, each after the previous one timed out.
    Approvals from every stage count towards one ``quorum`` of distinct principals.

    Attributes:
        quorum: Distinct approvals needed (N of the M eligible).
        roles: First stage: an approver needs one of these roles.
        timeout_seconds: First stage's wait before escalating.
        principals: First stage: only these principals, or None for any holder of a role.
        teams: First stage: the teams ``principals`` came from.
        excluded_principals: Never eligible to approve (four-eyes: the incident's opener).
        escalation: The next approver groups, in order.
    """

    quorum: int = 1
    roles: list[str] = field(default_factory=lambda: ["operator"])
    timeout_seconds: int = 3600
    principals: list[str] | None = None
    teams: list[str] = field(default_factory=list)
    excluded_principals: list[str] = field(default_factory=list)
    escalation: list[ApproverGroup] = field(default_factory=list)

    def stages(self) -> list[ApproverGroup]:
        """Return every approver group in order, the first stage included."""
        first = ApproverGroup(
            roles=self.roles,
            principals=self.principals,
            teams=self.teams,
            timeout_seconds=self.timeout_seconds,
        )
        return [first, *self.escalation]

    def admits_approval(
        self, principal: str, roles: list[str], stages: list[ApproverGroup] | None = None
    ) -> bool:
        """Whether an approval by ``principal`` holding ``roles`` counts in some stage."""
        if principal in self.excluded_principals:
            return False
        groups = self.stages() if stages is None else stages
        return any(g.has_role(roles) and g.names(principal) for g in groups)


@dataclass(kw_only=True)
class Decision:
    """The policy's answer for one gate input.

    Attributes:
        outcome: ``allow``, ``approval_required`` or ``deny``.
        reasons: Deny reasons, or why approval is needed.
        approval: Requirement when ``outcome`` is ``approval_required``.
        bundle_sha256: Hash of the exact policy bundle that decided.
        input_sha256: Hash of the canonical gate input.
        rules: Names of the rules that fired, for the audit record.
    """

    outcome: str
    reasons: list[str]
    bundle_sha256: str
    input_sha256: str
    approval: ApprovalRequirement | None = None
    rules: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Authorization:
    """A signed permission to run one actuator call in one workflow step.

    The actuator activity recomputes the signature and checks every bound field
    against its own context before touching anything.
    """

    workflow_id: str
    step: int
    actuator: str
    params_sha256: str
    bundle_sha256: str
    approved_by: list[str]
    signature: str = ""
