"""The record of refused requests, counted per kind and interval, for auditors and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from api.core.permissions import Permission
from api.http.deps import SessionDep, allow
from api.http.guards import refusal_counter
from api.models.access import RefusalCount
from api.schemas.admin import RefusalCountOut
from api.schemas.fields import QueryTime

router = APIRouter(prefix="/api/v1/refusals", tags=["refusals"])


@router.get(
    "", response_model=list[RefusalCountOut], dependencies=[allow(Permission.REFUSALS_READ)]
)
def list_refusals(
    request: Request,
    session: SessionDep,
    principal: str | None = None,
    status_: Annotated[int | None, Query(alias="status", ge=100, le=599)] = None,
    client: Annotated[str | None, Query(description="The caller's address")] = None,
    route: Annotated[str | None, Query(description="A route's path template")] = None,
    since: Annotated[
        QueryTime | None, Query(description="Only kinds last seen at or after this instant")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RefusalCountOut]:
    """List refusals (401, 403, 413, 429) counted per kind and interval, last seen first.

    A row stands for every request refused for the same reason on the same route, by the
    same principal (or, without one, from the same address) within one interval
    (``refusal_interval_seconds``): ``count`` says how many, ``first_seen`` and ``last_seen``
    when.
    """
    refusal_counter(request.app).flush()  # this process's latest counts, before reading
    query = select(RefusalCount).order_by(
        col(RefusalCount.last_seen).desc(), col(RefusalCount.id).desc()
    )
    if principal is not None:
        query = query.where(RefusalCount.principal == principal)
    if status_ is not None:
        query = query.where(RefusalCount.status == status_)
    if client is not None:
        query = query.where(RefusalCount.client == client)
    if route is not None:
        query = query.where(RefusalCount.route == route)
    if since is not None:
        query = query.where(col(RefusalCount.last_seen) >= since)
    return [RefusalCountOut.of(row) for row in session.exec(query.limit(limit)).all()]
