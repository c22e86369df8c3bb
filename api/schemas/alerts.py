"""Alertmanager's webhook payload (version 4) and Steward's answer to it.

Field names are Alertmanager's own (``startsAt``, ``generatorURL``, ...), so a 422 names the
field as it appears in the payload. Fields Alertmanager may add later are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.fields import ZonedTime

# Alertmanager writes the zero time for "no end": 0001-01-01T00:00:00Z.
UNSET_YEAR = 1


class AlertmanagerAlert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: ZonedTime = Field(alias="startsAt")
    ends_at: ZonedTime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL", max_length=4000)
    fingerprint: str = Field(min_length=1, max_length=200)

    def ends(self) -> datetime | None:
        """The end time, or ``None`` when Alertmanager sent its zero time."""
        if self.ends_at is None or self.ends_at.year <= UNSET_YEAR:
            return None
        return self.ends_at


class AlertmanagerWebhook(BaseModel):
    """The body Alertmanager's webhook receiver POSTs (``version`` 4)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", max_length=10_000)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=1000)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL", max_length=4000)
    alerts: list[AlertmanagerAlert] = Field(min_length=1, max_length=1000)


AlertAction = Literal["opened", "attached", "already_open", "annotated", "ignored", "error"]


class AlertResult(BaseModel):
    """What Steward did with one alert.

    ``opened``: a new incident; ``attached``: evidence on the incident already open for the
    same fingerprint; ``already_open``: a re-sent alert Steward has handled; ``annotated``: a
    resolved alert recorded on its incident; ``ignored``: resolved with no incident; ``error``:
    the alert could not be mapped to an incident (see ``error``).
    """

    fingerprint: str
    alertname: str | None
    status: str
    action: AlertAction
    incident_id: str | None = None
    error: str | None = None


class AlertsHandled(BaseModel):
    """The answer to a notification: 200 when every alert was handled, else 422."""

    received: int
    truncated_alerts: int = 0
    results: list[AlertResult]
    detail: str | None = None
