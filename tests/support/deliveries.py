"""Webhook delivery attempts for tests: JSON bodies for the API and rows for the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from api.models.detection import DeliveryAttemptRow

# Failures with known verdicts (see tests/activities/triage for the corpus behind them).
TRANSIENT_503 = {"status_code": 503, "error_text": "503 Service Unavailable"}
TRANSIENT_REFUSED = {
    "status_code": None,
    "error_text": "httpx.ConnectError: [Errno 111] Connection refused",
}
PERMANENT_404 = {"status_code": 404, "error_text": "404 Client Error: Not Found"}
RATE_LIMITED = {
    "status_code": 429,
    "error_text": "Too Many Requests",
    "response_headers": {"Retry-After": "30"},
}
DELIVERED = {"status_code": 200, "error_text": ""}


def attempt(
    delivery_id: str,
    outcome: dict[str, Any],
    *,
    tenant: str = "acme",
    endpoint: str = "https://hooks.acme.test/in",
    attempt_no: int = 1,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One attempt as ``POST /api/v1/deliveries`` takes it."""
    return {
        "delivery_id": delivery_id,
        "tenant": tenant,
        "endpoint": endpoint,
        "attempt": attempt_no,
        "timestamp": (at or datetime.now(UTC)).isoformat(),
        "response_headers": {},
        **outcome,
    }


def store(engine: Engine, attempts: list[dict[str, Any]]) -> None:
    """Write attempts (as built by :func:`attempt`) straight into the database."""
    with Session(engine) as session:
        for a in attempts:
            session.add(
                DeliveryAttemptRow(
                    delivery_id=a["delivery_id"],
                    tenant=a["tenant"],
                    endpoint=a["endpoint"],
                    status_code=a["status_code"],
                    error_text=a["error_text"],
                    response_headers=a.get("response_headers", {}),
                    attempt=a["attempt"],
                    timestamp=datetime.fromisoformat(a["timestamp"]),
                )
            )
        session.commit()


def ago(**delta: float) -> datetime:
    """Now minus a ``timedelta(**delta)``."""
    return datetime.now(UTC) - timedelta(**delta)
