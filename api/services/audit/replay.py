"""``steward audit replay``: run recorded histories through the current workflow code.

A playbook change that would break running or past incidents shows up here as a
non-determinism error naming the first event the new code disagrees with, before it ships:
``steward audit replay --all`` exits 1 on any incompatibility, so CI can gate on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from api.core.converter import DATA_CONVERTER
from api.services.audit.history import fetch_history
from api.services.plugins import playbooks
from workflows.registry import registered_workflows

# The worker passes these deterministic framework modules through its sandbox; replay must
# run the code the same way (kept in step with ``workers.worker.FRAMEWORK_MODULES``).
PASSTHROUGH = (
    "workflows.playbook",
    "workflows.recording",
    "workflows.types",
    "workflows.approval_state",
    "workflows.approval_rounds",
    "activities",
)
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)")
_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_LOCAL_SEQ = re.compile(r"LocalActivity\((\d+)\)")
_TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


def known_workflows() -> dict[str, type]:
    """Every workflow this build registers on its workers, by workflow type.

    The same registry as the worker's: Steward's workflows and the playbooks found through
    entry points and ``STEWARD_PLUGIN_MODULES`` (loaded with the settings on first use).
    """
    playbooks()
    return registered_workflows()


@dataclass
class ReplayOutcome:
    """The verdict on one history.

    Attributes:
        workflow_id: The history's workflow.
        workflow_type: Its type.
        compatible: Whether the current code reproduces the history's commands.
        error: The non-determinism (or other replay) error, when incompatible.
        first_mismatch: The first event the code disagreed with, when known.
    """

    workflow_id: str
    workflow_type: str
    compatible: bool
    error: str | None = None
    first_mismatch: str | None = None


def _workflow_type(history: WorkflowHistory) -> str:
    if not history.events or not history.events[0].HasField(
        "workflow_execution_started_event_attributes"
    ):
        return ""
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def _describe(event: HistoryEvent) -> str:
    """``event 6 MARKER_RECORDED (local activity steward.gate)`` and the like."""
    kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    detail = ""
    if event.HasField("activity_task_scheduled_event_attributes"):
        detail = f" (activity {event.activity_task_scheduled_event_attributes.activity_type.name})"
    elif event.HasField("marker_recorded_event_attributes"):
        payloads = event.marker_recorded_event_attributes.details["data"].payloads
        data = _json_payload(payloads[0].data) if payloads else {}
        detail = f" (local activity {data.get('activity_type', '?')})"
    return f"event {event.event_id} {kind}{detail}"


def _json_payload(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _hinted(events: list[HistoryEvent], error: str) -> HistoryEvent | None:
    """The event the error names: ``HistoryEvent(id: N`` or the Nth local activity marker."""
    found = _EVENT_ID.search(error)
    if found is not None:
        return next((e for e in events if e.event_id == int(found.group(1))), None)
    found = _LOCAL_SEQ.search(error)
    if found is not None:
        markers = [e for e in events if e.HasField("marker_recorded_event_attributes")]
        for marker in markers:
            payloads = marker.marker_recorded_event_attributes.details["data"].payloads
            if payloads and _json_payload(payloads[0].data).get("seq") == int(found.group(1)):
                return marker
    return None


async def _first_mismatch(history: WorkflowHistory, replayer: Replayer, error: str) -> str:
    """Find the first workflow task whose commands the code no longer reproduces.

    Core's errors rarely carry an event id, so replay prefixes that end at a completed workflow
    task (a prefix validates the commands of every task before its last): the shortest failing
    prefix points at the task, and the error's hint (an event id, a local activity's sequence
    number) picks the event among that task's commands, else its first command is named.
    """
    events = list(history.events)
    done = [i for i, e in enumerate(events) if e.event_type == _TASK_COMPLETED]
    low, high = 0, len(done)  # the answer: smallest j whose prefix through done[j] fails
    while low < high:
        middle = (low + high) // 2
        prefix = WorkflowHistory(history.workflow_id, events[: done[middle] + 1])
        result = await replayer.replay_workflow(prefix, raise_on_replay_failure=False)
        if result.replay_failure is None:
            low = middle + 1
        else:
            high = middle
    start = done[low - 1] + 1 if low > 0 else 0
    end = done[low] if low < len(done) else len(events)
    window = events[start:end]
    hinted = _hinted(events, error)
    if hinted is not None and (hinted in window or not window):
        return _describe(hinted)
    return _describe(window[0]) if window else _describe(events[-1])


async def replay_one(
    history: WorkflowHistory, workflows: Mapping[str, type] | None = None
) -> ReplayOutcome:
    """Replay one history against ``workflows`` by type (default: :func:`known_workflows`)."""
    known = dict(workflows) if workflows is not None else known_workflows()
    wf_type = _workflow_type(history)
    if wf_type not in known:
        return ReplayOutcome(
            history.workflow_id,
            wf_type,
            False,
            f"unknown workflow type {wf_type!r}: this build registers no such workflow "
            f"(known: {', '.join(sorted(known))})",
        )
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
    # Only the history's own class: another class's defects must not fail this history.
    replayer = Replayer(
        workflows=[known[wf_type]], workflow_runner=runner, data_converter=DATA_CONVERTER
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is None:
        return ReplayOutcome(history.workflow_id, wf_type, True)
    error = str(result.replay_failure)
    first = await _first_mismatch(history, replayer, error)
    # Core wraps the reason in a debug dump of its failure struct; keep the message itself.
    message = _MESSAGE.search(error)
    return ReplayOutcome(
        history.workflow_id, wf_type, False, message.group(1) if message else error, first
    )


async def histories_since(client: Client, since: datetime | None) -> AsyncIterator[WorkflowHistory]:
    """Yield the history of every workflow started since ``since`` (all when None)."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a time without a zone is read as UTC
    query = f'StartTime >= "{since.isoformat()}"' if since is not None else None
    async for execution in client.list_workflows(query):
        yield await fetch_history(client, execution.id)


async def replay_id(client: Client, workflow_id: str) -> ReplayOutcome:
    """Fetch and replay one workflow's history."""
    return await replay_one(await fetch_history(client, workflow_id))
