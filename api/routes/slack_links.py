"""Which principal each Slack user acts as (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from api.core.permissions import Permission
from api.http.deps import PrincipalDep, SessionDep, allow
from api.models.access import SlackUserLink
from api.schemas.admin import SLACK_USER_PATTERN, SlackLinkIn, SlackLinkOut
from api.slack.links import link_slack_user, list_links

router = APIRouter(
    prefix="/api/v1/slack/links", tags=["slack"], dependencies=[allow(Permission.SLACK_MANAGE)]
)

SlackUserId = Annotated[str, Path(pattern=SLACK_USER_PATTERN, description="Slack user id (U...)")]


@router.get("", response_model=list[SlackLinkOut])
def list_slack_links(session: SessionDep) -> list[SlackUserLink]:
    """List every Slack user link."""
    return list_links(session)


@router.put("/{slack_user_id}", response_model=SlackLinkOut)
def link(
    slack_user_id: SlackUserId, body: SlackLinkIn, session: SessionDep, admin: PrincipalDep
) -> SlackUserLink:
    """Let a Slack user act as a principal, with the roles of that principal's active keys."""
    try:
        row = link_slack_user(session, slack_user_id, body.principal, created_by=admin.name)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
    return row


@router.delete(
    "/{slack_user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "This Slack user is not linked"}},
)
def unlink(slack_user_id: SlackUserId, session: SessionDep) -> None:
    """Remove a Slack user's link; their buttons and commands stop working at once."""
    row = session.get(SlackUserLink, slack_user_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Slack user {slack_user_id} is not linked")
    session.delete(row)
    session.commit()
