"""Persistence models of the app database (SQLModel tables).

Tables are created only by the alembic migrations under ``api/migrations``; this module describes
them so that sessions can read and write rows and autogenerate can compare against them.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Relationship, SQLModel

# Explicit constraint names keep migrations stable across backends and let SQLite batch
# migrations address constraints by name later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that always stores and returns timezone-aware UTC datetimes.

    SQLite keeps no time zone, so values are normalised to UTC on the way in and marked UTC on the
    way out; PostgreSQL returns session-zone values, which are converted back to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC; reject naive ones, whose zone is ambiguous."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime (utcnow())")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _updated_at() -> Any:
    # onupdate refreshes the timestamp on every ORM UPDATE without callers remembering to.
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def _json(nullable: bool) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Role(StrEnum):
    """Roles an API key (and an approver) can hold."""

    OPERATOR = "operator"
    ENGINEER = "engineer"
    AUDITOR = "auditor"
    ADMIN = "admin"


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
    outcome: dict[str, Any] | None = _json(nullable=True)
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

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
    params: dict[str, Any] = _json(nullable=False)
    tier: str | None = None
    status: str = "pending"
    decision: dict[str, Any] | None = _json(nullable=True)
    before: Any = _json(nullable=True)
    result: Any = _json(nullable=True)
    error: str | None = None
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    incident: Incident | None = Relationship(back_populates="steps")


class Approval(SQLModel, table=True):
    """A request for people to approve one risky step; id is ``{incident_id}.{step}``."""

    __tablename__ = "approval"

    id: str = Field(primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True)
    step: int
    actuator: str
    params: dict[str, Any] = _json(nullable=False)
    tier: str
    reasons: list[str] = _json_list()
    quorum: int = 1
    roles: list[str] = _json_list()
    # 1, then 2, 3 ... each time a stricter re-decision at dispatch asks again.
    approval_round: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    status: str = Field(default=ApprovalStatus.PENDING.value, index=True)
    requested_at: datetime = _created_at()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    decided_reason: str | None = None

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
    roles: list[str] = _json_list()
    decision: str
    comment: str | None = None
    created_at: datetime = _created_at()

    approval: Approval | None = Relationship(back_populates="votes")


class RefusedApproval(SQLModel, table=True):
    """A vote the approval workflow refused; a rejected Update leaves no history event."""

    __tablename__ = "refused_approval"

    id: int | None = Field(default=None, primary_key=True)
    approval_id: str = Field(index=True)
    incident_id: str | None = None
    principal: str
    roles: list[str] = _json_list()
    decision: str
    reason: str
    created_at: datetime = _created_at()


class ApiKey(SQLModel, table=True):
    """An API key; only an HMAC of its secret is stored (see ``api.core.apikeys``)."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True)
    principal: str = Field(index=True)
    roles: list[str] = _json_list()
    secret_hash: str
    created_at: datetime = _created_at()
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Set when the key was rotated: the id of the key that replaces it.
    replaced_by: str | None = None


# Access control and Slack, the audit ledger and the policy's runtime state keep their tables in
# their own modules; importing them here registers them with the metadata every migration and
# test compares against. Placed last: they import names defined above.
from api import access_models, audit_models, detection_models, policy_models  # noqa: E402,F401
