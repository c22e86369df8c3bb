"""Public inputs and results of the playbook workflows (imported by the API)."""

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow

# Evidence is an input of the open-or-attach activity too; activities may not import
# workflows, so it lives with the activity's types and is re-exported here.
with workflow.unsafe.imports_passed_through():
    from activities.incidents.types import Evidence

__all__ = [
    "INCIDENT_STATUSES",
    "ApprovalDecision",
    "Evidence",
    "IncidentInput",
    "PlaybookOutcome",
]

INCIDENT_STATUSES = (
    "open",
    "running",
    "awaiting_approval",
    "resolved",
    "denied",
    "rejected",
    "rolled_back",
    "failed",
)


@dataclass(kw_only=True)
class IncidentInput:
    """What a playbook is started with. The incident id is the workflow id.

    Attributes:
        service: Affected service (a key of ``STEWARD_TARGETS``, or ``demo``).
        signal: What was observed, e.g. ``high_latency``.
        severity: ``low``, ``medium``, ``high`` or ``critical``.
        opened_by: Principal (or detector) that opened the incident.
        window_start: Start of the fingerprint window, ISO 8601.
        mode: ``apply`` runs actions; ``simulate`` only plans them.
        params: Playbook-specific knobs (thresholds, target replicas, ...).
        summary: Free text shown to operators.
        evidence: What opened the incident (detector explanations, alerts), if anything.
        what_if_bundle: In simulate mode only: the sha256 of an archived policy bundle the
            gate decides with instead of the running one (what-if re-plans).
        deadline_seconds: Seconds the run may take before it ends as ``failed``, compensated
            and alerted; None takes the playbook's own deadline (see ``Playbook``).
    """

    service: str
    signal: str
    severity: str
    opened_by: str
    window_start: str
    mode: str = "apply"
    params: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    what_if_bundle: str | None = None
    deadline_seconds: float | None = None


@dataclass(kw_only=True)
class ApprovalDecision:
    """The payload of the ``decide`` Update: one operator's answer for one step."""

    step: int
    principal: str
    roles: list[str]
    decision: str  # "approve" | "reject"
    comment: str | None = None


@dataclass(kw_only=True)
class PlaybookOutcome:
    """How a playbook run ended.

    Attributes:
        status: ``resolved``, ``denied``, ``rejected``, ``rolled_back`` or ``failed``.
        reason: One line for operators.
        applied: Applied actions as ``{"step", "actuator"}``.
        compensated: Steps undone during compensation, in the order undone.
        irreversible: Applied actions compensation could not reverse.
        compensation_failures: Undo steps that failed, with the error.
        plan: In simulate mode, what each action would have done.
        alerts: Alerts the run raised for operators (e.g. its deadline passed).
    """

    status: str
    reason: str
    applied: list[dict[str, Any]] = field(default_factory=list)
    compensated: list[int] = field(default_factory=list)
    irreversible: list[str] = field(default_factory=list)
    compensation_failures: list[str] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
