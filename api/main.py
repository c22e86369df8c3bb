"""The Steward REST API (``uvicorn api.main:app``); OpenAPI docs at ``/docs``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.core.catalog import CatalogError
from api.core.db import get_engine
from api.core.ratelimit import TokenBucketLimiter
from api.core.settings import get_settings
from api.http.deps import guarded
from api.http.errors import install_validation_errors
from api.http.guards import BodySizeLimitMiddleware, install_refusal_recording, route_template
from api.http.openapi_errors import install_error_responses
from api.http.text_guard import LoneSurrogateGuard
from api.http.unavailable import install_temporal_unavailable_handlers
from api.routes import (
    approvals,
    audit,
    deliveries,
    health,
    incidents,
    keys,
    monitors,
    policy,
    refusals,
    services,
    signals,
    slack,
    slack_links,
    sweep,
)
from api.services.refusals import RefusalCounter
from api.services.retention import run_retention
from api.slack.notifier import SlackNotifier, make_web_client


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the API's background work: refusal counts, retention, and Slack when configured."""
    settings = get_settings()
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            app.state.refusals.run(stop, settings.refusal_flush_seconds), name="refusal-counts"
        ),
        asyncio.create_task(run_retention(get_engine, settings, stop), name="retention"),
    ]
    app.state.slack = None
    if settings.slack_enabled:
        notifier = SlackNotifier(settings, get_engine(), make_web_client(settings))
        app.state.slack = notifier
        tasks.append(asyncio.create_task(notifier.run(stop), name="slack-notifier"))
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


def create_app() -> FastAPI:
    """Build the FastAPI application.

    Raises:
        RuntimeError: A route declares no permission (see ``api.http.deps.allow``).
        CatalogError: The service catalog does not validate, or a cluster's kubeconfig file
            or context is missing.
    """
    settings = get_settings()
    settings.catalog().check_reachable_config()
    app = FastAPI(
        title="Steward",
        version="0.1.0",
        description="Durable, policy-gated remediation: incidents, playbooks and approvals.",
        lifespan=_lifespan,
    )
    app.state.slack = None
    app.state.rate_limiter = TokenBucketLimiter(
        settings.rate_limit_per_minute, settings.rate_limit_burst
    )
    app.state.address_limiter = TokenBucketLimiter(
        settings.unauthenticated_per_minute, settings.unauthenticated_burst
    )
    app.state.refusals = RefusalCounter(
        get_engine, interval_seconds=settings.refusal_interval_seconds
    )
    # The sweep's fixed path comes before the incidents router's /{incident_id}.
    for module in (health, sweep, incidents, approvals, keys, refusals, slack_links, slack, audit):
        app.include_router(guarded(module.router))
    app.include_router(guarded(policy.router))
    app.include_router(guarded(monitors.router))
    app.include_router(guarded(signals.router))
    app.include_router(guarded(services.router))
    app.include_router(guarded(deliveries.router))
    install_refusal_recording(app)
    install_temporal_unavailable_handlers(app)
    install_validation_errors(app)
    install_error_responses(app)
    # Inside the size limit: it only ever reads a body the limit admitted.
    app.add_middleware(LoneSurrogateGuard)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        route_of=lambda scope: route_template(app, scope),
        recorder=app.state.refusals.record,
    )
    return app


def _app_or_exit() -> FastAPI:
    """The app; a bad service catalog is one line on stderr and exit status 2 (as a worker)."""
    try:
        return create_app()
    except CatalogError as error:
        print(f"steward api: {error}", file=sys.stderr)
        raise SystemExit(2) from None


app = _app_or_exit()
