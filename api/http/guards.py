"""Guards around the routes: the request-body size limit and the count of every refusal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.services.keys import Principal
from api.services.refusals import REFUSAL_STATUSES, Refusal, RefusalCounter

RefusalRecorder = Callable[[Refusal], Awaitable[None]]
# Before answering 413 the rest of a moderately oversized body is read and dropped, so that the
# client, still sending, gets the answer instead of a reset connection. Beyond this multiple of
# the limit the answer goes out at once: the server is nobody's sink.
DRAIN_LIMIT_FACTOR = 4
# Recorded for a refused request that matched no route: its raw path is the caller's free text.
NO_ROUTE = "(no route)"


def refusal_counter(app: Any) -> RefusalCounter:
    """Return the app's refusal counter (made by ``api.main.create_app``)."""
    counter: RefusalCounter = app.state.refusals
    return counter


async def record_refusal(app: Any, refusal: Refusal) -> None:
    """Count ``refusal`` in ``app``'s refusal counter."""
    await refusal_counter(app).record(refusal)


def route_template(app: FastAPI, scope: Scope) -> str:
    """Return the path template of the route ``scope`` matches, else ``NO_ROUTE``."""
    matched = scope.get("route")
    if matched is not None and hasattr(matched, "path"):
        return str(matched.path)
    return _template_in(app.router.routes, scope) or NO_ROUTE


def _template_in(routes: Sequence[Any], scope: Scope) -> str | None:
    for route in routes:
        match, child_scope = route.matches(scope)
        if match != Match.FULL:
            continue
        found = child_scope.get("route")
        if found is not None and hasattr(found, "path"):
            return str(found.path)
        # An included router answers for its routes: look among them for the template.
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner and (template := _template_in(inner, scope)):
            return template
        if hasattr(route, "path_format"):
            return str(route.path_format)
    return None


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


class BodySizeLimitMiddleware:
    """Answers 413 to a request whose body exceeds ``max_bytes``, before any route reads it.

    A declared ``Content-Length`` over the limit is refused without reading; a chunked body is
    counted as it arrives and refused once it passes the limit. Bodies within the limit are
    buffered and replayed to the app (they are at most ``max_bytes``).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        route_of: Callable[[Scope], str],
        recorder: RefusalRecorder,
    ) -> None:
        """Wrap ``app``.

        Args:
            app: The ASGI app.
            max_bytes: Largest body admitted.
            route_of: Maps a request scope to the route template recorded with a refusal.
            recorder: Stores each refusal.
        """
        self.app = app
        self.max_bytes = max_bytes
        self.route_of = route_of
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the body's size, then pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            if int(declared) <= self.max_bytes * DRAIN_LIMIT_FACTOR:
                await _drain(receive, self.max_bytes * DRAIN_LIMIT_FACTOR)
            await self._refuse(scope, receive, send, f"declares {int(declared)} bytes")
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await _drain(receive, self.max_bytes * DRAIN_LIMIT_FACTOR - size)
                await self._refuse(scope, receive, send, f"sent more than {self.max_bytes} bytes")
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(buffered, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        limit = f"request body too large: the limit is {self.max_bytes} bytes"
        await self.recorder(
            Refusal(
                method=scope.get("method", ""),
                route=self.route_of(scope),
                status=413,
                # Without the size sent: one count per route, whatever sizes a caller tries.
                reason=limit,
                client=_client(scope),
            )
        )
        detail = f"{limit} and this one {what}"
        response = JSONResponse(
            {"detail": detail}, status_code=413, headers={"Connection": "close"}
        )
        await response(scope, receive, send)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of a request body, at most ``budget`` more bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _replay(buffered: list[Message], receive: Receive) -> Receive:
    pending = list(buffered)

    async def replay() -> Message:
        # After the buffered body, the real channel reports a disconnect when it happens.
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def install_refusal_recording(app: FastAPI) -> None:
    """Count every 401, 403, 413 and 429 the app's routes raise, then answer as usual."""

    async def record_then_answer(request: Request, exc: Any) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code in REFUSAL_STATUSES:
            principal: Principal | None = getattr(request.state, "principal", None)
            key_id = getattr(exc, "key_id", None) or (principal.key_id if principal else None)
            await record_refusal(
                app,
                Refusal(
                    method=request.method,
                    route=route_template(app, request.scope),
                    status=exc.status_code,
                    reason=getattr(exc, "reason", None) or str(exc.detail),
                    principal=principal.name if principal else None,
                    key_id=key_id,
                    client=_client(request.scope),
                ),
            )
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, record_then_answer)
