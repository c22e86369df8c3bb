"""Posting approvals to Slack and keeping the messages current: an outbox over the database.

Why here and not in the workflow: the approval table, written by the workflow's own record
activity, already says when an approval is requested and decided. Reading it from the API keeps
the playbook workflows (and their replayable histories) unchanged, keeps Slack's availability
out of the remediation path, and makes every decision path (REST, CLI, Slack, timeout) update
the message the same way. Each approval is claimed with an insert into ``slack_message`` before
it is posted, so several API processes never post the same approval twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.core.settings import Settings
from api.models import Approval, ApprovalVote, Incident, utcnow
from api.models.access import SlackMessage
from api.services.refusals import log_safe
from api.slack.blocks import approval_message, escalation_text

logger = logging.getLogger("steward.slack")

# Errors from talking to Slack: its answers, and the connection failing underneath.
SLACK_ERRORS = (SlackApiError, SlackClientError, OSError)


def make_web_client(settings: Settings) -> WebClient:
    """Return a Web API client for the configured bot token and API URL."""
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)


class SlackNotifier:
    """Posts pending approvals, updates messages once decided, and escalates."""

    def __init__(self, settings: Settings, engine: Engine, client: WebClient) -> None:
        """Create a notifier that writes with ``client`` and reads ``engine``."""
        self.settings = settings
        self.engine = engine
        self.client = client
        # The poll loop and interaction handlers both update messages; one at a time.
        self._lock = threading.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        """Sync every ``slack_poll_seconds`` until ``stop`` is set; errors are logged, not fatal."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.sync_once)
            except Exception:  # one bad round must not end notifications for good
                logger.exception("Slack sync failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.slack_poll_seconds)
            except TimeoutError:
                continue

    def sync_once(self) -> None:
        """Post new approvals, update decided ones, and escalate those waiting too long."""
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            self._post_new(session)
            self._update_changed(session)
            self._escalate_waiting(session)

    def refresh(self, approval_id: str) -> None:
        """Redraw one approval's message now (after a decision made from Slack)."""
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            message = session.get(SlackMessage, approval_id)
            approval = session.get(Approval, approval_id)
            if message is not None and message.ts is not None and approval is not None:
                self._update(session, message, approval)

    def tell_user(self, channel: str, user: str, text: str) -> None:
        """Show ``text`` to one Slack user only (an ephemeral message); failures are logged."""
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SLACK_ERRORS:
            logger.exception("could not send an ephemeral Slack message")

    # ---- the three duties ------------------------------------------------------------------
    def _post_new(self, session: Session) -> None:
        # Retry earlier failures first, so that a post failing in this round waits for the next.
        failed = session.exec(
            select(SlackMessage, Approval, Incident)
            .join(Approval, col(SlackMessage.approval_id) == col(Approval.id))
            .join(Incident, col(Approval.incident_id) == col(Incident.id))
            .where(
                col(SlackMessage.ts).is_(None),
                col(SlackMessage.error).is_not(None),
                Approval.status == "pending",
            )
        ).all()
        for message, approval, incident in failed:
            self._post(session, message, approval, incident)
        unposted = session.exec(
            select(Approval, Incident)
            .join(Incident, col(Approval.incident_id) == col(Incident.id))
            .outerjoin(SlackMessage, col(SlackMessage.approval_id) == col(Approval.id))
            .where(Approval.status == "pending", col(SlackMessage.approval_id).is_(None))
        ).all()
        for approval, incident in unposted:
            channel = self.settings.slack_channel_for(incident.service, approval.tier)
            if channel is None:
                continue
            claim = SlackMessage(approval_id=approval.id, channel=channel)
            session.add(claim)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # another API process claimed it first
                continue
            self._post(session, claim, approval, incident)

    def _update_changed(self, session: Session) -> None:
        changed = session.exec(
            select(SlackMessage, Approval)
            .join(Approval, col(SlackMessage.approval_id) == col(Approval.id))
            .where(
                col(SlackMessage.ts).is_not(None),
                col(SlackMessage.shown_status) != col(Approval.status),
            )
        ).all()
        for message, approval in changed:
            self._update(session, message, approval)

    def _escalate_waiting(self, session: Session) -> None:
        if not self.settings.slack_escalation_channel:
            return
        waited = timedelta(seconds=self.settings.slack_escalate_after_seconds)
        overdue = session.exec(
            select(SlackMessage, Approval)
            .join(Approval, col(SlackMessage.approval_id) == col(Approval.id))
            .where(
                Approval.status == "pending",
                col(SlackMessage.escalated_at).is_(None),
                col(Approval.requested_at) <= utcnow() - waited,
            )
        ).all()
        for message, approval in overdue:
            minutes = max(1, round(waited.total_seconds() / 60))
            why = f"has waited more than {minutes} min for a decision"
            if self._escalate(approval, why, message.channel):
                message.escalated_at = utcnow()
                session.add(message)
                session.commit()

    # ---- Slack calls -----------------------------------------------------------------------
    def _post(
        self, session: Session, message: SlackMessage, approval: Approval, incident: Incident
    ) -> None:
        text, blocks = approval_message(approval, incident, self._votes(session, approval.id))
        try:
            answer = self.client.chat_postMessage(channel=message.channel, text=text, blocks=blocks)
        except SLACK_ERRORS as exc:
            message.error = f"chat.postMessage failed: {exc}"
            logger.warning("could not post approval %s: %s", approval.id, log_safe(str(exc)))
        else:
            # chat.update needs the channel id Slack answers with, not the name we posted to.
            message.ts, message.channel = str(answer["ts"]), str(answer["channel"])
            message.error = None
        session.add(message)
        session.commit()

    def _update(self, session: Session, message: SlackMessage, approval: Approval) -> None:
        incident = session.get(Incident, approval.incident_id)
        text, blocks = approval_message(approval, incident, self._votes(session, approval.id))
        try:
            self.client.chat_update(
                channel=message.channel, ts=message.ts or "", text=text, blocks=blocks
            )
        except SLACK_ERRORS as exc:
            message.error = f"chat.update failed: {exc}"
            logger.warning("could not update approval %s: %s", approval.id, log_safe(str(exc)))
            session.add(message)
            session.commit()
            return
        became_timeout = approval.status == "timeout" and message.shown_status != "timeout"
        message.shown_status, message.error = approval.status, None
        session.add(message)
        session.commit()
        if became_timeout:
            self._escalate(approval, "timed out without a decision", message.channel)

    def _escalate(self, approval: Approval, why: str, channel: str) -> bool:
        target = self.settings.slack_escalation_channel
        if not target:
            return False
        try:
            self.client.chat_postMessage(
                channel=target, text=escalation_text(approval, why, channel)
            )
        except SLACK_ERRORS as exc:
            logger.warning("could not escalate approval %s: %s", approval.id, log_safe(str(exc)))
            return False
        return True

    @staticmethod
    def _votes(session: Session, approval_id: str) -> list[ApprovalVote]:
        return list(
            session.exec(
                select(ApprovalVote)
                .where(ApprovalVote.approval_id == approval_id)
                .order_by(col(ApprovalVote.id))
            )
        )
