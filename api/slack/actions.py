"""What Slack asks of Steward: button presses and ``/steward`` commands, parsed and carried out."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio.client import Client

from api.core.temporal import TemporalUnavailableError
from api.models import Approval, Incident
from api.services.approvals import ApprovalNotFoundError, DecisionRefusedError, decide_approval
from api.services.keys import Principal
from api.slack.blocks import APPROVE_ACTION, REJECT_ACTION, escape
from api.slack.notifier import SlackNotifier

DECISION_OF_ACTION = {APPROVE_ACTION: "approve", REJECT_ACTION: "reject"}
USAGE = (
    "Usage: `/steward status`, `/steward approve APPROVAL_ID [comment]`, "
    "`/steward reject APPROVAL_ID [comment]`"
)
ACTIVE_STATUSES = ("open", "running", "awaiting_approval")
MAX_COMMENT_CHARS = 2000


class MalformedSlackRequestError(ValueError):
    """A verified request whose content is not what Slack sends."""


@dataclass(frozen=True)
class SlackRequest:
    """One decision, or a command, asked for from Slack.

    Attributes:
        user_id: The Slack user who asked.
        channel_id: Where to answer them.
        verb: ``approve``, ``reject``, ``status``, ``help``, or ``ignore`` (nothing to do).
        approval_id: The approval a decision is about.
        comment: Free text recorded with the vote.
    """

    user_id: str
    channel_id: str
    verb: str
    approval_id: str = ""
    comment: str | None = None


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise MalformedSlackRequestError(f"not a form body: {exc}") from exc
    return {name: values[0] for name, values in fields.items()}


def parse_interaction(body: bytes) -> SlackRequest:
    """Parse an interaction (``payload=<json>``); only our Approve/Reject buttons do anything.

    Raises:
        MalformedSlackRequestError: The body is not an interaction payload.
    """
    try:
        payload = json.loads(_form(body)["payload"])
        user_id = str(payload["user"]["id"])
        channel = payload.get("channel") or payload.get("container") or {}
        channel_id = str(channel.get("id") or channel.get("channel_id") or "")
        actions = payload.get("actions") or []
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise MalformedSlackRequestError(f"not an interaction payload: {exc!r}") from exc
    if payload.get("type") != "block_actions" or not actions:
        return SlackRequest(user_id, channel_id, "ignore")
    action = actions[0]
    verb = DECISION_OF_ACTION.get(str(action.get("action_id")))
    if verb is None:
        return SlackRequest(user_id, channel_id, "ignore")
    return SlackRequest(user_id, channel_id, verb, str(action.get("value", "")), "via Slack")


def parse_command(body: bytes) -> SlackRequest:
    """Parse a ``/steward`` slash command.

    Raises:
        MalformedSlackRequestError: The body lacks the fields Slack always sends.
    """
    form = _form(body)
    try:
        user_id, channel_id = form["user_id"], form["channel_id"]
    except KeyError as exc:
        raise MalformedSlackRequestError(f"slash command without {exc.args[0]}") from exc
    words = form.get("text", "").strip().split(maxsplit=2)
    verb = words[0].lower() if words else "help"
    if verb == "status" and len(words) == 1:
        return SlackRequest(user_id, channel_id, "status")
    if verb in ("approve", "reject") and len(words) >= 2:
        comment = words[2][:MAX_COMMENT_CHARS] if len(words) == 3 else "via Slack"
        return SlackRequest(user_id, channel_id, verb, words[1], comment)
    return SlackRequest(user_id, channel_id, "help")


def status_text(engine: Engine) -> str:
    """Return the ``/steward status`` answer: active incidents and pending approvals."""
    with Session(engine) as session:
        counts = dict(
            session.exec(
                select(Incident.status, func.count())
                .where(col(Incident.status).in_(ACTIVE_STATUSES))
                .group_by(Incident.status)
            ).all()
        )
        pending = session.exec(
            select(Approval)
            .where(Approval.status == "pending")
            .order_by(col(Approval.requested_at))
            .limit(10)
        ).all()
    lines = ["*Incidents:* " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ACTIVE_STATUSES)]
    if not pending:
        lines.append("*Pending approvals:* none")
    else:
        lines.append("*Pending approvals:*")
        lines.extend(
            f"• `{escape(a.id)}` {escape(a.actuator)} (tier {escape(a.tier)}), "
            f"expires {a.expires_at:%H:%M} UTC"
            for a in pending
        )
    return "\n".join(lines)


def retry_text(request: SlackRequest, exc: TemporalUnavailableError) -> str:
    """The note to a Slack user whose vote could not be sent: not a refusal, a retry."""
    return (
        f"Your {request.verb} of `{escape(request.approval_id)}` was not recorded yet: "
        f"{escape(exc.reason)}. Nothing was counted or refused; send it again in a moment."
    )


async def tell_to_retry(
    notifier: SlackNotifier, request: SlackRequest, exc: TemporalUnavailableError
) -> None:
    """Tell the Slack user that Temporal is unreachable and the vote should be sent again."""
    await asyncio.to_thread(
        notifier.tell_user, request.channel_id, request.user_id, retry_text(request, exc)
    )


async def carry_out_decision(
    engine: Engine,
    client: Client,
    notifier: SlackNotifier,
    principal: Principal,
    request: SlackRequest,
) -> None:
    """Run the approval Update for a Slack user, then redraw the message or say why not."""
    with Session(engine) as session:
        try:
            _, status = await decide_approval(
                session, client, request.approval_id, principal, request.verb, request.comment
            )
        except TemporalUnavailableError as exc:
            await tell_to_retry(notifier, request, exc)
            return
        except (ApprovalNotFoundError, DecisionRefusedError) as exc:
            reason = exc.reason if isinstance(exc, DecisionRefusedError) else str(exc)
            await asyncio.to_thread(
                notifier.tell_user,
                request.channel_id,
                request.user_id,
                f"Not counted: {escape(reason)}",
            )
            return
    # Slack calls block: keep them off the event loop.
    await asyncio.to_thread(notifier.refresh, request.approval_id)
    await asyncio.to_thread(
        notifier.tell_user,
        request.channel_id,
        request.user_id,
        f"Your {request.verb} of `{escape(request.approval_id)}` was counted; "
        f"the approval is {escape(status)}.",
    )
