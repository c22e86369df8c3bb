"""FastAPI dependencies: database sessions, the Temporal client, and the caller's identity."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from sqlmodel import Session
from temporalio.client import Client

from api.core.apikeys import AuthError, Principal, authenticate
from api.core.db import get_engine
from api.core.settings import Settings, get_settings
from api.core.temporal import connect


def get_session() -> Iterator[Session]:
    """Yield a session on the process-wide engine."""
    with Session(get_engine()) as session:
        yield session


_client_lock = asyncio.Lock()


async def get_client(request: Request) -> Client:
    """Return the app's Temporal client, connecting on first use.

    Raises:
        HTTPException: 503 when Temporal cannot be reached.
    """
    client: Client | None = getattr(request.app.state, "temporal", None)
    if client is not None:
        return client
    async with _client_lock:
        client = getattr(request.app.state, "temporal", None)
        if client is None:
            settings: Settings = get_settings()
            try:
                client = await connect(settings)
            except Exception as exc:  # any connect failure means the same thing to the caller
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    f"Temporal at {settings.temporal_address} is unreachable: {exc}",
                ) from exc
            request.app.state.temporal = client
    return client


SessionDep = Annotated[Session, Depends(get_session)]
ClientDep = Annotated[Client, Depends(get_client)]


def current_principal(
    session: SessionDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """Authenticate the caller by ``X-API-Key`` or ``Authorization: Bearer``.

    Raises:
        HTTPException: 401 with the reason when the key is missing or not valid.
    """
    token = x_api_key
    if token is None and authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "an API key is required (X-API-Key header or Authorization: Bearer)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = authenticate(session, token)
        # End the transaction now: a pending last-used write would hold SQLite's write
        # lock for the whole request, blocking the workflow's own records meanwhile.
        session.commit()
        return principal
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, exc.reason, headers={"WWW-Authenticate": "Bearer"}
        ) from exc


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    """Return a dependency that admits principals holding one of ``roles`` (admin always)."""
    allowed = {*roles, "admin"}

    def check(principal: PrincipalDep) -> Principal:
        if not allowed & principal.roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs one of the roles {', '.join(sorted(allowed))}; "
                f"{principal.name} has {', '.join(sorted(principal.roles)) or 'none'}",
            )
        return principal

    return check
