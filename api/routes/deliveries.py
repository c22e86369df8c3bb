"""Webhook deliveries: ingest, triage and the replay advisor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import ClientDep, SessionDep, allow
from api.http.errors import NamedFieldRoute, invalid
from api.schemas.fields import QueryTime
from api.schemas.ingest import DeliveriesStored, DeliveryBatch, TriageBatch
from api.services.deliveries import (
    QueryUnavailableError,
    delivery_known,
    replay_advice,
    triage,
)
from api.services.ingest import store_deliveries
from workflows.delivery_types import (
    DeliveryVerdict,
    ReplayAdvice,
    ReplayAdviceRequest,
    TriageReport,
)

router = APIRouter(prefix="/api/v1", tags=["deliveries"], route_class=NamedFieldRoute)

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"description": "No worker answered in time"}}


def _unavailable(exc: QueryUnavailableError) -> HTTPException:
    retry_after = str(get_settings().temporal_retry_after_seconds)
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": retry_after}
    )


@router.post(
    "/deliveries",
    response_model=DeliveriesStored,
    responses={422: {"description": "A malformed batch: every offending field is named"}},
    dependencies=[allow(Permission.SIGNALS_INGEST)],
)
def push_deliveries(batch: DeliveryBatch, session: SessionDep) -> DeliveriesStored:
    """Store delivery attempts, all or nothing; a known (delivery_id, attempt) is a duplicate.

    Each attempt: ``delivery_id``, ``tenant``, ``endpoint``, ``status_code`` (null when no
    response arrived), ``error_text``, ``response_headers``, ``attempt`` (from 1) and
    ``timestamp`` (with an offset). At most ``STEWARD_INGEST_MAX_BATCH`` (1000) per batch.
    """
    most = get_settings().ingest_max_batch
    if len(batch.deliveries) > most:
        raise invalid(
            "deliveries", f"at most {most} attempts per batch, got {len(batch.deliveries)}"
        )
    return store_deliveries(session, batch.deliveries)


@router.get(
    "/triage/deliveries/{delivery_id}",
    response_model=DeliveryVerdict,
    responses={404: {"description": "No attempt of this delivery is stored"}, **_UNAVAILABLE},
    dependencies=[allow(Permission.DELIVERIES_READ)],
)
async def triage_delivery(
    delivery_id: str, session: SessionDep, client: ClientDep
) -> DeliveryVerdict:
    """Triage the delivery's latest attempt: category, confidence 0-100, reason, action."""
    if not delivery_known(session, delivery_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no delivery {delivery_id!r}")
    try:
        report = await triage(client, get_settings(), [delivery_id])
    except QueryUnavailableError as exc:
        raise _unavailable(exc) from exc
    if not report.verdicts:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no delivery {delivery_id!r}")
    return report.verdicts[0]


@router.post(
    "/triage/deliveries/batch",
    response_model=TriageReport,
    responses={422: {"description": "No ids, or more than 100"}, **_UNAVAILABLE},
    dependencies=[allow(Permission.DELIVERIES_READ)],
)
async def triage_batch(batch: TriageBatch, client: ClientDep) -> TriageReport:
    """Triage up to 100 deliveries' latest attempts; ids with no attempt are ``unknown``."""
    try:
        return await triage(client, get_settings(), batch.ids)
    except QueryUnavailableError as exc:
        raise _unavailable(exc) from exc


@router.get(
    "/replay/recommendations",
    response_model=ReplayAdvice,
    responses=_UNAVAILABLE,
    dependencies=[allow(Permission.DELIVERIES_READ)],
)
async def replay_recommendations(
    client: ClientDep,
    tenant: Annotated[str, Query(min_length=1, max_length=200)],
    since: Annotated[
        QueryTime | None,
        Query(description="RFC 3339; without an offset it is UTC. Default: 24 hours ago."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> ReplayAdvice:
    """Deliveries safe to replay: transient failures with confidence above 80, oldest first.

    Each delivery is judged by its latest attempt, so a permanent or rate-limited failure is
    never recommended. ``counts`` has the failed deliveries per category; ``confidence_level``
    rates the whole recommendation (high, medium, low, none).
    """
    start = since or datetime.now(UTC) - timedelta(hours=24)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)  # a query string rarely carries "+00:00" intact
    request = ReplayAdviceRequest(tenant=tenant, since=start.isoformat(), limit=limit)
    try:
        return await replay_advice(client, get_settings(), request)
    except QueryUnavailableError as exc:
        raise _unavailable(exc) from exc
