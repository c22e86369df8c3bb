"""Request and response bodies of the ingest endpoints: pushed events and delivery attempts."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.fields import TimeOrEpoch, ZonedTime
from api.schemas.incidents import NAME_PATTERN
from workflows.delivery_types import MAX_TRIAGE_IDS

Labels = dict[str, str]


class EventIn(BaseModel):
    """One data point.

    ``timestamp`` is RFC 3339 with an offset (``Z`` or ``+02:00``) or epoch seconds; a time
    without a zone is refused rather than guessed. ``value`` must be a finite number: NaN and
    infinity are refused; leave a point out to report a gap, which detectors treat explicitly.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, description="the sender's unique event id")
    series: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    service: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    timestamp: TimeOrEpoch
    # strict: true and "1.5" are not numbers; ints are.
    value: float = Field(strict=True)
    labels: Labels = Field(default_factory=dict, max_length=50)

    @field_validator("value", mode="before")
    @classmethod
    def finite(cls, value: Any) -> Any:
        """Refuse NaN and infinity with a message that says what to send instead."""
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(
                f"must be a finite number, not {value}; leave the point out to report a gap"
            )
        return value


class EventBatch(BaseModel):
    """``POST /api/v1/events``: a batch stored all or nothing."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1)


class EventsStored(BaseModel):
    """What an event batch did: ids seen before (or twice in the batch) are duplicates."""

    received: int
    stored: int
    duplicates: list[str]


class DeliveryIn(BaseModel):
    """One webhook delivery attempt; ``(delivery_id, attempt)`` identifies it."""

    model_config = ConfigDict(extra="forbid")

    delivery_id: str = Field(min_length=1, max_length=200)
    tenant: str = Field(min_length=1, max_length=200)
    # Not validated as a URL: an unusable endpoint is itself a triage verdict.
    endpoint: str = Field(min_length=1, max_length=2000)
    status_code: int | None = Field(default=None, ge=100, le=599, strict=True)
    error_text: str = Field(default="", max_length=10_000)
    response_headers: Labels = Field(default_factory=dict, max_length=100)
    attempt: int = Field(default=1, ge=1, le=10_000, strict=True)
    timestamp: ZonedTime


class DeliveryBatch(BaseModel):
    """``POST /api/v1/deliveries``: a batch stored all or nothing."""

    model_config = ConfigDict(extra="forbid")

    deliveries: list[DeliveryIn] = Field(min_length=1)


class AttemptKey(BaseModel):
    """Identifies one attempt."""

    delivery_id: str
    attempt: int


class DeliveriesStored(BaseModel):
    """What a delivery batch did: attempts seen before (or twice in the batch) are duplicates."""

    received: int
    stored: int
    duplicates: list[AttemptKey]


class TriageBatch(BaseModel):
    """``POST /api/v1/triage/deliveries/batch``: at most 100 delivery ids."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=MAX_TRIAGE_IDS
    )
