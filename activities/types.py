"""Inputs and results of every activity, shared with the workflows.

Only dataclasses and stdlib here: workflows import this module inside
``workflow.unsafe.imports_passed_through()``.
"""

from dataclasses import dataclass, field
from typing import Any

from activities.policy.types import (
    ApprovalRequirement,
    Authorization,
    Decision,
    GateInput,
    IncidentRef,
)

__all__ = [
    "ApprovalRequirement",
    "Authorization",
    "Decision",
    "GateInput",
    "IncidentRef",
]


@dataclass(kw_only=True)
class GateRequest:
    """Ask the policy gate about one actuator call of one workflow step."""

    workflow_id: str
    step: int
    actuator: str
    params: dict[str, Any]
    incident: IncidentRef
    requester: str
    mode: str
    time: str
    # Simulate mode only: decide with this archived bundle (sha256) instead of the running one.
    what_if_bundle: str | None = None
    # The incident's opening record, written by the gate before it decides: the first gate of a
    # run carries it instead of a local activity of its own in the same workflow task.
    incident_record: "IncidentRecord | None" = None


@dataclass(kw_only=True)
class GateResult:
    """The gate's verdict plus what the workflow needs to act on it.

    Attributes:
        decision: The policy decision.
        gate_input: The exact input evaluated (as the policy saw it), kept for audit and what-if
            replays. A plain mapping: the workflow only passes it on to its records.
        tier: The actuator's declared tier.
        reversible: Whether the actuator declares an undo.
        has_snapshot: Whether the actuator records a before-state worth a snapshot step.
        params: Parameters after schema validation (defaults filled in).
        authorization: Signed permission when the decision is ``allow``.
        diff: When the call needs approval, or in simulate mode: what it would change,
            ``{"changes": [{"path", "before", "after"}, ...]}`` (plus ``error`` when the
            preview failed); None when the actuator cannot tell.
    """

    decision: Decision
    gate_input: dict[str, Any]
    tier: str
    reversible: bool
    params: dict[str, Any]
    authorization: Authorization | None = None
    has_snapshot: bool = True
    diff: dict[str, Any] | None = None


@dataclass(kw_only=True)
class Vote:
    """One approver's answer to an approval request."""

    principal: str
    roles: list[str]
    decision: str  # "approve" | "reject"
    comment: str | None = None


@dataclass(kw_only=True)
class AuthorizeRequest:
    """Turn an approved ``approval_required`` decision into a signed authorization."""

    workflow_id: str
    step: int
    actuator: str
    params: dict[str, Any]
    decision: Decision
    votes: list[Vote]


@dataclass(kw_only=True)
class ActuatorCall:
    """Snapshot, apply or plan one actuator call (the workflow id comes from the activity).

    Attributes:
        record: For apply: the step's record, written with status ``applied`` and the result
            in the apply activity itself once the call applied (one write, no local activity
            after it holding up the workflow's next task).
    """

    step: int
    actuator: str
    params: dict[str, Any]
    authorization: Authorization | None
    record: "StepRecord | None" = None


@dataclass(kw_only=True)
class UndoCall:
    """Reverse one applied call from its recorded before-state."""

    step: int
    actuator: str
    params: dict[str, Any]
    before: dict[str, Any]
    authorization: Authorization | None


@dataclass(kw_only=True)
class VerifyRequest:
    """Poll a check until it passes or ``within_seconds`` runs out."""

    check: str
    params: dict[str, Any]
    within_seconds: float = 30.0
    interval_seconds: float = 1.0


@dataclass(kw_only=True)
class VerifyResult:
    """The last observation of a verification."""

    ok: bool
    observed: dict[str, Any]
    detail: str
    attempts: int


@dataclass(kw_only=True)
class IncidentRecord:
    """Create or update an incident row."""

    id: str
    service: str
    signal: str
    severity: str
    playbook: str
    mode: str
    status: str
    opened_by: str
    window_start: str
    summary: str | None = None
    outcome: dict[str, Any] | None = None


@dataclass(kw_only=True)
class StepRecord:
    """Create or update one step row (unique per incident, step and kind)."""

    incident_id: str
    step: int
    kind: str  # "act" | "verify" | "undo"
    name: str
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    tier: str | None = None
    decision: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    # The exact gate input behind ``decision``, for the evidence ledger and what-if replays.
    gate_input: dict[str, Any] | None = None
    # 1 for the step's first decision; n > 1 for the re-decision made at dispatch after the
    # (n - 1)th approval round, which the ledger keeps beside the first.
    decision_round: int = 1


@dataclass(kw_only=True)
class ApprovalRecord:
    """Open, vote on, or close an approval request."""

    incident_id: str
    step: int
    actuator: str
    params: dict[str, Any]
    tier: str
    reasons: list[str]
    requirement: ApprovalRequirement
    status: str  # "pending" | "approved" | "rejected" | "timeout"
    at: str  # workflow time of this record: the request, then the decision
    votes: list[Vote] = field(default_factory=list)
    decided_reason: str | None = None
    # 1, or n > 1 when a re-decision at dispatch asked again under a stricter requirement.
    approval_round: int = 1
    # What the action will change (GateResult.diff), shown to the approvers.
    diff: dict[str, Any] | None = None
