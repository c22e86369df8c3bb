"""The Steward REST API (``uvicorn api.main:app``); OpenAPI docs at ``/docs``."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import approvals, health, incidents


def create_app() -> FastAPI:
    """Build the FastAPI application."""
    app = FastAPI(
        title="Steward",
        version="0.1.0",
        description="Durable, policy-gated remediation: incidents, playbooks and approvals.",
    )
    app.include_router(health.router)
    app.include_router(incidents.router)
    app.include_router(approvals.router)
    return app


app = create_app()
