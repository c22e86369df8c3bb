"""FastAPI dependencies: database sessions, the Temporal client, identity and permissions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlmodel import Session
from temporalio.client import Client

from api.core.db import get_engine
from api.core.permissions import PUBLIC, Permission, permissions_of, roles_with
from api.core.ratelimit import TokenBucketLimiter, retry_after_header
from api.core.settings import get_settings
from api.core.temporal import TemporalUnavailableError, connect
from api.http.unavailable import TEMPORAL_UNAVAILABLE_RESPONSES
from api.services.keys import KEY_ID_HEX_CHARS, TOKEN_PREFIX, AuthError, Principal, authenticate
from api.services.simulation_quota import take_simulation


def get_session() -> Iterator[Session]:
    """Yield a session on the process-wide engine."""
    with Session(get_engine()) as session:
        yield session


_client_lock = asyncio.Lock()


async def get_client(request: Request) -> Client:
    """Return the app's Temporal client, connecting on first use.

    Raises:
        TemporalUnavailableError: Temporal cannot be reached (answered 503 by
            ``api.http.unavailable``).
    """
    client: Client | None = getattr(request.app.state, "temporal", None)
    if client is not None:
        return client
    async with _client_lock:
        client = getattr(request.app.state, "temporal", None)
        if client is None:
            client = await connect(get_settings(), answer_quickly=True)
            request.app.state.temporal = client
    return client


async def get_client_if_reachable(request: Request) -> Client | None:
    """Return the app's Temporal client, or None when Temporal cannot be reached.

    For reads that can answer from the database alone and say what they could not show.
    """
    try:
        return await get_client(request)
    except TemporalUnavailableError:
        return None


SessionDep = Annotated[Session, Depends(get_session)]
ClientDep = Annotated[Client, Depends(get_client)]
OptionalClientDep = Annotated[Client | None, Depends(get_client_if_reachable)]


class RefusedError(HTTPException):
    """A refusal (401, 403, 413, 429) whose full reason is recorded, whatever the answer says.

    Attributes:
        reason: The reason kept in the refused-request record.
        key_id: Public id of the presented key, when the token was well-formed.
    """

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        reason: str | None = None,
        key_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, headers=headers)
        self.reason = reason or detail
        self.key_id = key_id


# A presented key may tell its owner that it is revoked or expired: the secret was verified first.
_OWNER_VISIBLE_AUTH_REASONS = {"revoked", "expired"}
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


def _presented_key_id(token: str) -> str | None:
    parts = token.strip().split("_")
    well_formed = (
        len(parts) >= 3
        and parts[0] == TOKEN_PREFIX
        and len(parts[1]) == KEY_ID_HEX_CHARS
        and all(ch in "0123456789abcdef" for ch in parts[1])
    )
    return parts[1] if well_formed else None


UNAUTHENTICATED_LIMIT_REASON = "too many requests without a valid API key from this address"


def limit_unauthenticated(request: Request) -> None:
    """Spend a token of the caller address's bucket for a request that proved no identity.

    Call it where such a request is about to be refused (401): past the address's limit the
    answer becomes 429, and the request costs a count in memory, nothing more.

    Raises:
        RefusedError: 429 with ``Retry-After`` once the address has used up its bucket.
    """
    limiter: TokenBucketLimiter = request.app.state.address_limiter
    address = request.client.host if request.client else "unknown"
    wait = limiter.take(address)
    if wait > 0:
        retry_after = retry_after_header(wait)
        raise RefusedError(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{UNAUTHENTICATED_LIMIT_REASON} ({address}); retry after {retry_after} s",
            reason=UNAUTHENTICATED_LIMIT_REASON,
            headers={"Retry-After": retry_after},
        )


def current_principal(
    request: Request,
    session: SessionDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """Authenticate the caller by ``X-API-Key`` or ``Authorization: Bearer``, then rate-limit.

    Raises:
        RefusedError: 401 when the key is missing or not valid; 429 when the key has used up
            its rate limit, or the address its limit of requests without a valid key (with
            ``Retry-After``).
    """
    token = x_api_key
    if token is None and authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if not token:
        limit_unauthenticated(request)
        raise RefusedError(
            status.HTTP_401_UNAUTHORIZED,
            "an API key is required (X-API-Key header or Authorization: Bearer)",
            reason="no API key",
            headers=_UNAUTHORIZED_HEADERS,
        )
    try:
        principal = authenticate(session, token)
        # End the transaction now: a pending last-used write would hold SQLite's write
        # lock for the whole request, blocking the workflow's own records meanwhile.
        session.commit()
    except AuthError as exc:
        limit_unauthenticated(request)
        shown = (
            f"the API key is {exc.reason}"
            if exc.reason in _OWNER_VISIBLE_AUTH_REASONS
            else "the API key is not valid"
        )
        raise RefusedError(
            status.HTTP_401_UNAUTHORIZED,
            shown,
            reason=f"API key refused: {exc.reason}",
            key_id=_presented_key_id(token),
            headers=_UNAUTHORIZED_HEADERS,
        ) from exc
    request.state.principal = principal
    limiter: TokenBucketLimiter = request.app.state.rate_limiter
    wait = limiter.take(principal.key_id)
    if wait > 0:
        per_minute = round(limiter.rate_per_second * 60)
        raise RefusedError(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit exceeded for API key {principal.key_id} ({per_minute} requests per "
            f"minute, bursts of {limiter.burst}); retry after {retry_after_header(wait)} s",
            key_id=principal.key_id,
            headers={"Retry-After": retry_after_header(wait)},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def take_simulation_quota(principal: Principal) -> None:
    """Count one simulation (a what-if or a simulate-mode incident) against the key's quota.

    Blocking (a database write): call it from a thread in async routes.

    Raises:
        RefusedError: 429 with ``Retry-After`` when the key has started its quota of
            simulations in this interval.
    """
    settings = get_settings()
    answer = take_simulation(
        get_engine(), principal.key_id, settings.simulation_quota, settings.simulation_quota_seconds
    )
    if not answer.admitted:
        wait = retry_after_header(answer.retry_after)
        raise RefusedError(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"simulation quota exceeded for API key {principal.key_id}: "
            f"{settings.simulation_quota} what-ifs and simulate-mode incidents per "
            f"{settings.simulation_quota_seconds} s (STEWARD_SIMULATION_QUOTA); "
            f"retry after {wait} s",
            key_id=principal.key_id,
            headers={"Retry-After": wait},
        )


# Attribute naming the permission a guard dependency enforces (PUBLIC for open routes).
PERMISSION_ATTRIBUTE = "steward_permission"
OPENAPI_PERMISSION_KEY = "x-steward-permission"


def allow(permission: Permission) -> Any:
    """Return a route dependency admitting callers whose roles grant ``permission``.

    Use it in the route decorator: ``@router.get(..., dependencies=[allow(Permission.X)])``.
    """
    needed_by = roles_with(permission)

    def check_permission(principal: PrincipalDep) -> Principal:
        if permission not in permissions_of(principal.roles):
            raise RefusedError(
                status.HTTP_403_FORBIDDEN,
                f"{permission.value} needs one of the roles {', '.join(needed_by)}; "
                f"{principal.name} has {', '.join(sorted(principal.roles)) or 'none'}",
                key_id=principal.key_id,
            )
        return principal

    setattr(check_permission, PERMISSION_ATTRIBUTE, permission.value)
    return Depends(check_permission)


def public(why: str) -> Any:
    """Return a route dependency marking the route as open to callers without an API key.

    Args:
        why: How the route authenticates instead, or why it needs nothing (documentation).
    """

    def no_api_key_needed() -> None:
        return None

    no_api_key_needed.__doc__ = why
    setattr(no_api_key_needed, PERMISSION_ATTRIBUTE, PUBLIC)
    return Depends(no_api_key_needed)


def _declared_permissions(dependant: Dependant, seen: set[int] | None = None) -> list[str]:
    seen = set() if seen is None else seen
    found: list[str] = []
    for sub in dependant.dependencies:
        # A router-level guard also appears in each route's own list: count each guard once.
        if hasattr(sub.call, PERMISSION_ATTRIBUTE) and id(sub.call) not in seen:
            seen.add(id(sub.call))
            found.append(getattr(sub.call, PERMISSION_ATTRIBUTE))
        found.extend(_declared_permissions(sub, seen))
    return found


def _needs_temporal(dependant: Dependant) -> bool:
    # Only a hard dependency: routes on get_client_if_reachable answer without Temporal.
    return any(sub.call is get_client or _needs_temporal(sub) for sub in dependant.dependencies)


def guarded(router: APIRouter) -> APIRouter:
    """Return ``router`` after checking that each of its routes names exactly one permission.

    Also writes each route's permission into its OpenAPI operation as ``x-steward-permission``,
    so that clients and the access-control test read the matrix from the schema, and declares
    the 503 of ``TEMPORAL_UNAVAILABLE_RESPONSES`` on each route that depends on the Temporal
    client. Include every router through it: ``app.include_router(guarded(router))``.

    Raises:
        RuntimeError: Naming the routes that declare no permission, or more than one.
    """
    problems: list[str] = []
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        declared = _declared_permissions(route.dependant)
        if len(declared) != 1:
            label = f"{','.join(sorted(route.methods or ()))} {route.path}"
            problems.append(f"{label} declares {len(declared)} permissions")
            continue
        route.openapi_extra = {**(route.openapi_extra or {}), OPENAPI_PERMISSION_KEY: declared[0]}
        if _needs_temporal(route.dependant):
            route.responses = {**TEMPORAL_UNAVAILABLE_RESPONSES, **route.responses}
    if problems:
        raise RuntimeError(
            "every route needs exactly one allow(...) or public(...) dependency: "
            + "; ".join(problems)
        )
    return router
