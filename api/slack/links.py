"""Slack users and the principals they act as.

A link names a principal; the roles come from that principal's active API keys, so revoking a
person's keys also ends what they can do from Slack.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from api.models import ApiKey
from api.models.access import SlackUserLink
from api.services.keys import Principal, key_status

SLACK_KEY_PREFIX = "slack:"


def active_roles(session: Session, principal: str) -> frozenset[str]:
    """Return the roles granted by ``principal``'s active (unrevoked, unexpired) keys."""
    keys = session.exec(select(ApiKey).where(ApiKey.principal == principal)).all()
    return frozenset(role for key in keys if key_status(key) == "active" for role in key.roles)


def principal_for_slack_user(session: Session, slack_user_id: str) -> Principal | None:
    """Return who ``slack_user_id`` acts as, or None when unlinked or without an active key."""
    link = session.get(SlackUserLink, slack_user_id)
    if link is None:
        return None
    roles = active_roles(session, link.principal)
    if not roles:
        return None
    return Principal(name=link.principal, roles=roles, key_id=SLACK_KEY_PREFIX + slack_user_id)


def link_slack_user(
    session: Session, slack_user_id: str, principal: str, created_by: str
) -> SlackUserLink:
    """Create or replace the link of ``slack_user_id``; the caller's transaction commits it.

    Raises:
        ValueError: The principal holds no active API key, so the link would grant nothing.
    """
    if not active_roles(session, principal):
        raise ValueError(
            f"principal {principal!r} has no active API key, so a Slack link would grant "
            "nothing; create a key for it first (steward keys create)"
        )
    link = session.get(SlackUserLink, slack_user_id)
    if link is None:
        link = SlackUserLink(
            slack_user_id=slack_user_id, principal=principal, created_by=created_by
        )
    else:
        link.principal, link.created_by = principal, created_by
    session.add(link)
    session.flush()
    return link


def list_links(session: Session) -> list[SlackUserLink]:
    """Return every link, by Slack user id."""
    return list(session.exec(select(SlackUserLink).order_by(col(SlackUserLink.slack_user_id))))
