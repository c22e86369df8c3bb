"""API keys; only an HMAC of each secret is stored."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from api.models.columns import UTCDateTime, created_at_field, json_list_field


class ApiKey(SQLModel, table=True):
    """An API key; only an HMAC of its secret is stored (see ``api.services.keys``)."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True)
    principal: str = Field(index=True)
    roles: list[str] = json_list_field()
    secret_hash: str
    created_at: datetime = created_at_field()
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Set when the key was rotated: the id of the key that replaces it.
    replaced_by: str | None = None
