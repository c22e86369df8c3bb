"""Terminal views of API answers. Every value is shown as plain text, never as rich markup."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from api.schemas.incidents import change_lines

Row = dict[str, Any]


def moment(value: str | None) -> str:
    """Return an ISO time from the API as ``YYYY-MM-DD HH:MM:SS`` (UTC), or ``-``."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def _text(value: Any) -> Text:
    # Text(...) never parses markup: "[red]" in a summary stays "[red]" on screen.
    return Text("-" if value is None or value == "" else str(value))


def _table(title: str, columns: list[str]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def incidents_table(incidents: list[Row]) -> Table:
    """Return the incident list as a table, newest first as the API sends it."""
    table = _table(
        f"Incidents ({len(incidents)}; times in UTC)",
        ["id", "status", "service", "signal", "severity", "playbook", "updated"],
    )
    for incident in incidents:
        table.add_row(
            *map(
                _text,
                (
                    incident["id"],
                    incident["status"],
                    incident["service"],
                    incident["signal"],
                    incident["severity"],
                    incident["playbook"],
                    moment(incident["updated_at"]),
                ),
            )
        )
    return table


def approvals_table(approvals: list[Row], status: str) -> Table:
    """Return approval requests as a table."""
    table = _table(
        f"Approvals: {status} ({len(approvals)}; times in UTC)",
        ["id", "actuator", "tier", "will change", "needs", "votes", "requested", "expires"],
    )
    for approval in approvals:
        needs = f"{approval['quorum']} of {', '.join(approval['roles'])}"
        votes = ", ".join(f"{v['principal']}: {v['decision']}" for v in approval["votes"])
        table.add_row(
            *map(
                _text,
                (
                    approval["id"],
                    approval["actuator"],
                    approval["tier"],
                    "\n".join(change_lines(approval.get("diff"))),
                    needs,
                    votes,
                    moment(approval["requested_at"]),
                    moment(approval["expires_at"]),
                ),
            )
        )
    return table


def _step_detail(step: Row) -> str:
    parts: list[str] = []
    decision = step.get("decision") or {}
    if decision:
        outcome = decision.get("outcome", "?")
        reasons = "; ".join(decision.get("reasons") or [])
        parts.append(f"policy: {outcome}" + (f" ({reasons})" if reasons else ""))
    if step.get("params"):
        parts.append("params: " + json.dumps(step["params"], sort_keys=True))
    if step.get("error"):
        parts.append(f"error: {step['error']}")
    return "\n".join(parts)


def timeline(incident: Row) -> list[Row]:
    """Return the incident's events (opened, steps, decisions, approvals, votes, outcome) by time.

    Each event is ``{"at", "event", "detail"}``; events at the same time keep this order.
    """
    events: list[Row] = [
        {"at": incident["created_at"], "event": "opened", "detail": f"by {incident['opened_by']}"}
    ]
    for step in incident["steps"]:
        events.append(
            {
                "at": step["updated_at"],
                "event": f"step {step['step']} {step['kind']} {step['name']}: {step['status']}",
                "detail": _step_detail(step),
            }
        )
    for approval in incident["approvals"]:
        events.append(
            {
                "at": approval["requested_at"],
                "event": f"approval {approval['id']} requested",
                "detail": "\n".join(
                    [
                        f"{approval['quorum']} of {', '.join(approval['roles'])}: "
                        + "; ".join(approval["reasons"]),
                        *(f"will change {line}" for line in change_lines(approval.get("diff"))),
                    ]
                ),
            }
        )
        for vote in approval["votes"]:
            comment = f": {vote['comment']}" if vote.get("comment") else ""
            events.append(
                {
                    "at": vote["created_at"],
                    "event": f"{vote['decision']} by {vote['principal']}",
                    "detail": f"roles {', '.join(vote['roles'])}{comment}",
                }
            )
        if approval.get("decided_at"):
            events.append(
                {
                    "at": approval["decided_at"],
                    "event": f"approval {approval['id']} {approval['status']}",
                    "detail": approval.get("decided_reason") or "",
                }
            )
    if incident.get("outcome"):
        events.append(
            {
                "at": incident["updated_at"],
                "event": f"outcome: {incident['outcome'].get('status', incident['status'])}",
                "detail": incident["outcome"].get("reason", ""),
            }
        )
    return sorted(events, key=lambda event: datetime.fromisoformat(event["at"]))


def incident_view(incident: Row) -> Group:
    """Return one incident: a header and its timeline."""
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    for label in ("id", "status", "service", "signal", "severity", "playbook", "mode"):
        header.add_row(label, _text(incident[label]))
    header.add_row("opened by", _text(incident["opened_by"]))
    header.add_row("summary", _text(incident.get("summary")))
    events = _table("Timeline (UTC)", ["time", "event", "detail"])
    for event in timeline(incident):
        events.add_row(_text(moment(event["at"])), _text(event["event"]), _text(event["detail"]))
    return Group(header, events)
