"""Inputs and results of the incident activities: open-or-attach, alert, sweep."""

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(kw_only=True)
class Evidence:
    """What a detector or an alert saw: opens an incident, or is attached to the open one.

    Attributes:
        source: Who saw it: ``monitor:<name>``, ``alertmanager`` or ``api``.
        dedup_key: Identifies this piece of evidence; attaching it twice keeps one.
        observed_at: When it was observed, ISO 8601.
        score: Anomaly score in [0, 1], when a detector scored it.
        explanation: The detector's explanation (baseline, threshold, driver, ...) or the alert.
    """

    source: str
    dedup_key: str
    observed_at: str
    score: float | None = None
    explanation: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class OpenRequest:
    """Open an incident for a finding, or attach the finding to the incident already open.

    Attributes:
        service: Affected service.
        signal: Signal name (with service, mode and window: the fingerprint).
        severity: ``low``, ``medium``, ``high`` or ``critical``.
        playbook: Playbook to run when the incident is new.
        opened_by: Who opens it, e.g. ``monitor:<name>``.
        evidence: What was seen (score and explanation).
        mode: ``apply`` or ``simulate``.
        params: Playbook parameters.
        summary: One line for operators.
    """

    service: str
    signal: str
    severity: str
    playbook: str
    opened_by: str
    evidence: Evidence
    mode: str = "apply"
    params: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None


@dataclass(kw_only=True)
class OpenResult:
    """Which incident the finding belongs to, and whether it was opened just now."""

    incident_id: str
    created: bool
    status: str


@dataclass(kw_only=True)
class IncidentAlert:
    """Something an operator must look at now, raised by a run (e.g. its deadline passed).

    Attributes:
        incident_id: The incident the alert is about.
        kind: What happened, e.g. ``deadline_passed``; one alert per incident and kind.
        message: One line for operators.
        details: Facts behind it (deadline, applied and compensated steps, ...).
    """

    incident_id: str
    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class SweepFinding:
    """One incident row whose workflow is no longer running.

    Attributes:
        incident_id: The incident (and workflow) id.
        row_status: What the row said.
        workflow_status: ``completed``, ``failed``, ``terminated``, ``timed_out``,
            ``canceled``, ``continued_as_new`` or ``missing`` (no such workflow).
        final_status: The status a repair sets.
        reason: Why, for operators.
        repaired: Whether this sweep wrote the row (False in a report, or when the row
            moved on meanwhile).
    """

    incident_id: str
    row_status: str
    workflow_status: str
    final_status: str
    reason: str
    repaired: bool = False


@dataclass(kw_only=True)
class SweepRequest:
    """One sweep: report, or also repair; at most ``limit`` rows, oldest first."""

    repair: bool = False
    limit: int = 500


@dataclass(kw_only=True)
class SweepReport:
    """What a sweep found (and repaired)."""

    findings: list[SweepFinding] = field(default_factory=list)


class BadIncidentError(ValueError):
    """The finding names an unknown playbook or service, or params its playbook refuses."""


class OpenIncident(Protocol):
    """Opens an incident for a finding, or attaches it to the open one (the API's own path).

    The worker passes the API service's opener to the activity, so detection opens incidents
    exactly as ``POST /api/v1/incidents`` does without activities importing the API's services.
    """

    async def __call__(self, request: OpenRequest) -> OpenResult:
        """Open or attach, returning the incident.

        Raises:
            BadIncidentError: Unknown playbook or service, or params that do not check.
        """
        ...
