"""Request and response bodies of the REST API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


class IncidentCreate(BaseModel):
    """Open an incident and start its playbook."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    signal: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    severity: Literal["low", "medium", "high", "critical"]
    playbook: str = Field(min_length=1, max_length=100)
    mode: Literal["apply", "simulate"] = "apply"
    params: dict[str, Any] = Field(default_factory=dict)
    summary: str | None = Field(default=None, max_length=2000)


class IncidentOut(BaseModel):
    """An incident as listed."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    service: str
    signal: str
    severity: str
    playbook: str
    mode: str
    status: str
    opened_by: str
    window_start: datetime
    summary: str | None
    outcome: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class IncidentOpened(IncidentOut):
    """The answer to opening an incident.

    ``deduplicated`` when the same fingerprint was already open; in simulate mode, ``plan``
    lists what each action would have done (nothing was applied).
    """

    deduplicated: bool = False
    plan: list[dict[str, Any]] | None = None


class StepOut(BaseModel):
    """One step of a playbook run: an action, a verification or an undo."""

    model_config = ConfigDict(from_attributes=True)

    step: int
    kind: str
    name: str
    status: str
    params: dict[str, Any]
    tier: str | None
    decision: dict[str, Any] | None
    before: Any
    result: Any
    error: str | None
    updated_at: datetime


class VoteOut(BaseModel):
    """One approver's recorded answer."""

    model_config = ConfigDict(from_attributes=True)

    principal: str
    roles: list[str]
    decision: str
    comment: str | None
    created_at: datetime


class ApprovalOut(BaseModel):
    """An approval request and its votes."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    incident_id: str
    step: int
    actuator: str
    params: dict[str, Any]
    tier: str
    reasons: list[str]
    quorum: int
    roles: list[str]
    status: str
    requested_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_reason: str | None
    diff: dict[str, Any] | None = Field(
        default=None,
        description="What the action will change: changes (path, before, after), or an error "
        "saying why no preview could be made; null when the actuator cannot tell",
    )
    votes: list[VoteOut] = Field(default_factory=list)


def change_lines(diff: dict[str, Any] | None) -> list[str]:
    """An approval's diff for people, one line per field: ``replicas: 2 -> 8``.

    Empty when the actuator cannot tell what it would change; the preview's error when it
    failed.
    """
    if not diff:
        return []
    lines = [
        f"{c.get('path')}: {_shown(c.get('before'))} -> {_shown(c.get('after'))}"
        for c in diff.get("changes") or []
    ]
    if diff.get("error"):
        lines.append(str(diff["error"]))
    elif not lines:
        lines.append("no change: the target is already in that state")
    return lines


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    return repr(value) if isinstance(value, str) else json.dumps(value, sort_keys=True)


class EvidenceOut(BaseModel):
    """What a detector or an alert saw for the incident."""

    source: str
    key: str
    score: float | None
    observed_at: datetime
    explanation: dict[str, Any]


class IncidentDetail(IncidentOut):
    """An incident with its evidence, steps, policy decisions and approvals."""

    steps: list[StepOut]
    approvals: list[ApprovalOut]
    evidence: list[EvidenceOut] = Field(default_factory=list)


class DecisionIn(BaseModel):
    """An operator's answer to an approval request."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=2000)


class DecisionOut(BaseModel):
    """The approval's status after the decision was counted."""

    approval_id: str
    incident_id: str
    status: str
