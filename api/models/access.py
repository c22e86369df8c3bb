"""Persistence of access control and Slack: refusal counts, Slack links, messages, nonces.

Imported by ``api.models`` (which every user of the schema imports), so these tables register
with the same metadata; they live here to keep each module small.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from api.models.columns import UTCDateTime, utcnow
from api.models.incidents import ApprovalStatus


class RefusalCount(SQLModel, table=True):
    """How often one kind of request was refused (401, 403, 413, 429) in one interval.

    One row per interval and (principal, presented key, client address, method, route, status,
    reason), counted up as refusals arrive, so a flood of refused requests adds a row per
    interval rather than per request. Absent identity fields are stored as ``""`` (not NULL) so
    that the unique ``fingerprint`` of the grouping holds on every backend.
    """

    __tablename__ = "refusal_count"

    id: int | None = Field(default=None, primary_key=True)
    # sha256 of the interval and the grouping fields: the upsert's conflict target.
    fingerprint: str = Field(unique=True)
    interval_start: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    # "" when the caller never proved who it is (no key, a bad key, an oversized body).
    principal: str = Field(default="", index=True)
    key_id: str = ""
    client: str = Field(default="", index=True)
    method: str
    route: str
    status: int = Field(index=True)
    reason: str
    count: int = 1
    first_seen: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class SlackUserLink(SQLModel, table=True):
    """Which principal a Slack user acts as; the roles come from the principal's active keys."""

    __tablename__ = "slack_user_link"

    slack_user_id: str = Field(primary_key=True)
    principal: str = Field(index=True)
    created_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SlackMessage(SQLModel, table=True):
    """The Slack message posted for one approval, and which status it shows now."""

    __tablename__ = "slack_message"

    approval_id: str = Field(primary_key=True, foreign_key="approval.id")
    channel: str
    # Null between claiming the approval and Slack answering the post.
    ts: str | None = None
    shown_status: str = ApprovalStatus.PENDING.value
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class SlackRequestNonce(SQLModel, table=True):
    """A Slack signature already accepted; seeing it again means the request is a replay."""

    __tablename__ = "slack_request_nonce"

    signature: str = Field(primary_key=True)
    received_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
