"""The record of refused requests, for auditors and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.access_models import RefusedRequest
from api.admin_schemas import RefusedRequestOut
from api.core.permissions import Permission
from api.deps import SessionDep, allow

router = APIRouter(prefix="/api/v1/refusals", tags=["refusals"])


@router.get(
    "", response_model=list[RefusedRequestOut], dependencies=[allow(Permission.REFUSALS_READ)]
)
def list_refusals(
    session: SessionDep,
    principal: str | None = None,
    status_: Annotated[int | None, Query(alias="status", ge=100, le=599)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RefusedRequest]:
    """List refused requests (401, 403, 413, 429), newest first."""
    query = select(RefusedRequest).order_by(
        col(RefusedRequest.created_at).desc(), col(RefusedRequest.id).desc()
    )
    if principal is not None:
        query = query.where(RefusedRequest.principal == principal)
    if status_ is not None:
        query = query.where(RefusedRequest.status == status_)
    return list(session.exec(query.limit(limit)).all())
