"""Opening incidents over the REST API and waiting for their status, as operators do."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx


def body(**changes: Any) -> dict[str, Any]:
    """Return a valid ``POST /api/v1/incidents`` body (demo, p95, high_latency); ``changes`` win."""
    return {
        "service": "demo",
        "signal": "p95",
        "severity": "high",
        "playbook": "high_latency",
        **changes,
    }


async def wait_status(
    api: httpx.AsyncClient, ident: str, key: str, statuses: set[str]
) -> dict[str, Any]:
    """Poll the incident until its status is one of ``statuses`` (30 s), and return it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = (await api.get(f"/api/v1/incidents/{ident}", headers={"X-API-Key": key})).json()
        if found["status"] in statuses:
            return dict(found)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{ident} never reached {statuses}")
