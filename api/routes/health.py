"""Liveness (with the state of the database, Temporal and the workers) and the catalogue."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlmodel import Session

from api.core.db import get_engine
from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import allow, get_client, public
from api.services.incidents import deadline_of
from api.services.plugins import playbooks
from api.services.workers_health import workers_polling

# /healthz answers quickly whatever Temporal does: readiness probes wait on it.
TEMPORAL_CHECK_SECONDS = 1.5

router = APIRouter(tags=["health"])


def _database_status() -> str:
    try:
        with Session(get_engine()) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return "ok"
    except Exception as exc:  # health must answer whatever the database does
        return f"error: {exc}"


async def _temporal_and_workers(request: Request) -> tuple[str, str]:
    """Return the state of Temporal and of the workers polling the task queue."""
    settings = get_settings()
    try:
        client = await get_client(request)
        count = await workers_polling(client, settings.temporal_namespace, settings.task_queue)
    except Exception as exc:  # unreachable, or an RPC error: either way, say so
        detail = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        return f"error: {detail}", "unknown: Temporal is unreachable"
    workers = f"{count} polling" if count else f"error: none polling {settings.task_queue}"
    return "ok", workers


@router.get("/healthz", dependencies=[public("liveness probes carry no credentials")])
async def healthz(request: Request) -> dict[str, Any]:
    """Report that the API is up, and whether its database, Temporal and workers answer.

    Always 200 while the API serves: ``status`` is ``degraded`` and the failing component says
    why when any of them is down (a crashed worker, a restarting Temporal).
    """
    database = await asyncio.to_thread(_database_status)
    try:
        temporal, workers = await asyncio.wait_for(
            _temporal_and_workers(request), TEMPORAL_CHECK_SECONDS
        )
    except TimeoutError:
        temporal, workers = "error: no answer in time", "unknown: Temporal is unreachable"
    components = {"database": database, "temporal": temporal, "workers": workers}
    healthy = all(not value.startswith(("error", "unknown")) for value in components.values())
    return {"status": "ok" if healthy else "degraded", **components}


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
        for name, cls in sorted(playbooks().items())
    ]
