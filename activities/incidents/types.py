"""Input and result of the open-or-attach activity."""

from dataclasses import dataclass, field
from typing import Any

from workflows.types import Evidence


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
