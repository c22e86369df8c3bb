"""Tables of detection: monitors, pushed events, Alertmanager alerts and webhook deliveries.

Created by migration 0005. Imported at the end of ``api.models`` so that every migration test
compares against them.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.models.columns import UTCDateTime, utcnow


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Monitor(SQLModel, table=True):
    """A detection that runs on a schedule: where the data comes from, how it is scored, what opens.

    The Temporal Schedule that runs it has the id ``monitor-{name}``.

    Attributes:
        name: Unique name; also the Schedule's suffix.
        kind: ``detect`` (score a window, open on anomaly) or ``forecast`` (predict a breach).
        service: Service the incidents open for.
        signal: Signal name of the incidents it opens (part of their fingerprint).
        severity: Severity of the incidents it opens.
        playbook: Playbook the incidents run.
        source: Where the window comes from, e.g. ``{"kind": "prometheus", "query": ...}``.
        detector: Detector settings, e.g. ``{"name": "ensemble", ...}`` or forecast settings.
        interval_seconds: How often the Schedule fires.
        window_seconds: How much history each run fetches.
        paused: Whether the Schedule is paused.
    """

    __tablename__ = "monitor"

    name: str = Field(primary_key=True)
    kind: str = "detect"
    service: str
    signal: str
    severity: str = "high"
    playbook: str
    source: dict[str, Any] = _json_dict()
    detector: dict[str, Any] = _json_dict()
    interval_seconds: int = 60
    window_seconds: int = 3600
    paused: bool = False
    created_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class Event(SQLModel, table=True):
    """One data point pushed to ``POST /api/v1/events``; the client's event id makes it idempotent.

    Attributes:
        id: The sender's event id; a second push of the same id is ignored.
        series: Which series the point belongs to (what a monitor's ``events`` source reads).
        service: Service the series describes.
        timestamp: When the value was observed.
        value: The observed value.
        labels: Free-form labels.
    """

    __tablename__ = "event"

    id: str = Field(primary_key=True)
    series: str = Field(index=True)
    service: str
    timestamp: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    value: float
    labels: dict[str, Any] = _json_dict()
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AlertState(SQLModel, table=True):
    """The latest state of one Alertmanager alert (by its fingerprint) and its incident."""

    __tablename__ = "alert_state"

    fingerprint: str = Field(primary_key=True)
    incident_id: str | None = Field(default=None, index=True)
    status: str
    labels: dict[str, Any] = _json_dict()
    annotations: dict[str, Any] = _json_dict()
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class DeliveryAttemptRow(SQLModel, table=True):
    """One webhook delivery attempt; ``(delivery_id, attempt)`` is unique: ingest is idempotent."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(index=True)
    tenant: str = Field(index=True)
    endpoint: str
    status_code: int | None = None
    error_text: str = ""
    response_headers: dict[str, Any] = _json_dict()
    attempt: int = 1
    timestamp: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DeliveryReplay(SQLModel, table=True):
    """One delivery replayed for one bulk-replay request: at most once per request.

    The primary key ``(request_id, delivery_id)`` is what makes a retried replay a no-op.
    """

    __tablename__ = "delivery_replay"

    request_id: str = Field(primary_key=True)
    delivery_id: str = Field(primary_key=True)
    status: str = "pending"
    response_status: int | None = None
    error: str | None = None
    replayed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class IncidentEvidence(SQLModel, table=True):
    """What a detector (or an alert) saw that opened an incident or was attached to it later.

    Attributes:
        incident_id: The incident the evidence belongs to.
        source: Who produced it: ``monitor:<name>``, ``alertmanager`` or ``api``.
        dedup_key: Makes recording idempotent: the same evidence twice is one row.
        score: Anomaly score in [0, 1], when a detector scored it.
        explanation: The detector's explanation (baseline, threshold, driver, ...) or the alert.
        observed_at: When the evidence was observed.
    """

    __tablename__ = "incident_evidence"
    __table_args__ = (UniqueConstraint("incident_id", "dedup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    source: str
    dedup_key: str
    score: float | None = None
    explanation: dict[str, Any] = _json_dict()
    observed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
