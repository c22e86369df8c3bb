"""Tables of incidents and their runs: incidents, steps, approvals, votes, refused votes."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from api.models.columns import (
    UTCDateTime,
    created_at_field,
    json_field,
    json_list_field,
    updated_at_field,
)


class IncidentMode(StrEnum):
    """Whether a playbook changes the world or only records what it would do."""

    APPLY = "apply"
    SIMULATE = "simulate"


class IncidentStatus(StrEnum):
    """Lifecycle of an incident."""

    OPEN = "open"
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    RESOLVED = "resolved"
    DENIED = "denied"
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


FINAL_STATUSES = frozenset(
    {
        IncidentStatus.RESOLVED,
        IncidentStatus.DENIED,
        IncidentStatus.REJECTED,
        IncidentStatus.ROLLED_BACK,
        IncidentStatus.FAILED,
    }
)
"""The statuses an incident ends in (simulate mode ends as ``resolved`` too)."""


class StepKind(StrEnum):
    """What an incident step does: change something, check it, or reverse it."""

    ACT = "act"
    VERIFY = "verify"
    UNDO = "undo"


class ApprovalStatus(StrEnum):
    """Lifecycle of an approval request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMEOUT = "timeout"


class VoteDecision(StrEnum):
    """A single approver's answer."""

    APPROVE = "approve"
    REJECT = "reject"


class Incident(SQLModel, table=True):
    """One detected problem and the playbook run that remediates it."""

    __tablename__ = "incident"

    id: str = Field(primary_key=True)
    service: str = Field(index=True)
    signal: str
    severity: str
    playbook: str
    mode: str = IncidentMode.APPLY.value
    status: str = Field(default=IncidentStatus.OPEN.value, index=True)
    opened_by: str
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    summary: str | None = None
    outcome: dict[str, Any] | None = json_field(nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    # Relationships exist so that a flush inserts parents before children: without them the
    # unit of work does not know the foreign keys' order.
    steps: list["Step"] = Relationship(back_populates="incident")
    approvals: list["Approval"] = Relationship(back_populates="incident")


class Step(SQLModel, table=True):
    """One act, verify or undo step of an incident's playbook run."""

    __tablename__ = "incident_step"
    __table_args__ = (UniqueConstraint("incident_id", "step", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True)
    step: int
    kind: str
    name: str
    params: dict[str, Any] = json_field(nullable=False)
    tier: str | None = None
    status: str = "pending"
    decision: dict[str, Any] | None = json_field(nullable=True)
    before: Any = json_field(nullable=True)
    result: Any = json_field(nullable=True)
    error: str | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    incident: Incident | None = Relationship(back_populates="steps")


class Approval(SQLModel, table=True):
    """A request for people to approve one risky step; id is ``{incident_id}.{step}``."""

    __tablename__ = "approval"

    id: str = Field(primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True)
    step: int
    actuator: str
    params: dict[str, Any] = json_field(nullable=False)
    tier: str
    reasons: list[str] = json_list_field()
    quorum: int = 1
    roles: list[str] = json_list_field()
    # 1, then 2, 3 ... each time a stricter re-decision at dispatch asks again.
    approval_round: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    status: str = Field(default=ApprovalStatus.PENDING.value, index=True)
    requested_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    decided_reason: str | None = None
    # What the action will change, as the gate previewed it (activities.actuators.diff):
    # {"changes": [{"path", "before", "after"}], "error"?}; None when the actuator cannot tell.
    diff: dict[str, Any] | None = json_field(nullable=True)

    incident: Incident | None = Relationship(back_populates="approvals")
    votes: list["ApprovalVote"] = Relationship(back_populates="approval")

    @staticmethod
    def make_id(incident_id: str, step: int) -> str:
        """Return the approval id of ``step`` of ``incident_id``."""
        return f"{incident_id}.{step}"


class ApprovalVote(SQLModel, table=True):
    """One principal's accepted vote on an approval (one vote per principal)."""

    __tablename__ = "approval_vote"
    __table_args__ = (UniqueConstraint("approval_id", "principal"),)

    id: int | None = Field(default=None, primary_key=True)
    approval_id: str = Field(foreign_key="approval.id", index=True)
    principal: str
    roles: list[str] = json_list_field()
    decision: str
    comment: str | None = None
    created_at: datetime = created_at_field()

    approval: Approval | None = Relationship(back_populates="votes")


class RefusedApproval(SQLModel, table=True):
    """A vote the approval workflow refused; a rejected Update leaves no history event."""

    __tablename__ = "refused_approval"

    id: int | None = Field(default=None, primary_key=True)
    approval_id: str = Field(index=True)
    incident_id: str | None = None
    principal: str
    roles: list[str] = json_list_field()
    decision: str
    reason: str
    created_at: datetime = created_at_field()
