"""Slack's doors: button presses (``/slack/interactions``) and the ``/steward`` command.

Both authenticate by Slack's signature over the raw body (never an API key): forged, tampered,
stale or replayed requests get 401 and change nothing. Slack wants an answer within 3 seconds,
so a decision is acknowledged at once and carried out right after the answer is sent; its
outcome shows up as the redrawn message and an ephemeral note to the person who asked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.core.db import get_engine
from api.core.permissions import Permission, permissions_of
from api.core.settings import get_settings
from api.core.temporal import TemporalUnavailableError
from api.http.deps import RefusedError, get_client, limit_unauthenticated, public
from api.http.guards import record_refusal, route_template
from api.services.keys import Principal
from api.services.refusals import Refusal
from api.slack.actions import (
    USAGE,
    MalformedSlackRequestError,
    SlackRequest,
    carry_out_decision,
    parse_command,
    parse_interaction,
    status_text,
    tell_to_retry,
)
from api.slack.blocks import escape
from api.slack.links import principal_for_slack_user
from api.slack.notifier import SlackNotifier
from api.slack.verify import SlackVerificationError, verify_slack_request

router = APIRouter(
    prefix="/slack",
    tags=["slack"],
    dependencies=[public("Slack signs each request; the signature is checked on the raw body")],
)


class EphemeralOut(BaseModel):
    """A reply only the person who asked sees."""

    response_type: str
    text: str


PERMISSION_OF_VERB = {
    "approve": Permission.APPROVALS_DECIDE,
    "reject": Permission.APPROVALS_DECIDE,
    "status": Permission.INCIDENTS_READ,
}


def _notifier(request: Request) -> SlackNotifier:
    notifier: SlackNotifier | None = getattr(request.app.state, "slack", None)
    if notifier is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Slack is not configured on this server")
    return notifier


async def _verified_body(request: Request) -> bytes:
    body = await request.body()
    secret = get_settings().slack_signing_secret or ""

    def verify() -> None:
        with Session(get_engine()) as session:
            verify_slack_request(session, secret, body, request.headers)

    try:
        await run_in_threadpool(verify)
    except SlackVerificationError as exc:
        limit_unauthenticated(request)
        raise RefusedError(
            status.HTTP_401_UNAUTHORIZED,
            "the request's Slack signature could not be verified",
            reason=f"Slack request refused: {exc.reason}",
        ) from exc
    return body


async def _acting_principal(request: Request, asked: SlackRequest) -> Principal | str:
    """Return the principal a Slack user acts as, or (recorded) why they may not do this."""

    def lookup() -> Principal | None:
        with Session(get_engine()) as session:
            return principal_for_slack_user(session, asked.user_id)

    principal = await run_in_threadpool(lookup)
    permission = PERMISSION_OF_VERB[asked.verb]
    if principal is None:
        reason = (
            f"Slack user {asked.user_id} is not linked to a principal with an active API key; "
            f"an admin can run: steward slack link {asked.user_id} PRINCIPAL"
        )
    elif permission not in permissions_of(principal.roles):
        reason = f"{principal.name} may not {asked.verb} from Slack ({permission.value})"
    else:
        return principal
    await record_refusal(
        request.app,
        Refusal(
            method=request.method,
            route=route_template(request.app, request.scope),
            status=status.HTTP_403_FORBIDDEN,
            reason=reason,
            principal=principal.name if principal else None,
            client=request.client.host if request.client else None,
        ),
    )
    return reason


async def _decide_later(request: Request, principal: Principal, asked: SlackRequest) -> None:
    notifier = _notifier(request)
    try:
        client = await get_client(request)
    except TemporalUnavailableError as exc:
        await tell_to_retry(notifier, asked, exc)
        return
    await carry_out_decision(get_engine(), client, notifier, principal, asked)


def _malformed(exc: MalformedSlackRequestError) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))


# Slack's doors answer without an API key, so with these instead of 401/403/429.
_SLACK_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A signed request Steward cannot read"},
    401: {"description": "The Slack signature, its timestamp or its freshness did not check"},
    404: {"description": "Slack is not configured on this server"},
}


@router.post(
    "/interactions",
    responses={200: {"description": "Acknowledged (no body)", "content": {}}, **_SLACK_REFUSALS},
)
async def interactions(request: Request, background: BackgroundTasks) -> Response:
    """Approve or Reject pressed on an approval message: acknowledged now, decided right after."""
    notifier = _notifier(request)
    body = await _verified_body(request)
    try:
        asked = parse_interaction(body)
    except MalformedSlackRequestError as exc:
        raise _malformed(exc) from exc
    if asked.verb == "ignore":
        return Response(status_code=status.HTTP_200_OK)
    acting = await _acting_principal(request, asked)
    if isinstance(acting, str):
        background.add_task(
            run_in_threadpool, notifier.tell_user, asked.channel_id, asked.user_id, escape(acting)
        )
    else:
        background.add_task(_decide_later, request, acting, asked)
    return Response(status_code=status.HTTP_200_OK)


@router.post(
    "/commands",
    responses={
        200: {"model": EphemeralOut, "description": "Slack's ephemeral reply"},
        **_SLACK_REFUSALS,
    },
)
async def commands(request: Request, background: BackgroundTasks) -> JSONResponse:
    """``/steward status | approve ID [comment] | reject ID [comment]``, answered privately."""
    _notifier(request)
    body = await _verified_body(request)
    try:
        asked = parse_command(body)
    except MalformedSlackRequestError as exc:
        raise _malformed(exc) from exc
    if asked.verb == "help":
        return _ephemeral(USAGE)
    acting = await _acting_principal(request, asked)
    if isinstance(acting, str):
        return _ephemeral(escape(acting))
    if asked.verb == "status":
        return _ephemeral(await run_in_threadpool(status_text, get_engine()))
    background.add_task(_decide_later, request, acting, asked)
    return _ephemeral(f"Recording your {asked.verb} of `{escape(asked.approval_id)}`…")


def _ephemeral(text: str) -> JSONResponse:
    return JSONResponse({"response_type": "ephemeral", "text": text})
