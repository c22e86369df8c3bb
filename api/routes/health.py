"""Liveness and the catalogue of playbooks and actuators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlmodel import Session

from api.core.db import get_engine
from api.core.incidents import deadline_of
from api.core.permissions import Permission
from api.core.settings import get_settings
from api.deps import allow, public
from workflows.playbooks import PLAYBOOKS

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[public("liveness probes carry no credentials")])
def healthz() -> dict[str, Any]:
    """Report that the API is up and whether its database answers."""
    try:
        with Session(get_engine()) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = "ok"
    except Exception as exc:  # health must answer whatever the database does
        database = f"error: {exc}"
    return {"status": "ok" if database == "ok" else "degraded", "database": database}


class PlaybookOut(BaseModel):
    """A registered playbook, what it takes and how long it may run."""

    name: str
    description: str
    params_schema: dict[str, Any] = Field(
        description="JSON Schema of the incident params it takes; checked when one opens"
    )
    deadline_seconds: float = Field(description="How long a run may take before it fails")


@router.get(
    "/api/v1/playbooks",
    tags=["catalog"],
    response_model=list[PlaybookOut],
    dependencies=[allow(Permission.CATALOG_READ)],
)
def list_playbooks() -> list[PlaybookOut]:
    """List the registered playbooks with their descriptions and parameter schemas."""
    settings = get_settings()
    return [
        PlaybookOut(
            name=name,
            description=(cls.__doc__ or "").strip().splitlines()[0],
            params_schema=cls.params_model.model_json_schema(),
            deadline_seconds=deadline_of(name, settings),
        )
        for name, cls in sorted(PLAYBOOKS.items())
    ]
