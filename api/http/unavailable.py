"""503 for every route that needs Temporal while Temporal is unreachable, answered in one place.

A route needs Temporal when it depends on ``api.http.deps.get_client``. Whatever such a route is
doing when Temporal does not answer (connecting, starting a workflow, sending an Update), the
caller gets ``503`` with ``Retry-After`` and one plain line, and nothing is recorded as a refusal:
Temporal decided nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.responses import JSONResponse
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.core.settings import get_settings
from api.core.temporal import TemporalUnavailableError, is_transport_failure

# For route decorators and the OpenAPI document: ``responses={**TEMPORAL_UNAVAILABLE_RESPONSES}``.
# ``api.http.deps.guarded`` adds it to every route that depends on the Temporal client.
TEMPORAL_UNAVAILABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Temporal is unreachable; nothing was done or recorded. Retry later.",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying",
                "schema": {"type": "integer"},
            }
        },
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}},
                    "required": ["detail"],
                }
            }
        },
    }
}


def temporal_unavailable_response(reason: str) -> JSONResponse:
    """Return the 503 answer for ``reason``, with ``Retry-After`` from the settings."""
    retry_after = str(get_settings().temporal_retry_after_seconds)
    return JSONResponse({"detail": reason}, status_code=503, headers={"Retry-After": retry_after})


def install_temporal_unavailable_handlers(app: FastAPI) -> None:
    """Answer 503 to ``TemporalUnavailableError`` and to transport failures of raw RPC calls."""

    async def unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TemporalUnavailableError)
        return temporal_unavailable_response(exc.reason)

    async def rpc_failed(request: Request, exc: Exception) -> Response:
        if not is_transport_failure(exc):
            raise exc  # an answer from Temporal that no route expected: a real server error
        return temporal_unavailable_response(
            TemporalUnavailableError(get_settings().temporal_address).reason
        )

    app.add_exception_handler(TemporalUnavailableError, unavailable)
    app.add_exception_handler(RPCError, rpc_failed)
    app.add_exception_handler(RPCTimeoutOrCancelledError, rpc_failed)
