"""Input and result of the open-or-attach activity."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
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


@dataclass
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


@dataclass
class OpenResult:
    """Which incident the finding belongs to, and whether it was opened just now."""

    incident_id: str
    created: bool
    status: str
