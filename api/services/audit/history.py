"""Reading workflow histories for audit: fetch, decode, and cross-check against the ledger.

Histories are handled in the JSON form of ``temporal workflow show --output json`` (what
``WorkflowHistory.to_json()`` writes), so the same code reads a live history and one from an
evidence pack, offline.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from activities.names import ACTUATOR_APPLY, ACTUATOR_UNDO, aliases_of
from api.core.temporal import is_transport_failure, unreachable

# Activities whose completion changed the target: each needs its ledger entry and vice versa.
# Histories name them by the current or (recorded before the scheme) the legacy name.
CHANGING_ACTIVITIES = {
    **{name: "apply" for name in aliases_of(ACTUATOR_APPLY)},
    **{name: "undo" for name in aliases_of(ACTUATOR_UNDO)},
}
CLOSE_EVENTS = {
    "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT",
    "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
}


class HistoryUnavailableError(LookupError):
    """Temporal has no history for the workflow (never ran here, or past retention)."""


async def fetch_history(client: Client, workflow_id: str) -> WorkflowHistory:
    """Fetch a workflow's full history.

    Raises:
        HistoryUnavailableError: Temporal does not know the workflow.
        TemporalUnavailableError: Temporal did not answer (which says nothing of the workflow).
    """
    try:
        return await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as exc:
        if is_transport_failure(exc):
            raise unreachable(client, exc) from exc
        raise HistoryUnavailableError(f"no history for {workflow_id}: {exc.message}") from exc


def decode_payload(payload: Mapping[str, Any]) -> Any:
    """Decode a JSON payload from history JSON; None for other encodings or bad data."""
    try:
        encoding = base64.b64decode(payload.get("metadata", {}).get("encoding", "")).decode()
        if encoding != "json/plain":
            return None
        return json.loads(base64.b64decode(payload.get("data", "")))
    except (binascii.Error, ValueError, UnicodeDecodeError, AttributeError):
        return None


def _first_input(attributes: Mapping[str, Any]) -> Any:
    payloads = attributes.get("input", {}).get("payloads", [])
    return decode_payload(payloads[0]) if payloads else None


@dataclass
class ChangingEvent:
    """A completed actuator activity: what changed, in which step, at which event."""

    kind: str  # "apply" | "undo"
    step: int
    actuator: str
    event_id: int


@dataclass
class HistoryFacts:
    """What the audit needs from one history."""

    workflow_type: str
    start_input: Any
    closed: bool
    changes: list[ChangingEvent] = field(default_factory=list)


def history_facts(history: Mapping[str, Any]) -> HistoryFacts:
    """Extract the workflow type, start input, closure and completed changes.

    Raises:
        ValueError: The document is not a workflow history.
    """
    events = history.get("events") if isinstance(history, Mapping) else None
    if not isinstance(events, list) or not events:
        raise ValueError("not a workflow history: no events")
    start = events[0].get("workflowExecutionStartedEventAttributes")
    if not isinstance(start, Mapping):
        raise ValueError("not a workflow history: the first event is not the workflow start")
    facts = HistoryFacts(
        workflow_type=str(start.get("workflowType", {}).get("name", "")),
        start_input=_first_input(start),
        closed=events[-1].get("eventType") in CLOSE_EVENTS,
    )
    scheduled: dict[str, tuple[str, Any]] = {}
    for event in events:
        attrs = event.get("activityTaskScheduledEventAttributes")
        if attrs is not None:
            name = attrs.get("activityType", {}).get("name", "")
            if name in CHANGING_ACTIVITIES:
                scheduled[str(event.get("eventId"))] = (name, _first_input(attrs))
        done = event.get("activityTaskCompletedEventAttributes")
        if done is not None and str(done.get("scheduledEventId")) in scheduled:
            name, call = scheduled[str(done.get("scheduledEventId"))]
            call = call if isinstance(call, dict) else {}
            facts.changes.append(
                ChangingEvent(
                    CHANGING_ACTIVITIES[name],
                    int(call.get("step", -1)),
                    str(call.get("actuator", "")),
                    int(event.get("eventId", 0)),
                )
            )
    return facts


def cross_check(facts: HistoryFacts, entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """Compare completed changes in history with the ledger's apply and undo entries.

    A ledger entry without its history event is always a problem. A history event without its
    entry is one only once the workflow has closed: a running workflow records just after.
    """
    recorded = {
        (e["kind"], e["step"]): e for e in entries if e.get("kind") in CHANGING_ACTIVITIES.values()
    }
    seen = {(c.kind, c.step): c for c in facts.changes}
    problems = [
        f"ledger entry {e['incident_id']}#{e['seq']} ({e['entry_key']}) records a {kind} of "
        f"step {step} that the history does not contain"
        for (kind, step), e in sorted(recorded.items(), key=lambda item: item[1]["seq"])
        if (kind, step) not in seen
    ]
    if facts.closed:
        problems += [
            f"history event {c.event_id} completed the {c.kind} of step {c.step} ({c.actuator}) "
            "but the ledger has no entry for it"
            for key, c in sorted(seen.items(), key=lambda item: item[1].event_id)
            if key not in recorded
        ]
    return problems
