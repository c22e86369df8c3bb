"""Block Kit messages for approvals. Every piece of stored text is escaped before it is shown.

Slack's mrkdwn treats ``<...>`` as links and mentions (``<!channel>`` pings everyone) and ``&`` as
the start of an entity, so text from incidents, policies and people is escaped with
:func:`escape` and length-capped; it is never interpreted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from api.models import Approval, ApprovalVote, Incident
from api.schemas.incidents import change_lines

APPROVE_ACTION = "steward_approve"
REJECT_ACTION = "steward_reject"
# Slack refuses section texts over 3,000 characters; leave room for the surrounding markup.
MAX_SECTION_CHARS = 2800
# Slack's limit for the plain-text fallback of a message.
MAX_FALLBACK_CHARS = 3000

Block = dict[str, Any]
_PAST_TENSE = {"approve": "approved", "reject": "rejected"}


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack requires, so no text can link, mention or ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cap(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cap(markdown)}}


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "-"


def _summary_blocks(approval: Approval, incident: Incident | None) -> list[Block]:
    if incident is not None:
        headline = (
            f"*Approval needed* for incident `{escape(incident.id)}`\n"
            f"*Service:* {escape(incident.service)}   *Signal:* {escape(incident.signal)}   "
            f"*Severity:* {escape(incident.severity)}   *Playbook:* {escape(incident.playbook)}"
        )
        if incident.summary:
            headline += f"\n*Summary:* {escape(incident.summary)}"
    else:
        headline = f"*Approval needed* for incident `{escape(approval.incident_id)}`"
    reasons = "\n".join(f"• {escape(reason)}" for reason in approval.reasons) or "• (none given)"
    params = escape(json.dumps(approval.params, indent=2, sort_keys=True, ensure_ascii=False))
    blocks = [
        _section(headline),
        _section(
            f"*Action:* `{escape(approval.actuator)}` (tier {escape(approval.tier)}, "
            f"step {approval.step})\n*Parameters:*\n```{_cap(params, 2000)}```"
        ),
    ]
    changes = change_lines(approval.diff)
    if changes:  # what the approver says yes to, before -> after
        text = escape("\n".join(changes))
        blocks.append(_section(f"*Will change:*\n```{_cap(text, 2500)}```"))
    return [
        *blocks,
        _section(
            f"*Why the policy asks:*\n{reasons}\n*Needs:* {approval.quorum} approval(s) from "
            f"{escape(', '.join(approval.roles))}   *Expires:* {_time(approval.expires_at)}"
        ),
    ]


def _confirm(title: str, text: str, confirm: str, style: str | None = None) -> Block:
    dialog: Block = {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": _cap(text, 300)},
        "confirm": {"type": "plain_text", "text": confirm},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    if style is not None:
        dialog["style"] = style
    return dialog


def _buttons(approval: Approval) -> Block:
    action = escape(approval.actuator)
    return {
        "type": "actions",
        "block_id": "steward_decision",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": approval.id,
                "confirm": _confirm(
                    "Approve this action?", f"Run `{action}` now.", "Approve", "primary"
                ),
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "text": {"type": "plain_text", "text": "Reject"},
                "style": "danger",
                "value": approval.id,
                "confirm": _confirm(
                    "Reject this action?", f"`{action}` will not run.", "Reject", "danger"
                ),
            },
        ],
    }


def _votes_line(votes: Sequence[ApprovalVote]) -> str:
    return "; ".join(
        f"{escape(v.principal)} {_PAST_TENSE.get(v.decision, escape(v.decision))} at "
        f"{_time(v.created_at)}" + (f" ({escape(v.comment)})" if v.comment else "")
        for v in votes
    )


def approval_message(
    approval: Approval, incident: Incident | None, votes: Sequence[ApprovalVote]
) -> tuple[str, list[Block]]:
    """Return the fallback text and blocks showing ``approval`` as it stands now.

    A pending approval shows Approve and Reject buttons (with any votes so far); a decided one
    shows the decision, who decided and when, and no buttons.
    """
    blocks = _summary_blocks(approval, incident)
    if approval.status == "pending":
        if votes:
            blocks.append(_section(f"*Votes so far:* {_votes_line(votes)}"))
        blocks.append(_buttons(approval))
        text = f"Approval needed: {approval.actuator} for incident {approval.incident_id}"
    else:
        verdict = {
            "approved": ":white_check_mark: *Approved*",
            "rejected": ":x: *Rejected*",
            "timeout": ":hourglass: *Timed out*",
        }.get(approval.status, f"*{escape(approval.status)}*")
        detail = f"{verdict} at {_time(approval.decided_at)}"
        if approval.decided_reason:
            detail += f": {escape(approval.decided_reason)}"
        if votes:
            detail += f"\n*Votes:* {_votes_line(votes)}"
        blocks.append(_section(detail))
        text = f"{approval.actuator} for incident {approval.incident_id}: {approval.status}"
    return _cap(text, MAX_FALLBACK_CHARS), blocks


def escalation_text(approval: Approval, why: str, channel: str | None) -> str:
    """Return the escalation channel's message for ``approval`` (``why``: what happened)."""
    where = f" in <#{escape(channel)}>" if channel else ""
    return _cap(
        f":rotating_light: Approval `{escape(approval.id)}` ({escape(approval.actuator)}, "
        f"incident `{escape(approval.incident_id)}`) {escape(why)}{where}.",
        MAX_FALLBACK_CHARS,
    )
