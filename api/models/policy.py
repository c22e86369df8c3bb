"""Persistence of the policy's runtime state: kill switch, freezes, and the change record.

Imported by ``api.models`` (which every user of the schema imports), so these tables register
with the same metadata; they live here to keep each module small. Written by the admin API and
the ``steward policy`` CLI (``activities.policy.runtime``); read by the gate's facts gatherer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from api.models.columns import UTCDateTime, utcnow


class PolicySetting(SQLModel, table=True):
    """A policy value set at runtime (the kill switch), overriding ``policies/data.json``."""

    __tablename__ = "policy_setting"

    key: str = Field(primary_key=True)
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    changed_by: str
    reason: str
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PolicyFreeze(SQLModel, table=True):
    """A change freeze window set at runtime; removing one keeps the row, marked removed."""

    __tablename__ = "policy_freeze"

    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Empty means every service (or every tier).
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tiers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str
    created_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    removed_by: str | None = None
    removed_reason: str | None = None


class PolicyChange(SQLModel, table=True):
    """One change to the policy's runtime state or bundle, with who and why (append-only).

    Kinds: ``kill_switch``, ``freeze_added``, ``freeze_removed``, ``reload`` (a bundle that
    compiled; workers reload when they see a newer one) and ``reload_refused``.
    """

    __tablename__ = "policy_change"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    principal: str
    reason: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AppliedActionFact(SQLModel, table=True):
    """One applied action, as the rate limits count it (written with the step's record).

    Kept apart from ``incident_step`` so the gate reads a narrow, indexed table instead of
    grouping steps by their JSON parameters on every decision.
    """

    __tablename__ = "fact_applied"

    incident_id: str = Field(primary_key=True)
    step: int = Field(primary_key=True)
    action: str
    service: str
    target: str
    tier: str
    applied_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class ActionOutcomeFact(SQLModel, table=True):
    """How one run of an action on a service ended, as the circuit breaker reads it.

    Written when an applying incident ends: 1 when it was resolved after a passing
    verification, 0 when it was rolled back or failed. Resolved runs that verified nothing
    say nothing about the action and get no row.
    """

    __tablename__ = "fact_outcome"
    __table_args__ = (
        Index("ix_fact_outcome_action_service_ended", "action", "service", "ended_at"),
    )

    incident_id: str = Field(primary_key=True)
    action: str = Field(primary_key=True)
    service: str
    verified: int
    ended_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SimulationQuotaWindow(SQLModel, table=True):
    """How many simulations one API key started in one quota interval (fixed windows).

    One row per key and interval, incremented atomically, so every API process counts
    against the same quota (``api.services.simulation_quota``).
    """

    __tablename__ = "simulation_quota"

    key_id: str = Field(primary_key=True)
    window_start: int = Field(primary_key=True)  # epoch seconds, a multiple of the interval
    started: int
