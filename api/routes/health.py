"""Liveness and the catalogue of playbooks and actuators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text
from sqlmodel import Session

from api.core.db import get_engine
from api.core.permissions import Permission
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


@router.get("/api/v1/playbooks", tags=["catalog"], dependencies=[allow(Permission.CATALOG_READ)])
def list_playbooks() -> list[dict[str, str]]:
    """List the registered playbooks with their descriptions."""
    return [
        {"name": name, "description": (cls.__doc__ or "").strip().splitlines()[0]}
        for name, cls in sorted(PLAYBOOKS.items())
    ]
