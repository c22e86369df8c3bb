"""Pushed signals: events and Alertmanager notifications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import ClientDep, PrincipalDep, SessionDep, allow
from api.http.errors import NamedFieldRoute, invalid
from api.schemas.alerts import AlertmanagerWebhook, AlertsHandled
from api.schemas.errors import ValidationErrorOut
from api.schemas.ingest import EventBatch, EventsStored
from api.services.alerts import handle_notification
from api.services.ingest import store_events

router = APIRouter(prefix="/api/v1", tags=["signals"], route_class=NamedFieldRoute)

_FIELD_ERROR: dict[int | str, dict[str, Any]] = {
    422: {"description": "A malformed batch: every offending field is named"}
}


@router.post(
    "/events",
    response_model=EventsStored,
    responses=_FIELD_ERROR,
    dependencies=[allow(Permission.SIGNALS_INGEST)],
)
def push_events(batch: EventBatch, session: SessionDep) -> EventsStored:
    """Store a batch of data points, all or nothing; an id seen before is a duplicate.

    Each event: ``id`` (the sender's, unique), ``series``, ``service``, ``timestamp`` (RFC 3339
    with an offset, or epoch seconds), ``value`` (finite: NaN and infinity are refused; leave
    a point out for a gap) and ``labels``. At most ``STEWARD_INGEST_MAX_BATCH`` (1000) events.
    """
    most = get_settings().ingest_max_batch
    if len(batch.events) > most:
        raise invalid("events", f"at most {most} events per batch, got {len(batch.events)}")
    return store_events(session, batch.events)


@router.post(
    "/alerts/alertmanager",
    response_model=AlertsHandled,
    responses={
        422: {
            "model": AlertsHandled | ValidationErrorOut,
            "description": "A malformed notification (fields named), or alerts that could not "
            "be mapped to an incident (each result says why; the others were handled)",
        }
    },
    dependencies=[allow(Permission.SIGNALS_INGEST)],
)
async def alertmanager_webhook(
    hook: AlertmanagerWebhook,
    response: Response,
    session: SessionDep,
    client: ClientDep,
    principal: PrincipalDep,
) -> AlertsHandled:
    """Alertmanager's webhook receiver: firing alerts open or attach, resolved ones annotate.

    Authenticate with ``Authorization: Bearer <key>`` (Alertmanager's
    ``http_config.authorization``) or ``X-API-Key``. Labels map the alert: ``service``,
    ``alertname`` (the signal), ``severity`` and ``playbook`` (or
    ``STEWARD_ALERTMANAGER_PLAYBOOKS``). 422 when any alert could not be handled.
    """
    results = await handle_notification(client, session, get_settings(), hook, principal.name)
    failed = [r for r in results if r.action == "error"]
    detail = None
    if failed:
        # Alertmanager counts a 4xx as a failed notification (and does not retry it), so a
        # misconfigured alert shows in its metrics and logs, not only here.
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        detail = f"{len(failed)} of {len(results)} alerts not handled: " + "; ".join(
            f"{r.alertname or r.fingerprint}: {r.error}" for r in failed[:5]
        )
    return AlertsHandled(
        received=len(hook.alerts),
        truncated_alerts=hook.truncated_alerts,
        results=results,
        detail=detail,
    )
