"""Request and response bodies of the monitor routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from workflows.monitor_types import MONITOR_WORKFLOWS

# Monitor names become Schedule ids (monitor-<name>) and URL path segments: keep them plain.
MONITOR_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
Severity = Literal["low", "medium", "high", "critical"]


class MonitorFields(BaseModel):
    """What a monitor watches, how it scores it, and what it opens."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default="detect", description="detect, forecast or deliveries")
    service: str = Field(min_length=1, max_length=100, description="Service incidents open for")
    signal: str = Field(min_length=1, max_length=100, description="Signal of its incidents")
    severity: Severity = "high"
    playbook: str = Field(min_length=1, max_length=100, description="Playbook incidents run")
    source: dict[str, Any] = Field(
        default_factory=dict,
        description='Where the data comes from, e.g. {"kind": "prometheus", "query": "..."}',
    )
    detector: dict[str, Any] = Field(
        default_factory=dict, description='Detector settings, e.g. {"name": "zscore"}'
    )
    interval_seconds: StrictInt = Field(
        default=60, ge=1, le=86_400, description="Time between runs"
    )
    window_seconds: StrictInt = Field(
        default=3600, ge=1, le=90 * 86_400, description="History each run fetches"
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in MONITOR_WORKFLOWS:
            raise ValueError(f"unknown kind {kind!r}; known kinds: {', '.join(MONITOR_WORKFLOWS)}")
        return kind


class MonitorCreate(MonitorFields):
    """Create a monitor and its Schedule."""

    name: str = Field(pattern=MONITOR_NAME_PATTERN, description="Lowercase letters, digits, _.-")
    paused: StrictBool = False


class MonitorUpdate(MonitorFields):
    """Replace a monitor's settings; ``paused`` stays as it is unless given."""

    paused: StrictBool | None = None


class MonitorOut(BaseModel):
    """A monitor as stored."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str
    service: str
    signal: str
    severity: str
    playbook: str
    source: dict[str, Any]
    detector: dict[str, Any]
    interval_seconds: int
    window_seconds: int
    paused: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    schedule_id: str = Field(description="The Temporal Schedule that runs it")
    workflow: str = Field(description="The workflow type each run starts")


class RecentRun(BaseModel):
    """One run the Schedule started."""

    workflow_id: str
    scheduled_at: datetime
    started_at: datetime


class ScheduleInfo(BaseModel):
    """What Temporal says about the monitor's Schedule."""

    state: Literal["active", "paused", "missing", "unknown"]
    next_runs: list[datetime] = Field(default_factory=list)
    recent_runs: list[RecentRun] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the state is unknown")


class MonitorDetail(MonitorOut):
    """A monitor with its Schedule's state, next and recent runs."""

    schedule: ScheduleInfo


class MonitorRunStarted(BaseModel):
    """A run started by hand; with ``wait``, its result once it ended."""

    workflow_id: str
    run_id: str | None
    status: Literal["started", "completed", "failed"]
    result: dict[str, Any] | None = None
    error: str | None = None
