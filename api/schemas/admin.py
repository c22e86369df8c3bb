"""Request and response bodies of the administration routes: keys, refusals, Slack links."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.models import Role
from api.models.access import RefusalCount
from api.schemas.fields import ZonedTime

# Principals show up in Slack messages, logs and approval records: plain names only.
PRINCIPAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@+:-]*$"
# Slack user ids: U... (or W... on Enterprise Grid).
SLACK_USER_PATTERN = r"^[UW][A-Z0-9]{2,30}$"

# How long a rotated key's old secret may keep working, at most.
MAX_ROTATION_GRACE = timedelta(days=7)


class KeyCreate(BaseModel):
    """Issue an API key."""

    model_config = ConfigDict(extra="forbid")

    principal: str = Field(min_length=1, max_length=100, pattern=PRINCIPAL_PATTERN)
    roles: list[Role] = Field(min_length=1)
    expires_at: ZonedTime | None = Field(
        default=None,
        description="When the key stops working (RFC 3339 with an offset); never if null",
    )


class KeyOut(BaseModel):
    """An API key as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    principal: str
    roles: list[str]
    status: str = Field(description="active, expired or revoked")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    replaced_by: str | None = Field(description="The key that replaced this one when rotated")


class KeyCreated(KeyOut):
    """A new key with its token, which is shown only in this answer."""

    key: str


class KeyRotate(BaseModel):
    """Rotate a key: a new secret now, the old one retired after ``grace_seconds``."""

    model_config = ConfigDict(extra="forbid")

    grace_seconds: StrictInt = Field(
        default=0,
        ge=0,
        le=int(MAX_ROTATION_GRACE.total_seconds()),
        description="How long the old secret keeps working; 0 revokes it at once",
    )


class KeyRotated(BaseModel):
    """The new key (with its token) and the retired one."""

    new: KeyCreated
    previous: KeyOut


class KeyExpiry(BaseModel):
    """Change when a key expires: a past time expires it now; null removes the expiry."""

    model_config = ConfigDict(extra="forbid")

    expires_at: ZonedTime | None = Field(description="RFC 3339 with an offset, or null")


class RefusalCountOut(BaseModel):
    """How often one kind of request was refused in one interval: who, what, why, when."""

    id: int
    principal: str | None = Field(description="Who the caller proved to be; null when no one")
    key_id: str | None = Field(description="Public id of the presented key, when well-formed")
    client: str | None = Field(description="The caller's address")
    method: str
    route: str = Field(description="The route's path template, or (no route)")
    status: int
    reason: str
    count: int = Field(description="Requests refused so in the interval")
    interval_start: datetime
    first_seen: datetime
    last_seen: datetime

    @classmethod
    def of(cls, row: RefusalCount) -> RefusalCountOut:
        """Return ``row`` as shown: absent identity fields (stored as ``""``) are null."""
        return cls(
            id=row.id or 0,
            principal=row.principal or None,
            key_id=row.key_id or None,
            client=row.client or None,
            method=row.method,
            route=row.route,
            status=row.status,
            reason=row.reason,
            count=row.count,
            interval_start=row.interval_start,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
        )


class SlackLinkIn(BaseModel):
    """Let a Slack user act as a principal (with the roles of the principal's active keys)."""

    model_config = ConfigDict(extra="forbid")

    principal: str = Field(min_length=1, max_length=100, pattern=PRINCIPAL_PATTERN)


class SlackLinkOut(BaseModel):
    """A Slack user's link to a principal."""

    model_config = ConfigDict(from_attributes=True)

    slack_user_id: str
    principal: str
    created_by: str
    created_at: datetime
