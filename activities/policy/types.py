"""Typed gate input and decision, shared by the gate activity and the workflows.

Only dataclasses and stdlib here: workflows import this module.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

Tier = Literal["info", "warn", "critical"]
Outcome = Literal["allow", "approval_required", "deny"]
TIERS: tuple[str, ...] = ("info", "warn", "critical")


@dataclass
class IncidentRef:
    """What the gate knows about the incident an action belongs to."""

    id: str
    service: str
    signal: str
    severity: str
    opened_by: str


@dataclass
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


@dataclass
class ApprovalRequirement:
    """Who must approve an action, how many of them, and for how long the request stays open."""

    quorum: int = 1
    roles: list[str] = field(default_factory=lambda: ["operator"])
    timeout_seconds: int = 3600


@dataclass
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


@dataclass
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
